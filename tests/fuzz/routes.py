"""One request strategy per route of the app, grouped in families.

``ROUTES`` maps each ``(path template, method)`` the app serves to ``(family, kind, builder)``;
``builder(targets)`` gives a strategy of ``Request``. ``test_every_route_has_a_strategy`` fails
when the app gains a route this table does not name, so no new route escapes the fuzz.

``kind`` says which refusals a route may give besides the contract's JSON error: ``page`` (an
HTML page), or a channel's own acknowledgement (``wechatpay``, ``alipay``, ``unionpay``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st

from tests.functional.support import NOTE
from tests.fuzz import hostile as h
from tests.fuzz.targets import Targets

# OPTIONS never reaches the app: API Gateway answers it (chalice's local gateway too, with a
# body ``chalice.test`` cannot read), so it is not sent.
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]


@dataclass(frozen=True)
class Request:
    family: str
    kind: str
    route: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def __repr__(self) -> str:  # what a failure prints: enough to replay it by hand
        body = self.body if len(self.body) <= 400 else self.body[:400] + b"...(%d bytes)" % len(
            self.body)
        path = self.path if len(self.path) <= 300 else self.path[:300] + f"...({len(self.path)})"
        return (f"Request({self.method} {path!r}\n  headers={ {k: v[:200] for k, v in self.headers.items()} !r}"
                f"\n  body={body!r})")


Builder = Callable[[Targets], st.SearchStrategy[Request]]
ROUTES: dict[tuple[str, str], tuple[str, str, Builder]] = {}


def route(template: str, method: str, family: str, kind: str = "api"):
    def register(builder: Builder) -> Builder:
        ROUTES[(template, method)] = (family, kind, builder)
        return builder
    return register


@st.composite
def _request(draw: st.DrawFn, t: Targets, family: str, kind: str, template: str, method: str,
             params: dict[str, st.SearchStrategy[str]], headers: st.SearchStrategy[dict],
             body: st.SearchStrategy[bytes] | None = None,
             query: st.SearchStrategy[str] | None = None) -> Request:
    path = template
    for name, strategy in params.items():
        path = path.replace("{" + name + "}", draw(strategy))
    if query is not None:
        path += draw(query)
    if draw(_ONE_IN_12) == 0:  # now and then, a method this route does not serve
        other = draw(_METHOD)
        method = other if other != method else "PATCH"
    return Request(family, kind, template, method, path, draw(headers),
                   draw(body) if body is not None else draw(_NO_BODY))


_ONE_IN_12 = st.integers(0, 11)
_METHOD = st.sampled_from(METHODS)
_NO_BODY = st.sampled_from([b"", b"", b"", b"{}", b"\x00", b"x" * 5000])


def _key(t: Targets, who: str) -> str:
    return t.keys[who]


def codes(t: Targets) -> st.SearchStrategy[str]:
    return h.path_param(*t.codes())


def bill_refs(t: Targets, *bills: Any) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    chosen = bills or t.bills()
    return (h.path_param(*(b.bill_code for b in chosen)),
            h.path_param(*(b.bill_number for b in chosen)))


JSON_TYPES = ["application/json"] * 6 + [None, "text/plain", "application/xml", "garbage",
                                         "application/x-www-form-urlencoded", "image/png"]
FORM_TYPES = ["application/x-www-form-urlencoded"] * 6 + [None, "application/json",
                                                          "multipart/form-data; boundary=x",
                                                          "text/plain"]


# ---- collecting units: notes ---------------------------------------------------------------

@route("/v1/notes", "POST", "collecting_notes")
def create_note(t: Targets):
    return _request(t, "collecting_notes", "api", "/v1/notes", "POST", {},
                    h.headers(t.keys, JSON_TYPES, _key(t, "unit0")), h.json_bodies(NOTE))


@route("/v1/bills", "POST", "collecting_notes")
def issue_direct_bill(t: Targets):
    return _request(t, "collecting_notes", "api", "/v1/bills", "POST", {},
                    h.headers(t.keys, JSON_TYPES, _key(t, "unit0")),
                    h.json_bodies({**NOTE, "paid_by": "cash"}))


@route("/v1/notes/{payment_code}", "GET", "collecting_notes")
def get_note(t: Targets):
    return _request(t, "collecting_notes", "api", "/v1/notes/{payment_code}", "GET",
                    {"payment_code": codes(t)}, h.headers(t.keys, wanted_key=_key(t, "unit0")))


@route("/v1/notes/{payment_code}/cancel", "POST", "collecting_notes")
def cancel_note(t: Targets):
    # Aimed at codes that must stay as they are (another unit's, issued, paid): a valid cancel
    # of ``unpaid`` may happen once, after which it is a 409 too.
    return _request(t, "collecting_notes", "api", "/v1/notes/{payment_code}/cancel", "POST",
                    {"payment_code": h.path_param(t.other_unit, t.issued, t.unpaid)},
                    h.headers(t.keys, JSON_TYPES, _key(t, "unit0")),
                    st.one_of(h.raw_bodies(), h.json_bodies({})))


@route("/v1/notes/{payment_code}/notice.pdf", "GET", "collecting_notes")
def notice_pdf(t: Targets):
    return _request(t, "collecting_notes", "api", "/v1/notes/{payment_code}/notice.pdf", "GET",
                    {"payment_code": codes(t)}, h.headers(t.keys, wanted_key=_key(t, "unit1")))


@route("/v1/payment-exceptions", "GET", "collecting_notes")
def payment_exceptions(t: Targets):
    return _request(t, "collecting_notes", "api", "/v1/payment-exceptions", "GET", {},
                    h.headers(t.keys, wanted_key=_key(t, "unit0")),
                    query=h.query(limit=["1", "0", "-1", "100000"], cursor=["abc"]))


# ---- collecting units: bills and seal ---------------------------------------------------------

REASON = {"reason": "收费项目填写错误"}
PAPER = {"paper_bill_code": "34010199", "paper_bill_number": "0000000001"}


def _lifecycle(template: str, body: dict):
    def build(t: Targets):
        code, number = bill_refs(t, t.spare, t.reimbursed, t.bill)
        return _request(t, "collecting_bills", "api", template, "POST",
                        {"bill_code": code, "bill_number": number},
                        h.headers(t.keys, JSON_TYPES, _key(t, "unit0")), h.json_bodies(body))
    return build


route("/v1/bills/{bill_code}/{bill_number}/reversal", "POST", "collecting_bills")(
    _lifecycle("/v1/bills/{bill_code}/{bill_number}/reversal", REASON))
route("/v1/bills/{bill_code}/{bill_number}/void", "POST", "collecting_bills")(
    _lifecycle("/v1/bills/{bill_code}/{bill_number}/void", REASON))
route("/v1/bills/{bill_code}/{bill_number}/paper", "POST", "collecting_bills")(
    _lifecycle("/v1/bills/{bill_code}/{bill_number}/paper", PAPER))


@route("/v1/bills/{bill_code}/{bill_number}/notice.pdf", "GET", "collecting_bills")
def bill_notice_pdf(t: Targets):
    code, number = bill_refs(t, t.spare, t.reimbursed, t.bill)
    return _request(t, "collecting_bills", "api", "/v1/bills/{bill_code}/{bill_number}/notice.pdf",
                    "GET", {"bill_code": code, "bill_number": number},
                    h.headers(t.keys, wanted_key=_key(t, "unit0")))


def _png(width: int, height: int, extra: bytes = b"", rows: bytes = b"\x00" * 5) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


GOOD_SEAL = _png(150, 150, rows=b"\x00" * (150 * (1 + 150 * 4)))  # transparent, acceptable
SEALS = [GOOD_SEAL, GOOD_SEAL, _png(150, 150, rows=b"\x00" * 100), _png(1, 1), _png(2**31 - 1, 2**31 - 1), _png(100000, 100000), _png(0, 0), _png(3, 2),
         _png(1, 1)[:30], b"\x89PNG\r\n\x1a\n", _png(1, 1) + b"\x00" * 300_000]


@route("/v1/units/me/seal", "PUT", "collecting_bills")
def upload_seal(t: Targets):
    return _request(t, "collecting_bills", "api", "/v1/units/me/seal", "PUT", {},
                    h.headers(t.keys, ["image/png"] * 6 + [None, "application/json", "image/jpeg"],
                              _key(t, "unit1")),
                    st.one_of(st.sampled_from(SEALS), h.raw_bodies()))


# ---- public API -------------------------------------------------------------------------------

@route("/v1/public/notes/{payment_code}", "GET", "public")
def public_note(t: Targets):
    return _request(t, "public", "api", "/v1/public/notes/{payment_code}", "GET",
                    {"payment_code": codes(t)}, h.headers(t.keys))


@route("/v1/public/notes/{payment_code}/pay", "POST", "public")
def open_order(t: Targets):
    body = st.one_of(h.json_bodies({"channel": "wechatpay"}),
                     h.form_bodies({"channel": "alipay"}),
                     h.json_bodies({"channel": "wechatpay", "mode": "jsapi"}),
                     h.json_bodies({"channel": "wechatpay", "mode": "native"}),
                     h.form_bodies({"channel": "unionpay", "mode": "page"}))
    return _request(t, "public", "api", "/v1/public/notes/{payment_code}/pay", "POST",
                    {"payment_code": h.path_param(t.issued, t.other_unit, t.unpaid)},
                    h.headers(t.keys, JSON_TYPES + FORM_TYPES), body)


@route("/v1/public/orders/{out_trade_no}/form", "GET", "public")
def order_form(t: Targets):
    return _request(t, "public", "api", "/v1/public/orders/{out_trade_no}/form", "GET",
                    {"out_trade_no": h.path_param(*(o.get("out_trade_no", "")
                                                    for o in t.orders.values()))},
                    h.headers(t.keys))


def _check_codes(t: Targets) -> list[str]:
    return [b.check_code for b in t.bills()] + ["AAAAAA", "aosuvp", ""]


@route("/v1/public/bills/{bill_code}/{bill_number}", "GET", "public")
def public_bill(t: Targets):
    code, number = bill_refs(t)
    return _request(t, "public", "api", "/v1/public/bills/{bill_code}/{bill_number}", "GET",
                    {"bill_code": code, "bill_number": number}, h.headers(t.keys),
                    query=h.query(check_code=_check_codes(t)))


@route("/v1/public/bills/{bill_code}/{bill_number}/{kind}", "GET", "public")
def public_bill_file(t: Targets):
    code, number = bill_refs(t)
    return _request(t, "public", "api", "/v1/public/bills/{bill_code}/{bill_number}/{kind}",
                    "GET", {"bill_code": code, "bill_number": number,
                            "kind": h.path_param("pdf", "xml", "ofd", "PDF")},
                    h.headers(t.keys), query=h.query(check_code=_check_codes(t)))


@route("/v1/public/keys", "GET", "public")
def public_keys(t: Targets):
    return _request(t, "public", "api", "/v1/public/keys", "GET", {}, h.headers(t.keys),
                    query=h.query(kid=["x"]))


# ---- pages ------------------------------------------------------------------------------------

# The pay page answers by where it is opened: inside WeChat (the OAuth redirect), Alipay,
# 云闪付, a phone, a desktop, or a user agent that is none of them.
USER_AGENTS = [
    None, "Mozilla/5.0 (iPhone) Mobile/15E148 MicroMessenger/8.0.49 NetType/WIFI",
    "Mozilla/5.0 (Linux; Android 12) AlipayClient/10.2.96.8000", "(UnionPay/1.0 CloudPay)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0", "MicroMessenger/" + "x" * 5000,
    "wxwork/4 MicroMessenger/7", "\x00MicroMessenger/8", "",
]


def with_user_agent(headers: st.SearchStrategy[dict[str, str]]) -> st.SearchStrategy[dict]:
    return st.tuples(headers, st.sampled_from(USER_AGENTS)).map(
        lambda pair: {**pair[0], "User-Agent": pair[1]} if pair[1] is not None else pair[0])


@route("/pay/{payment_code}", "GET", "pages", "page")
def pay_page(t: Targets):
    return _request(t, "pages", "page", "/pay/{payment_code}", "GET", {"payment_code": codes(t)},
                    with_user_agent(h.headers(t.keys)),
                    query=h.query(wechat=["expired", "refused", "failed", "unavailable", "x"]))


@route("/pay/{payment_code}/wechat", "GET", "pages", "page")
def wechat_returns(t: Targets):
    return _request(t, "pages", "page", "/pay/{payment_code}/wechat", "GET",
                    {"payment_code": codes(t)}, with_user_agent(h.headers(t.keys)),
                    query=h.query(code=["061Fx0ll2dKy9e4b6Rml2Xh4Kq4Fx0lW", "x" * 129, ""],
                                  state=["ab12CD34", "f" * 32, "a-b", ""]))


@route("/pay/{payment_code}/qr/{out_trade_no}", "GET", "pages", "page")
def native_qr(t: Targets):
    return _request(t, "pages", "page", "/pay/{payment_code}/qr/{out_trade_no}", "GET",
                    {"payment_code": h.path_param(*(o.get("payment_code", "")
                                                    for o in t.orders.values())),
                     "out_trade_no": h.path_param(*(o.get("out_trade_no", "")
                                                    for o in t.orders.values()))},
                    with_user_agent(h.headers(t.keys)))


@route("/pay/{payment_code}", "POST", "pages", "page")
def back_from_channel(t: Targets):
    return _request(t, "pages", "page", "/pay/{payment_code}", "POST",
                    {"payment_code": codes(t)}, h.headers(t.keys, FORM_TYPES),
                    h.form_bodies({"orderId": "x", "respCode": "00"}))


@route("/bills/{bill_code}/{bill_number}", "GET", "pages", "page")
def bill_page(t: Targets):
    code, number = bill_refs(t)
    return _request(t, "pages", "page", "/bills/{bill_code}/{bill_number}", "GET",
                    {"bill_code": code, "bill_number": number}, h.headers(t.keys),
                    query=h.query(check_code=_check_codes(t)))


def _verify_fields(t: Targets) -> dict[str, list[str]]:
    return {"bill_code": [t.bill.bill_code], "bill_number": [t.bill.bill_number],
            "check_code": _check_codes(t), "issue_date": ["2026-06-15", "2026-02-30"],
            "total": ["100.00", "1e9", "-1"], "qr": ["1"]}


@route("/verify", "GET", "pages", "page")
def verify_get(t: Targets):
    return _request(t, "pages", "page", "/verify", "GET", {}, h.headers(t.keys),
                    query=h.query(**_verify_fields(t)))


@route("/verify", "POST", "pages", "page")
def verify_post(t: Targets):
    fields = {k: v[0] for k, v in _verify_fields(t).items()}
    return _request(t, "pages", "page", "/verify", "POST", {}, h.headers(t.keys, FORM_TYPES),
                    h.form_bodies(fields))


@route("/reimburse", "GET", "pages", "page")
def reimburse_page(t: Targets):
    return _request(t, "pages", "page", "/reimburse", "GET", {}, h.headers(t.keys),
                    query=h.query(bill_code=[t.bill.bill_code]))


@route("/lookup", "GET", "pages", "page")
def lookup_get(t: Targets):
    return _request(t, "pages", "page", "/lookup", "GET", {}, h.headers(t.keys),
                    query=h.query(payment_code=t.codes()))


@route("/lookup", "POST", "pages", "page")
def lookup_post(t: Targets):
    return _request(t, "pages", "page", "/lookup", "POST", {}, h.headers(t.keys, FORM_TYPES),
                    h.form_bodies({"payment_code": t.unpaid, "payer_name": "张三"}))


def _with_csrf(t: Targets, headers: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    """Headers carrying the CSRF cookie (or a hostile one) most of the time."""
    cookies = [t.csrf_cookie] * 4 + ["", "csrf_token=", "csrf_token=a.b",
                                     "csrf_token=" + "x" * 5000, "payer_session=a.b"]
    return st.tuples(headers, st.sampled_from(cookies)).map(
        lambda pair: {**pair[0], "Cookie": pair[1]} if pair[1] else pair[0])


def _my_bills_form(t: Targets, fields: dict[str, str]) -> st.SearchStrategy[bytes]:
    return h.form_bodies({**fields, "csrf_token": t.csrf_token})


@route("/my-bills", "GET", "pages", "page")
def my_bills(t: Targets):
    return _request(t, "pages", "page", "/my-bills", "GET", {},
                    _with_csrf(t, h.headers(t.keys)))


@route("/my-bills/code", "POST", "pages", "page")
def my_bills_code(t: Targets):
    return _request(t, "pages", "page", "/my-bills/code", "POST", {},
                    _with_csrf(t, h.headers(t.keys, FORM_TYPES)),
                    _my_bills_form(t, {"phone": "13812345678"}))


@route("/my-bills/verify", "POST", "pages", "page")
def my_bills_verify(t: Targets):
    return _request(t, "pages", "page", "/my-bills/verify", "POST", {},
                    _with_csrf(t, h.headers(t.keys, FORM_TYPES)),
                    _my_bills_form(t, {"phone": "13812345678", "code": "123456"}))


@route("/my-bills/logout", "POST", "pages", "page")
def my_bills_logout(t: Targets):
    return _request(t, "pages", "page", "/my-bills/logout", "POST", {},
                    _with_csrf(t, h.headers(t.keys, FORM_TYPES)), _my_bills_form(t, {}))


@route("/b/{ref}", "GET", "pages", "page")
def short_link(t: Targets):
    good = f"{t.bill.bill_code}{t.bill.bill_number}{t.bill.check_code}"
    return _request(t, "pages", "page", "/b/{ref}", "GET", {"ref": h.path_param(good)},
                    h.headers(t.keys))


# ---- reimbursing units ----------------------------------------------------------------------

def _elements(t: Targets) -> dict:
    b = t.bill
    return {"bill_code": b.bill_code, "bill_number": b.bill_number, "check_code": b.check_code,
            "issue_date": "2026-06-15", "total_fen": 10000}


@route("/v1/verifications", "POST", "reimbursing")
def verifications(t: Targets):
    return _request(t, "reimbursing", "api", "/v1/verifications", "POST", {},
                    h.headers(t.keys, JSON_TYPES, _key(t, "reimb1")), h.json_bodies(_elements(t)))


@route("/v1/verifications/batch", "POST", "reimbursing")
def verifications_batch(t: Targets):
    body = {"items": [_elements(t), {**_elements(t), "check_code": "AAAAAA"}]}
    return _request(t, "reimbursing", "api", "/v1/verifications/batch", "POST", {},
                    h.headers(t.keys, JSON_TYPES, _key(t, "reimb1")),
                    st.one_of(h.json_bodies(body), st.just(h.to_bytes(h.encode(
                        {"items": [_elements(t)] * 501})))))


@st.composite
def _bill_files(draw: st.DrawFn, t: Targets) -> bytes:
    """The genuine XML, altered a little (a byte flipped, a value changed), or junk."""
    xml = t.bill_xml
    kind = draw(st.sampled_from(["genuine", "flip", "replace", "cut", "junk", "xml"]))
    if kind == "genuine":
        return xml
    if kind == "flip":
        at = draw(st.integers(0, len(xml) - 1))
        return xml[:at] + bytes([xml[at] ^ draw(st.integers(1, 255))]) + xml[at + 1:]
    if kind == "replace":
        old = draw(st.sampled_from([t.bill.check_code.encode(), b"10000", b"2026", b"<", b"UTF-8",
                                    b"xmlns", t.bill.bill_number.encode()]))
        new = h.to_bytes(draw(h.text()))[:5000]
        return xml.replace(old, new, 1)
    if kind == "cut":
        return xml[:draw(st.integers(0, len(xml)))]
    if kind == "xml":
        return draw(st.sampled_from(XML_BOMBS))
    return draw(h.raw_bodies())


XML_BOMBS = [
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "bbbb"><!ENTITY c "&b;&b;&b;&b;">]><a>&c;</a>',
    b'<?xml version="1.0" encoding="x-unknown"?><a/>',
    b'<?xml version="1.0" encoding="UTF-16"?><a/>',
    b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>',
    b"<a>" * 100_000 + b"</a>" * 100_000,
    b'<?xml version="1.0"?><EInvoice xmlns="x"><a b="' + b"c" * 100_000 + b'"/></EInvoice>',
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Names 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF",
    b"%PDF-1.4\n" + b"0" * 200_000,
]


@route("/v1/verifications/file", "POST", "reimbursing")
def verifications_file(t: Targets):
    return _request(t, "reimbursing", "api", "/v1/verifications/file", "POST", {},
                    h.headers(t.keys, ["application/xml"] * 4 + ["application/pdf", "text/xml",
                              "application/octet-stream", None, "application/json"],
                              _key(t, "reimb1")), _bill_files(t))


@route("/v1/reimbursements", "POST", "reimbursing")
def reimbursements(t: Targets):
    # Aimed at the bill another unit holds: a valid request is a 409 that must change nothing.
    b = t.reimbursed
    body = {"bill_code": b.bill_code, "bill_number": b.bill_number, "check_code": b.check_code,
            "voucher_no": "记-2026-06-001"}
    return _request(t, "reimbursing", "api", "/v1/reimbursements", "POST", {},
                    h.headers(t.keys, JSON_TYPES, _key(t, "reimb1")), h.json_bodies(body))


@route("/v1/reimbursements/{bill_code}/{bill_number}", "DELETE", "reimbursing")
def release(t: Targets):
    code, number = bill_refs(t, t.reimbursed, t.bill)
    return _request(t, "reimbursing", "api", "/v1/reimbursements/{bill_code}/{bill_number}",
                    "DELETE", {"bill_code": code, "bill_number": number},
                    h.headers(t.keys, wanted_key=_key(t, "reimb1")))


# ---- the finance department: units, fee items, ranges, keys; every unit's notes -----------------
# Valid bodies here change nothing the other families rely on: new units get fresh codes, fee
# items new item codes, ranges come on top of the seeded ones, a key is added (at most 5 active,
# then 409) and only unknown key ids are revoked: the targets' own keys keep working.

def _unit_codes(t: Targets) -> st.SearchStrategy[str]:
    return h.path_param(t.stack["units"][0]["unit_code"], t.stack["units"][1]["unit_code"],
                        t.stack["reimbursers"][0]["unit_code"], "999999999")


NEW_UNIT = {"unit_code": "FZ0001", "name": "模糊测试单位", "kind": "collecting",
            "region_code": "340102", "credit_code": "91340100MA2N0AAA1X"}
FEE_ITEM = {"name": "模糊测试收费", "unit": "次", "bill_kind": "0301", "standard_fen": 2500}
FEE_RANGE = {"name": "模糊测试收费", "bill_kind": "0301", "min_fen": 100, "max_fen": 900,
             "valid_from": "2026-01-01", "valid_to": "2026-12-31"}


@route("/v1/admin/units", "GET", "admin")
def admin_units(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units", "GET", {},
                    h.headers(t.keys, wanted_key=_key(t, "finance")),
                    query=h.query(region=["34", "3401", "340102", "99", "x"],
                                  limit=["1", "0", "101", "-1"], cursor=["abc", ""]))


@route("/v1/admin/units", "POST", "admin")
def admin_create_unit(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units", "POST", {},
                    h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    st.one_of(h.json_bodies(NEW_UNIT),
                              h.json_bodies({**NEW_UNIT, "kind": "reimbursing",
                                             "unit_code": "FZ0002"})))


@route("/v1/admin/units/{unit_code}", "GET", "admin")
def admin_unit(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units/{unit_code}", "GET",
                    {"unit_code": _unit_codes(t)}, h.headers(t.keys, wanted_key=_key(t, "finance")))


@route("/v1/admin/units/{unit_code}/fee-items/{item_code}", "PUT", "admin")
def admin_fee_item(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units/{unit_code}/fee-items/{item_code}",
                    "PUT", {"unit_code": _unit_codes(t), "item_code": h.path_param("FZ01", "FZ02")},
                    h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    st.one_of(h.json_bodies(FEE_ITEM), h.json_bodies(FEE_RANGE)))


@route("/v1/admin/units/{unit_code}/ranges", "POST", "admin")
def admin_range(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units/{unit_code}/ranges", "POST",
                    {"unit_code": _unit_codes(t)}, h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    h.json_bodies({"bill_kind": "0301", "count": 5, "year": 2026}))


@route("/v1/admin/units/{unit_code}/api-keys", "POST", "admin")
def admin_add_key(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units/{unit_code}/api-keys", "POST",
                    {"unit_code": _unit_codes(t)}, h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    st.sampled_from([b"", b"{}", b"[]", b'{"x": 1}', b"\x00"]))


@route("/v1/admin/units/{unit_code}/api-keys/{key_id}", "DELETE", "admin")
def admin_revoke_key(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units/{unit_code}/api-keys/{key_id}", "DELETE",
                    {"unit_code": _unit_codes(t),
                     "key_id": h.path_param("key_000000000000", "key_ffffffffffff")},
                    h.headers(t.keys, wanted_key=_key(t, "finance")))


@route("/v1/admin/units/{unit_code}/bill-kinds", "PUT", "admin")
def admin_bill_kinds(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units/{unit_code}/bill-kinds", "PUT",
                    {"unit_code": _unit_codes(t)}, h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    st.one_of(h.json_bodies({"bill_kinds": ["0101", "0301"]}),
                              h.json_bodies({"bill_kinds": ["0301", "0401"], "bill_kind": "0301"})))


_MERCHANT_CHANNELS = h.path_param("wechatpay", "alipay", "unionpay", "bank", "x")


@route("/v1/admin/units/{unit_code}/merchants/{channel}", "PUT", "admin")
def admin_merchant(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units/{unit_code}/merchants/{channel}", "PUT",
                    {"unit_code": _unit_codes(t), "channel": _MERCHANT_CHANNELS},
                    h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    st.one_of(h.json_bodies({"sub_mchid": "1900000109"}),
                              h.json_bodies({"sub_mchid": "1900000109",
                                             "sub_appid": "wx0123456789abcdef"}),
                              h.json_bodies({"seller_id": "2088000000000001",
                                             "app_auth_token": "202606BBfuzztoken0001"}),
                              h.json_bodies({"seller_id": "2088000000000001",
                                             "auth_app_id": "2021000000000001",
                                             "app_auth_token": "202606BBfuzztoken0001"})))


@route("/v1/admin/units/{unit_code}/merchants/{channel}", "DELETE", "admin")
def admin_merchant_removed(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units/{unit_code}/merchants/{channel}",
                    "DELETE", {"unit_code": _unit_codes(t), "channel": _MERCHANT_CHANNELS},
                    h.headers(t.keys, wanted_key=_key(t, "finance")))


def _seal_bodies() -> st.SearchStrategy[bytes]:
    return st.one_of(st.sampled_from(SEALS), h.raw_bodies())


PNG_TYPES: list[str | None] = ["image/png"] * 6 + [None, "application/json", "image/jpeg"]


@route("/v1/admin/units/{unit_code}/seal", "PUT", "admin")
def admin_seal(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units/{unit_code}/seal", "PUT",
                    {"unit_code": _unit_codes(t)}, h.headers(t.keys, PNG_TYPES, _key(t, "finance")),
                    _seal_bodies())


@route("/v1/admin/units/{unit_code}/seal/sample.pdf", "GET", "admin")
def admin_seal_sample(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units/{unit_code}/seal/sample.pdf", "GET",
                    {"unit_code": _unit_codes(t)}, h.headers(t.keys, wanted_key=_key(t, "finance")))


@route("/v1/admin/units/{unit_code}/seal/sample.pdf", "POST", "admin")
def admin_seal_preview(t: Targets):
    return _request(t, "admin", "api", "/v1/admin/units/{unit_code}/seal/sample.pdf", "POST",
                    {"unit_code": _unit_codes(t)}, h.headers(t.keys, PNG_TYPES, _key(t, "finance")),
                    _seal_bodies())


@route("/v1/notes", "GET", "admin")
def list_notes(t: Targets):
    return _request(t, "admin", "api", "/v1/notes", "GET", {},
                    st.one_of(h.headers(t.keys, wanted_key=_key(t, "unit0")),
                              h.headers(t.keys, wanted_key=_key(t, "finance"))),
                    query=h.query(status=["unpaid", "paid", "issued", "x"],
                                  created_from=["2026-06-01", "2026-6-1", "2020-01-01"],
                                  created_to=["2026-06-15", "2027-01-01"],
                                  limit=["1", "100", "0", "101"], cursor=["abc"],
                                  unit_code=[t.stack["units"][0]["unit_code"],
                                             t.stack["units"][1]["unit_code"], "999999999"]))


# ---- the finance department: bill templates per kind ------------------------------------

@route("/v1/admin/bill-kinds", "GET", "other")
def bill_kinds(t: Targets):
    return _request(t, "other", "api", "/v1/admin/bill-kinds", "GET", {},
                    h.headers(t.keys, wanted_key=_key(t, "finance")))


@route("/v1/admin/bill-kinds/{kind_code}/template", "PUT", "other")
def choose_template(t: Targets):
    # Valid choices keep each kind's template as seeded (or the default): the other families
    # send bills whose extra fields must stay right.
    return _request(t, "other", "api", "/v1/admin/bill-kinds/{kind_code}/template", "PUT",
                    {"kind_code": h.path_param("0101", "0601", "0999")},
                    h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    st.one_of(h.json_bodies({"template_id": "nontax-general"}),
                              h.json_bodies({"template_id": "medical-outpatient"})))


# A template the finance department might define: valid (and the strategies bend it), so that
# the fuzz world holds defined templates next to the seed's without choosing them for a kind.
FUZZ_TEMPLATE = {
    "template_id": "fuzz-receipt", "name": "模糊测试收据", "kinds": ["0401"],
    "block_title": "附加信息", "remarks": ["模糊测试"],
    "fields": [{"key": "ref_code", "label": "编号", "type": "code", "xml_tag": "RefCode"},
               {"key": "paid_fen", "label": "金额", "type": "fen", "xml_tag": "PaidAmount"}],
    "rules": [{"type": "amounts_add_up", "terms": [[1, "paid_fen"]], "equals": "total_fen"}],
    "columns": [{"key": "item_code", "label": "项目编码", "width_mm": 40, "align": "l"},
                {"key": "name", "label": "项目名称", "width_mm": 90, "align": "c"},
                {"key": "amount", "label": "金额（元）", "width_mm": 60, "align": "r"}]}


@route("/v1/admin/bill-templates", "GET", "other")
def bill_templates(t: Targets):
    return _request(t, "other", "api", "/v1/admin/bill-templates", "GET", {},
                    h.headers(t.keys, wanted_key=_key(t, "finance")))


@route("/v1/admin/bill-templates", "POST", "other")
def define_template(t: Targets):
    return _request(t, "other", "api", "/v1/admin/bill-templates", "POST", {},
                    h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    h.json_bodies(FUZZ_TEMPLATE))


@route("/v1/admin/bill-templates/{template_id}", "GET", "other")
def bill_template(t: Targets):
    return _request(t, "other", "api", "/v1/admin/bill-templates/{template_id}", "GET",
                    {"template_id": h.path_param("fuzz-receipt", "medical-inpatient", "nope")},
                    h.headers(t.keys, wanted_key=_key(t, "finance")),
                    query=h.query(version=["1", "2", "0", "x", "9" * 40]))


@route("/v1/admin/bill-templates/{template_id}", "PUT", "other")
def edit_template(t: Targets):
    return _request(t, "other", "api", "/v1/admin/bill-templates/{template_id}", "PUT",
                    {"template_id": h.path_param("fuzz-receipt", "medical-inpatient", "nope")},
                    h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    h.json_bodies({**FUZZ_TEMPLATE, "version": 1}))


# ---- finance department: reports ------------------------------------------------------------

WEEKS = ["2026-W24", "2026-W25", "2026-W24.csv", "2026-W25.pdf", "2026-W26", "2026-W53",
         "2026-W24.xml", "1999-W01", "2026-w24"]


@route("/v1/admin/reports/weekly/{week}", "GET", "other")
def weekly_report(t: Targets):
    return _request(t, "other", "api", "/v1/admin/reports/weekly/{week}", "GET",
                    {"week": h.path_param(*WEEKS)},
                    h.headers(t.keys, wanted_key=_key(t, "finance")))


# ---- finance: reconciliation ----------------------------------------------------------------

DAYS = ("2026-06-15", "2026-06-14", "2026-02-29", "2026-6-15")


@route("/v1/admin/reconciliations/{date}", "GET", "other")
def reconciliation(t: Targets):
    return _request(t, "other", "api", "/v1/admin/reconciliations/{date}", "GET",
                    {"date": h.path_param(*DAYS)}, h.headers(t.keys, wanted_key=_key(t, "finance")))


@route("/v1/admin/reconciliations/{date}", "POST", "other")
def reconcile(t: Targets):
    return _request(t, "other", "api", "/v1/admin/reconciliations/{date}", "POST",
                    {"date": h.path_param(*DAYS)},
                    h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    st.one_of(st.just(b""), h.json_bodies({"channels": ["wechatpay", "bank"]})))


@route("/v1/admin/reconciliations/{date}/{channel}/{line_id}/resolution", "POST", "other")
def resolve_discrepancy(t: Targets):
    return _request(t, "other", "api",
                    "/v1/admin/reconciliations/{date}/{channel}/{line_id}/resolution", "POST",
                    {"date": h.path_param(*DAYS), "channel": h.path_param("wechatpay", "bank"),
                     "line_id": h.path_param("pay-4200000001", "refund-R1")},
                    h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    h.json_bodies({"resolution": "已与渠道核实"}))


# ---- finance department: remittance -----------------------------------------------------------

DATES = ["2026-06-15", "2026-06-14", "2026-02-30", "2026-6-15", "1999-01-01", "today"]


@route("/v1/admin/remittances/{date}", "GET", "other")
def remittances(t: Targets):
    return _request(t, "other", "api", "/v1/admin/remittances/{date}", "GET",
                    {"date": h.path_param(*DATES)}, h.headers(t.keys, wanted_key=_key(t, "finance")))


@route("/v1/admin/remittances/{date}/instruction.csv", "GET", "other")
def remittance_file(t: Targets):
    return _request(t, "other", "api", "/v1/admin/remittances/{date}/instruction.csv", "GET",
                    {"date": h.path_param(*DATES)}, h.headers(t.keys, wanted_key=_key(t, "finance")))


@route("/v1/admin/remittances/{date}/instruct", "POST", "other")
def instruct_remittances(t: Targets):
    return _request(t, "other", "api", "/v1/admin/remittances/{date}/instruct", "POST",
                    {"date": h.path_param(*DATES)},
                    h.headers(t.keys, JSON_TYPES, _key(t, "finance")))


@route("/v1/admin/remittances/{date}/confirm", "POST", "other")
def confirm_remittance(t: Targets):
    return _request(t, "other", "api", "/v1/admin/remittances/{date}/confirm", "POST",
                    {"date": h.path_param(*DATES)},
                    h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    h.json_bodies({"unit_code": "340100001", "account": "treasury",
                                   "bank_reference": "B1"}))


@route("/v1/admin/units/{unit_code}/remittance-account", "PUT", "other")
def remittance_account(t: Targets):
    return _request(t, "other", "api", "/v1/admin/units/{unit_code}/remittance-account", "PUT",
                    {"unit_code": h.path_param("340100001", "340100002", "999999999")},
                    h.headers(t.keys, JSON_TYPES, _key(t, "finance")),
                    h.json_bodies({"account": "treasury"}))


@route("/v1/admin/anomalies", "GET", "other")
def anomalies(t: Targets):
    return _request(t, "other", "api", "/v1/admin/anomalies", "GET", {},
                    h.headers(t.keys, wanted_key=_key(t, "finance")),
                    query=h.query(**{"from": DATES, "to": DATES}))


@route("/console/finance/reports/weekly", "GET", "other", "page")
def weekly_report_page(t: Targets):
    return _request(t, "other", "page", "/console/finance/reports/weekly", "GET", {},
                    h.headers(t.keys), query=h.query(week=WEEKS))


# ---- operations ---------------------------------------------------------------------------

@route("/healthz", "GET", "other")
def healthz(t: Targets):
    return _request(t, "other", "api", "/healthz", "GET", {}, h.headers(t.keys))


@st.composite
def unknown_paths(draw: st.DrawFn, t: Targets) -> Request:
    """Paths no route serves (or serves with other parameters): the gateway's refusal."""
    path = draw(st.one_of(
        st.sampled_from(["/", "/v1", "/v1/", "/v2/notes", "/v1/notes/a/b/c", "/callbacks",
                         "/callbacks/paypal", "/v1/admin/units", "/console", "/pay",
                         "/bills/1", "/%2e%2e/%2e%2e/etc/passwd", "//", "/v1/public/keys/x",
                         "/" + "a" * 3000, "/\x00", "/🙂", "/v1/notes/%00/cancel/x"]),
        st.text(max_size=30).map(lambda s: "/" + quote(h.to_bytes(s), safe="/%"))))
    return Request("other", "api", "(unknown)", draw(st.sampled_from(METHODS)), path,
                   draw(h.headers(t.keys)), draw(h.raw_bodies()))


