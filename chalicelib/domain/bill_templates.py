"""Bill templates (票据模板): what a bill of each kind carries beyond the common fields, and how
its page is laid out. The finance department makes them (制样) and chooses one per bill kind.

A template names the extra fields of its bills (key, zh-CN label, type, required or not, how to
validate, the XML element that signs it), the rules that tie them together (amounts that add
up, dates in order, a field required unless another says otherwise), the title, how the payer
is called (交款人, 捐赠人), the columns of the items table, the heading of the extra-field block
and the fixed remarks printed on every bill. Renderers (PDF, OFD, the bill page) draw a bill
from the template it records; the signed XML carries the extra fields under ``MainExt`` and
names the template, so a bill read back from its XML is drawn as it was issued.

Templates are immutable and versioned: ``(template_id, version)`` always means the same page,
so a bill issued years ago renders the same. ``nontax-general`` version 1 is the page every bill
had before templates existed, and what a bill without a template (all older bills) renders
from; it is also the template of every kind the finance department has not chosen one for, so
that nothing a unit sends today is refused tomorrow.

Pure: standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.money import MAX_FEN, fen_to_yuan
from chalicelib.domain.text import clean_text

FIELD_TYPES = ("text", "code", "date", "fen", "choice")
_CODE = re.compile(r"[0-9A-Za-z-]{1,32}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_XML_TAG = re.compile(r"[A-Z][A-Za-z]{1,40}")
MAX_EXTRA_FIELDS = 20  # the most any template has, with room; a request with more keys is refused


@dataclass(frozen=True)
class TemplateField:
    """One extra field of a bill: ``key`` in the API and the stored bill, ``label`` on the page,
    ``xml_tag`` under ``MainExt`` in the signed XML.

    Types: ``text`` (1-``max_length`` characters), ``code`` (1-32 letters, digits or ``-``),
    ``date`` (``YYYY-MM-DD``; not after the day of the request unless ``future_ok``), ``fen``
    (a whole number of fen, 0 to the largest amount) and ``choice`` (one of ``choices``)."""

    key: str
    label: str
    type: str
    xml_tag: str
    required: bool = True
    max_length: int = 40
    choices: tuple[str, ...] = ()
    future_ok: bool = False  # a date that may lie ahead (a due date), not only behind


@dataclass(frozen=True)
class AmountsAddUp:
    """The signed sum of ``terms`` ((sign, field key) pairs; a missing amount counts as 0)
    equals ``equals``: a field key, or ``total_fen`` for the bill's total."""

    terms: tuple[tuple[int, str], ...]
    equals: str


@dataclass(frozen=True)
class DatesInOrder:
    """Date field ``first`` is not after date field ``then``."""

    first: str
    then: str


@dataclass(frozen=True)
class RequiredUnless:
    """``field`` is required unless field ``other`` has the value ``value``."""

    field: str
    other: str
    value: str


Rule = AmountsAddUp | DatesInOrder | RequiredUnless


@dataclass(frozen=True)
class Column:
    """A column of the items table: ``key`` is one of ``COLUMN_KEYS``; widths in mm."""

    key: str
    label: str
    width_mm: float
    align: str  # l | c | r


COLUMN_KEYS = ("item_code", "name", "unit", "quantity", "standard", "amount")
PAGE_WIDTH_MM = 190.0  # the items table spans the page between its margins
GENERAL_COLUMNS = (
    Column("item_code", "项目编码", 30, "l"), Column("name", "项目名称", 64, "c"),
    Column("unit", "单位", 16, "c"), Column("quantity", "数量", 20, "r"),
    Column("standard", "标准（元）", 28, "r"), Column("amount", "金额（元）", 32, "r"),
)


