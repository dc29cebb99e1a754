"""The bill as OFD (GB/T 33190), read back by an independent reader (ofdkit), checked part by part
against the rules of ``reference/ofd.md``, and drawn to PNG to be compared with the PDF.

Sample pages are written to ``tests/output/`` (and the screenshots of the README to
``tests/screenshots/``) for a person to look at.
"""

from __future__ import annotations

import dataclasses
import io
import posixpath
import re
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import ofdkit
import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from chalicelib.adapters.ofd_attachments import extract_attached_xml
from chalicelib.adapters.ofd_bill import qr_png, render_bill_ofd
from chalicelib.adapters.ttf_subset import face
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.layout import Text
from chalicelib.domain.notes import Item
from tests.ofd_raster import OfdPages
from tests.ofd_sealing import local_sealer
from tests.unit.test_pdf_rendering import BILL, FONT, OUTPUT, VERIFY_URL, XML, _bill, _tool

NS = "{http://www.ofdspec.org/2016}"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
MANY = dataclasses.replace(BILL, items=tuple(
    Item(f"1030401001{k:02d}", f"不动产登记费第{k}项", "1", 100, 100, "件") for k in range(25)),
    total_fen=2500)


def _ofd(bill=BILL, **kwargs) -> bytes:
    return render_bill_ofd(bill, verify_url=VERIFY_URL, xml_bytes=XML, font_path=FONT,
                           supervisor_name="北京市财政局", **kwargs)


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _local(element: ET.Element) -> str:
    return element.tag.removeprefix(NS)


@pytest.fixture(scope="module")
def single() -> bytes:
    return _ofd()


@pytest.fixture(scope="module")
def many() -> bytes:
    return _ofd(MANY, status_text="已冲红")


def test_the_same_bill_gives_the_same_bytes(single: bytes) -> None:
    assert _ofd() == single
    assert _ofd(MANY, status_text="已冲红") == _ofd(MANY, status_text="已冲红")


def test_an_independent_reader_finds_the_text_and_the_key_fields(single: bytes) -> None:
    with ofdkit.open(single) as doc:
        text = doc.text()
        info = doc.info
    for word in (BILL.title, "票据代码：11010125", "0000123456", "aB3dE9", "张三丰",
                 "机动车违法停车罚款", "¥150.00", "壹佰伍拾元整", "复核人：王五"):
        assert word in text
    assert info.custom_data["票据代码"] == "11010125"
    assert info.custom_data["票据号码"] == "0000123456"
    assert info.custom_data["校验码"] == "aB3dE9"
    assert info.custom_data["合计金额"] == "150.00"
    assert info.creation_date == "2026-03-02" and len(info.doc_id) == 32


def test_the_signed_xml_is_attached_byte_for_byte(single: bytes) -> None:
    with ofdkit.open(single) as doc:  # ofdkit's own path resolution (its package reader)
        package, body = doc._package, doc._bodies[0]
        listing = package.read_xml(body.attachments)
        [attachment] = [e for e in listing if _local(e) == "Attachment"]
        path = package.resolve(body.attachments, attachment.findtext(f"{NS}FileLoc"))
        assert package.read(path) == XML
    assert attachment.get("Format") == "xml" and attachment.get("Visible") == "false"
    assert extract_attached_xml(single) == XML


def test_every_id_is_unique_and_max_unit_id_is_the_highest(many: bytes) -> None:
    parts = _parts(many)
    ids = [int(e.get("ID")) for data in parts.values() if b"ofdspec" in data
           for e in ET.fromstring(data).iter() if e.get("ID")]
    assert len(ids) == len(set(ids)) and 0 not in ids
    document = ET.fromstring(parts["Doc_0/Document.xml"])
    assert int(document.findtext(f"{NS}CommonData/{NS}MaxUnitID")) == max(ids)
    refs = {e.get(a) for data in parts.values() if b"ofdspec" in data
            for e in ET.fromstring(data).iter() for a in ("Font", "ResourceID") if e.get(a)}
    assert {int(r) for r in refs} <= set(ids)


