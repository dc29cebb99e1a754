"""SM2 bills through the whole app: the traffic police (the seeded unit that signs with SM2) are
paid, the bill is issued and archived signed SM2 by the unit and by the finance department,
``/v1/public/keys`` publishes both SM2 keys endorsed by the root, and the bill verifies offline
(``verify-bill`` with a saved key list and the pinned root) and online (by upload), while a
changed amount fails both."""

from __future__ import annotations

import json

from chalicelib import cli
from devstack.notifications import wechatpay_notification
from devstack.seed import COLLECTING, FINANCE_SM2_KID

POLICE, POLICE_ITEMS = COLLECTING[1]
FINE = {"payer": {"name": "李四", "type": "individual", "phone": "13912345678"},
        "items": [{"item_code": POLICE_ITEMS[0][0], "name": POLICE_ITEMS[0][1],
                   "quantity": 1, "standard_fen": 20000, "amount_fen": 20000}],
        "total_fen": 20000}


def sm2_bill(world, client) -> dict:
    """A fine of the traffic police, paid through WeChat Pay and issued; its bill reference."""
    r = client.http.post("/v1/notes", headers=world.auth(1), body=json.dumps(FINE))
    assert r.status_code == 201, r.body
    code = json.loads(r.body)["payment_code"]
    r = client.http.post(f"/v1/public/notes/{code}/pay", headers={"Content-Type":
                                                                 "application/json"},
                         body=json.dumps({"channel": "wechatpay"}))
    order = json.loads(r.body)
    body, headers = wechatpay_notification(world.stack, order["out_trade_no"],
                                           order["amount_fen"], now=world.clock())
    assert client.http.post("/callbacks/wechatpay", headers=headers, body=body).status_code == 204
    world.drain()
    note = json.loads(client.http.get(f"/v1/notes/{code}", headers=world.auth(1)).body)
    assert note["status"] == "issued", note
    return note["bill"]


def bill_file(client, bill: dict, kind: str) -> bytes:
    r = client.http.get(f"/v1/public/bills/{bill['bill_code']}/{bill['bill_number']}/{kind}"
                        f"?check_code={bill['check_code']}")
    assert r.status_code == 200
    return r.body


def verify_offline(world, client, tmp_path, capsys, data: bytes, name: str) -> tuple[int, str]:
    (tmp_path / "keys.json").write_bytes(client.http.get("/v1/public/keys").body)
    (tmp_path / name).write_bytes(data)
    code = cli.main(["verify-bill", "--keys-file", str(tmp_path / "keys.json"),
                     "--root-fingerprint", world.seeded.root_fingerprint, str(tmp_path / name)])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_public_keys_publish_the_sm2_keys_endorsed_by_the_root(world, client):
    doc = json.loads(client.http.get("/v1/public/keys").body)
    keys = {k["kid"]: k for k in doc["keys"]}
    unit, finance = keys[POLICE.signing_kid], keys[FINANCE_SM2_KID]
    assert (unit["alg"], unit["use"], unit["owner"]) == ("SM2", "unit", POLICE.unit_code)
    assert (finance["alg"], finance["use"]) == ("SM2", "finance")
    assert all(k["endorsement"] for k in (unit, finance))
    # The PEM is the standard SubjectPublicKeyInfo: id-ecPublicKey with curve 1.2.156.10197.1.301
    assert unit["public_key_pem"].splitlines()[1].startswith("MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAE")
    assert {k["alg"] for k in doc["keys"]} == {"ES256", "SM2"}


def test_an_sm2_bill_is_issued_archived_and_verified_offline(world, client, tmp_path, capsys):
    bill = sm2_bill(world, client)
    xml = bill_file(client, bill, "xml")
    assert xml.count(b"<Algorithm>SM2</Algorithm>") == 2
    for name, data in (("bill.xml", xml), ("bill.pdf", bill_file(client, bill, "pdf"))):
        code, out = verify_offline(world, client, tmp_path, capsys, data, name)
        assert code == 0, out
        assert f"OK   unit signature ({POLICE.signing_kid}): valid" in out
        assert f"OK   supervisor signature ({FINANCE_SM2_KID}): valid" in out
        assert "VALID: both signatures hold" in out


def test_an_altered_sm2_bill_fails_offline(world, client, tmp_path, capsys):
    xml = bill_file(client, sm2_bill(world, client), "xml")
    altered = xml.replace(b"<TotalAmount>200.00</TotalAmount>", b"<TotalAmount>20.00</TotalAmount>")
    assert altered != xml
    code, out = verify_offline(world, client, tmp_path, capsys, altered, "bill.xml")
    assert code == 1
    assert (f"FAIL unit signature ({POLICE.signing_kid}): signature does not match the content "
            "(altered or wrong key)") in out


def test_an_sm2_bill_verifies_by_upload_and_an_altered_one_is_tampered(world, client):
    bill = sm2_bill(world, client)
    headers = dict(world.auth(0, "reimbursers"), **{"Content-Type": "application/pdf"})
    out = json.loads(client.http.post("/v1/verifications/file", headers=headers,
                                      body=bill_file(client, bill, "pdf")).body)
    assert out["result"] == "authentic"
    assert [c["ok"] for c in out["signatures"]] == [True, True]
    xml = bill_file(client, bill, "xml")
    headers["Content-Type"] = "application/xml"
    altered = xml.replace(b"<ItemAmount>200.00</ItemAmount>", b"<ItemAmount>100.00</ItemAmount>")
    assert altered != xml
    out = json.loads(client.http.post("/v1/verifications/file", headers=headers,
                                      body=altered).body)
    assert out["result"] == "tampered" and out["reason"] == "signature_invalid"


def test_an_sm2_bill_verifies_by_its_code_like_any_other(world, client):
    bill = sm2_bill(world, client)
    body = {k: bill[k] for k in ("bill_code", "bill_number", "check_code")}
    out = json.loads(client.http.post("/v1/verifications", headers=world.auth(0, "reimbursers"),
                                      body=json.dumps(body)).body)
    assert out["result"] == "authentic" and out["status"] == "normal"


def test_the_operator_rotates_a_unit_to_an_sm2_key_from_the_command_line(world, client, capsys):
    assert cli.main(["rotate-key", "--kid", "unit-340100001-sm2-cli", "--use", "unit",
                     "--owner", "340100001", "--alg", "SM2"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["kid"], printed["alg"], printed["owner"]) == (
        "unit-340100001-sm2-cli", "SM2", "340100001")
    doc = json.loads(client.http.get("/v1/public/keys").body)
    published = {k["kid"]: k for k in doc["keys"]}["unit-340100001-sm2-cli"]
    assert published["public_key_pem"] == printed["public_key_pem"] and published["endorsement"]
