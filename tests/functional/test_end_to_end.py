"""The whole path on moto: note → order → WeChat notification → bill → files → verification."""

import json
import xml.etree.ElementTree as ET

from chalicelib.adapters.bill_files import verify_bill_file
from devstack.notifications import wechatpay_notification

NOTE = {"payer": {"name": "张三", "type": "individual", "phone": "13812345678"},
        "items": [{"item_code": "103040100101", "name": "不动产登记费（住宅）", "unit": "件",
                   "quantity": 1, "standard_fen": 8000, "amount_fen": 8000},
                  {"item_code": "103040100103", "name": "不动产权证书工本费", "unit": "本",
                   "quantity": 2, "standard_fen": 1000, "amount_fen": 2000}],
        "total_fen": 10000, "remark": "合肥市蜀山区某小区3-501"}


def create_and_open(world, client):
    r = client.http.post("/v1/notes", headers=world.auth(), body=json.dumps(NOTE))
    assert r.status_code == 201, r.body
    code = json.loads(r.body)["payment_code"]
    r = client.http.post(f"/v1/public/notes/{code}/pay",
                         headers={"Content-Type": "application/json"},
                         body=json.dumps({"channel": "wechatpay"}))
    assert r.status_code == 201, r.body
    order = json.loads(r.body)
    return code, order


def notify(world, client, order, amount=None, **kw):
    body, headers = wechatpay_notification(world.stack, order["out_trade_no"],
                                           amount if amount is not None else order["amount_fen"],
                                           now=world.clock(), **kw)
    return client.http.post("/callbacks/wechatpay", headers=headers, body=body)


def test_a_paid_note_gets_a_signed_bill_archived_and_texted(world, client):
    code, order = create_and_open(world, client)
    assert order["out_trade_no"].startswith(code) and 8 <= len(order["out_trade_no"]) <= 32

    r = notify(world, client, order)
    assert r.status_code == 204
    note = json.loads(client.http.get(f"/v1/notes/{code}", headers=world.auth()).body)
    assert note["status"] == "paid"
    assert note["payment"]["channel"] == "wechatpay"
    assert note["payment"]["amount_fen"] == 10000

    world.drain()
    note = json.loads(client.http.get(f"/v1/notes/{code}", headers=world.auth()).body)
    assert note["status"] == "issued"
    bill = note["bill"]
    assert len(bill["bill_code"]) == 8 and bill["bill_code"].startswith("340101")
    assert bill["bill_number"] == "0000000001"
    assert len(bill["check_code"]) == 6

    q = f"check_code={bill['check_code']}"
    base = f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}"
    view = json.loads(client.http.get(f"{base}?{q}").body)
    assert view["status"] == "normal" and view["total_capitals"] == "壹佰元整"
    pdf = client.http.get(f"{base}/pdf?{q}").body
    xml = client.http.get(f"{base}/xml?{q}").body
    assert pdf.startswith(b"%PDF-") and xml.startswith(b"<?xml")
    assert ET.fromstring(xml).findtext("EInvoiceData/Main/TotalAmount") == "100.00"

    keys = {k["kid"]: k for k in json.loads(client.http.get("/v1/public/keys").body)["keys"]}
    for data in (xml, pdf):
        report = verify_bill_file(data, keys)
        assert report.ok, report.checks
        assert [c[0].split()[0] for c in report.checks] == ["unit", "supervisor"]

    from moto.sns.models import sns_backends

    texts = [m for m in sns_backends["123456789012"]["cn-north-1"].sms_messages.values()]
    assert len(texts) == 1
    assert texts[0][0] == "+8613812345678" and bill["check_code"] in texts[0][1]

    page = client.http.get(f"/bills/{bill['bill_code']}/{bill['bill_number']}?{q}")
    assert page.status_code == 200 and "壹佰元整".encode() in page.body


def test_the_same_notification_twenty_times_gives_one_payment_one_bill_one_sms(world, client):
    code, order = create_and_open(world, client)
    body, headers = wechatpay_notification(world.stack, order["out_trade_no"], 10000,
                                           now=world.clock())
    statuses = {client.http.post("/callbacks/wechatpay", headers=headers, body=body).status_code
                for _ in range(20)}
    assert statuses == {204}
    world.drain()
    payments = world.deps._client("dynamodb").scan(TableName=world.deps.settings.table("PAYMENTS"))
    assert payments["Count"] == 1
    bills = world.deps._client("dynamodb").scan(TableName=world.deps.settings.table("BILLS"))
    assert bills["Count"] == 1
    from moto.sns.models import sns_backends

    assert len(sns_backends["123456789012"]["cn-north-1"].sms_messages) == 1


def test_a_tampered_xml_fails_offline_verification(world, client):
    code, order = create_and_open(world, client)
    notify(world, client, order)
    world.drain()
    bill = json.loads(client.http.get(f"/v1/notes/{code}", headers=world.auth()).body)["bill"]
    xml = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/xml"
                          f"?check_code={bill['check_code']}").body
    keys = {k["kid"]: k for k in json.loads(client.http.get("/v1/public/keys").body)["keys"]}
    tampered = xml.replace(b"<TotalAmount>100.00</TotalAmount>",
                           b"<TotalAmount>900.00</TotalAmount>")
    assert tampered != xml
    report = verify_bill_file(tampered, keys)
    assert not report.ok
    assert any("altered" in line for line in report.failed())