@dataclass(frozen=True)
class BillTemplate:
    """A template, as the finance department issues it. ``kinds`` are the bill kinds it may be
    chosen for (empty: every kind). ``title`` overrides the kind's printed title when set
    (``{region}`` becomes the region's name)."""

    template_id: str
    version: int
    name: str
    kinds: tuple[str, ...] = ()
    title: str | None = None
    payer_label: str = "交款人"
    block_title: str = ""
    fields: tuple[TemplateField, ...] = ()
    rules: tuple[Rule, ...] = ()
    columns: tuple[Column, ...] = GENERAL_COLUMNS
    remarks: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.template_id}@{self.version}"

    def field(self, key: str) -> TemplateField:
        return next(f for f in self.fields if f.key == key)

    def applies_to(self, kind_code: str) -> bool:
        return not self.kinds or kind_code in self.kinds

    def public(self) -> dict:
        """The template as the admin API shows it."""
        return {
            "template_id": self.template_id, "version": self.version, "name": self.name,
            "kinds": list(self.kinds), "title": self.title, "payer_label": self.payer_label,
            "block_title": self.block_title, "remarks": list(self.remarks),
            "columns": [{"key": c.key, "label": c.label} for c in self.columns],
            "fields": [{"key": f.key, "label": f.label, "type": f.type, "required": f.required,
                        **({"choices": list(f.choices)} if f.choices else {}),
                        **({"max_length": f.max_length} if f.type == "text" else {}),
                        **({"future_ok": f.future_ok} if f.type == "date" else {})}
                       for f in self.fields],
        }


INSURANCE_TYPES = ("自费", "职工基本医疗保险", "城乡居民基本医疗保险", "离休人员医疗保障", "其他")
INSTITUTION_TYPES = ("综合医院", "中医医院", "专科医院", "妇幼保健院", "基层医疗卫生机构", "其他")
_MEDICAL_COMMON = (
    TemplateField("insurance_type", "医保类型", "choice", "MedicalInsuranceType",
                  choices=INSURANCE_TYPES),
    TemplateField("insurance_number", "医保编号", "code", "MedicalInsuranceID", required=False),
    TemplateField("institution_type", "医疗机构类型", "choice", "MedicalInstitutionType",
                  choices=INSTITUTION_TYPES),
)
_MEDICAL_PAYS = (
    TemplateField("fund_paid_fen", "医保统筹支付", "fen", "FundPayAmount"),
    TemplateField("self_paid_fen", "个人自付", "fen", "SelfPayAmount"),
)
_MEDICAL_COLUMNS = (
    Column("item_code", "项目编码", 30, "l"), Column("name", "项目名称", 74, "c"),
    Column("unit", "单位", 16, "c"), Column("quantity", "数量", 20, "r"),
    Column("amount", "金额（元）", 50, "r"),
)

NONTAX_GENERAL = BillTemplate(
    template_id="nontax-general", version=1, name="非税收入通用版式（一般缴款书）")