# ---- callbacks ------------------------------------------------------------------------------

CALLBACK_TYPES = {"wechatpay": "application/json", "alipay": "application/x-www-form-urlencoded",
                  "unionpay": "application/x-www-form-urlencoded", "bank": "application/json"}


@st.composite
def junk_callback(draw: st.DrawFn, t: Targets, channel: str) -> Request:
    """Unsigned, or signed with nonsense: whatever anyone can post to a notification URL."""
    base = draw(h.headers(t.keys, [CALLBACK_TYPES[channel]] * 4 + h.CONTENT_TYPES))
    junk = {"Wechatpay-Serial": [t.stack["channels"]["wechatpay"]["platform_serial"], "x", ""],
            "Wechatpay-Signature": ["YWJj", "WECHATPAY/SIGNTEST/abc", "!!", "A" * 5000],
            "Wechatpay-Timestamp": ["0", "1" * 30, "-1", "１２３", "1781488800"],
            "Wechatpay-Nonce": ["n", "", "\x00"],
            "Wechatpay-Signature-Type": ["WECHATPAY2-SHA256-RSA2048", "X"],
            "X-Bank-Code": [t.stack["channels"]["bank"]["bank_code"], "", "x" * 300],
            "X-Timestamp": ["1781488800", "9" * 400, "-1", "1e9", ""],
            "X-Signature": ["YWJj", "", "=" * 3]}
    for name, choices in junk.items():
        if draw(st.booleans()):
            base[name] = draw(st.sampled_from(choices))
    body = draw(st.one_of(h.raw_bodies(), h.json_bodies({"id": "x", "resource": {}}),
                          h.form_bodies({"sign": "x", "out_trade_no": "x", "signature": "x"})))
    return Request("callbacks_junk", channel, f"/callbacks/{channel}",
                   draw(st.sampled_from(["POST"] * 11 + ["GET"])), f"/callbacks/{channel}",
                   base, body)


