"""What fuzzed requests aim at: real codes, a real bill, open orders, every kind of key.

Made once through the API itself (``tests/functional/support.py``), so a generated request can
name something that exists, belongs to another unit, or is already paid, issued or reimbursed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from tests.functional.channel_support import opened
from tests.functional.support import JSON, body_of, create_note, issued_bill

UNIT1_NOTE = {"payer": {"name": "李四", "type": "individual", "phone": "13912345678"},
              "items": [{"item_code": "103050101002", "name": "机动车驾驶证工本费", "unit": "本",
                         "quantity": 1, "standard_fen": 1000, "amount_fen": 1000}],
              "total_fen": 1000}


@dataclass(frozen=True)
class Bill:
    bill_code: str
    bill_number: str
    check_code: str


@dataclass(frozen=True, eq=False)  # hashed by identity: strategies are cached per Targets
class Targets:
    unpaid: str  # unit 0's unpaid note
    other_unit: str  # unit 1's unpaid note
    issued: str  # unit 0's note, paid and issued
    bill: Bill  # its bill
    reimbursed: Bill  # another of unit 0's bills, held by reimbursing unit 0
    spare: Bill  # a third, for reversal, void and paper (the first two stay as they are)
    orders: dict[str, dict]  # channel → an open order of a fresh unpaid note
    keys: dict[str, str]  # who → API key: unit0, unit1, reimb0, reimb1, finance
    stack: dict[str, Any]
    bill_xml: bytes  # the signed XML of ``bill``, for /v1/verifications/file
    wechat_key: Any
    alipay_key: Any
    unionpay_key: Any
    unionpay_cert: str
    hostile_certs: list[str]  # PEM texts a signed UnionPay notice may carry instead of its own
    csrf_cookie: str  # a valid CSRF cookie (``csrf_token=…``) and its form token
    csrf_token: str
    clock: Any
    console: dict[str, str]  # role → a live console session cookie (``console_session=…``)
    console_csrf: dict[str, tuple[str, str]]  # role → its session's CSRF cookie and token

    def codes(self) -> list[str]:
        return [self.unpaid, self.other_unit, self.issued, *(o["payment_code"]
                                                           for o in self.orders.values())]

    def bills(self) -> list[Bill]:
        return [self.bill, self.reimbursed]


def _key(path: str) -> Any:
    return serialization.load_pem_private_key(Path(path).read_bytes(), None)


def make_targets(world, client) -> Targets:
    unpaid = create_note(world, client)["payment_code"]
    other = create_note(world, client, UNIT1_NOTE, unit=1)
    issued, bill = issued_bill(world, client)
    _, second = issued_bill(world, client)
    _, third = issued_bill(world, client)
    reimbursed = Bill(second["bill_code"], second["bill_number"], second["check_code"])
    r = client.http.post("/v1/reimbursements", headers=world.auth(0, "reimbursers"),
                         body=json.dumps({**reimbursed.__dict__, "voucher_no": "记-001"}))
    assert r.status_code == 201, r.body
    orders = {}
    for channel in ("wechatpay", "alipay", "unionpay"):
        code, view = opened(world, client, channel)
        orders[channel] = {**view, "payment_code": code}
    native = client.http.post(f"/v1/public/notes/{orders['wechatpay']['payment_code']}/pay",
                              headers=JSON, body=json.dumps({"channel": "wechatpay",
                                                             "mode": "native"}))
    assert native.status_code == 201, native.body
    orders["wechatpay_native"] = {**json.loads(native.body),
                                  "payment_code": orders["wechatpay"]["payment_code"]}
    orders["bank"] = {"payment_code": create_note(world, client)["payment_code"],
                      "amount_fen": 10000}
    page = client.http.get("/my-bills", headers={"Accept": "text/html"})
    cookie = page.headers.get("Set-Cookie", page.headers.get("set-cookie", ""))
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.body.decode())
    assert cookie.startswith("csrf_token=") and found, (page.headers, page.body[:300])
    the_bill = Bill(bill["bill_code"], bill["bill_number"], bill["check_code"])
    xml = client.http.get(f"/v1/public/bills/{the_bill.bill_code}/{the_bill.bill_number}/xml"
                          f"?check_code={the_bill.check_code}", headers=JSON)
    assert xml.status_code == 200, xml.body
    stack = world.stack
    up = stack["channels"]["unionpay"]
    from chalicelib.adapters.unionpay.config import load_certificate
    from devstack.builders.unionpay import crlf_pem

    sessions = _console_sessions(world)
    return Targets(
        unpaid=unpaid, other_unit=other["payment_code"], issued=issued, bill=the_bill,
        reimbursed=reimbursed, spare=Bill(third["bill_code"], third["bill_number"],
                                          third["check_code"]), orders=orders,
        keys={"unit0": world.api_key(0), "unit1": world.api_key(1),
              "reimb0": world.api_key(0, "reimbursers"),
              "reimb1": world.api_key(1, "reimbursers"),
              "finance": stack["finance"]["api_key"]},
        stack=stack, bill_xml=xml.body,
        wechat_key=_key(stack["channels"]["wechatpay"]["platform_private_key_pem"]),
        alipay_key=_key(stack["channels"]["alipay"]["alipay_private_key_pem"]),
        unionpay_key=_key(up["sign_key_pem"]),
        unionpay_cert=crlf_pem(load_certificate(Path(up["sign_cert_pem"]).read_bytes())),
        hostile_certs=_hostile_certs(Path(up["root_cert_pem"]).read_text()),
        csrf_cookie=cookie.split(";")[0], csrf_token=found.group(1), clock=world.clock,
        console=sessions, console_csrf=_console_csrf(world, sessions),
    )


def _console_sessions(world) -> dict[str, str]:
    """A signed-in session of each demo person (TOTP from their secret at the world's time)."""
    from chalicelib.services.people import sign_in, totp_now

    sessions = {}
    now = int(world.clock().timestamp())
    for who in world.stack["people"]:
        otp = totp_now(who["totp_secret"], now) if "totp_secret" in who else ""
        token, _ = sign_in(world.deps, who["username"], who["password"], otp, "198.51.100.250")
        sessions[who["role"]] = f"console_session={token}"
    return sessions


def _console_csrf(world, sessions: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each session's CSRF cookie and token (a token is bound to its session)."""
    from chalicelib.api import csrf
    from chalicelib.services.people import token_hash

    bound = {}
    for role, cookie in sessions.items():
        token = csrf.new_token(world.deps, token_hash(cookie.split("=", 1)[1]))
        bound[role] = (f"csrf_token={token}", token)
    return bound


def _hostile_certs(root_pem: str) -> list[str]:
    """Certificates a forged UnionPay notice might carry: the root itself, a self-signed EC
    certificate naming UnionPay, a truncated PEM, and no PEM at all."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         "041@Z12345678@中国银联股份有限公司@00000001")])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ec_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(1).not_valid_before(start)
               .not_valid_after(start + timedelta(days=3650))
               .sign(key, hashes.SHA256())).public_bytes(Encoding.PEM).decode()
    return [root_pem, ec_cert, root_pem[:200], "-----BEGIN CERTIFICATE-----\nAAAA\n"
            "-----END CERTIFICATE-----", "", "x" * 10_000]


__all__ = ["Bill", "Targets", "body_of", "make_targets"]