SETTLEMENT_RECEIPT = BillTemplate(
    template_id="settlement-receipt", version=1, name="资金往来结算收据", kinds=("0401",),
    block_title="往来信息",
    fields=(
        TemplateField("settlement_nature", "款项性质", "choice", "SettlementNature",
                      choices=("押金", "保证金", "暂收款", "代收款", "其他")),
        TemplateField("settlement_purpose", "往来事由", "text", "SettlementPurpose",
                      max_length=60),
        TemplateField("refund_due_date", "约定退还日期", "date", "RefundDueDate", required=False,
                      future_ok=True),
    ),
    columns=(Column("item_code", "项目编码", 34, "l"), Column("name", "项目名称", 96, "c"),
             Column("amount", "金额（元）", 60, "r")),
    remarks=("本收据用于行政事业单位之间及其与个人之间的资金往来结算，不得作为收费凭证。",),
)
DONATION_RECEIPT = BillTemplate(
    template_id="donation-receipt", version=1, name="公益事业捐赠收据", kinds=("0501",),
    payer_label="捐赠人", block_title="捐赠信息",
    fields=(
        TemplateField("donation_project", "捐赠项目", "text", "DonationProject", max_length=60),
        TemplateField("donation_form", "捐赠形式", "choice", "DonationForm",
                      choices=("货币", "非货币")),
        TemplateField("donation_purpose", "捐赠用途", "text", "DonationPurpose",
                      required=False, max_length=60),
    ),
    columns=(Column("item_code", "项目编码", 30, "l"), Column("name", "捐赠项目", 80, "c"),
             Column("unit", "单位", 16, "c"), Column("quantity", "数量", 20, "r"),
             Column("amount", "金额（元）", 44, "r")),
    remarks=("感谢您对公益事业的支持！",),
)
MEDICAL_OUTPATIENT = BillTemplate(
    template_id="medical-outpatient", version=1, name="医疗门诊收费票据", kinds=("0601",),
    title="{region}医疗门诊收费票据（电子）", block_title="就诊信息",
    fields=(
        TemplateField("outpatient_number", "门诊号", "code", "OutpatientNumber"),
        TemplateField("visit_date", "就诊日期", "date", "VisitDate"),
        *_MEDICAL_COMMON, *_MEDICAL_PAYS,
    ),
    rules=(RequiredUnless("insurance_number", "insurance_type", "自费"),
           AmountsAddUp(((1, "fund_paid_fen"), (1, "self_paid_fen")), "total_fen")),
    columns=_MEDICAL_COLUMNS,
)
MEDICAL_INPATIENT = BillTemplate(
    template_id="medical-inpatient", version=1, name="医疗住院收费票据", kinds=("0602",),
    title="{region}医疗住院收费票据（电子）", block_title="住院信息",
    fields=(
        TemplateField("inpatient_number", "住院号", "code", "InpatientNumber"),
        TemplateField("department", "住院科别", "text", "Department", max_length=20),
        TemplateField("admitted_on", "入院日期", "date", "AdmissionDate"),
        TemplateField("discharged_on", "出院日期", "date", "DischargeDate"),
        *_MEDICAL_COMMON, *_MEDICAL_PAYS,
        TemplateField("prepaid_fen", "预缴金额", "fen", "PrepaidAmount"),
        TemplateField("supplement_fen", "补缴金额", "fen", "SupplementAmount", required=False),
        TemplateField("refund_fen", "退费金额", "fen", "RefundAmount", required=False),
    ),
    rules=(RequiredUnless("insurance_number", "insurance_type", "自费"),
           DatesInOrder("admitted_on", "discharged_on"),
           AmountsAddUp(((1, "fund_paid_fen"), (1, "self_paid_fen")), "total_fen"),
           AmountsAddUp(((1, "prepaid_fen"), (1, "supplement_fen"), (-1, "refund_fen")),
                        "self_paid_fen")),
    columns=_MEDICAL_COLUMNS,
)

@dataclass(frozen=True)
class TemplateChoice:
    """The finance department's choice of template for a bill kind: new bills of the kind are
    drawn from version ``version`` of ``template_id`` (the newest when it was chosen)."""

    kind_code: str
    template_id: str
    version: int
    chosen_at: str  # ISO 8601, China time
    chosen_by: str  # who chose it: the finance key's holder, or a person of the console


BUILT_IN: tuple[BillTemplate, ...] = (NONTAX_GENERAL, SETTLEMENT_RECEIPT, DONATION_RECEIPT,
                                      MEDICAL_OUTPATIENT, MEDICAL_INPATIENT)
TEMPLATES: dict[tuple[str, int], BillTemplate] = {(t.template_id, t.version): t
                                                  for t in BUILT_IN}
DEFAULT = NONTAX_GENERAL


def template(template_id: str, version: int,
             defined: BillTemplate | None = None) -> BillTemplate:
    """The template ``(template_id, version)``: ``defined``, the copy a note or bill carries of
    a template the finance department defined, when there is one; else the built-in one. A bill
    without one (``""``) has the default. A template the bill names but this code does not know
    is drawn as the default (a bill from newer code read by older code) rather than not at all."""
    if defined is not None:
        return defined
    return TEMPLATES.get((template_id, version), DEFAULT)


def latest(template_id: str) -> BillTemplate | None:
    """The newest version of ``template_id``, or None if there is no such template."""
    versions = [t for (tid, _), t in TEMPLATES.items() if tid == template_id]
    return max(versions, key=lambda t: t.version) if versions else None


def templates_for(kind_code: str) -> list[BillTemplate]:
    """The newest version of each template that may be chosen for ``kind_code``."""
    ids = dict.fromkeys(t.template_id for t in BUILT_IN if t.applies_to(kind_code))
    return [t for tid in ids if (t := latest(tid)) is not None]


# Elements ``MainExt`` already has: a field's XML tag must not be one of them.
RESERVED_XML_TAGS = frozenset({"PayCode", "IssuedAt", "RelatedInvoiceCode",
                               "RelatedInvoiceNumber", "TemplateId", "TemplateVersion"})


