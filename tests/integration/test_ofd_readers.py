"""Our bill OFDs in an independent reader: ofd.js (``tests/ofdjs.py``) in Chromium opens a sealed
bill, verifies its electronic seal with its own SM2 and SM3 (sm-crypto), and draws it; the
screenshot goes to ``tests/output/`` and the README's ``tests/screenshots/bill-ofdjs.png``.

What ofd.js shows of our OFD, seen: the page as the PDF has it, the QR code, the 监制 seal,
and the unit's seal drawn from the seal's own picture (a small OFD) where the StampAnnot puts
it; ofd.js draws every path of a seal's picture unfilled, so the star in its middle is an
outline there (filled in the PDF and in other readers).
"""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from chalicelib.adapters.ofd_bill import render_bill_ofd
from tests.ofd_sealing import local_sealer
from tests.ofdjs import open_in_ofdjs
from tests.unit.test_pdf_rendering import BILL, FONT, OUTPUT, VERIFY_URL, XML

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"


@pytest.fixture(scope="module")
def sealed(tmp_path_factory) -> bytes:
    sealer = local_sealer(tmp_path_factory.mktemp("keys"), "SM2", BILL.issuing_unit_code,
                          BILL.issuing_unit_name)
    return render_bill_ofd(BILL, verify_url=VERIFY_URL, xml_bytes=XML, font_path=FONT,
                           supervisor_name="北京市财政局", sealing=sealer.sealing,
                           sign=sealer.signer.sign)


def _repacked(data: bytes, part: str, change) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts[part] = change(parts[part])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return out.getvalue()


def _ofdjs(browser, data: bytes):
    try:
        return open_in_ofdjs(browser, data)
    except RuntimeError as exc:  # no npm, no registry: say so, never skip
        pytest.fail(f"ofd.js could not be installed: {exc}")


def test_ofdjs_verifies_the_units_sm2_seal_and_every_part_it_protects(browser, sealed):
    page, found = _ofdjs(browser, sealed)
    try:
        assert found["errors"] == [] and found["pages"] == 1
        assert len(found["seals"]) == 1, found["seals"]
        seal = found["seals"][0]
        assert seal["signatureVerified"] is True  # sm-crypto: SM2 over TBS_Sign, default ID
        with zipfile.ZipFile(io.BytesIO(sealed)) as archive:
            signed = [n for n in archive.namelist() if not n.startswith("Doc_0/Signs/")]
        assert seal["partsChecked"] == len(signed) >= 9  # every part but the signature's
        assert seal["partsIntact"] is True  # their SM3s, by sm-crypto
        assert seal["method"] == "1.2.156.10197.1.501" and seal["type"] == "ofd"
        assert seal["sealName"] == f"{BILL.issuing_unit_name}票据专用章"
        shown = "".join(found["text"].split())
        for text in ("票据代码", BILL.bill_number, BILL.payer_name, "150.00"):
            assert text in shown, (text, shown[:400])
    finally:
        page.close()


def test_ofdjs_finds_a_page_altered_after_sealing(browser, sealed):
    altered = _repacked(sealed, "Doc_0/Pages/Page_0/Content.xml",
                        lambda b: b.replace(b"</ofd:TextCode>", b"9</ofd:TextCode>", 1))
    page, found = _ofdjs(browser, altered)
    try:
        assert found["seals"][0]["partsIntact"] is False
    finally:
        page.close()


def test_ofdjs_refuses_a_seal_whose_signed_data_was_changed(browser, sealed):
    # one bit of the signature value (the last byte of SignedValue.dat) flipped
    changed = _repacked(sealed, "Doc_0/Signs/Sign_0/SignedValue.dat",
                        lambda b: b[:-1] + bytes([b[-1] ^ 1]))
    page, found = _ofdjs(browser, changed)
    try:
        assert found["seals"][0]["signatureVerified"] is False
    finally:
        page.close()


def test_ofdjs_draws_the_bill_with_its_seal_qr_and_text(browser, sealed, tmp_path):
    page, found = _ofdjs(browser, sealed)
    try:
        shot = page.locator("#pages > div").first.screenshot()
    finally:
        page.close()
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "bill-ofdjs.png").write_bytes(shot)
    (SCREENSHOTS / "bill-ofdjs.png").write_bytes(shot)
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    w, h = image.size
    assert abs(w / h - 210 / 148) < 0.02, image.size  # the A5 landscape page, whole
    # the unit's seal, drawn from the seal's picture, sits over 收款单位 (bottom left)
    seal_box = image.crop((0, int(h * 0.80), int(w * 0.45), h))
    red = sum(1 for r, g, b in seal_box.get_flattened_data() if r > 150 and g < 90 and b < 90)
    assert red > 0.01 * seal_box.width * seal_box.height, red
    # the QR code ofd.js drew decodes to the verification link
    (tmp_path / "page.png").write_bytes(shot)
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page.png")],
                             capture_output=True, text=True, timeout=60, check=False)
    assert VERIFY_URL in decoded.stdout, decoded.stdout + decoded.stderr
