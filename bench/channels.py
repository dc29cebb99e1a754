"""Benchmark: verifications per second of each channel's verifier, against a reference doing
the same check: the maintained SDK where one exists, else the bare ``cryptography`` operations.

- WeChat Pay: ours ``wechatpay.verify_notification``; reference wechatpayv3
  ``utils.rsa_verify`` + ``utils.aes_decrypt`` + ``json.loads`` of the body and the resource.
- Alipay: ours ``alipay.verify_notification``; reference python-alipay-sdk ``AliPay.verify``
  after ``parse_qsl`` and ``pop("sign")``.
- UnionPay: ours ``unionpay.verify_notification`` on the real notice in
  ``tests/events/unionpay/`` with the clock pinned inside its leaf's life (2017-2020); no SDK, so
  the reference is the bare ``cryptography`` work: parse the form, load the leaf, verify
  leaf <- middle <- root, SHA-256 of the signing string, RSA verify.
- bank: ours ``bank.verify_notification``; no SDK, so the reference is base64-decode,
  ``cryptography`` HMAC-SHA256 verify and ``json.loads``.

Both sides start from the raw bytes and end with the fields in hand; ours also checks the
things the reference skips (timestamps, ids, amounts). Runs interleave ours and the reference
in short rounds and keep each side's median round, so a noisy neighbour hits both alike.

    .venv/bin/python -m bench.channels [ROUNDS]     (all of them: python -m bench)
"""

from __future__ import annotations

import base64
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

EVENTS = Path(__file__).resolve().parents[1] / "tests" / "events" / "unionpay"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ROUND_SECONDS = 0.25

Check = Callable[[], object]


def wechatpay() -> tuple[Check, Check]:
    from wechatpayv3 import utils  # type: ignore[import-untyped]

    from chalicelib.adapters.wechatpay.config import WechatPayConfig
    from chalicelib.adapters.wechatpay.verify import verify_notification
    from devstack.builders.wechatpay import sign_notification, transaction_resource

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    apiv3 = "0123456789abcdefABCDEF0123456789"
    serial = "PUB_KEY_ID_0114232026112200000000000001"
    config = WechatPayConfig(mchid="1900009191", appid="wx8888888888888888",
                             apiv3_key=apiv3.encode(), platform_keys={serial: key.public_key()})
    resource = transaction_resource(
        mchid=config.mchid, appid=config.appid, out_trade_no="34010026000000001234Ab3xQ9",
        transaction_id="4200002026112212345678", amount_fen=10050,
        success_time="2026-11-22T18:00:00+08:00")
    now = int(NOW.timestamp())
    body, headers = sign_notification(resource, config_apiv3_key=apiv3.encode(),
                                      platform_private_key=key, serial=serial, now=now)
    public = key.public_key()

    def ours() -> object:
        return verify_notification(body, headers, config, now)

    def sdk() -> object:
        text = body.decode("utf-8")
        if not utils.rsa_verify(headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"],
                                text, headers["Wechatpay-Signature"], public):
            raise AssertionError("the SDK refused the notification")
        enc = json.loads(text)["resource"]
        return json.loads(utils.aes_decrypt(enc["nonce"], enc["ciphertext"],
                                            enc["associated_data"], apiv3))

    return ours, sdk


