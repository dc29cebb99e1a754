"""Channel notifications correctly signed with the stack's channel keys, carrying hostile contents.

A signature only proves who sent a message: everything behind it (amounts, ids, times, nesting,
encodings, the decrypted WeChat resource) must still be refused in the channel's way, never with
a 5xx. Each strategy starts from the genuine notification for one of our open orders (or a note,
for the bank), mutates a few of its fields, and signs the result as the channel would. Time is
the world's pinned clock; ids come from the draw, so a run is reproducible.
"""

from __future__ import annotations

import base64
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import quote_plus

from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from hypothesis import strategies as st

from chalicelib.domain.china_time import china_iso
from tests.fuzz import hostile as h
from tests.fuzz.routes import Request, hmac_b64
from tests.fuzz.targets import Targets
from tests.world import PINNED_NOW

# The strategies the signed notifications draw from, made once (a strategy made anew at each
# draw is validated and labelled anew: a sixth of a signed family's drawing). The same
# strategies as before, so the same requests.
_BOOL = st.booleans()
_UP_TO_3 = st.integers(0, 3)
_ONE_IN = {n: st.integers(0, n - 1) for n in (6, 8, 10)}
_DIGITS_12, _DIGITS_19, _DIGITS_20 = (st.text(alphabet="0123456789", min_size=n, max_size=n)
                                      for n in (12, 19, 20))
_NOTIFY_IDS = st.text(alphabet="0123456789abcdef", min_size=8, max_size=34)
_FIELD_ACTIONS = st.sampled_from(["replace", "replace", "number", "delete", "add"])
_NUMBERS = st.sampled_from(
    ["0", "-1", "0.001", "1e10", "1" * 5000, "100.005", "NaN", "-0.00",
     "99999999999999999999.99", "１００.00", " 100.00", "100.00\x00", "0x10"])
_AADS = {kind: st.sampled_from([kind] * 5 + ["", "x" * 1000, "\x00"])
         for kind in ("refund", "transaction")}
_RESOURCE_NONCES = st.sampled_from(["a1b2c3d4e5f6"] * 5 + [
    "", "short", "a" * 13, "a" * 5000, "çççççç", "\x00" * 12, "🙂🙂🙂"])
_NONCES = st.sampled_from(["5K8264ILTKCH16CQ2502SI8ZNMTM67VS"] * 4 + ["", "\x00", "n" * 5000,
                                                                      "随机串"])
_BAD_HEADERS = st.sampled_from(["", "x", "\x00", "a" * 3000])
_BAD_BANK_CODES = st.sampled_from(["", "x", "\x00", "9" * 3000])
_CHARSETS = st.sampled_from(["utf-8"] * 4 + ["gbk", "gb2312"])
_SIGN_TYPES = st.sampled_from(["RSA2"] * 5 + ["RSA", ""])
_RESP_CODES = st.sampled_from(["00"] * 5 + ["01", "A6", ""])
_ENCODINGS = st.sampled_from(["utf-8"] * 4 + ["gbk", "gb18030", "UTF-8"])


def _now(t: Targets) -> datetime:
    return t.clock() if t.clock else PINNED_NOW


@cache
def _timestamps(now: int) -> st.SearchStrategy[str]:
    good = str(now)
    return st.sampled_from([good] * 18 + [
        str(now - 299), str(now + 299), str(now - 300), str(now + 300), str(now - 10**6), "0",
        "-1", "1" * 30, "9" * 5000, "1e9", " " + good, good + " ", "１２３", "", "0x10", "+" + good,
        good + ".5", "-" + "9" * 400])


@cache
def _order(t: Targets, channel: str) -> st.SearchStrategy[tuple[str, int]]:
    order = t.orders[channel]
    mine = (order["out_trade_no"], order["amount_fen"])
    others = [(o.get("out_trade_no", ""), o["amount_fen"]) for o in t.orders.values()]
    return st.one_of(st.sampled_from([mine] * 4 + others),
                     st.tuples(h.text(), st.integers(-10, 10**12)))


@st.composite
def _text_values(draw: st.DrawFn, fields: dict[str, str]) -> dict[str, str]:
    """Form fields with a few values replaced by hostile text, removed, or added."""
    out = dict(fields)
    for _ in range(draw(_UP_TO_3)):
        name = draw(st.sampled_from(sorted(out) or ["x"]))
        action = draw(_FIELD_ACTIONS)
        if action == "delete":
            out.pop(name, None)
        elif action == "add":
            out[draw(h.text())] = draw(h.text())
        elif action == "number":
            out[name] = draw(_NUMBERS)
        else:
            out[name] = draw(h.text())
    return out


# ---- WeChat Pay ---------------------------------------------------------------------------

