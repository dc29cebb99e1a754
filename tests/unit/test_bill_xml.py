"""The signed bill XML: built, signed twice, written, and read back to the same bill."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.signers import LocalSigner, verify_es256
from chalicelib.domain import bill_xml
from chalicelib.domain.bills import Bill
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.money import MAX_FEN, fen_to_yuan, yuan_to_fen
from chalicelib.domain.notes import Item

SIGN_TIME = "2026-03-02T10:05:00+08:00"
BILL = Bill(
    bill_code="34010126", bill_number="0000000001", check_code="aB3dE9", kind_code="0101",
    title="安徽省非税收入统一票据（电子）", region_code="340100",
    issued_at="2026-03-02T10:05:00+08:00", issuing_unit_code="340100001",
    issuing_unit_name="合肥市不动产登记中心", payer_name="张三", payer_type="individual",
    payer_credit_code=None,
    items=(Item("103040100101", "不动产登记费（住宅）", "1", 8000, 8000, "件"),
           Item("103040100103", "不动产权证书工本费", "0.3", 200000, 60000)),
    total_fen=68000, payment_code="34010026123456789012", payment_channel="wechatpay",
    channel_txn_id="4200000001202603020000000001", handling_person="王敏", checker="李强",
    remark="缴款码：34010026123456789012；测试")


class Signers:
    """The unit's and the finance department's keys, and every message they were asked to sign."""

    def __init__(self, signer: LocalSigner) -> None:
        self.signer = signer
        self.public = {ref: signer.create_key(ref) for ref in ("unit.pem", "finance.pem")}
        self.signed: list[bytes] = []

    def sign(self, key_ref: str, message: bytes) -> bytes:
        self.signed.append(message)
        return self.signer.sign(key_ref, message)


@pytest.fixture(scope="module")
def signers(tmp_path_factory) -> Signers:
    return Signers(LocalSigner(tmp_path_factory.mktemp("keys")))


def signed_xml(bill: Bill, signers: Signers) -> bytes:
    root = bill_xml.build_document(bill)
    for role, ref in (("unit", "unit.pem"), ("supervisor", "finance.pem")):
        message = bill_xml.signing_input(root, role, ref, "ES256", SIGN_TIME)
        value = base64.b64encode(signers.sign(ref, message)).decode()
        bill_xml.append_signature(root, bill_xml.SignatureInfo(role, ref, "ES256", SIGN_TIME,
                                                               value))
    return bill_xml.serialize(root)


def refused(data: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as exc:
        bill_xml.parse_document(data)
    return exc.value


# Text an XML 1.0 document carries unchanged: no control characters (a carriage return would be
# read back as a line feed), no surrogates or non-characters.
texts = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cn")), max_size=30)
present = texts.filter(bool)
fens = st.integers(min_value=1, max_value=MAX_FEN)
items = st.builds(Item, item_code=st.from_regex(r"^[0-9A-Za-z]{1,20}$", fullmatch=True),
                  name=present, quantity=st.from_regex(r"^[1-9][0-9]{0,3}(\.[0-9]{1,6})?$",
                                                       fullmatch=True),
                  standard_fen=fens, amount_fen=fens, unit=st.none() | present)
bills = st.builds(
    replace, st.just(BILL), title=texts, issuing_unit_name=texts, payer_name=texts,
    payer_type=st.sampled_from(["individual", "organization"]),
    payer_credit_code=st.none() | present, items=st.lists(items, max_size=5).map(tuple),
    total_fen=fens, payment_channel=st.sampled_from(["wechatpay", "alipay", "unionpay", "bank"]),
    channel_txn_id=present, handling_person=texts, checker=texts, remark=st.none() | present)


def test_a_signed_bill_reads_back_as_the_same_bill(signers):
    parsed = bill_xml.parse_document(signed_xml(BILL, signers))
    assert parsed.bill == BILL
    assert [(s.role, s.kid, s.alg, s.sign_time) for s in parsed.signatures] == [
        ("unit", "unit.pem", "ES256", SIGN_TIME), ("supervisor", "finance.pem", "ES256", SIGN_TIME)]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(bills)
def test_any_bill_reads_back_as_the_same_bill(signers, bill):
    assert bill_xml.parse_document(signed_xml(bill, signers)).bill == bill


def test_the_parsed_document_names_exactly_the_bytes_that_were_signed(signers):
    signers.signed.clear()
    parsed = bill_xml.parse_document(signed_xml(BILL, signers))
    assert list(parsed.signed_inputs) == signers.signed
    for sig, message, ref in zip(parsed.signatures, parsed.signed_inputs,
                                 ("unit.pem", "finance.pem"), strict=True):
        assert verify_es256(signers.public[ref], message, base64.b64decode(sig.value_b64))


def test_the_finance_signature_covers_the_unit_signature_but_not_the_reverse(signers):
    parsed = bill_xml.parse_document(signed_xml(BILL, signers))
    unit_value = parsed.signatures[0].value_b64.encode()
    assert unit_value in parsed.signed_inputs[1]
    assert unit_value not in parsed.signed_inputs[0]
    assert b"<SignatureValue>" not in parsed.signed_inputs[0]


def test_the_document_is_written_compact_in_utf8(signers):
    data = signed_xml(BILL, signers)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?><EInvoice>')
    assert b"\n" not in data and "合肥市不动产登记中心".encode() in data


def _leaf_paths(root: ET.Element) -> list[str]:
    out = []

    def walk(el: ET.Element, path: str) -> None:
        children = list(el)
        if not children:
            out.append(path)
        for tag in dict.fromkeys(c.tag for c in children):
            same = [c for c in children if c.tag == tag]
            for i, child in enumerate(same, start=1):
                walk(child, f"{path}/{tag}[{i}]")

    for section in ("Header", "EInvoiceData"):
        walk(root.find(section), f"./{section}")  # type: ignore[arg-type]
    return out


def _changed(text: str | None) -> str:
    try:
        return fen_to_yuan(yuan_to_fen(text or "") + 1)  # an amount stays an amount
    except ValidationFailed:
        return (text or "") + "X"


def test_changing_any_one_field_changes_what_the_unit_signed(signers):
    data = signed_xml(BILL, signers)
    original = bill_xml.parse_document(data)
    root = ET.fromstring(data)
    paths = _leaf_paths(root)
    assert len(paths) > 30
    for path in paths:
        edited = ET.fromstring(data)
        leaf = edited.find(path)
        assert leaf is not None, path
        leaf.text = _changed(leaf.text)
        parsed = bill_xml.parse_document(bill_xml.serialize(edited))
        assert parsed.signed_inputs[0] != original.signed_inputs[0], path
        assert not verify_es256(signers.public["unit.pem"], parsed.signed_inputs[0],
                                base64.b64decode(parsed.signatures[0].value_b64)), path


@pytest.mark.parametrize("tag", ["KeyId", "Algorithm", "SignTime"])
def test_changing_what_a_signature_says_of_itself_changes_what_it_covers(signers, tag):
    data = signed_xml(BILL, signers)
    original = bill_xml.parse_document(data)
    edited = ET.fromstring(data)
    leaf = edited.find(f"./EInvoiceSignature/Signature[1]/{tag}")
    assert leaf is not None
    leaf.text = (leaf.text or "") + "X"
    parsed = bill_xml.parse_document(bill_xml.serialize(edited))
    assert parsed.signed_inputs[0] != original.signed_inputs[0]


def test_einvoice_id_is_the_reversed_bill_reference():
    assert bill_xml.einvoice_id("34010126", "0000000001") == "1000000000-62101043"


@pytest.mark.parametrize("doctype", [
    b'<!DOCTYPE EInvoice [<!ENTITY a "b">]>',
    b'<!DOCTYPE EInvoice SYSTEM "http://example.invalid/e.dtd">',
    b'<!DOCTYPE EInvoice>',
])
def test_refuses_a_document_with_a_dtd(signers, doctype):
    data = signed_xml(BILL, signers).replace(b"?><EInvoice>", b"?>" + doctype + b"<EInvoice>")
    assert refused(data).fields == {"file": "DTDs are not allowed"}


def test_refuses_a_dtd_in_a_utf16_document(signers):
    text = signed_xml(BILL, signers).decode()
    text = text.replace('<?xml version="1.0" encoding="UTF-8"?>',
                        '<?xml version="1.0" encoding="UTF-16"?>'
                        '<!DOCTYPE EInvoice [<!ENTITY r "expanded">]>')
    text = text.replace(f"<Remark>{BILL.remark}</Remark>", "<Remark>&r;</Remark>")
    with pytest.raises(ValidationFailed):
        bill_xml.parse_document(text.encode("utf-16"))  # today: parsed, remark == "expanded"


@pytest.mark.parametrize("data", [b"", b"not xml", b"%PDF-1.7", b"<EInvoice>", b"{}",
                                  b"<EInvoice></Other>"])
def test_refuses_what_is_not_xml(data):
    assert refused(data).message == "不是有效的 XML 票据文件"


def test_refuses_xml_that_is_not_an_einvoice():
    assert refused(b"<Invoice/>").fields == {"file": "root element is not EInvoice"}


def test_refuses_a_file_larger_than_the_limit():
    assert refused(b" " * (bill_xml.MAX_XML_BYTES + 1)).fields == {"file": "too large"}


def test_names_a_missing_element(signers):
    data = signed_xml(BILL, signers).replace(b"<Checker>\xe6\x9d\x8e\xe5\xbc\xba</Checker>", b"")
    assert refused(data).fields == {"file": "missing Checker"}


def test_refuses_an_amount_that_is_not_plain_yuan(signers):
    data = signed_xml(BILL, signers).replace(b"<TotalAmount>680.00<", b"<TotalAmount>6.8e2<")
    assert refused(data).fields == {"file": "bad amount"}


def test_refuses_a_document_without_its_signature_block(signers):
    root = ET.fromstring(signed_xml(BILL, signers))
    root.remove(root.find("EInvoiceSignature"))  # type: ignore[arg-type]
    assert refused(bill_xml.serialize(root)).fields == {"file": "missing EInvoiceSignature"}


# Hostile files: each refused with a 400's error while the file is being read, before the canonical
# forms are computed. The proof that a refusal comes from the reading pass: the same file cut off
# right after the offending part (no longer well-formed XML) is refused for the same reason, not
# as "not XML", so reading stopped there.

def _supervisor_signature(data: bytes) -> bytes:
    return data[data.index(b'<Signature Role="supervisor"'):data.index(b"</EInvoiceSignature>")]


def _refused_while_reading(data: bytes, cut_after: bytes, start: int = 0) -> ValidationFailed:
    whole = refused(data)
    cut = refused(data[:data.index(cut_after, start) + len(cut_after)])
    assert (cut.code, cut.fields) == (whole.code, whole.fields)
    return whole


def test_refuses_a_signature_bomb_at_the_third_signature(signers):
    data = signed_xml(BILL, signers)
    extra = _supervisor_signature(data)
    bomb = data.replace(b"</EInvoiceSignature>", extra * 400 + b"</EInvoiceSignature>")
    third = data.index(b"</EInvoiceSignature>")  # where the first extra signature starts
    error = _refused_while_reading(bomb, b'<Signature Role="supervisor">', start=third)
    assert error.code == "unexpected_signatures"
    assert error.fields == {"file": "more than 2 signatures"}


@pytest.mark.parametrize("roles", [("unit",), ("supervisor", "unit"), ("unit", "unit"), ()])
def test_refuses_any_signatures_but_the_units_then_the_supervisors(signers, roles):
    data = signed_xml(BILL, signers)
    start, end = data.index(b"<EInvoiceSignature>"), data.index(b"</EInvoiceSignature>")
    unit = data[start + len(b"<EInvoiceSignature>"):data.index(b'<Signature Role="supervisor"')]
    by_role = {"unit": unit, "supervisor": _supervisor_signature(data)}
    forged = data[:start] + b"<EInvoiceSignature>" + b"".join(by_role[r] for r in roles) + data[end:]
    assert refused(forged).code == "unexpected_signatures"


def test_refuses_a_second_signature_block(signers):
    data = signed_xml(BILL, signers)
    block = data[data.index(b"<EInvoiceSignature>"):data.index(b"</EInvoice>")]
    assert refused(data.replace(b"</EInvoice>", block + b"</EInvoice>")).code == \
        "unexpected_signatures"


@pytest.mark.parametrize("encoding", [b"x-unknown", b"UTF-16", b"GBK", b"latin-1"])
def test_refuses_a_declared_encoding_other_than_utf8(signers, encoding):
    data = signed_xml(BILL, signers).replace(b'encoding="UTF-8"', b'encoding="' + encoding + b'"')
    error = refused(data)  # an unknown name was a LookupError (500)
    assert (error.code, error.fields) == ("unsupported_encoding", {"file": "must be UTF-8"})


@pytest.mark.parametrize("declaration", [b'<?xml version="1.0" encoding="utf-8"?>',
                                         b'<?xml version="1.0"?>', b""])
def test_reads_a_utf8_declaration_in_any_case_or_none(signers, declaration):
    data = signed_xml(BILL, signers).replace(b'<?xml version="1.0" encoding="UTF-8"?>',
                                             declaration)
    assert bill_xml.parse_document(data).bill == BILL


def test_refuses_ten_thousand_nested_elements_in_a_field(signers):
    data = signed_xml(BILL, signers).replace(b"<Checker>", b"<Checker>" + b"<a>" * 10_000
                                             + b"</a>" * 10_000)
    error = _refused_while_reading(data, b"<Checker>" + b"<a>" * 5)  # was a RecursionError (500)
    assert error.code == "bill_file_too_complex"
    assert error.fields == {"file": f"nested deeper than {bill_xml.MAX_DEPTH} elements"}


def test_refuses_more_elements_than_a_bill_can_have(signers):
    data = signed_xml(BILL, signers).replace(b"<Checker>", b"<Checker>" + b"<a/>" * 5_000)
    error = _refused_while_reading(data, b"<a/>" * (bill_xml.MAX_ELEMENTS + 1))
    assert error.fields == {"file": f"more than {bill_xml.MAX_ELEMENTS} elements"}


def test_refuses_a_text_longer_than_any_field(signers):
    data = signed_xml(BILL, signers).replace(b"<Checker>", b"<Checker>" + b"x" * 100_000)
    error = _refused_while_reading(data, b"<Checker>" + b"x" * (bill_xml.MAX_TEXT_CHARS + 1))
    assert error.fields == {"file": f"a text longer than {bill_xml.MAX_TEXT_CHARS} characters"}


@pytest.mark.parametrize("change", [
    (b"<Checker>", b'<Checker xmlns="urn:x">'),
    (b"<Checker>", b'<x:Checker xmlns:x="urn:x">'),
    (b'<Signature Role="unit">', b'<Signature Role="unit" Id="a">'),
    (b'<Signature Role="unit">', b'<Signature Role="unit" xml:lang="zh">'),
    (b"<Checker>", b'<Checker Role="unit">'),
])
def test_refuses_namespaces_and_attributes_a_bill_does_not_have(signers, change):
    data = signed_xml(BILL, signers).replace(*change, 1)
    assert refused(data).message == "票据文件含有不允许的命名空间或属性"


def test_a_bill_of_fifty_items_with_the_longest_fields_is_within_every_limit(signers):
    long = "长" * 100
    bill = replace(BILL, payer_name=long, remark="备" * 200, total_fen=50 * 8000, items=tuple(
        Item(f"1030401001{k:02d}", long, "1", 8000, 8000, "件" * 20) for k in range(50)))
    data = signed_xml(bill, signers)
    assert len(data) < bill_xml.MAX_XML_BYTES / 3
    assert bill_xml.parse_document(data).bill == bill


# Any tree the canonical form might be asked of. Plain trees: our tags and others, attributes,
# tails, text with markup characters, tabs and line feeds, CJK and astral planes: what the fast
# path writes itself. Any tree: now and then a carriage return, a control character, a
# surrogate, a non-character, a namespace or a tag that is no XML name, which it leaves to the
# standard library.
def _reference_c14n(root: ET.Element) -> bytes | type[Exception]:
    try:
        return ET.canonicalize(ET.tostring(root, encoding="unicode")).encode("utf-8")
    except Exception as exc:  # noqa: BLE001 - the standard library refuses some trees
        return type(exc)


def assert_as_the_reference(expected: bytes | type[Exception], ours: Callable[[], bytes]) -> None:
    """``ours()`` gives exactly the reference's bytes, or refuses as the reference did."""
    if isinstance(expected, bytes):
        assert ours() == expected
    else:
        with pytest.raises(expected):
            ours()


