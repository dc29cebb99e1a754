"""A unit's basic information beyond fee items and ranges, set by the finance department
(CONTRACT v2 ``/v1/admin``, extended): the bill kinds it is allowed (事前审核 of notes, direct
bills, fee items and ranges) and its seal (set, previewed on a sample bill, carried by the bills
issued from then on, never by those issued before)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest

from chalicelib.services.finance_keys import create_finance_key
from devstack.notifications import bank_notification
from tests.functional.support import assert_error, body_of
from tests.functional.test_end_to_end import NOTE
from tests.functional.test_unit_seal import seal_png

UNIT = "/v1/admin/units/340100001"
PNG = {"Content-Type": "image/png"}


def _finance(world, api_key: str | None = None, **extra) -> dict[str, str]:
    auth = world.finance_auth() if api_key is None else {
        "Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    return {**auth, **extra}


def _kinds(client, world, body, unit=UNIT, headers=None):
    return client.http.put(f"{unit}/bill-kinds", headers=headers or _finance(world),
                           body=json.dumps(body))


def _billed(world, client, note=NOTE) -> dict:
    r = client.http.post("/v1/notes", headers=world.auth(), body=json.dumps(note))
    assert r.status_code == 201, r.body
    code = body_of(r)["payment_code"]
    body, headers = bank_notification(world.stack, code, note["total_fen"], now=world.clock())
    client.http.post("/callbacks/bank", headers=headers, body=body)
    world.drain()
    return body_of(client.http.get(f"/v1/notes/{code}", headers=world.auth()))["bill"]


def _pdf_images(pdf: bytes) -> int:
    from pypdf import PdfReader

    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def _bill_files(client, bill) -> tuple[bytes, bytes]:
    where = f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}"
    query = f"?check_code={bill['check_code']}"
    return (client.http.get(f"{where}/pdf{query}").body, client.http.get(f"{where}/ofd{query}").body)


def _ofd_seal_is(ofd: bytes, png: bytes) -> bool:
    """Whether the OFD's electronic seal (GB/T 38540) shows ``png`` as its picture, as the
    renderer fits it (``pdf_layout.seal_image``, re-encoded the same way every time)."""
    from chalicelib.adapters.pdf_layout import seal_image

    out = io.BytesIO()
    seal_image(png).save(out, "PNG")
    package = zipfile.ZipFile(io.BytesIO(ofd))
    return any(out.getvalue() in package.read(name) for name in package.namelist())


# ---- bill kinds allowed ----------------------------------------------------------------------

def test_the_allowed_kinds_are_set_shown_and_audited(world, client):
    r = _kinds(client, world, {"bill_kinds": ["0101", "0301", "0201"]})
    assert r.status_code == 200, r.body
    assert body_of(r)["unit"]["bill_kinds"] == ["0101", "0301", "0201"]
    detail = body_of(client.http.get(UNIT, headers=_finance(world)))
    assert (detail["unit"]["bill_kind"], detail["unit"]["bill_kinds"]) == (
        "0101", ["0101", "0301", "0201"])
    event = world.deps.audit.query(bill_id="admin#unit#340100001")[0]
    assert event.action == "set_bill_kinds" and event.client.startswith("finance:key_")
    assert event.detail["previous"] == {"bill_kind": "0101", "bill_kinds": ["0101", "0301"]}
    assert event.detail["bill_kinds"] == ["0101", "0301", "0201"]


def test_a_new_unit_is_allowed_its_default_kind_or_the_kinds_it_is_created_with(world, client):
    base = {"name": "合肥市自然资源和规划局", "kind": "collecting", "region_code": "340100"}
    r = client.http.post("/v1/admin/units", headers=_finance(world),
                         body=json.dumps({**base, "unit_code": "340100060"}))
    assert body_of(r)["unit"]["bill_kinds"] == ["0301"]
    r = client.http.post("/v1/admin/units", headers=_finance(world), body=json.dumps(
        {**base, "unit_code": "340100061", "bill_kind": "0401", "bill_kinds": ["0401", "0501"]}))
    assert body_of(r)["unit"]["bill_kinds"] == ["0401", "0501"]
    r = client.http.post("/v1/admin/units", headers=_finance(world), body=json.dumps(
        {**base, "unit_code": "340100062", "bill_kinds": ["0401"]}))
    assert_error(r, 400, "bill_kinds")
    assert world.deps.units.get("340100062") is None


def test_notes_and_direct_bills_of_a_kind_not_allowed_are_refused_naming_the_field(
        world, client):
    assert _kinds(client, world, {"bill_kinds": ["0301"], "bill_kind": "0301"}).status_code == 200
    # The items are billed on 0101, which the unit may no longer use.
    r = client.http.post("/v1/notes", headers=world.auth(), body=json.dumps(NOTE))
    assert assert_error(r, 400, "items[0].item_code")["code"] == "bill_kind_not_allowed"
    r = client.http.post("/v1/notes", headers=world.auth(),
                         body=json.dumps({**NOTE, "bill_kind": "0201"}))
    assert assert_error(r, 400, "bill_kind")["code"] == "bill_kind_not_allowed"
    direct = {**NOTE, "paid_by": "cash", "paid_at": "2026-06-15T09:30:00+08:00"}
    r = client.http.post("/v1/bills", headers=world.auth(), body=json.dumps(direct))
    assert assert_error(r, 400, "items[0].item_code")["code"] == "bill_kind_not_allowed"
    listed = body_of(client.http.get("/v1/notes", headers=world.auth()))["notes"]
    assert listed == []  # nothing was written
    warnings = body_of(client.http.get(UNIT, headers=_finance(world)))["warnings"]
    assert {(w["code"], w.get("item_code"), w["bill_kind"]) for w in warnings} == {
        ("bill_kind_not_allowed", "103040100101", "0101"),
        ("bill_kind_not_allowed", "103040100102", "0101"),
        ("bill_kind_not_allowed", "103040100103", "0101"),
        ("bill_kind_not_allowed", None, "0101")}  # its 0101 range


def test_fee_items_and_ranges_of_a_kind_not_allowed_are_refused_and_nothing_written(
        world, client):
    r = client.http.put(f"{UNIT}/fee-items/X001", headers=_finance(world), body=json.dumps(
        {"name": "证书费", "bill_kind": "0201", "standard_fen": 1000}))
    assert assert_error(r, 400, "bill_kind")["code"] == "bill_kind_not_allowed"
    r = client.http.post(f"{UNIT}/ranges", headers=_finance(world),
                         body=json.dumps({"bill_kind": "0201", "count": 100}))
    assert assert_error(r, 400, "bill_kind")["code"] == "bill_kind_not_allowed"
    assert "X001" not in world.deps.units.fee_items("340100001")
    assert world.deps.ranges.for_unit("340100001", "0201") == []
    assert _kinds(client, world, {"bill_kinds": ["0101", "0301", "0201"]}).status_code == 200
    r = client.http.post(f"{UNIT}/ranges", headers=_finance(world),
                         body=json.dumps({"bill_kind": "0201", "count": 100}))
    assert r.status_code == 201, r.body


@pytest.mark.parametrize("body,field", [
    ({}, "bill_kinds"), ({"bill_kinds": []}, "bill_kinds"), ({"bill_kinds": "0301"}, "bill_kinds"),
    ({"bill_kinds": ["0301", "0301"]}, "bill_kinds"), ({"bill_kinds": ["9999"]}, "bill_kinds"),
    ({"bill_kinds": [301]}, "bill_kinds"), ({"bill_kinds": ["0301"]}, "bill_kinds"),
    ({"bill_kinds": ["0301"], "bill_kind": "0101"}, "bill_kind"),
    ({"bill_kinds": ["0101"], "bill_kind": "99"}, "bill_kind"),
    ({"bill_kinds": ["0101"], "extra": 1}, "extra")])
def test_bad_allowed_kinds_are_400_naming_the_field_and_change_nothing(world, client, body,
                                                                        field):
    assert_error(_kinds(client, world, body), 400, field)
    assert world.deps.units.get("340100001").bill_kinds == ("0101", "0301")
    assert world.deps.audit.query(bill_id="admin#unit#340100001") == []


def test_a_reimbursing_unit_has_no_bill_kinds_to_allow(world, client):
    r = _kinds(client, world, {"bill_kinds": ["0301"]}, unit="/v1/admin/units/340100901")
    assert assert_error(r, 409)["code"] == "not_a_collecting_unit"


# ---- seals -----------------------------------------------------------------------------------

def test_a_seal_set_by_the_finance_department_is_on_bills_issued_after_it_takes_effect(
        world, client):
    before = _billed(world, client)
    r = client.http.put(f"{UNIT}/seal", headers=_finance(world, **PNG), body=seal_png())
    assert r.status_code == 200, r.body
    seal = body_of(r)["seal"]
    assert seal["since"] == "2026-06-15T10:02:00+08:00"  # two minutes on: every cache knows
    assert seal["key"] == f"seals/340100001/{seal['sha256']}.png"
    event = world.deps.audit.query(bill_id="admin#unit#340100001")[0]
    assert event.action == "set_seal" and event.detail["sha256"] == seal["sha256"]
    assert (event.detail["width"], event.detail["height"]) == (300, 300)
    during = _billed(world, client)  # issued within the two minutes: still the drawn seal
    world.clock.now += timedelta(minutes=3)
    after = _billed(world, client)
    files = {name: _bill_files(client, bill) for name, bill in (
        ("before", before), ("during", during), ("after", after))}
    assert {name: (_pdf_images(pdf), _ofd_seal_is(ofd, seal_png()))
            for name, (pdf, ofd) in files.items()} == {
        "before": (0, False), "during": (0, False), "after": (1, True)}
    detail = body_of(client.http.get(UNIT, headers=_finance(world)))["unit"]
    assert detail["has_seal"] and detail["seal"]["sha256"] == seal["sha256"]


def test_a_new_seal_leaves_every_bill_issued_before_it_as_it_was_in_pdf_and_ofd(world, client):
    client.http.put(f"{UNIT}/seal", headers=_finance(world, **PNG), body=seal_png(300))
    world.clock.now += timedelta(minutes=3)
    first = _billed(world, client)
    pdf_before, ofd_before = _bill_files(client, first)
    client.http.put(f"{UNIT}/seal", headers=_finance(world, **PNG), body=seal_png(200))
    world.clock.now += timedelta(minutes=3)
    pdf_after, ofd_after = _bill_files(client, first)
    assert pdf_after == pdf_before  # the archived file, as issued
    # The OFD is drawn (and sealed) again on each request: it carries the first seal, still.
    assert _ofd_seal_is(ofd_before, seal_png(300)) and _ofd_seal_is(ofd_after, seal_png(300))
    assert not _ofd_seal_is(ofd_after, seal_png(200))
    second_pdf, _ = _bill_files(client, _billed(world, client))
    from pypdf import PdfReader

    sizes = [img.image.size for page in PdfReader(io.BytesIO(second_pdf)).pages
             for img in page.images]
    assert sizes == [(200, 200)]  # the second seal (the first: 300 px)
    history = body_of(client.http.get(UNIT, headers=_finance(world)))["unit"]["seal"]["history"]
    assert [h["since"] for h in history] == ["2026-06-15T10:02:00+08:00",
                                            "2026-06-15T10:05:00+08:00"]


def test_a_sample_bill_shows_a_seal_before_it_is_set_and_keeps_nothing(world, client):
    r = client.http.post(f"{UNIT}/seal/sample.pdf", headers=_finance(world, **PNG),
                         body=seal_png())
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    assert _pdf_images(r.body) == 1
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(r.body)).pages[0].extract_text()
    assert "样" in text and "合肥市不动产登记中心" in text
    assert world.deps.units.get("340100001").seal_key is None
    assert world.deps.audit.query(bill_id="admin#unit#340100001") == []
    current = client.http.get(f"{UNIT}/seal/sample.pdf", headers=_finance(world))
    assert current.status_code == 200 and _pdf_images(current.body) == 0  # a drawn seal


@pytest.mark.parametrize("route", ["seal", "seal/sample.pdf"])
def test_a_seal_that_is_not_an_acceptable_png_is_400_and_nothing_is_kept(world, client, route):
    method = client.http.put if route == "seal" else client.http.post
    for bad in (b"GIF89a" + b"\x00" * 100, seal_png()[:-30], seal_png(100),
                seal_png() + b"\x00" * (256 * 1024)):
        r = method(f"{UNIT}/{route}", headers=_finance(world, **PNG), body=bad)
        assert_error(r, 400, "file")
    assert world.deps.units.get("340100001").seal_key is None
    assert world.deps.audit.query(bill_id="admin#unit#340100001") == []


# ---- who may ---------------------------------------------------------------------------------

ROUTES = [("PUT", "bill-kinds", json.dumps({"bill_kinds": ["0101"]}), "application/json"),
          ("PUT", "seal", None, "image/png"), ("GET", "seal/sample.pdf", None, None),
          ("POST", "seal/sample.pdf", None, "image/png")]


@pytest.mark.parametrize("method,route,body,content_type", ROUTES)
def test_a_units_key_is_403_and_a_unit_outside_the_keys_region_or_unknown_is_404(
        world, client, method, route, body, content_type):
    payload = seal_png() if content_type == "image/png" else (body or "")
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.http.request(method, f"{UNIT}/{route}", body=payload,
                            headers={**world.auth(), **headers})
    assert assert_error(r, 403)["code"] == "not_a_finance_key"
    _, wuhu = create_finance_key(world.deps, scope="3402", label="芜湖市财政局")
    for unit, key in (("340100001", wuhu), ("340100999", None)):
        r = client.http.request(method, f"/v1/admin/units/{unit}/{route}", body=payload,
                                headers={**_finance(world, key), **headers})
        assert assert_error(r, 404)["code"] == "unit_not_found"
    assert world.deps.units.get("340100001").seal_key is None
    assert world.deps.units.get("340100001").bill_kinds == ("0101", "0301")