@st.composite
def wechatpay(draw: st.DrawFn, t: Targets) -> Request:
    from devstack.builders.wechatpay import refund_resource, transaction_resource

    wx = t.stack["channels"]["wechatpay"]
    now = _now(t)
    stamp = int(now.timestamp())
    out_trade_no, amount = draw(_order(t, "wechatpay"))
    txn = "4200" + draw(_DIGITS_20)
    refund = draw(_ONE_IN[6]) == 0
    if refund:
        resource: dict[str, Any] = refund_resource(
            mchid=wx["mchid"], out_trade_no=str(out_trade_no), transaction_id=txn,
            out_refund_no="R" + "0" * 31, refund_id="5030" + txn[4:], refund_fen=amount,
            total_fen=amount, success_time=now.isoformat(timespec="seconds"))
    else:
        resource = transaction_resource(
            mchid=wx["mchid"], appid=wx["appid"], out_trade_no=str(out_trade_no),
            transaction_id=txn, amount_fen=amount,
            success_time=china_iso(now))
    plain = h.to_bytes(h.encode(h.mutate(draw, resource), ascii_only=draw(_BOOL)))
    if draw(_ONE_IN[10]) == 0:
        plain = draw(h.raw_bodies())
    original_type = "refund" if refund else "transaction"
    aad = draw(_AADS[original_type])
    resource_nonce = draw(_RESOURCE_NONCES)
    key = wx["apiv3_key"].encode()
    nonce_bytes = resource_nonce.encode("utf-8")
    usable = nonce_bytes if 8 <= len(nonce_bytes) <= 128 else b"a1b2c3d4e5f6"
    ciphertext = base64.b64encode(AESGCM(key).encrypt(usable, plain, aad.encode())).decode()
    outer: dict[str, Any] = {
        "id": "EV-" + txn, "create_time": now.isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": "REFUND.SUCCESS" if refund else "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": ciphertext, "associated_data": aad, "nonce": resource_nonce}}
    body = h.to_bytes(h.encode(h.mutate(draw, outer, max_changes=2)))
    timestamp = draw(_timestamps(stamp))
    nonce = draw(_NONCES)
    message = b"%s\n%s\n%s\n" % (h.to_bytes(timestamp), h.to_bytes(nonce), body)
    signature = base64.b64encode(t.wechat_key.sign(message, PKCS1v15(), SHA256())).decode()
    headers = {"Wechatpay-Serial": wx["platform_serial"], "Wechatpay-Signature": signature,
               "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce,
               "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
               "Content-Type": "application/json"}
    if draw(_ONE_IN[8]) == 0:
        name = draw(st.sampled_from(sorted(headers)))
        headers[name] = draw(_BAD_HEADERS)
    return Request("callbacks_wechatpay", "wechatpay", "/callbacks/wechatpay", "POST",
                   "/callbacks/wechatpay", headers, body)


# ---- Alipay -------------------------------------------------------------------------------

@st.composite
def alipay(draw: st.DrawFn, t: Targets) -> Request:
    from chalicelib.adapters.alipay.verify import signing_string
    from devstack.builders.alipay import trade_fields

    ali = t.stack["channels"]["alipay"]
    out_trade_no, amount = draw(_order(t, "alipay"))
    charset = draw(_CHARSETS)
    try:
        fields = trade_fields(app_id=ali["app_id"], seller_id=ali["seller_id"],
                              out_trade_no=str(out_trade_no), total_fen=max(0, amount),
                              now=_now(t), charset=charset,
                              trade_no="2026061522001" + "0" * 15,
                              notify_id=draw(_NOTIFY_IDS))
    except (ValueError, TypeError):
        fields = {"out_trade_no": str(out_trade_no), "charset": charset}
    fields = draw(_text_values(fields))
    codec = {"utf-8": "utf-8", "gbk": "gbk", "gb2312": "gbk"}[charset]
    data = {"charset": charset, **fields} if "charset" in fields else dict(fields)
    signed = signing_string(data).encode(codec, "replace")
    sign = base64.b64encode(t.alipay_key.sign(signed, PKCS1v15(), SHA256())).decode()
    pairs = {**data, "sign": sign, "sign_type": draw(_SIGN_TYPES)}
    body = "&".join(f"{quote_plus(str(k).encode(codec, 'replace'))}="
                    f"{quote_plus(str(v).encode(codec, 'replace'))}" for k, v in pairs.items())
    content_type = draw(st.sampled_from([f"application/x-www-form-urlencoded; charset={charset}"]
                                        * 4 + ["application/x-www-form-urlencoded",
                                               "application/x-www-form-urlencoded; charset=x"]))
    return Request("callbacks_alipay", "alipay", "/callbacks/alipay", "POST", "/callbacks/alipay",
                   {"Content-Type": content_type}, body.encode("ascii"))


@st.composite
def alipay_message(draw: st.DrawFn, t: Targets) -> Request:
    """An open-platform message to the application gateway, signed with Alipay's key: a
    cancellation (or another method) whose biz_content and fields are hostile."""
    from chalicelib.adapters.alipay.verify import signing_string
    from devstack.builders.alipay import message_fields

    ali = t.stack["channels"]["alipay"]
    method = draw(st.sampled_from(["alipay.open.auth.appauth.cancelled"] * 5 + [
        "alipay.open.auth.userauth.cancelled", ""]))
    biz = draw(st.one_of(
        st.just({"user_id": "2088000000000101"}), st.just({}),
        st.builds(lambda k, v: {k: v}, st.sampled_from(["user_id", "auth_app_id",
                                                        "app_auth_token", "x"]), h.text())))
    fields = message_fields(app_id=ali["app_id"], msg_method=method, now=_now(t),
                            biz_content=biz, notify_id=draw(st.text(
                                alphabet="0123456789abcdef", min_size=1, max_size=200)))
    fields = draw(_text_values(fields))
    if draw(st.booleans()):
        fields["biz_content"] = draw(st.one_of(h.text(), st.sampled_from(
            ["[1]", "null", '{"user_id": {"user_id": []}}', "{" * 300])))
    data = {"charset": "utf-8", **fields}
    sign = base64.b64encode(t.alipay_key.sign(signing_string(data).encode("utf-8", "replace"),
                                              PKCS1v15(), SHA256())).decode()
    pairs = {**data, "sign": sign, "sign_type": draw(st.sampled_from(["RSA2"] * 5 + ["RSA"]))}
    body = "&".join(f"{quote_plus(str(k).encode('utf-8', 'replace'))}="
                    f"{quote_plus(str(v).encode('utf-8', 'replace'))}" for k, v in pairs.items())
    return Request("callbacks_alipay_gateway", "alipay", "/callbacks/alipay/gateway", "POST",
                   "/callbacks/alipay/gateway",
                   {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                   body.encode("ascii"))


# ---- UnionPay -----------------------------------------------------------------------------

@st.composite
def unionpay(draw: st.DrawFn, t: Targets) -> Request:
    from chalicelib.adapters.unionpay.verify import signing_string
    from devstack.builders.unionpay import txn_fields

    up = t.stack["channels"]["unionpay"]
    order_id, amount = draw(_order(t, "unionpay"))
    fields = txn_fields(mer_id=up["mer_id"], order_id=str(order_id), txn_amt_fen=amount,
                        now=_now(t), query_id="95" + draw(_DIGITS_19),
                        resp_code=draw(_RESP_CODES))
    encoding = draw(_ENCODINGS)
    data = {"signMethod": "01", "version": "5.1.0", **fields, "encoding": encoding}
    data = draw(_text_values(data))
    cert = draw(st.sampled_from([t.unionpay_cert] * 6 + t.hostile_certs))
    data["signPubKeyCert"] = cert
    codec = {"utf-8": "utf-8", "gbk": "gbk", "gb18030": "gb18030"}.get(
        str(data.get("encoding", "utf-8")).lower(), "utf-8")
    import hashlib

    digest = hashlib.sha256(signing_string(data).encode(codec, "replace")).hexdigest()
    signature = base64.b64encode(t.unionpay_key.sign(digest.encode(), PKCS1v15(),
                                                     SHA256())).decode()
    items = sorted(data.items()) + [("signature", signature)]
    body = "&".join(f"{quote_plus(str(k).encode(codec, 'replace'))}="
                    f"{quote_plus(str(v).encode(codec, 'replace'))}" for k, v in items)
    return Request("callbacks_unionpay", "unionpay", "/callbacks/unionpay", "POST",
                   "/callbacks/unionpay",
                   {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                   body.encode("ascii"))


# ---- agent bank ---------------------------------------------------------------------------

@st.composite
def bank(draw: st.DrawFn, t: Targets) -> Request:
    cfg = t.stack["channels"]["bank"]
    now = _now(t)
    code = draw(st.sampled_from([t.orders["bank"]["payment_code"]] * 3 + t.codes()))
    body = {"bank_code": cfg["bank_code"], "payment_code": code,
            "amount_fen": t.orders["bank"]["amount_fen"],
            "bank_txn_id": "B" + draw(_DIGITS_12),
            "paid_at": china_iso(now)}
    raw = h.to_bytes(h.encode(h.mutate(draw, body), ascii_only=draw(_BOOL)))
    if draw(_ONE_IN[10]) == 0:
        raw = draw(h.raw_bodies())
    timestamp = draw(_timestamps(int(now.timestamp())))
    signature = hmac_b64(cfg["secret"].encode(), h.to_bytes(timestamp) + b"\n" + raw)
    headers = {"Content-Type": "application/json", "X-Bank-Code": cfg["bank_code"],
               "X-Timestamp": timestamp, "X-Signature": signature}
    if draw(_ONE_IN[8]) == 0:
        headers["X-Bank-Code"] = draw(_BAD_BANK_CODES)
    return Request("callbacks_bank", "bank", "/callbacks/bank", "POST", "/callbacks/bank",
                   headers, raw)


SIGNED = {"wechatpay": wechatpay, "alipay": alipay, "unionpay": unionpay, "bank": bank}