def test_every_location_resolves_to_a_part(many: bytes) -> None:
    parts = _parts(many)

    def exists(base: str, loc: str) -> bool:
        path = loc.lstrip("/") if loc.startswith("/") else posixpath.normpath(
            posixpath.join(posixpath.dirname(base), loc))
        return path in parts
    root = ET.fromstring(parts["OFD.xml"])
    assert exists("OFD.xml", root.findtext(f"{NS}DocBody/{NS}DocRoot"))
    document = ET.fromstring(parts["Doc_0/Document.xml"])
    for tag in ("PublicRes", "DocumentRes", "Attachments"):
        assert exists("Doc_0/Document.xml", document.findtext(f".//{NS}{tag}"))
    pages = list(document.iter(f"{NS}Page"))
    assert len(pages) == 2 and all(exists("Doc_0/Document.xml", p.get("BaseLoc")) for p in pages)
    for res in ("Doc_0/PublicRes.xml", "Doc_0/DocumentRes.xml"):
        tree = ET.fromstring(parts[res])
        base = posixpath.join("Doc_0", tree.get("BaseLoc"), "x")
        for loc in [e.text for e in tree.iter() if _local(e) in ("FontFile", "MediaFile")]:
            assert exists(base, loc), loc
    assert all(name.isascii() for name in parts)


def test_parts_follow_the_schemas_element_order(many: bytes) -> None:
    parts = _parts(many)
    orders = {
        "DocInfo": ["DocID", "Title", "Author", "Subject", "Abstract", "CreationDate", "ModDate",
                    "DocUsage", "Cover", "Keywords", "Creator", "CreatorVersion", "CustomDatas"],
        "CommonData": ["MaxUnitID", "PageArea", "PublicRes", "DocumentRes", "TemplatePage",
                       "DefaultCS"],
        "Document": ["CommonData", "Pages", "Outlines", "Permissions", "Actions", "VPreferences",
                     "Bookmarks", "Annotations", "CustomTags", "Attachments", "Extensions"],
        "Res": ["ColorSpaces", "DrawParams", "Fonts", "MultiMedias", "CompositeGraphicUnits"],
        "TextObject": ["Actions", "Clips", "FillColor", "StrokeColor", "CGTransform", "TextCode"],
        "PathObject": ["Actions", "Clips", "StrokeColor", "FillColor", "AbbreviatedData"],
    }
    for data in parts.values():
        if b"ofdspec" not in data:
            continue
        for element in ET.fromstring(data).iter():
            order = orders.get(_local(element))
            if order is None:
                continue
            seen = [order.index(_local(child)) for child in element]
            assert seen == sorted(seen), (_local(element), [_local(c) for c in element])
    root = ET.fromstring(parts["OFD.xml"])
    assert (root.get("Version"), root.get("DocType")) == ("1.0", "OFD")
    assert all(data[:3] != b"\xef\xbb\xbf" for data in parts.values())


def test_text_codes_have_one_delta_per_gap_and_no_spaces(single: bytes) -> None:
    codes = [e for e in ET.fromstring(_parts(single)["Doc_0/Pages/Page_0/Content.xml"]).iter(
        f"{NS}TextCode")]
    assert len(codes) > 50
    for code in codes:
        text = code.text or ""
        assert text and " " not in text and text == text.strip()
        deltas = (code.get("DeltaX") or "").split()
        assert len(deltas) == len(text) - 1
        assert all(re.fullmatch(r"-?\d+(\.\d+)?", d) for d in deltas)
    remark = next(c for c in codes if (c.text or "").startswith("1101052026"))
    assert remark.text == "1101052026000123"  # "…决定书编号 1101052026000123" split at the space


def test_deltas_are_the_fonts_own_advances(single: bytes) -> None:
    font = TTFont(io.BytesIO(_parts(single)["Doc_0/Res/font_1.ttf"]))
    cmap, hmtx, em = font.getBestCmap(), font["hmtx"], font["head"].unitsPerEm
    content = ET.fromstring(_parts(single)["Doc_0/Pages/Page_0/Content.xml"])
    title = next(o for o in content.iter(f"{NS}TextObject")
                 if o.findtext(f"{NS}TextCode") == BILL.title)
    size = float(title.get("Size"))
    deltas = [float(d) for d in title.find(f"{NS}TextCode").get("DeltaX").split()]
    expected = [hmtx[cmap[ord(ch)]][0] / em * size for ch in BILL.title[:-1]]
    assert deltas == pytest.approx(expected, abs=1e-4)