def _rule_fields(rule: Rule) -> list[tuple[str, str]]:
    """(field key, the type the rule needs it to have) for each field a rule names."""
    if isinstance(rule, AmountsAddUp):
        return [(k, "fen") for _, k in rule.terms] + (
            [] if rule.equals == "total_fen" else [(rule.equals, "fen")])
    if isinstance(rule, DatesInOrder):
        return [(rule.first, "date"), (rule.then, "date")]
    return [(rule.field, ""), (rule.other, "choice")]


def template_faults(tpl: BillTemplate) -> dict[str, str]:
    """What is wrong with a template as data, by where it is (``fields[2].xml_tag``,
    ``rules[0]``, ``columns``): empty when nothing. Every built-in template is checked by a test,
    and every template the finance department defines is checked before it is stored."""
    faults: dict[str, str] = {}
    seen_keys: set[str] = set()
    seen_tags: set[str] = set()
    for n, f in enumerate(tpl.fields):
        at = f"fields[{n}]"
        if f.key in seen_keys:
            faults[f"{at}.key"] = f"field key {f.key} repeats"
        seen_keys.add(f.key)
        if not _XML_TAG.fullmatch(f.xml_tag) or f.xml_tag in RESERVED_XML_TAGS:
            faults[f"{at}.xml_tag"] = ("must be a plain name (A-Z then letters), not one of "
                                       + ", ".join(sorted(RESERVED_XML_TAGS)))
        elif f.xml_tag in seen_tags:
            faults[f"{at}.xml_tag"] = f"XML tag {f.xml_tag} repeats"
        seen_tags.add(f.xml_tag)
        if f.type not in FIELD_TYPES:
            faults[f"{at}.type"] = f"unknown type {f.type}: one of {' | '.join(FIELD_TYPES)}"
        elif (f.type == "choice") != bool(f.choices):
            faults[f"{at}.choices"] = "choices go with type choice, and only with it"
        elif f.type == "choice" and len(set(f.choices)) != len(f.choices):
            faults[f"{at}.choices"] = "choices repeat"
        if f.type == "fen" and not f.key.endswith("_fen"):
            faults[f"{at}.key"] = "an amount's key ends in _fen"
        elif f.type != "fen" and f.key.endswith("_fen"):
            faults[f"{at}.key"] = "only an amount's key ends in _fen"
    types = {f.key: f.type for f in tpl.fields}
    for n, rule in enumerate(tpl.rules):
        for key, wanted in _rule_fields(rule):
            if key not in types:
                faults[f"rules[{n}]"] = f"names a field the template lacks: {key}"
                break
            if wanted and types[key] != wanted:
                faults[f"rules[{n}]"] = f"{key} must be a field of type {wanted}"
                break
    if [c.key for c in tpl.columns if c.key not in COLUMN_KEYS] or not any(
            c.key == "amount" for c in tpl.columns):
        faults["columns"] = (f"known keys only ({', '.join(COLUMN_KEYS)}), "
                             "and the amount among them")
    elif len({c.key for c in tpl.columns}) != len(tpl.columns):
        faults["columns"] = "a column appears twice"
    elif abs(sum(c.width_mm for c in tpl.columns) - PAGE_WIDTH_MM) > 0.01:
        faults["columns"] = f"widths must add up to {PAGE_WIDTH_MM:g} mm"
    if len(tpl.fields) > MAX_EXTRA_FIELDS:
        faults["fields"] = f"at most {MAX_EXTRA_FIELDS} fields"
    return faults


def check_template(tpl: BillTemplate) -> list[str]:
    """What is wrong with a template as data (empty when nothing), one line a fault."""
    return [f"{where}: {why}" for where, why in template_faults(tpl).items()]


def _value(f: TemplateField, raw: object, today: date) -> tuple[str | None, str | None]:
    """The field's value as stored (text; fen as decimal digits) and the problem, if any."""
    if f.type == "fen":
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_FEN:
            return None, f"must be a whole number of fen from 0 to {MAX_FEN}"
        return str(raw), None
    limit = {"text": f.max_length, "code": 32, "date": 10}.get(f.type, 40)
    value, problem = clean_text(raw, limit=limit, required=True)
    if problem or value is None:
        return None, problem or "is required"
    if f.type == "code" and not _CODE.fullmatch(value):
        return None, "must be 1-32 letters, digits or -"
    if f.type == "choice" and value not in f.choices:
        return None, f"must be one of {' | '.join(f.choices)}"
    if f.type == "date":
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            day = date.fromisoformat(value)
        except ValueError:
            return None, "must be a date YYYY-MM-DD"
        if day > today and not f.future_ok:
            return None, "must not be in the future"
    return value, None