def _callback_route(channel: str):
    """Correctly signed notifications with hostile contents (``signed.py``); the unsigned junk
    of every channel is the ``callbacks_junk`` family."""
    def build(t: Targets):
        from tests.fuzz import signed

        return signed.SIGNED[channel](t)
    route(f"/callbacks/{channel}", "POST", f"callbacks_{channel}", channel)(build)


for _channel in ("wechatpay", "alipay", "unionpay", "bank"):
    _callback_route(_channel)


@route("/callbacks/alipay/gateway", "POST", "callbacks_alipay_gateway", "alipay")
def _alipay_gateway(t: Targets):
    """Alipay's messages to the application gateway, signed, hostile inside (``signed.py``)."""
    from tests.fuzz import signed

    return signed.alipay_message(t)


# ---- the consoles (people signed in) ----------------------------------------------------------

def _console_headers(t: Targets, content_types: list[str | None] | None = None
                     ) -> st.SearchStrategy[dict]:
    """Headers with a live session of any role (or none, or a forged one) and the CSRF cookie
    (or a hostile one), so that requests reach the views behind the door and its checks."""
    sessions = [*t.console.values(), "", "console_session=", "console_session=forged",
                "console_session=" + "s" * 5000]
    csrf = [t.csrf_cookie] * 3 + ["", "csrf_token=a.b"]
    return st.tuples(h.headers(t.keys, content_types), st.sampled_from(sessions),
                     st.sampled_from(csrf)).map(
        lambda p: {**p[0], "Cookie": "; ".join(c for c in (p[1], p[2]) if c)}
        if p[1] or p[2] else p[0])