def test_the_font_is_a_truetype_subset_with_the_original_outlines(single: bytes) -> None:
    data = _parts(single)["Doc_0/Res/font_1.ttf"]
    subset = TTFont(io.BytesIO(data))
    original = TTFont(FONT, fontNumber=0, lazy=True)
    assert {"cmap", "loca", "glyf", "head", "hhea", "hmtx", "maxp", "name", "OS/2",
            "post"} <= set(subset.keys())
    assert 40 < len(subset.getGlyphOrder()) < 400 and len(data) < 60_000
    for ch in BILL.title + "0123456789¥：":
        new, old = subset.getBestCmap()[ord(ch)], original.getBestCmap()[ord(ch)]
        assert subset["glyf"][new].getCoordinates(subset["glyf"])[0] == \
            original["glyf"][old].getCoordinates(original["glyf"])[0]
        assert subset["hmtx"][new] == original["hmtx"][old]
    assert original["OS/2"].fsType & 0x2 == 0  # embedding allowed (8: editable embedding)
    assert face(FONT).subset("票据") == face(FONT).subset("据票")


def test_images_are_pngs_sized_by_their_ctm(single: bytes) -> None:
    content = ET.fromstring(_parts(single)["Doc_0/Pages/Page_0/Content.xml"])
    [qr] = list(content.iter(f"{NS}ImageObject"))
    x, y, w, h = (float(v) for v in qr.get("Boundary").split())
    assert qr.get("CTM") == f"{w:g} 0 0 {h:g} 0 0" and w == h == 26
    assert qr_png("x").startswith(b"\x89PNG") and Image.open(io.BytesIO(qr_png("x"))).mode == "1"


def test_the_qr_code_decodes_to_the_verification_link(tmp_path: Path) -> None:
    zbarimg = _tool("zbarimg", "zbar-tools")
    picture = Image.open(io.BytesIO(qr_png(VERIFY_URL))).convert("L")
    (tmp_path / "qr.png").write_bytes(b"")
    picture.save(tmp_path / "qr.png")
    out = subprocess.run([zbarimg, "-q", "--raw", str(tmp_path / "qr.png")], check=True,
                         capture_output=True, timeout=60).stdout.decode().strip()
    assert out == VERIFY_URL


def _png_of_pdf(pdf: bytes, tmp_path: Path) -> Image.Image:
    pdftoppm = _tool("pdftoppm", "poppler-utils")
    (tmp_path / "bill.pdf").write_bytes(pdf)
    subprocess.run([pdftoppm, "-r", "100", "-png", "-f", "1", "-l", "1",
                    str(tmp_path / "bill.pdf"), str(tmp_path / "bill")], check=True, timeout=60)
    return Image.open(next(tmp_path.glob("bill*.png"))).convert("RGB")


@pytest.mark.parametrize("case", ["normal", "reversed", "uploaded-seal", "sealed",
                                  "sealed-uploaded-seal"])
