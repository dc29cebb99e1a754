"""The online unit's console: a note made in the form (the unit's fee items, quantity ×
standard), its detail with QR and notice PDF, followed until billed; cancelling as the unit
admin allows; the unit admin's people page; another unit's note is 404."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.functional.support import notification, open_order, post_notification
from tests.functional.test_console_sign_in import IP, post, sign_in


def get(client, path: str, cookies: list[str]):
    return client.http.get(path, headers={"Cookie": "; ".join(cookies), "X-Forwarded-For": IP})


def note_form(items=(("103040100101", "2", "80.00"),), **payer) -> dict:
    fields = {"payer_name": "张小明", "payer_type": "individual", "payer_phone": "13812345678",
              "payer_credit_code": "", "due_date": "", "remark": "", "form_id": "f1",
              **payer}
    pairs = list(fields.items())
    for code, qty, std in items:
        pairs += [("item_code", code), ("quantity", qty), ("standard", std)]
    return pairs


def post_pairs(client, path, pairs, cookies, token):
    from urllib.parse import urlencode

    return client.http.post(path, body=urlencode([*pairs, ("csrf_token", token)]), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": IP,
        "Cookie": "; ".join(cookies)})


def created(client, world, role="unit_operator", pairs=None) -> tuple[str, list[str], str]:
    cookies, token = sign_in(client, world, role)
    r = post_pairs(client, "/console/unit/notes", pairs or note_form(), cookies, token)
    assert r.status_code == 303, r.body.decode()
    code = re.search(r"/console/unit/notes/([0-9]{20})", r.headers["Location"]).group(1)
    return code, cookies, token


def test_the_form_offers_the_units_own_fee_items(client, world):
    cookies, _ = sign_in(client, world, "unit_operator")
    html = get(client, "/console/unit/notes/new", cookies).body.decode()
    assert "103040100101" in html and "不动产登记费（住宅）" in html
    assert "103050101001" not in html  # another unit's item
    assert 'pattern="(\\+?86)?1[3-9][0-9]{9}"' in html  # the phone is checked as it is typed


def test_an_operator_creates_a_note_and_follows_it_until_billed(client, world):
    code, cookies, _ = created(client, world)
    detail = get(client, f"/console/unit/notes/{code}?created=1", cookies)
    html = detail.body.decode()
    assert detail.status_code == 200 and "待缴款" in html and "160.00" in html
    assert "<svg" in html and f"/pay/{code}" in html
    pdf = get(client, f"/console/unit/notes/{code}/notice.pdf", cookies)
    assert pdf.status_code == 200 and pdf.body[:5] == b"%PDF-"
    order = open_order(client, code)
    assert post_notification(client, *notification(world, order)).status_code in (200, 204)
    world.drain()
    html = get(client, f"/console/unit/notes/{code}", cookies).body.decode()
    assert "已开票" in html and "微信支付" in html and "查看电子票据" in html
    from chalicelib import bootstrap

    [made] = [e for e in bootstrap.deps().audit.query(bill_id="person#unit1.operator")
              if e.action == "note_create"]
    assert made.detail["target"] == code and made.client == IP


def test_the_bill_notice_is_printed_from_the_note_once_it_is_billed(client, world):
    from pypdf import PdfReader

    code, cookies, _ = created(client, world)
    early = get(client, f"/console/unit/notes/{code}/bill-notice.pdf", cookies)
    assert early.status_code == 404 and "尚未开具票据" in early.body.decode()
    order = open_order(client, code)
    assert post_notification(client, *notification(world, order)).status_code in (200, 204)
    world.drain()
    html = get(client, f"/console/unit/notes/{code}", cookies).body.decode()
    assert f"/console/unit/notes/{code}/bill-notice.pdf" in html and "打印票据告知单" in html
    slip = get(client, f"/console/unit/notes/{code}/bill-notice.pdf", cookies)
    assert slip.status_code == 200 and slip.headers["Content-Type"] == "application/pdf"
    import io

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(slip.body)).pages)
    note = world.deps.notes.get(code)
    assert note.bill is not None and note.bill.bill_number in text


def test_another_units_bill_notice_is_not_found(client, world):
    from tests.functional.support import create_note

    other = create_note(world, client, {
        "payer": {"name": "李四", "type": "individual"}, "total_fen": 5000,
        "items": [{"item_code": "103050101001", "name": "公安交警罚没收入", "quantity": 1,
                   "standard_fen": 5000, "amount_fen": 5000}]}, unit=1)["payment_code"]
    cookies, _ = sign_in(client, world, "unit_operator")
    assert get(client, f"/console/unit/notes/{other}/bill-notice.pdf", cookies).status_code == 404


def test_a_resubmitted_form_makes_one_note(client, world):
    cookies, token = sign_in(client, world, "unit_operator")
    first = post_pairs(client, "/console/unit/notes", note_form(), cookies, token)
    again = post_pairs(client, "/console/unit/notes", note_form(), cookies, token)
    assert first.headers["Location"] == again.headers["Location"]


def test_a_wrong_row_is_named_next_to_its_field_and_nothing_is_created(client, world):
    cookies, token = sign_in(client, world, "unit_operator")
    r = post_pairs(client, "/console/unit/notes",
                   note_form(items=(("103040100101", "2", "abc"),), payer_name=""),
                   cookies, token)
    html = r.body.decode()
    assert r.status_code == 400 and 'id="e-standard-0"' in html
    r = post_pairs(client, "/console/unit/notes",
                   note_form(items=(("103050101001", "1", "10.00"),)), cookies, token)
    assert r.status_code == 400 and 'id="e-item_code-0"' in r.body.decode()


def test_an_operator_cancels_only_once_the_unit_admin_allows_it(client, world):
    code, cookies, token = created(client, world)
    assert "撤销缴款书" not in get(client, f"/console/unit/notes/{code}", cookies).body.decode()
    r = post(client, f"/console/unit/notes/{code}/cancel", {"confirm": "yes"}, cookies, token)
    assert r.status_code == 403 and "未允许" in r.body.decode()
    admin_cookies, admin_token = sign_in(client, world, "unit_admin")
    r = post(client, "/console/unit/people/permissions", {"action": "cancel"}, admin_cookies,
             admin_token)
    assert r.status_code == 200 and "已保存经办人权限：撤销缴款书" in r.body.decode()
    r = post(client, f"/console/unit/notes/{code}/cancel", {"confirm": "yes"}, cookies, token)
    assert r.status_code == 303
    assert "已撤销" in get(client, f"/console/unit/notes/{code}", cookies).body.decode()


def test_another_units_note_is_not_found(client, world):
    from tests.functional.support import create_note

    other = create_note(world, client, {
        "payer": {"name": "李四", "type": "individual"}, "total_fen": 5000,
        "items": [{"item_code": "103050101001", "name": "公安交警罚没收入", "quantity": 1,
                   "standard_fen": 5000, "amount_fen": 5000}]}, unit=1)["payment_code"]
    cookies, _ = sign_in(client, world, "unit_operator")
    r = get(client, f"/console/unit/notes/{other}", cookies)
    assert r.status_code == 404 and "未找到" in r.body.decode()


def test_an_operator_may_not_open_the_people_page(client, world):
    cookies, _ = sign_in(client, world, "unit_operator")
    assert get(client, "/console/unit/people", cookies).status_code == 403


def test_a_unit_admin_creates_an_operator_of_their_own_unit(client, world):
    cookies, token = sign_in(client, world, "unit_admin")
    r = post(client, "/console/unit/people", {"username": "zhao.yun", "display_name": "赵云",
                                              "password": "River-Stone-88", "totp": "yes"},
             cookies, token)
    assert r.status_code == 200 and "otpauth://totp/" in r.body.decode()
    from chalicelib import bootstrap

    person = bootstrap.deps().people.get("zhao.yun")
    assert person.unit_code == "340100001" and person.role.value == "unit_operator"


def test_the_units_notes_are_listed_through_get_v1_notes_and_its_bills_across_days(client,
                                                                                     world):
    code, cookies, token = created(client, world)
    for n in range(21):
        world.clock.now += timedelta(seconds=1)  # newest first: each note a second later
        post_pairs(client, "/console/unit/notes", note_form(payer_name=f"批量{n:02d}",
                                                             form_id=f"batch-{n}"),
                   cookies, token)
    first = get(client, "/console/unit/notes", cookies).body.decode()
    assert "批量20" in first and code not in first and "cursor=" in first
    cursor = re.search(r'cursor=([^"]+)"', first).group(1).replace("&amp;", "&")
    second = get(client, f"/console/unit/notes?cursor={cursor}", cookies).body.decode()
    assert code in second and "批量20" not in second
    r = get(client, f"/console/unit/notes?q={code}", cookies)
    assert r.status_code == 303 and r.headers["Location"].endswith(code)
    narrowed = get(client, "/console/unit/notes?q=批量07", cookies).body.decode()
    assert "批量07" in narrowed and "批量08" not in narrowed
    none = get(client, "/console/unit/notes?status=issued", cookies).body.decode()
    assert "没有符合条件的缴款书" in none
    bad = get(client, "/console/unit/notes?created_from=2026-13-01", cookies)
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.body.decode()
    order = open_order(client, code)
    post_notification(client, *notification(world, order))
    world.drain()
    day = world.clock().strftime("%Y-%m-%d")
    bills = get(client, f"/console/unit/bills?issued_from={day}&q=张小明", cookies).body.decode()
    assert code in bills and "批量" not in bills
    assert "没有符合条件" in get(client, "/console/unit/bills?issued_to=2020-01-01",
                                cookies).body.decode()