CONSOLE_FORMS: dict[tuple[str, str], dict[str, str]] = {
    ("/console/sign-in", "POST"): {"username": "unit1.operator", "password": "Wrong-pass-1",
                                   "otp": "123456"},
    ("/console/sign-out", "POST"): {},
    ("/console/finance/people", "POST"): {"username": "fuzz.person", "role": "unit_operator",
                                          "unit_code": "340100001",
                                          "password": "Fuzz-pass-2026", "totp": "yes"},
    ("/console/finance/people/{username}/unlock", "POST"): {},
    ("/console/finance/people/{username}/totp", "POST"): {"confirm": "yes"},
    ("/console/finance/people/{username}/password", "POST"): {"password": "Fuzz-pass-2026",
                                                              "confirm": "yes"},
    ("/console/finance/people/{username}/disable", "POST"): {"disabled": "yes",
                                                             "confirm": "yes"},
    ("/console/finance/people/{username}/role", "POST"): {"role": "unit_admin", "scope": ""},
    ("/console/me/password", "POST"): {"current_password": "Wrong-pass-1",
                                       "password": "Fuzz-pass-2026",
                                       "password2": "Fuzz-pass-2026"},
    ("/console/me/totp", "POST"): {"current_password": "Wrong-pass-1"},
    ("/console/me/totp/confirm", "POST"): {"otp": "123456"},
    ("/console/finance/units", "POST"): {"unit_code": "340100088", "name": "模糊测试单位",
                                         "kind": "collecting", "region_code": "340100",
                                         "bill_kind": "0301"},
    ("/console/finance/units/{unit_code}/fee-items", "POST"): {
        "item_code": "103099900009", "name": "模糊测试项目", "bill_kind": "0301",
        "standard": "12.50", "min": "", "max": "", "valid_from": "", "valid_to": ""},
    ("/console/finance/units/{unit_code}/ranges", "POST"): {"bill_kind": "0301", "count": "10",
                                                            "year": ""},
    ("/console/finance/units/{unit_code}/keys", "POST"): {"confirm": "yes"},
    ("/console/finance/units/{unit_code}/keys/{key_id}/revoke", "POST"): {"confirm": "yes"},
    ("/console/finance/units/{unit_code}/merchants/{channel}", "POST"): {
        "action": "set", "sub_mchid": "1900000109", "sub_appid": "",
        "seller_id": "2088000000000001", "auth_app_id": "2021000000000001",
        "app_auth_token": "202606BBfuzztoken0001"},
    ("/console/finance/units/{unit_code}/bill-kinds", "POST"): {"bill_kinds": "0301",
                                                                "bill_kind": "0301"},
    ("/console/unit/notes", "POST"): {
        "payer_name": "张三", "payer_type": "individual", "payer_phone": "13812345678",
        "item_code": "103040100101", "quantity": "1", "standard": "80.00", "form_id": "fz"},
    ("/console/unit/notes/{payment_code}/cancel", "POST"): {"confirm": "yes"},
    ("/console/unit/people", "POST"): {"username": "fuzz.op", "password": "Fuzz-pass-2026"},
    ("/console/unit/people/{username}/unlock", "POST"): {},
    ("/console/unit/people/{username}/totp", "POST"): {"confirm": "yes"},
    ("/console/unit/people/permissions", "POST"): {"action": "reverse"},
    ("/console/unit/people/{username}/actions", "POST"): {"mode": "own", "action": "reverse",
                                                          "confirm": "yes"},
    ("/console/unit/bills/{bill_code}/{bill_number}/reversal", "POST"): {
        "confirm": "yes", "reason": "模糊测试"},
    ("/console/unit/bills/{bill_code}/{bill_number}/void", "POST"): {
        "confirm": "yes", "reason": "模糊测试"},
    ("/console/unit/bills/{bill_code}/{bill_number}/paper", "POST"): {
        "confirm": "yes", "reason": "模糊测试", **PAPER},
    ("/console/unit/exceptions/{channel}/{channel_txn_id}/retry", "POST"): {
        "confirm": "yes", "reason": "模糊测试"},
    ("/console/unit/exceptions/{channel}/{channel_txn_id}/offline", "POST"): {
        "confirm": "yes", "reason": "模糊测试"},
    ("/console/unit/people/{username}/disable", "POST"): {"disabled": "yes", "confirm": "yes"},
    ("/console/unit/people/password", "POST"): {"username": "unit1.operator",
                                                "password": "Fuzz-pass-2026", "confirm": "yes"},
    # the seed's own choice for 0601 (other families' bills keep their template)
    ("/console/finance/bill-kinds/{kind_code}", "POST"): {"template_id": "medical-outpatient"},
    ("/console/finance/bill-templates", "POST"): {
        "template_id": "fuzz-console", "name": "模糊测试", "kinds": "0401", "payer_label": "交款人",
        "block_title": "附加", "remarks": "", "rules": "paid_fen = total_fen",
        "f_key": "paid_fen", "f_label": "金额", "f_type": "fen", "f_xml_tag": "PaidAmount",
        "f_required": "yes", "f_options": "", "c_key": "amount", "c_label": "金额",
        "c_width": "190", "c_align": "r"},
    ("/console/finance/bill-templates/{template_id}", "POST"): {
        "name": "模糊测试（改）", "kinds": "0401", "payer_label": "交款人", "version": "1",
        "c_key": "amount", "c_label": "金额", "c_width": "190", "c_align": "r"},
    ("/console/unit/bills", "POST"): {
        "payer_name": "张三", "payer_type": "individual", "item_code": "103040100101",
        "quantity": "1", "standard": "80.00", "form_id": "fzd", "paid_by": "cash",
        "bill_kind": "0301"},
}
CONSOLE_GETS = ["/console", "/console/finance", "/console/unit", "/console/finance/people",
                "/console/finance/audit", "/console/finance/day", "/console/finance/units",
                "/console/finance/units/{unit_code}", "/console/unit/notes/new",
                "/console/unit/notes", "/console/unit/bills",
                "/console/unit/notes/{payment_code}",
                "/console/unit/notes/{payment_code}/notice.pdf",
                "/console/unit/notes/{payment_code}/bill-notice.pdf", "/console/unit/people",
                "/console/finance/bill-kinds", "/console/me",
                "/console/finance/people/{username}",
                "/console/unit/bills/{bill_code}/{bill_number}",
                "/console/unit/bills/{bill_code}/{bill_number}/confirm/{action}",
                "/console/unit/exceptions",
                "/console/unit/exceptions/{channel}/{channel_txn_id}/confirm/{action}",
                "/console/finance/units/{unit_code}/seal.png",
                "/console/finance/units/{unit_code}/seal/sample.pdf",
                "/console/finance/bill-templates", "/console/finance/bill-templates/new",
                "/console/finance/bill-templates/{template_id}", "/console/unit/bills/new",
                "/console/unit/audit", "/console/unit/people/{username}"]