def alipay() -> tuple[Check, Check]:
    from alipay import AliPay  # type: ignore[import-untyped]

    from chalicelib.adapters.alipay.config import AlipayConfig
    from chalicelib.adapters.alipay.verify import verify_notification
    from devstack.builders.alipay import sign_notification, trade_fields

    alipay_key, app_key = (rsa.generate_private_key(public_exponent=65537, key_size=2048)
                           for _ in range(2))
    config = AlipayConfig(app_id="2021004100000001", seller_id="2088621900000001",
                          alipay_public_key=alipay_key.public_key())
    body = sign_notification(trade_fields(app_id=config.app_id, seller_id=config.seller_id,
                                          out_trade_no="34010026000000001234Ab3xQ9",
                                          total_fen=10050, now=NOW), alipay_key)
    client = AliPay(appid=config.app_id, app_private_key_string=app_key.private_bytes(
                        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode(),
                    alipay_public_key_string=alipay_key.public_key().public_bytes(
                        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode(),
                    sign_type="RSA2")

    def ours() -> object:
        return verify_notification(body, FORM, config)

    def sdk() -> object:
        data = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        if not client.verify(data, data.pop("sign")):
            raise AssertionError("the SDK refused the notification")
        return data

    return ours, sdk


def unionpay() -> tuple[Check, Check]:
    from cryptography import x509

    from chalicelib.adapters.unionpay.config import UnionPayConfig, load_certificate
    from chalicelib.adapters.unionpay.verify import signed_digest, verify_notification

    vector = (EVENTS / "back-notification.txt").read_bytes().rstrip(b"\r\n")
    middle, root = (load_certificate((EVENTS / f"acp_test_{n}.cer").read_bytes())
                    for n in ("middle", "root"))
    config = UnionPayConfig(mer_id="700000000000001", middle_cert=middle, root_cert=root,
                            validate_cn=False)
    pinned = datetime(2019, 1, 1, tzinfo=UTC)  # inside the real leaf's life (2017-2020)

    def ours() -> object:
        return verify_notification(vector, FORM, config, pinned)

    def bare() -> object:
        fields = dict(parse_qsl(vector.decode("utf-8"), keep_blank_values=True))
        leaf = x509.load_pem_x509_certificate(fields["signPubKeyCert"].encode("ascii"))
        for cert, issuer in ((leaf, middle), (middle, root)):
            issuer.public_key().verify(  # type: ignore[union-attr, call-arg]
                cert.signature, cert.tbs_certificate_bytes, PKCS1v15(),  # type: ignore[arg-type]
                cert.signature_hash_algorithm)  # type: ignore[arg-type]
        leaf.public_key().verify(  # type: ignore[union-attr, call-arg]
            base64.b64decode(fields["signature"]), signed_digest(fields),
            PKCS1v15(), hashes.SHA256())  # type: ignore[arg-type]
        return fields

    return ours, bare


def bank() -> tuple[Check, Check]:
    from chalicelib.adapters.bank import BankConfig, verify_notification
    from devstack.builders.bank import sign_notification

    secret = b"local-bank-secret-0123456789abcdef"
    now = int(NOW.timestamp())
    raw, headers = sign_notification(
        {"bank_code": "ABC34010001", "payment_code": _payment_code(), "amount_fen": 10050,
         "bank_txn_id": "a1b2c3d4e5f60718", "paid_at": "2026-11-22T18:00:00+08:00"},
        "ABC34010001", secret, now)
    config = BankConfig(banks={"ABC34010001": secret})

    def ours() -> object:
        return verify_notification(raw, headers, config, now)

    def bare() -> object:
        mac = hmac.HMAC(secret, hashes.SHA256())
        mac.update(headers["X-Timestamp"].encode("ascii") + b"\n" + raw)
        mac.verify(base64.b64decode(headers["X-Signature"]))
        return json.loads(raw)

    return ours, bare


def _payment_code() -> str:
    from chalicelib.domain.codes import make_payment_code

    return make_payment_code("340100", 2026, 1234, b"bench-payment-code-key")


def rate(check: Check, seconds: float) -> float:
    """Checks per second over one round of about ``seconds``."""
    n, started = 0, time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(20):
            check()
        n += 20
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - started)


CHANNELS = (("WeChat Pay", "wechatpayv3 rsa_verify+aes_decrypt", wechatpay),
            ("Alipay", "python-alipay-sdk AliPay.verify", alipay),
            ("UnionPay (real notice)", "bare cryptography (chain + RSA)", unionpay),
            ("bank (HMAC)", "bare cryptography HMAC + json", bank))


def main(rounds: int = 9) -> None:
    rows = []
    for name, reference, build in CHANNELS:
        ours, theirs = build()
        ours(), theirs()  # both accept it (and warm up)
        mine, refs = [], []
        for _ in range(rounds):
            mine.append(rate(ours, ROUND_SECONDS))
            refs.append(rate(theirs, ROUND_SECONDS))
        rows.append((name, reference, statistics.median(mine), statistics.median(refs)))

    print(f"\nChannel verifiers, checks per second (median of {rounds} interleaved rounds of "
          f"{ROUND_SECONDS:.2f} s each), one thread\n")
    print(f"{'channel':<24}{'ours/s':>10}{'ref/s':>10}{'ours/ref':>10}  reference")
    for name, reference, mine_rate, ref_rate in rows:
        print(f"{name:<24}{mine_rate:>10.0f}{ref_rate:>10.0f}{mine_rate / ref_rate:>10.2f}  "
              f"{reference}")
    print("\nours/ref: 1.00 = as fast as the reference; below 1 = the price of our extra checks")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