plain_text = st.none() | st.text(st.characters(blacklist_categories=("Cs",), min_codepoint=0x20)
                                 | st.sampled_from("&<>\"'\t\n"), max_size=12)
odd_text = st.sampled_from(["\r\n", "x\ry", "\x01", "\ud800", "\ufffe"])
plain_tags = st.sampled_from(["EInvoice", "Item", "Signature", "a.b-c_d"])
odd_tags = st.sampled_from(["{urn:x}Item", "p:q", "1bad", "has space"])


# Made once, not at each draw: a strategy made anew works out again what it can draw (each
# branch of a one_of, each time), which was most of these tests' CPU. The same strategies.
texts = {False: plain_text, True: st.one_of(*[plain_text] * 30, odd_text)}
tags = {False: plain_tags, True: st.one_of(*[plain_tags] * 30, odd_tags)}
attribute_names = {odd: st.lists(st.sampled_from(["Role", "b", "A"] + ["x:y"] * odd),
                                 max_size=2, unique=True) for odd in (False, True)}
child_counts = st.integers(0, 3)


@st.composite
def trees(draw, odd: bool, depth: int = 0) -> ET.Element:
    def text():
        return draw(texts[odd])

    el = ET.Element(draw(tags[odd]))
    for name in draw(attribute_names[odd]):
        el.set(name, text() or "")
    el.text = text()
    if depth < 3:
        for _ in range(draw(child_counts)):
            child = draw(trees(odd, depth + 1))
            child.tail = text()
            el.append(child)
    return el