_CONSOLE_QUERIES = st.sampled_from(["", "", "?day=2026-06-15", "?day=2026-13-45&unit_code=%00",
                                    "?q=%E5%BC%A0&status=unpaid&page=999999",
                                    "?region=34&cursor=forged", "?edit=103040100101",
                                    "?username=" + "u" * 300, "?expired=1&created=1",
                                    "?issued_from=2026-06-15&issued_to=2025-01-01&status=red",
                                    "?refund_status=failed&done=retry&txn=%00",
                                    "?kind=0602", "?kind=9999&from=nope",
                                    "?from=medical-inpatient&saved=1&direct=1"])


def _console_params(t: Targets) -> dict[str, st.SearchStrategy[str]]:
    return {"username": h.path_param("unit1.operator", "unit1.admin", "finance.admin"),
            "unit_code": h.path_param("340100001", "340100002", "340100901"),
            "payment_code": codes(t), "key_id": h.path_param("key_000000000000"),
            "kind_code": h.path_param("0601", "0101"),
            "bill_code": bill_refs(t, t.spare, t.reimbursed, t.bill)[0],
            "bill_number": bill_refs(t, t.spare, t.reimbursed, t.bill)[1],
            "action": h.path_param("reverse", "void", "paper", "retry", "offline"),
            "channel": h.path_param("wechatpay", "alipay", "bank"),
            "channel_txn_id": h.path_param("TXN0001", "4200000000000000001"),
            "template_id": h.path_param("fuzz-console", "medical-outpatient", "x" * 60)}


