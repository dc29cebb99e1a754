"""The bill as signed XML: the legal carrier of a fiscal bill.

Shape (field names as MoF implementations use them, reference/fiscal-bills.md §2–3)::

    <EInvoice>
      <Header>EInvoiceID, EInvoiceTag, Version</Header>
      <EInvoiceData><Main>…</Main><Details><Item>…</Item>…</Details></EInvoiceData>
      <EInvoiceSignature>
        <Signature Role="unit">KeyId, Algorithm, SignTime, SignatureValue</Signature>
        <Signature Role="supervisor">…</Signature>
      </EInvoiceSignature>
    </EInvoice>

What each signature covers: the canonical form (C14N 2.0) of the whole document as it stood when
that signature was made, with the signature's own ``SignatureValue`` left out. So the issuing
unit's signature covers the bill data and its own key id, algorithm and time; the finance
department's (supervisor's) signature covers all that *and* the unit's signature. Documents are
written compact (no indentation), so no whitespace is ever in question.

Pure: standard library only. The cryptography itself sits behind the signer port.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from xml.parsers import expat

from chalicelib.domain import bill_templates
from chalicelib.domain.bill_templates import BillTemplate
from chalicelib.domain.bills import Bill
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.money import fen_to_yuan, signed_yuan_to_fen
from chalicelib.domain.notes import Item

VERSION = "1.0"
ROLES = ("unit", "supervisor")  # the signatures every bill carries, in this order, and no other
# Limits on what reading a bill file may cost, all checked in the one streaming pass that builds
# the tree, before any canonicalisation. A bill of 50 items with the longest names and remark
# is about 30 KB, has about 420 elements, is 5 deep (EInvoice/EInvoiceData/Main/MainExt/PayCode)
# and its longest text (a name, the remark, a signature value) is a few hundred characters.
MAX_XML_BYTES = 128 * 1024
MAX_ELEMENTS = 1_000
MAX_DEPTH = 8
MAX_TEXT_CHARS = 1_000


@dataclass(frozen=True)
class SignatureInfo:
    role: str
    kid: str
    alg: str
    sign_time: str
    value_b64: str


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def einvoice_id(bill_code: str, bill_number: str) -> str:
    return f"{bill_code}-{bill_number}"[::-1]


def build_document(bill: Bill) -> ET.Element:
    """The unsigned ``EInvoice`` element for a bill (with an empty ``EInvoiceSignature``)."""
    root = ET.Element("EInvoice")
    header = _sub(root, "Header")
    _sub(header, "EInvoiceID", einvoice_id(bill.bill_code, bill.bill_number))
    _sub(header, "EInvoiceTag", f"CZ-EI-{bill.region_code[:2]}")
    _sub(header, "Version", VERSION)
    data = _sub(root, "EInvoiceData")
    main = _sub(data, "Main")
    issued_date, issued_time = bill.issued_at[:10], bill.issued_at[11:19]
    for tag, value in (
        ("EInvoiceName", bill.title), ("EInvoiceCode", bill.bill_code),
        ("EInvoiceNumber", bill.bill_number), ("RandomNumber", bill.check_code),
        ("EInvoiceSpecimenCode", bill.kind_code), ("SupervisorAreaCode", bill.region_code),
        ("TotalAmount", fen_to_yuan(bill.total_fen)),
        ("IssueDate", issued_date.replace("-", "")), ("IssueTime", issued_time),
    ):
        _sub(main, tag, value)
    party = _sub(main, "InvoicingParty")
    _sub(party, "InvoicingPartyCode", bill.issuing_unit_code)
    _sub(party, "InvoicingPartyName", bill.issuing_unit_name)
    payer = _sub(main, "PayerParty")
    _sub(payer, "PayerPartyType", "1" if bill.payer_type == "individual" else "2")
    _sub(payer, "PayerPartyCode", bill.payer_credit_code or "")
    _sub(payer, "PayerPartyName", bill.payer_name)
    _sub(main, "PayMode", bill.payment_channel)
    _sub(main, "BizCode", bill.channel_txn_id)
    _sub(main, "CurrencyType", "CNY")
    _sub(main, "Remark", bill.remark or "")
    _sub(main, "HandlingPerson", bill.handling_person)
    _sub(main, "Checker", bill.checker)
    ext = _sub(main, "MainExt")
    _sub(ext, "PayCode", bill.payment_code)
    _sub(ext, "IssuedAt", bill.issued_at)
    if bill.related_bill:
        _sub(ext, "RelatedInvoiceCode", bill.related_bill[:8])
        _sub(ext, "RelatedInvoiceNumber", bill.related_bill[8:])
    if bill.template_id:  # bills before templates have none of this: their XML is unchanged
        _template_ext(ext, bill)
    details = _sub(data, "Details")
    for item in bill.items:
        el = _sub(details, "Item")
        _sub(el, "ItemCode", item.item_code)
        _sub(el, "ItemName", item.name)
        _sub(el, "ItemUnit", item.unit or "")
        _sub(el, "ItemQuantity", item.quantity)
        _sub(el, "ItemStd", fen_to_yuan(item.standard_fen))
        _sub(el, "ItemAmount", fen_to_yuan(item.amount_fen))
    _sub(root, "EInvoiceSignature")
    return root


def _template_ext(ext: ET.Element, bill: Bill) -> None:
    """The template the bill is drawn from, then its extra fields in the template's order,
    each under its own element (amounts in yuan, as every amount in the document)."""
    _sub(ext, "TemplateId", bill.template_id)
    _sub(ext, "TemplateVersion", str(bill.template_version))
    tpl = bill.template
    given = dict(bill.extra)
    for f in tpl.fields:
        if f.key in given:
            value = given[f.key]
            _sub(ext, f.xml_tag, fen_to_yuan(int(value)) if f.type == "fen" else value)


def _read_template_ext(main: ET.Element | None) -> dict:
    """``template_id``, ``template_version`` and ``extra`` of a bill read back (empty, hence
    the defaults, for a bill without a template)."""
    template_id = main.findtext("MainExt/TemplateId") if main is not None else None
    if not template_id or main is None:
        return {}
    raw_version = main.findtext("MainExt/TemplateVersion") or ""
    if not raw_version.isdigit() or len(raw_version) > 6:
        raise ValidationFailed("票据模板版本不正确", {"file": "bad TemplateVersion"})
    tpl = bill_templates.template(template_id, int(raw_version))
    extra = []
    for f in tpl.fields:
        found = main.find(f"MainExt/{f.xml_tag}")
        if found is not None:
            text = found.text or ""
            extra.append((f.key, str(signed_yuan_to_fen(text)) if f.type == "fen" else text))
    return {"template_id": template_id, "template_version": int(raw_version),
            "extra": tuple(extra)}


# What the canonical form may be written from directly: element and attribute names without
# namespaces (or anything a name could not be), text in which every character is one XML 1.0
# carries unchanged (no carriage return, which reading turns into a line feed; no control
# characters, surrogates or non-characters, which reading refuses).
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NOT_PLAIN_TEXT = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PLAIN_NAMES: set[str] = set()  # names found plain: a bill's few dozen, matched once a process
MAX_PLAIN_NAMES = 4096


def _is_plain_name(name: object) -> bool:
    if not isinstance(name, str):
        return False
    if name in _PLAIN_NAMES:
        return True
    if not _PLAIN_NAME.fullmatch(name):
        return False
    if len(_PLAIN_NAMES) < MAX_PLAIN_NAMES:
        _PLAIN_NAMES.add(name)
    return True


# Escapes, in the order they apply ("&" first): text is escaped alike by C14N 2.0 and by
# ElementTree's writer; attribute values differ (C14N's tab and newline references, ElementTree's
# ">" and carriage return too).
_TEXT_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_C14N_ATTR_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), ('"', "&quot;"), ("\t", "&#x9;"),
                      ("\n", "&#xA;"))
_XML_ATTR_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"),
                     ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;"))


def _escaped(value: str, escapes: tuple[tuple[str, str], ...]) -> str:
    for raw, reference in escapes:
        if raw in value:
            value = value.replace(raw, reference)
    return value


def _text_c14n(text: str) -> str:
    return _escaped(text, _TEXT_ESCAPES)


def _attr_c14n(value: str) -> str:
    return _escaped(value, _C14N_ATTR_ESCAPES)


def _plain_open(el: ET.Element, out: list[str]) -> bool:
    """Write the canonical start tag of ``el`` and its text to ``out``; False (with ``out``
    left unfinished) if a name is not plain. Text is not looked at: ``_plain_text`` checks
    what was written, once."""
    tag = el.tag
    if not _is_plain_name(tag):
        return False
    attrib = el.attrib
    if attrib:
        out.append("<" + tag)
        for name, value in sorted(attrib.items()):
            if not _is_plain_name(name):
                return False
            out.append(f' {name}="{_attr_c14n(value)}"')
        out.append(">")
    else:
        out.append(f"<{tag}>")
    if el.text:
        out.append(_text_c14n(el.text))
    return True


def _plain_c14n(el: ET.Element, out: list[str]) -> bool:
    """Write the canonical form of ``el`` and its tail to ``out``; False (with ``out`` left
    unfinished) as soon as a name is not plain. The text written must then pass
    ``_plain_text``: it is plain exactly when every text and value is (the escapes neither add
    nor remove a character that is not)."""
    if not _plain_open(el, out):
        return False
    for child in el:
        if not _plain_c14n(child, out):
            return False
    out.append(f"</{el.tag}>")
    if el.tail:
        out.append(_text_c14n(el.tail))
    return True


def _plain_text(written: str) -> bool:
    return _NOT_PLAIN_TEXT.search(written) is None


def _canonical(root: ET.Element) -> bytes:
    """The canonical form (C14N 2.0) of ``root`` as written and read back: exactly
    ``ET.canonicalize(ET.tostring(root))`` (a test compares them on any tree), written directly
    for a plain tree (every bill we build, every bill file we accept): 0.13 ms for a bill of two
    items instead of 0.6-1 ms for the round trip through text and parser, which issuance paid
    four times per bill (two signatures, then the check of both). Anything not plain still
    takes the round trip."""
    out: list[str] = []
    if not root.tail and _plain_c14n(root, out) and _plain_text(written := "".join(out)):
        return written.encode("utf-8")
    return ET.canonicalize(ET.tostring(root, encoding="unicode")).encode("utf-8")


def _pending(sigs: ET.Element, role: str, kid: str, alg: str, sign_time: str) -> ET.Element:
    """A signature as it stands while it is made: all but its value, the last of ``sigs``."""
    pending = _sub(sigs, "Signature")
    pending.set("Role", role)
    _sub(pending, "KeyId", kid)
    _sub(pending, "Algorithm", alg)
    _sub(pending, "SignTime", sign_time)
    return pending


def signing_input(root: ET.Element, role: str, kid: str, alg: str, sign_time: str) -> bytes:
    """The exact bytes the signer of ``role`` signs, given the signatures already present."""
    sigs = root.find("EInvoiceSignature")
    assert sigs is not None
    return SignedStates(root).signing_input(len(sigs), role, kid, alg, sign_time)


def _copied_signing_input(root: ET.Element, earlier: int, role: str, kid: str, alg: str,
                          sign_time: str) -> bytes:
    """``SignedStates.signing_input`` the long way: a copy of the document with its first
    ``earlier`` signatures only and the pending one, in canonical form."""
    draft = copy.deepcopy(root)
    sigs = draft.find("EInvoiceSignature")
    assert sigs is not None
    for later in list(sigs)[earlier:]:
        sigs.remove(later)
    _pending(sigs, role, kid, alg, sign_time)
    return _canonical(draft)


class SignedStates:
    """The signing inputs of one document (the canonical form of each state it was signed in),
    the part no signature changes written once.

    A state is the document with its first ``earlier`` signatures and the one being made (all
    but its value). Everything outside ``EInvoiceSignature`` is the same in every state: for a
    plain document (``_canonical``'s fast path) it is written once, before and after the
    signatures, and each state adds only its signatures; the document is neither copied nor
    changed. Exactly the bytes of the copied way (``_copied_signing_input``, which anything not
    plain still takes; a test compares both on any tree). A bill's issuance makes two states and
    checks both, which copied the document six times and wrote it whole four. Between two
    calls only the signatures may change (``append_signature``): what is outside them is kept.
    """

    def __init__(self, root: ET.Element) -> None:
        self._root = root
        self._around: tuple[str, str] | None = None  # before and after the signatures' own
        self._plain = not root.tail

    def signing_input(self, earlier: int, role: str, kid: str, alg: str,
                      sign_time: str) -> bytes:
        sigs = self._root.find("EInvoiceSignature")
        assert sigs is not None
        if self._plain and self._around is None:
            self._around = self._outside(sigs)
            self._plain = self._around is not None
        if self._around is not None:
            out = [self._around[0]]
            for done in list(sigs)[:earlier]:
                if not _plain_c14n(done, out):
                    break
            else:
                holder = ET.Element("EInvoiceSignature")
                if _plain_c14n(_pending(holder, role, kid, alg, sign_time), out):
                    out.append(self._around[1])
                    if _plain_text(written := "".join(out)):
                        return written.encode("utf-8")
        return _copied_signing_input(self._root, earlier, role, kid, alg, sign_time)

    def _outside(self, sigs: ET.Element) -> tuple[str, str] | None:
        """The canonical text before ``sigs``' first signature and after its last, if plain."""
        before: list[str] = []
        after: list[str] = []
        if not _plain_open(self._root, before):
            return None
        out = before
        for child in self._root:
            if child is sigs:
                if not _plain_open(sigs, before):
                    return None
                out = after
                out.append("</EInvoiceSignature>")
                if sigs.tail:
                    out.append(_text_c14n(sigs.tail))
            elif not _plain_c14n(child, out):
                return None
        after.append(f"</{self._root.tag}>")
        return "".join(before), "".join(after)


def append_signature(root: ET.Element, info: SignatureInfo) -> None:
    sigs = root.find("EInvoiceSignature")
    assert sigs is not None
    el = _sub(sigs, "Signature")
    el.set("Role", info.role)
    _sub(el, "KeyId", info.kid)
    _sub(el, "Algorithm", info.alg)
    _sub(el, "SignTime", info.sign_time)
    _sub(el, "SignatureValue", info.value_b64)


def _attr_xml(value: str) -> str:
    """An attribute value escaped as ``ET.tostring`` escapes it."""
    return _escaped(value, _XML_ATTR_ESCAPES)


def _plain_xml(el: ET.Element, out: list[str]) -> bool:
    """Write ``el`` and its tail to ``out`` as ``ET.tostring`` writes them (attributes in their
    order, an element with neither text nor children as ``<tag />``, ElementTree's escapes);
    False (``out`` unfinished) as soon as a name is not plain or a value is not a string."""
    tag = el.tag
    if not _is_plain_name(tag):
        return False
    out.append("<" + tag)
    for name, value in el.attrib.items():
        if not _is_plain_name(name) or not isinstance(value, str):
            return False
        out.append(f' {name}="{_attr_xml(value)}"')
    text = el.text
    if text is not None and not isinstance(text, str):
        return False
    if text or len(el):
        out.append(">")
        if text:
            out.append(_text_c14n(text))  # the same three escapes as ElementTree's
        for child in el:
            if not _plain_xml(child, out):
                return False
        out.append(f"</{tag}>")
    else:
        out.append(" />")
    tail = el.tail
    if tail:
        if not isinstance(tail, str):
            return False
        out.append(_text_c14n(tail))
    return True


def serialize(root: ET.Element) -> bytes:
    """The document as archived: the XML declaration, then exactly what
    ``ET.tostring(root, encoding="utf-8", xml_declaration=False)`` writes (a test compares them
    on any tree). A plain tree (every bill we build) is written directly: ElementTree's writer
    first walks the tree for namespaces, then writes through a text wrapper piece by piece,
    ≈ 0.17 ms for a bill of two items against ≈ 0.04; anything else is left to it."""
    out: list[str] = []
    if _plain_xml(root, out):
        body = "".join(out).encode("utf-8", "xmlcharrefreplace")  # as ElementTree encodes
    else:
        body = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + body


@dataclass(frozen=True)
class ParsedBill:
    bill: Bill
    signatures: tuple[SignatureInfo, ...]
    signed_inputs: tuple[bytes, ...]  # what each signature, in order, must verify over
    # MainExt's elements after TemplateVersion, as (tag, text): the extra fields of a template
    # this code does not know (one the finance department defined), for ``with_template``.
    ext_tags: tuple[tuple[str, str], ...] = ()


def _text(el: ET.Element | None, path: str) -> str:
    found = el.find(path) if el is not None else None
    if found is None:
        raise ValidationFailed(f"票据文件缺少 {path}", {"file": f"missing {path}"})
    return found.text or ""


def _refused(message: str, why: str, code: str | None = None) -> ValidationFailed:
    return ValidationFailed(message, {"file": why}, code=code)


def _read_tree(data: bytes) -> ET.Element:
    """The element tree of ``data``, read in one pass that stops at the first limit exceeded.

    The parser is told the document is UTF-8 whatever it declares, and a declaration of any other
    encoding is refused: the declared name would otherwise pick a codec (an unknown one was a
    500). DTDs (hence entities), namespaces, more than two signatures, and anything deeper,
    larger or longer than a bill can be are refused as soon as they are seen.
    """
    parser = expat.ParserCreate(encoding="UTF-8")
    builder = ET.TreeBuilder()
    path: list[str] = []
    counts = {"elements": 0, "signatures": 0, "text": 0}

    def declaration(_version: str, encoding: str | None, _standalone: int) -> None:
        if encoding is not None and encoding.upper() not in ("UTF-8", "UTF8"):
            raise _refused("票据文件应为 UTF-8 编码的 XML", "must be UTF-8",
                           code="unsupported_encoding")

    def doctype(*_: object) -> None:
        # Our bills never carry a DTD; refusing one removes entity expansion attacks entirely.
        raise _refused("票据文件含有不允许的 DTD", "DTDs are not allowed")

    def start(tag: str, attrs: dict[str, str]) -> None:
        counts["elements"] += 1
        counts["text"] = 0
        if counts["elements"] > MAX_ELEMENTS:
            raise _refused("票据文件元素过多", f"more than {MAX_ELEMENTS} elements",
                           code="bill_file_too_complex")
        if len(path) >= MAX_DEPTH:
            raise _refused("票据文件嵌套过深", f"nested deeper than {MAX_DEPTH} elements",
                           code="bill_file_too_complex")
        if ":" in tag or (attrs and (tag != "Signature" or list(attrs) != ["Role"]
                                     or len(attrs["Role"]) > 20)):
            # Only Signature carries an attribute (Role); no namespaces, no xml:* attributes.
            raise _refused("票据文件含有不允许的命名空间或属性",
                           f"unexpected namespace or attributes on {tag[:40]}")
        if path == ["EInvoice", "EInvoiceSignature"]:
            counts["signatures"] += 1
            if counts["signatures"] > len(ROLES):
                raise _refused("票据文件的签名多于开票单位和财政部门两个",
                               f"more than {len(ROLES)} signatures",
                               code="unexpected_signatures")
        path.append(tag)
        builder.start(tag, attrs)

    def end(tag: str) -> None:
        path.pop()
        counts["text"] = 0
        builder.end(tag)

    def text(chunk: str) -> None:
        counts["text"] += len(chunk)
        if counts["text"] > MAX_TEXT_CHARS:
            raise _refused("票据文件中的内容过长", f"a text longer than {MAX_TEXT_CHARS} characters",
                           code="bill_file_too_complex")
        builder.data(chunk)

    parser.XmlDeclHandler = declaration
    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ValidationFailed("不是有效的 XML 票据文件", {"file": f"not XML: {exc}"}) from None
    return builder.close()


def parse_document(data: bytes) -> ParsedBill:
    """Read a bill XML back; raise ``ValidationFailed`` when it is not one of ours in shape.

    Its cost is linear in the size of ``data`` and bounded: the size, depth, element count, text
    lengths and number of signatures are checked while reading, before the (comparatively
    expensive) canonical forms of the two signed states are computed.
    """
    if len(data) > MAX_XML_BYTES:
        raise _refused("票据文件过大", "too large", code="file_too_large")
    try:
        data.decode("utf-8")  # our bills are UTF-8; other encodings could hide a DTD
    except UnicodeDecodeError:
        raise _refused("票据文件应为 UTF-8 编码的 XML", "must be UTF-8",
                       code="unsupported_encoding") from None
    root = _read_tree(data)
    if root.tag != "EInvoice":
        raise ValidationFailed("不是电子票据 XML", {"file": "root element is not EInvoice"})
    main = root.find("EInvoiceData/Main")
    try:
        items = tuple(
            Item(item_code=_text(el, "ItemCode"), name=_text(el, "ItemName"),
                 unit=_text(el, "ItemUnit") or None, quantity=_text(el, "ItemQuantity"),
                 standard_fen=signed_yuan_to_fen(_text(el, "ItemStd")),
                 amount_fen=signed_yuan_to_fen(_text(el, "ItemAmount")))
            for el in root.findall("EInvoiceData/Details/Item"))
        bill = Bill(
            bill_code=_text(main, "EInvoiceCode"), bill_number=_text(main, "EInvoiceNumber"),
            check_code=_text(main, "RandomNumber"), kind_code=_text(main, "EInvoiceSpecimenCode"),
            title=_text(main, "EInvoiceName"), region_code=_text(main, "SupervisorAreaCode"),
            issued_at=_text(main, "MainExt/IssuedAt"),
            issuing_unit_code=_text(main, "InvoicingParty/InvoicingPartyCode"),
            issuing_unit_name=_text(main, "InvoicingParty/InvoicingPartyName"),
            payer_name=_text(main, "PayerParty/PayerPartyName"),
            payer_type="individual" if _text(main, "PayerParty/PayerPartyType") == "1"
            else "organization",
            payer_credit_code=_text(main, "PayerParty/PayerPartyCode") or None,
            items=items, total_fen=signed_yuan_to_fen(_text(main, "TotalAmount")),
            payment_code=_text(main, "MainExt/PayCode"),
            payment_channel=_text(main, "PayMode"), channel_txn_id=_text(main, "BizCode"),
            handling_person=_text(main, "HandlingPerson"), checker=_text(main, "Checker"),
            remark=_text(main, "Remark") or None,
            related_bill=(main.findtext("MainExt/RelatedInvoiceCode") or "")
            + (main.findtext("MainExt/RelatedInvoiceNumber") or "") or None
            if main is not None else None,
            **_read_template_ext(main))
    except ValidationFailed as exc:
        if "amount" in exc.fields:
            raise ValidationFailed("票据金额格式不正确", {"file": "bad amount"}) from None
        raise
    blocks = root.findall("EInvoiceSignature")
    if not blocks:
        raise ValidationFailed("票据文件缺少签名", {"file": "missing EInvoiceSignature"})
    found = [(el.tag, el.get("Role")) for block in blocks for el in block]
    if len(blocks) > 1 or found != [("Signature", role) for role in ROLES]:
        raise _refused("票据文件应恰有开票单位和财政部门的签名各一个",
                       "expected the unit's then the supervisor's signature, found "
                       f"{[role for _, role in found]}",
                       code="unexpected_signatures")
    sigs_el = blocks[0]
    signatures: list[SignatureInfo] = []
    inputs: list[bytes] = []
    states = SignedStates(root)
    for el in list(sigs_el):
        info = SignatureInfo(role=el.get("Role", ""), kid=_text(el, "KeyId"),
                             alg=_text(el, "Algorithm"), sign_time=_text(el, "SignTime"),
                             value_b64=_text(el, "SignatureValue"))
        # The document as it stood when this signature was made: earlier signatures only.
        inputs.append(states.signing_input(len(signatures), info.role, info.kid, info.alg,
                                           info.sign_time))
        signatures.append(info)
    return ParsedBill(bill=bill, signatures=tuple(signatures), signed_inputs=tuple(inputs),
                      ext_tags=_ext_tags(main))


def _ext_tags(main: ET.Element | None) -> tuple[tuple[str, str], ...]:
    ext = main.find("MainExt") if main is not None else None
    if ext is None or ext.find("TemplateVersion") is None:
        return ()
    children = list(ext)
    after = [n for n, el in enumerate(children) if el.tag == "TemplateVersion"][0] + 1
    return tuple((el.tag, el.text or "") for el in children[after:])


def with_template(parsed: ParsedBill, tpl: BillTemplate) -> Bill:
    """The parsed bill read with ``tpl``, the template it names (a finance-defined one, known
    from the stored bill): its extra fields from their XML elements, as ``parse_document``
    reads a built-in template's."""
    given = dict(parsed.ext_tags)
    extra = tuple((f.key, str(signed_yuan_to_fen(given[f.xml_tag])) if f.type == "fen"
                   else given[f.xml_tag]) for f in tpl.fields if f.xml_tag in given)
    return replace(parsed.bill, extra=extra, template_def=tpl)