@settings(max_examples=150, deadline=None)
@given(trees(odd=False))
def test_the_canonical_form_of_a_plain_tree_is_the_standard_librarys(root):
    assert bill_xml._canonical(root) == _reference_c14n(root)


@settings(max_examples=150, deadline=None)
@given(trees(odd=True))
def test_the_canonical_form_of_any_tree_is_the_standard_librarys_or_its_refusal(root):
    assert_as_the_reference(_reference_c14n(root), lambda: bill_xml._canonical(root))


def test_the_canonical_form_of_a_pretty_printed_bill_file_is_the_standard_librarys(signers):
    root = ET.fromstring(signed_xml(replace(BILL, remark="a & b < c > d \"e\"\t𝄞"), signers))
    ET.indent(root)
    assert bill_xml._canonical(root) == _reference_c14n(root)
    root.tail = "\n"
    assert bill_xml._canonical(root) == _reference_c14n(root)


# The signing inputs of a document, written once outside its signatures (``SignedStates``),
# against the long way (a copy of each state in canonical form); the document written as
# ElementTree writes it (``serialize``).
@st.composite
def documents(draw, odd: bool) -> ET.Element:
    """A tree with an ``EInvoiceSignature`` among its root's children, holding signatures."""
    root = draw(trees(odd))
    sigs = ET.Element("EInvoiceSignature")
    sigs.text = draw(texts[odd])
    sigs.tail = draw(texts[odd])
    for _ in range(draw(st.integers(0, 2))):
        signature = draw(trees(odd, 2))
        signature.tail = draw(texts[odd])
        sigs.append(signature)
    root.insert(draw(st.integers(0, len(root))), sigs)
    root.tail = draw(st.sampled_from([None, None, None, "\n"]))
    return root