def _register_console() -> None:
    for template in CONSOLE_GETS:
        def get(t: Targets, template: str = template):
            return _request(t, "console", "page", template, "GET", _console_params(t),
                            _console_headers(t), query=_CONSOLE_QUERIES)
        route(template, "GET", "console", "page")(get)
    for (template, method), fields in CONSOLE_FORMS.items():
        def post(t: Targets, template: str = template, fields: dict = fields):
            # half the time a session with its own CSRF cookie and token (a token is bound to
            # its session), so the hostile forms reach the views; else any mix of the two
            bound = [_request(t, "console", "page", template, "POST", _console_params(t),
                              h.headers(t.keys, FORM_TYPES).map(
                                  lambda hd, c=f"{t.console[role]}; {cookie}": {
                                      **hd, "Cookie": c}),
                              h.form_bodies({**fields, "csrf_token": token}))
                     for role, (cookie, token) in t.console_csrf.items()]
            return st.one_of(st.one_of(bound), _request(
                t, "console", "page", template, "POST", _console_params(t),
                _console_headers(t, FORM_TYPES),
                h.form_bodies({**fields, "csrf_token": t.csrf_token})))
        route(template, method, "console", "page")(post)


_register_console()

MULTIPART = "multipart/form-data; boundary=fuzzb"


