"""Reading an uploaded PDF: its attached XML or a 400's error, never anything else.

Every hostile PDF of ``tests/hostile.py`` is refused with ``ValidationFailed``; a PDF over the
size limit is refused before pypdf reads a byte; a real bill PDF still gives its XML back.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from pypdf.filters import LZWDecode

from chalicelib.adapters.bill_files import MAX_FILE_BYTES, verify_bill_file
from chalicelib.adapters.pdf_bill import MAX_PDF_BYTES, extract_attached_xml
from chalicelib.adapters.signers import LocalSigner
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.key_trust import fingerprint
from tests.hostile import attachment_pdf, hostile_pdfs, lzw_zeros, one_megabyte_pdfs
from tests.unit.test_pdf_rendering import XML, _bill


@pytest.fixture(autouse=True)
def quiet_pypdf():
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # hostile files make it warn a lot


@pytest.fixture(scope="module")
def bill_pdf() -> bytes:
    return _bill()


def refused(data: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as exc:
        extract_attached_xml(data)
    return exc.value


def test_the_hand_built_pdfs_are_readable_pdfs():
    """The hostile files differ from this one in one way each, so that way is what is refused."""
    pdf = attachment_pdf(b"<< /Type /EmbeddedFile >>", b"<a/>")
    assert PdfReader(io.BytesIO(pdf)).attachments["bill.xml"] == [b"<a/>"]
    assert extract_attached_xml(pdf) == b"<a/>"


def test_the_lzw_bomb_really_decodes_to_zeros():
    assert LZWDecode.decode(lzw_zeros(100_000)) == bytes(100_000)


@pytest.mark.parametrize("name", list(hostile_pdfs()))
def test_a_hostile_pdf_is_refused_or_has_no_xml(name):
    data = hostile_pdfs()[name]
    assert len(data) <= MAX_PDF_BYTES
    try:
        xml = extract_attached_xml(data)
    except ValidationFailed as exc:
        assert exc.code == "unreadable_pdf"
        assert exc.fields["file"].startswith("unreadable PDF (")
    else:
        assert xml is None, name  # e.g. the circular /Prev: read, nothing attached


@pytest.mark.parametrize("name", ["Flate bomb attached as the XML",
                                  "LZW bomb attached as the XML",
                                  "a hundred filters on one stream"])
def test_a_compression_bomb_stops_at_the_decoding_limit(name):
    """64 MB of zeros each (pypdf 6.1.1 inflated them all); now stopped at 1 MB."""
    assert refused(hostile_pdfs()[name]).fields == {
        "file": "unreadable PDF (LimitReachedError)"}


def test_a_pdf_over_the_size_limit_is_refused_before_pypdf_reads_it(bill_pdf):
    # Valid PDF bytes padded past the limit: pypdf would read them (trailing garbage is allowed
    # after %%EOF only at the end, so the padding goes before); the refusal names the size.
    padded = bill_pdf[:9] + b"%" + b"x" * MAX_PDF_BYTES + b"\n" + bill_pdf[9:]
    error = refused(padded)
    assert (error.code, error.fields) == ("file_too_large",
                                          {"file": f"a PDF of at most {MAX_PDF_BYTES} bytes"})


def test_the_real_bill_pdf_still_gives_its_xml(bill_pdf):
    assert len(bill_pdf) < MAX_PDF_BYTES / 10
    assert extract_attached_xml(bill_pdf) == XML


def test_a_bill_of_many_pages_with_a_seal_and_a_stamp_is_read_strictly():
    from dataclasses import replace

    from chalicelib.domain.notes import Item
    from tests.functional.test_unit_seal import seal_png
    from tests.unit.test_pdf_rendering import BILL

    items = tuple(Item(f"1030401001{k:02d}", "收费项目" * 25, "1", 100, 100, "件")
                  for k in range(50))
    bill = replace(BILL, items=items, total_fen=5000)
    pdf = _bill(bill=bill, unit_seal_png=seal_png(600), status_text="已冲红")
    assert len(PdfReader(io.BytesIO(pdf)).pages) > 1
    assert extract_attached_xml(pdf) == XML


def test_each_hostile_pdf_at_the_size_limit_is_refused():
    for name, data in one_megabyte_pdfs(MAX_PDF_BYTES).items():
        assert len(data) <= MAX_PDF_BYTES, name
        assert refused(data).code == "unreadable_pdf", name


def test_a_pdf_without_eof_at_its_end_is_refused_before_pypdf_searches_for_it():
    """pypdf looks for %%EOF line by line from the end: 1.5 s through 1 MB of short lines."""
    pdf = attachment_pdf(b"<< /Type /EmbeddedFile >>", b"<a/>")
    assert extract_attached_xml(pdf + b"%" * 1000) == b"<a/>"  # within the last 1024 bytes
    error = refused(pdf + b"\n" * 1024)
    assert error.fields == {"file": "unreadable PDF (no %%EOF at the end)"}


def test_a_broken_cross_reference_table_is_refused_not_rebuilt():
    """Rebuilding it reads every object of the file: 2.5 s for 1 MB of small objects."""
    pdf = attachment_pdf(b"<< /Type /EmbeddedFile >>", b"<a/>")
    start = pdf.rindex(b"startxref\n") + len(b"startxref\n")
    broken = pdf[:start] + b"20" + pdf[pdf.index(b"\n", start):]
    assert refused(broken).fields == {"file": "unreadable PDF (PdfReadError)"}


def test_bytes_that_are_not_a_pdf_are_refused():
    assert refused(b"not a pdf").code == "unreadable_pdf"


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_damaged_bill_pdf_gives_xml_none_or_a_refusal(bill_pdf, data):
    """Whatever bytes pypdf chokes on, and however, the only error that leaves is ours."""
    damaged = bytearray(bill_pdf)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            damaged[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del damaged[at:at + data.draw(st.integers(1, 4096))]
        else:
            damaged[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    try:
        out = extract_attached_xml(bytes(damaged))
    except ValidationFailed:
        return
    assert out is None or isinstance(out, bytes)


def test_every_pypdf_error_type_is_a_refusal(monkeypatch):
    """Not only pypdf's own exceptions: whatever it raises (here a KeyError and a
    RecursionError, as malformed files have caused) leaves as ``ValidationFailed``."""
    import pypdf

    for error in (KeyError("/Root"), RecursionError(), MemoryError(), AssertionError()):
        def broken(*_args, _error=error, **_kwargs):
            raise _error
        monkeypatch.setattr(pypdf, "PdfReader", broken)
        assert refused(b"%PDF-1.7\n%%EOF\n").fields == {
            "file": f"unreadable PDF ({type(error).__name__})"}


def test_the_offline_check_refuses_a_file_over_the_limit(tmp_path, capsys):
    from chalicelib.cli import main

    big = tmp_path / "big.xml"
    big.write_bytes(b"<EInvoice>" + b" " * (MAX_FILE_BYTES * 4))
    keys = tmp_path / "keys.json"
    root = LocalSigner(tmp_path).create_key("root.pem")
    keys.write_text(json.dumps({"root": {"public_key_pem": root}, "keys": []}))
    assert main(["verify-bill", "--keys-file", str(keys), "--root-fingerprint",
                 fingerprint(root), str(big)]) == 1
    assert "FAIL file: 票据文件过大" in capsys.readouterr().out
    assert verify_bill_file(big.read_bytes(), {}).error.code == "file_too_large"  # type: ignore[union-attr]
