"""The finance console's forms for a unit's allowed bill kinds and its seal: a finance admin
sets the kinds (with checkboxes), previews a seal on a sample bill (nothing kept), sets it
(with the confirmation box); the unit page shows the seal, the ranges' warning line, and
each change is audited under the person. An auditor sees it all and may change nothing."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.functional.test_console_sign_in import IP, post, sign_in
from tests.functional.test_finance_console_people import get
from tests.functional.test_unit_seal import seal_png

PAGE = "/console/finance/units/340100001"
BOUNDARY = "----formboundaryX7a"


def multipart(fields: dict[str, str], png: bytes | None) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             .encode() for name, value in fields.items()]
    if png is not None:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="seal.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
                     + png + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def upload(client, cookies, fields, png):
    return client.http.post(f"{PAGE}/seal", body=multipart(fields, png), headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "X-Forwarded-For": IP,
        "Cookie": "; ".join(cookies)})


def test_the_allowed_kinds_are_set_with_checkboxes_and_audited_under_the_person(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    page = get(client, PAGE, cookies).body.decode()
    assert 'id="bk-0101" name="bill_kinds" value="0101" style="min-width:0" checked' in page
    body = urlencode([("csrf_token", token), ("bill_kinds", "0101"), ("bill_kinds", "0301"),
                      ("bill_kinds", "0201"), ("bill_kind", "0101")])
    r = client.http.post(f"{PAGE}/bill-kinds", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": IP,
        "Cookie": "; ".join(cookies)})
    assert r.status_code == 200 and "已保存允许的票据种类：0101、0301、0201" in r.body.decode()
    assert world.deps.units.get("340100001").bill_kinds == ("0101", "0301", "0201")
    event = world.deps.audit.query(bill_id="admin#unit#340100001")[0]
    assert event.action == "set_bill_kinds" and event.client.startswith("person:finance.admin@")
    r = post(client, f"{PAGE}/bill-kinds", {"bill_kind": "0101"}, cookies, token)
    assert r.status_code == 400 and "允许的票据种类有误" in r.body.decode()


def test_a_seal_is_previewed_then_set_and_shown_on_the_unit_page(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    page = get(client, PAGE, cookies).body.decode()
    assert "尚未上传印章" in page and 'enctype="multipart/form-data"' in page
    preview = upload(client, cookies, {"csrf_token": token, "action": "preview"}, seal_png())
    assert preview.status_code == 200 and preview.headers["Content-Type"] == "application/pdf"
    assert world.deps.units.get("340100001").seal_key is None  # a preview keeps nothing
    r = upload(client, cookies, {"csrf_token": token, "action": "set"}, seal_png())
    assert r.status_code == 400 and "请勾选确认" in r.body.decode()
    r = upload(client, cookies, {"csrf_token": token, "action": "set", "confirm": "yes"},
               seal_png())
    html = r.body.decode()
    assert r.status_code == 200 and "2026-06-15 10:02:00 起开具的票据加盖此印章" in html
    assert 'src="/console/finance/units/340100001/seal.png"' in html
    image = get(client, f"{PAGE}/seal.png", cookies)
    assert image.status_code == 200 and image.body == seal_png()
    sample = get(client, f"{PAGE}/seal/sample.pdf", cookies)
    assert sample.status_code == 200 and sample.body.startswith(b"%PDF")
    event = world.deps.audit.query(bill_id="admin#unit#340100001")[0]
    assert event.action == "set_seal" and event.client.startswith("person:finance.admin@")


def test_a_bad_seal_or_a_form_without_its_token_changes_nothing(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    r = upload(client, cookies, {"csrf_token": token, "action": "set", "confirm": "yes"},
               b"GIF89a" + b"\x00" * 200)
    assert r.status_code == 400 and 'id="e-seal-file"' in r.body.decode()
    r = upload(client, cookies, {"action": "set", "confirm": "yes"}, seal_png())
    assert r.status_code == 403
    r = client.http.post(f"{PAGE}/seal", body=b"--x\r\nnot a form", headers={
        "Content-Type": "multipart/form-data; boundary=x", "X-Forwarded-For": IP,
        "Cookie": "; ".join(cookies)})
    assert r.status_code == 400
    assert world.deps.units.get("340100001").seal_key is None
    assert world.deps.audit.query(bill_id="admin#unit#340100001") == []


def test_an_auditor_sees_the_kinds_and_the_seal_sample_but_may_change_neither(client, world):
    cookies, token = sign_in(client, world, "finance_auditor")
    page = get(client, PAGE, cookies).body.decode()
    assert "允许的票据种类" in page and "上传新印章" not in page and "保存票据种类" not in page
    assert get(client, f"{PAGE}/seal/sample.pdf", cookies).status_code == 200
    assert get(client, f"{PAGE}/seal.png", cookies).status_code == 404  # none set
    r = post(client, f"{PAGE}/bill-kinds", {"bill_kinds": "0301", "bill_kind": "0301"},
             cookies, token)
    assert r.status_code == 403
    r = upload(client, cookies, {"csrf_token": token, "action": "preview"}, seal_png())
    assert r.status_code == 403
    assert world.deps.audit.query(bill_id="admin#unit#340100001") == []


def test_the_unit_page_shows_each_ranges_warning_line_and_warns_of_a_low_kind(client, world):
    cookies, token = sign_in(client, world, "finance_admin")
    world.deps.units.set_bill_kinds("340100001", "0101", ("0101", "0301", "0201"))
    r = post(client, f"{PAGE}/ranges", {"bill_kind": "0201", "count": "10"}, cookies, token)
    assert r.status_code == 200, r.body.decode()
    page = get(client, PAGE, cookies).body.decode()
    assert "票据种类 0201 的号段即将用完（剩余 10 个，低于 50 个），请分配新号段" in page
    [seeded] = world.deps.ranges.for_unit("340100001", "0101")
    assert f'<td class="num">{seeded.low_below}</td><td>正常</td>' in page
    assert '<td class="num">50</td><td><span class="badge s-unpaid">即将用完</span>' in page


def test_the_fee_item_and_range_forms_offer_only_the_allowed_kinds(client, world):
    cookies, _ = sign_in(client, world, "finance_admin")
    page = get(client, PAGE, cookies).body.decode()
    for select in ('id="i-bill_kind"', 'id="r-bill_kind"'):
        options = page.split(select)[1].split("</select>")[0]
        assert 'value="0101"' in options and 'value="0301"' in options
        assert 'value="0401"' not in options and 'value="0601"' not in options