def read_extra(tpl: BillTemplate, raw: object, *, total_fen: int | None,
               today: date) -> tuple[tuple[str, str], ...]:
    """Validate a request's ``extra`` object against ``tpl``: the fields it declares, each of
    its type, the required ones present, the rules kept. Returns the values in the template's
    field order (text; amounts as decimal digits); raises one ``ValidationFailed`` naming every
    wrong field as ``extra.<key>``. ``total_fen`` is the bill's total when it is known."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationFailed("请求参数有误", {"extra": "must be an object"})
    fields: dict[str, str] = {}
    known = {f.key for f in tpl.fields}
    unknown = sorted(str(k)[:40] for k in raw if k not in known)
    if unknown:
        fields["extra"] = (f"not a field of template {tpl.ref}: {', '.join(unknown[:5])}"
                           if tpl.fields else f"template {tpl.ref} has no extra fields")
    required = {f.key for f in tpl.fields if f.required}
    for rule in tpl.rules:
        if isinstance(rule, RequiredUnless) and raw.get(rule.other) != rule.value:
            required.add(rule.field)
    values: dict[str, str] = {}
    for f in tpl.fields:
        got = raw.get(f.key)
        if got is None or got == "":
            if f.key in required:
                fields[f"extra.{f.key}"] = f"is required ({f.label})"
            continue
        value, problem = _value(f, got, today)
        if problem:
            fields[f"extra.{f.key}"] = f"{problem} ({f.label})"
        elif value is not None:
            values[f.key] = value
    for rule in tpl.rules:
        if isinstance(rule, DatesInOrder) and rule.first in values and rule.then in values:
            if values[rule.first] > values[rule.then]:
                fields[f"extra.{rule.then}"] = (f"must not be before {tpl.field(rule.first).label}"
                                                f" ({tpl.field(rule.then).label})")
        elif isinstance(rule, AmountsAddUp):
            names = [k for _, k in rule.terms]
            if any(f"extra.{k}" in fields for k in names):
                continue
            target = total_fen if rule.equals == "total_fen" else (
                int(values[rule.equals]) if rule.equals in values else None)
            if target is None:
                continue
            got_sum = sum(sign * int(values.get(k, "0")) for sign, k in rule.terms)
            if got_sum != target:
                labels = " + ".join(("−" if s < 0 else "") + tpl.field(k).label
                                    for s, k in rule.terms).replace("+ −", "− ")
                where = f"extra.{rule.terms[0][1]}"
                fields.setdefault(where, f"{labels} must equal {rule.equals}"
                                         f" ({got_sum} ≠ {target})")
    if fields:
        raise ValidationFailed("票据附加信息有误", fields)
    return tuple((f.key, values[f.key]) for f in tpl.fields if f.key in values)


def extra_view(tpl: BillTemplate, extra: tuple[tuple[str, str], ...]) -> dict[str, str | int]:
    """The extra fields as JSON gives them: amounts as integers of fen, the rest as text. A
    field the template does not declare (a bill from newer code) is shown as text."""
    types = {f.key: f.type for f in tpl.fields}
    return {k: int(v) if types.get(k) == "fen" and v.lstrip("-").isdigit() else v
            for k, v in extra}


def negated(tpl: BillTemplate, extra: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The extra fields of the red bill that reverses a bill: its amounts negated, as its
    items and total are; the rest unchanged."""
    types = {f.key: f.type for f in tpl.fields}
    return tuple((k, str(-int(v)) if types.get(k) == "fen" else v) for k, v in extra)


def labelled(tpl: BillTemplate, extra: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """(label, printed value) of each extra field present, in the template's order: amounts in
    yuan (``12.34元``), the rest as given. For the page, the PDF and the OFD alike."""
    given = dict(extra)
    return [(f.label, fen_to_yuan(int(given[f.key])) + "元" if f.type == "fen" else given[f.key])
            for f in tpl.fields if f.key in given]