def _the_long_way(root: ET.Element, earlier: int, *pending: str) -> bytes | type[Exception]:
    try:
        return bill_xml._copied_signing_input(root, earlier, *pending)
    except Exception as exc:  # noqa: BLE001 - the standard library refuses some trees
        return type(exc)


@settings(max_examples=200, deadline=None)
@given(documents(odd=False) | documents(odd=True),
       st.sampled_from([("unit", "k1", "ES256", SIGN_TIME), ("supervisor", "a&b<c>", "SM2", "\t"),
                        ("unit", "k\r", "ES256", SIGN_TIME), ("unit", "k", "x\ud800", "t")]))
def test_every_signing_input_of_any_document_is_its_copy_in_canonical_form(root, pending):
    states = bill_xml.SignedStates(root)
    before = ET.tostring(root)
    sigs = root.find("EInvoiceSignature")
    for earlier in range(len(sigs) + 1):
        assert_as_the_reference(_the_long_way(root, earlier, *pending),
                                lambda k=earlier: states.signing_input(k, *pending))
    assert ET.tostring(root) == before  # the document is left as it was


def test_signing_and_reading_a_bill_copy_no_document(signers, monkeypatch):
    """Issuance's two signing inputs and the check of both: the bill's part outside its
    signatures written once for each, no copy of it made."""
    def no_copy(*_):
        raise AssertionError("the document was copied")

    monkeypatch.setattr(bill_xml.copy, "deepcopy", no_copy)
    signers.signed.clear()
    parsed = bill_xml.parse_document(signed_xml(BILL, signers))
    assert list(parsed.signed_inputs) == signers.signed
    monkeypatch.undo()
    root = ET.fromstring(signed_xml(BILL, signers))
    assert list(parsed.signed_inputs[:1]) == [
        bill_xml._copied_signing_input(root, 0, "unit", "unit.pem", "ES256", SIGN_TIME)]