def test_the_ofd_drawn_to_png_looks_like_the_pdf(case: str, tmp_path: Path) -> None:
    """Sealed OFDs show the unit's seal as the electronic seal's appearance (a StampAnnot over
    the page), not as page content: drawn, it must still look like the PDF."""
    kwargs: dict = {}
    sealing: dict = {}
    if case.startswith("sealed"):
        sealer = local_sealer(tmp_path / "keys", "SM2", BILL.issuing_unit_code,
                              BILL.issuing_unit_name)
        sealing = {"sealing": sealer.sealing, "sign": sealer.signer.sign}
    if case == "reversed":
        kwargs["status_text"] = "已冲红"
    if case.endswith("uploaded-seal"):
        seal = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
        ImageDraw.Draw(seal).ellipse((10, 10, 390, 390), outline=(200, 0, 0, 255), width=24)
        out = io.BytesIO()
        seal.save(out, "PNG")
        kwargs["unit_seal_png"] = out.getvalue()
    ofd = _ofd(**kwargs, **sealing)
    assert (b"Doc_0/Signs/Sign_0/SignedValue.dat" in ofd) == bool(sealing)
    ofd_png = OfdPages(ofd).render(0, dpi=100)
    pdf_png = _png_of_pdf(_bill(**kwargs), tmp_path)
    OUTPUT.mkdir(exist_ok=True)
    ofd_png.save(OUTPUT / f"bill-ofd-{case}.png")
    if case == "normal":
        ofd_png.save(SCREENSHOTS / "bill-ofd.png")
    assert ofd_png.size == pdf_png.size

    def blurred(image: Image.Image) -> Image.Image:
        return image.convert("L").filter(ImageFilter.GaussianBlur(1.5))
    a = blurred(pdf_png)
    diffs = {(dx, dy): ImageStat.Stat(ImageChops.difference(
        a, ImageChops.offset(blurred(ofd_png), dx, dy))).mean[0]
        for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
    assert min(diffs, key=lambda k: diffs[k]) == (0, 0), diffs  # in register, not shifted
    assert diffs[(0, 0)] < 3.5, diffs  # the same page but for anti-aliasing
    # and the same amount of seal red in both
    red = [sum(1 for r, g, b in image.get_flattened_data() if r > 150 and g < 110 and b < 120)
           for image in (pdf_png, ofd_png)]
    assert abs(red[0] - red[1]) < 0.15 * red[0], red


def test_an_ofd_without_an_attached_xml_reads_as_none(single: bytes) -> None:
    parts = _parts(single)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in parts.items():
            if name == "Doc_0/Document.xml":
                data = re.sub(rb"<ofd:Attachments>.*?</ofd:Attachments>", b"", data)
            archive.writestr(name, data)
    assert extract_attached_xml(out.getvalue()) is None


@pytest.mark.parametrize("damage", ["not a zip", "doctype", "escape", "too large"])
def test_a_damaged_or_hostile_ofd_is_refused_as_bad_input(single: bytes, damage: str) -> None:
    parts = _parts(single)
    if damage == "not a zip":
        data = b"PK\x03\x04" + b"\0" * 100
    elif damage == "too large":
        data = single + b"\0" * (1024 * 1024)
    else:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for name, part in parts.items():
                if name == "OFD.xml" and damage == "doctype":
                    part = part.replace(b"<ofd:OFD", b'<!DOCTYPE x [<!ENTITY a "b">]><ofd:OFD', 1)
                if name == "Doc_0/Attachs/Attachments.xml" and damage == "escape":
                    part = re.sub(rb"<ofd:FileLoc>.*?</", b"<ofd:FileLoc>../../../etc/x.xml</",
                                  part)
                archive.writestr(name, part)
        data = out.getvalue()
    with pytest.raises(ValidationFailed):
        extract_attached_xml(data)


@pytest.mark.parametrize("template_id", sorted(__import__(
    "devstack.template_samples", fromlist=["SAMPLES"]).SAMPLES))
def test_a_bill_of_every_template_is_the_same_page_in_ofd_as_in_its_layout(
        template_id: str) -> None:
    from chalicelib.adapters.pdf_layout import metrics_for
    from chalicelib.adapters.pdf_render import register_cjk_font
    from chalicelib.domain.bill_layout import layout_bill
    from tests.unit.test_bill_layout_templates import sample

    bill = sample(template_id)
    data = _ofd(bill)
    pages = layout_bill(bill, metrics=metrics_for(register_cjk_font(FONT)),
                        verify_url=VERIFY_URL, supervisor_name="北京市财政局")
    laid_out = ["".join(op.text.split()) for op in pages[0].ops if isinstance(op, Text)]
    content = ET.fromstring(_parts(data)["Doc_0/Pages/Page_0/Content.xml"])
    written = ["".join(c.text or "" for c in o.iter(f"{NS}TextCode"))
               for o in content.iter(f"{NS}TextObject")]
    assert written == [t for t in laid_out if t]  # every run, in order, spaces aside
    with ofdkit.open(data) as doc:
        assert bill.title in doc.text()
    OUTPUT.mkdir(exist_ok=True)
    OfdPages(data).render(0, dpi=80).save(OUTPUT / f"template-ofd-{template_id}.png")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_doctype_is_refused_in_an_xml_part_of_any_encoding(single: bytes,
                                                             encoding: str) -> None:
    """A byte search for ``<!DOCTYPE`` misses it in UTF-16, which expat reads (and whose
    entities it expands): the parser itself must refuse the declaration."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, part in _parts(single).items():
            if name == "OFD.xml":
                text = part.decode("utf-8").split("?>", 1)[1]
                text = text.replace("<ofd:OFD", '<!DOCTYPE x [<!ENTITY a "b">]><ofd:OFD', 1)
                part = f'<?xml version="1.0" encoding="{encoding}"?>{text}'.encode(encoding)
            archive.writestr(name, part)
    with pytest.raises(ValidationFailed) as refused:
        extract_attached_xml(out.getvalue())
    assert "DOCTYPE" in refused.value.fields["file"]