@st.composite
def _multipart_bodies(draw: st.DrawFn, token: str) -> bytes:
    """The seal form as a browser posts it, its fields and file hostile now and then."""
    fields = {"csrf_token": draw(st.sampled_from([token, token, "", "a.b"])),
              "action": draw(st.sampled_from(["preview", "set", "", "x" * 2000])),
              "confirm": draw(st.sampled_from(["yes", ""]))}
    parts = [f'--fuzzb\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
             + value.encode() + b"\r\n" for name, value in fields.items()]
    parts.append(b'--fuzzb\r\nContent-Disposition: form-data; name="file"; filename="s.png"'
                 b"\r\nContent-Type: image/png\r\n\r\n" + draw(_seal_bodies()) + b"\r\n")
    body = b"".join(parts) + b"--fuzzb--\r\n"
    cut = draw(st.sampled_from([None, None, None, 10, len(body) // 2]))
    return body if cut is None else body[:cut]


@route("/console/finance/units/{unit_code}/seal", "POST", "console", "page")
def console_seal(t: Targets):
    return _request(t, "console", "page", "/console/finance/units/{unit_code}/seal", "POST",
                    _console_params(t), _console_headers(t, [MULTIPART] * 6 + FORM_TYPES[:2]),
                    _multipart_bodies(t.csrf_token))


def family_strategy(family: str, t: Targets) -> st.SearchStrategy[Request]:
    """Every route of ``family``, each as likely as the others."""
    builders = [builder(t) for (_, _), (fam, _, builder) in ROUTES.items() if fam == family]
    if family == "other":
        builders.append(unknown_paths(t))
    if family == "callbacks_junk":
        builders = [junk_callback(t, c) for c in CALLBACK_TYPES]
    return st.one_of(builders)


def hmac_b64(secret: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()


__all__ = ["ROUTES", "Request", "family_strategy", "hmac_b64", "quote_plus"]