def _as_elementtree_writes(root: ET.Element) -> bytes | type[Exception]:
    try:
        return (b'<?xml version="1.0" encoding="UTF-8"?>'
                + ET.tostring(root, encoding="utf-8", xml_declaration=False))
    except Exception as exc:  # noqa: BLE001 - the standard library refuses some trees
        return type(exc)


# Surrogates, carriage returns, controls, all; each character that either writer escapes drawn
# often enough that every escape is exercised in a run.
any_text = st.none() | st.text(st.sampled_from('&<>"\'\t\n\r a中') | st.characters(),
                               max_size=8)


@st.composite
def written_trees(draw, depth: int = 0) -> ET.Element:
    el = ET.Element(draw(st.one_of(*[plain_tags] * 10, odd_tags)))
    for name in draw(attribute_names[True]):
        el.set(name, draw(any_text) or "")
    el.text = draw(any_text)
    if depth < 3:
        for _ in range(draw(child_counts)):
            child = draw(written_trees(depth + 1))
            child.tail = draw(any_text)
            el.append(child)
    return el


def _escapes_everywhere() -> ET.Element:
    """Every character either writer escapes, in an attribute, a text and a tail."""
    root = ET.Element("EInvoice", {"A": '&<>"\'\t\n\r中'})
    root.text = '&<>"\t\n\r'
    child = ET.SubElement(root, "Item", {"b": "\t"})
    child.tail = "a&b<c>d\r"
    return root


@settings(max_examples=200, deadline=None)
@given(written_trees())
@example(_escapes_everywhere())
def test_a_document_is_written_byte_for_byte_as_elementtree_writes_it(root):
    assert_as_the_reference(_as_elementtree_writes(root), lambda: bill_xml.serialize(root))


def test_a_bill_is_written_directly_not_through_elementtrees_writer(signers, monkeypatch):
    root = ET.fromstring(signed_xml(replace(BILL, remark='a & b < c > "d"\t\n𝄞', checker=""),
                                    signers))
    expected = _as_elementtree_writes(root)
    assert b"<Checker />" in expected  # an empty element, as ElementTree writes one

    def not_this_way(*_, **__):
        raise AssertionError("written through ElementTree")

    monkeypatch.setattr(ET, "tostring", not_this_way)
    assert bill_xml.serialize(root) == expected
