"""Demo data for the local stack and the tests: a region, units, fee items, keys, channel keys.

Everything random (API keys, signing keys, channel keys) is made once and kept under the state
folder, so a restart of the local stack finds the same world. Calling ``seed`` again is harmless.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.signers import LocalSigner
from chalicelib.bootstrap import Deps
from chalicelib.domain.codes import make_bill_code
from chalicelib.domain.units import (
    ALG_ES256,
    ALG_SM2,
    FeeItem,
    SigningKey,
    Unit,
    UnitKind,
    hash_api_key,
)

REGION_CODE = "340100"
KEYS_VALID_FROM = "2026-01-01T00:00:00+08:00"

COLLECTING = (
    (Unit("340100001", "合肥市不动产登记中心", UnitKind.COLLECTING, REGION_CODE, "0101",
          "unit-340100001-2026a", "王敏", "李强"),
     (("103040100101", "不动产登记费（住宅）"), ("103040100102", "不动产登记费（非住宅）"),
      ("103040100103", "不动产权证书工本费"))),
    (Unit("340100002", "合肥市公安局交通警察支队", UnitKind.COLLECTING, REGION_CODE, "0301",
          "unit-340100002-sm2-2026a", "陈静", "赵磊"),
     (("103050101001", "公安交警罚没收入"), ("103050101002", "机动车驾驶证工本费"))),
)
# Units that issue the bill kinds with their own templates (票据模板): a hospital (门诊, 住院)
# and a charity (捐赠, 往来结算). Each fee item names the kind it is billed on; the finance
# department has chosen each kind's template (TEMPLATE_CHOICES), so their bills carry the
# template's extra fields (devstack/template_samples.py has one bill of each).
KIND_UNITS = (
    (Unit("340100003", "合肥市第一人民医院", UnitKind.COLLECTING, REGION_CODE, "0601",
          "unit-340100003-2026a", "刘芳", "孙伟"),
     (("0801", "诊察费", "0601"), ("0804", "治疗费", "0601"), ("0901", "西药费", "0601"),
      ("0701", "床位费", "0602"), ("0805", "手术费", "0602"), ("0806", "卫生材料费", "0602"))),
    (Unit("340100004", "合肥市慈善总会", UnitKind.COLLECTING, REGION_CODE, "0501",
          "unit-340100004-2026a", "周琳", "吴刚"),
     (("JZ0001", "助学金捐款", "0501"), ("WL0001", "会议场地押金", "0401"))),
)
TEMPLATE_CHOICES = {"0401": "settlement-receipt", "0501": "donation-receipt",
                    "0601": "medical-outpatient", "0602": "medical-inpatient"}
REIMBURSING = (
    Unit("340100901", "皖江科技有限公司财务部", UnitKind.REIMBURSING, REGION_CODE),
    Unit("340100902", "合肥滨湖学院财务处", UnitKind.REIMBURSING, REGION_CODE),
)
FINANCE_KID = "finance-34-2026a"
FINANCE_SM2_KID = "finance-34-sm2-2026a"  # countersigns the bills of units that sign with SM2
# The algorithm each seeded signing key uses (ES256 when not named): the traffic police sign
# with SM2 (国密), and the finance department keeps one key of each algorithm.
KEY_ALGS = {"unit-340100002-sm2-2026a": ALG_SM2, FINANCE_SM2_KID: ALG_SM2}
ROOT_KID = "finance-root-34-2026a"  # endorses the signing keys (domain/key_trust); signs no bill
FINANCE_OWNER = "安徽省财政厅"
FINANCE_SCOPE = "34"  # the finance key's region: the province (domain/regions.py)
RANGE_SIZE = 5000
WECHAT_SERIAL = "PUB_KEY_ID_0114232026112200000000000001"


@dataclass
class Seeded:
    state: dict[str, Any]  # api keys and channel settings; paths of PEM files
    root_fingerprint: str = ""  # what offline verifiers pin (domain/key_trust.fingerprint)

    def unit_key(self, unit_code: str) -> str:
        return self.state["api_keys"][unit_code]


def _random(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _rsa_pem(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def public_pem_of(private_pem_path: str) -> str:
    """The public key of a private key file, read through the process's key cache
    (``adapters/private_keys``): the channels' secrets are written again at each seed and world,
    and cryptography checks an RSA key whole at each load (60-170 ms of CPU)."""
    from chalicelib.adapters.private_keys import pem_private_key

    key = pem_private_key(Path(private_pem_path).read_bytes())
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _load_or_create_state(state_dir: Path) -> dict[str, Any]:
    """The demo world's secrets, made once; entries added by newer versions are filled in."""
    path = state_dir / "world.json"
    state: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    channels = state_dir / "channels"
    channels.mkdir(parents=True, exist_ok=True)
    # Made only when missing (setdefault would draw its default at every load, and the tests
    # load a copied state once per test).
    if "api_keys" not in state:
        state["api_keys"] = ({u.unit_code: "ck_" + _random(40) for u, _ in COLLECTING}
                             | {u.unit_code: "rk_" + _random(40) for u in REIMBURSING})
    if "finance_api_key" not in state:  # 安徽省财政厅: the whole province
        state["finance_api_key"] = "fk_" + _random(43)
    for unit, _ in KIND_UNITS:  # added later: a state made before them gets their keys now
        if unit.unit_code not in state["api_keys"]:
            state["api_keys"][unit.unit_code] = "ck_" + _random(40)
    if "wechatpay" not in state:
        _rsa_pem(channels / "wechatpay_platform_private.pem")
        state["wechatpay"] = {
            "mchid": "1900009191", "appid": "wx8888888888888888", "apiv3_key": _random(32),
            "platform_serial": WECHAT_SERIAL,
            "platform_private_key_pem": str(channels / "wechatpay_platform_private.pem")}
    if "alipay" not in state:
        _rsa_pem(channels / "alipay_private.pem")
        state["alipay"] = {"app_id": "2021004100000001", "seller_id": "2088621900000001",
                           "alipay_private_key_pem": str(channels / "alipay_private.pem")}
    if "unionpay" not in state:
        state["unionpay"] = _unionpay_chain(channels)
    if "bank" not in state:
        state["bank"] = {"bank_code": "ABC34010001", "secret": _random(40)}
    # The official account bound to the WeChat Pay merchant (its appid is the one orders carry):
    # its AppSecret lets us exchange a web-authorisation code for the payer's openid.
    if "wechat_oauth" not in state:
        state["wechat_oauth"] = {"appid": state["wechatpay"]["appid"],
                                 "secret": secrets.token_hex(16)}
    _add_sms_account(state)
    _add_merchant_keys(state, channels)
    _add_merchant_ca(state["unionpay"], channels)
    _add_people(state)
    path.write_text(json.dumps(state, ensure_ascii=False, indent=1))
    path.chmod(0o600)
    return state


# One demo person per role (usernames, roles, units); passwords and TOTP secrets are made once.
PEOPLE = (("finance.admin", "finance_admin", None, True),
          ("finance.auditor", "finance_auditor", None, True),
          ("unit1.admin", "unit_admin", "340100001", True),
          ("unit1.operator", "unit_operator", "340100001", False))


def _add_people(state: dict[str, Any]) -> None:
    """Each demo person's password (and its argon2id hash, made once so seeding stays cheap)
    and TOTP secret (unit operators go without, as a unit may choose)."""
    from chalicelib.services.people import hash_password, new_totp_secret

    made = {p["username"] for p in state.setdefault("people", [])}
    for username, role, unit_code, totp in PEOPLE:
        if username in made:
            continue
        password = f"Demo-{_random(8)}-2026"
        state["people"].append({"username": username, "password": password, "role": role,
                                "unit_code": unit_code, "password_hash": hash_password(password),
                                "totp_secret": new_totp_secret() if totp else None})


def seed_people(deps: Deps, state: dict[str, Any]) -> None:
    """Create the demo people that do not exist yet (an existing account is left as it is)."""
    from chalicelib.domain.people import Person, Role
    from chalicelib.services.people import seal_totp

    for p in state["people"]:
        if deps.people.get(p["username"]) is None:
            unit = deps.units.get(p["unit_code"]) if p["unit_code"] else None
            deps.people.create(Person(
                username=p["username"], role=Role(p["role"]), unit_code=p["unit_code"],
                display_name=p["username"], password_hash=p["password_hash"],
                created_at=KEYS_VALID_FROM,
                totp_sealed=seal_totp(deps, p["totp_secret"]) if p["totp_secret"] else None),
                unit.region_code if unit else "")


def people_document(state: dict[str, Any]) -> list[dict[str, Any]]:
    """``people`` of ``.local/stack.json`` (CONTRACT v2): what each demo person signs in with."""
    return [{k: v for k, v in (("username", p["username"]), ("password", p["password"]),
                               ("role", p["role"]), ("unit_code", p["unit_code"]),
                               ("totp_secret", p["totp_secret"])) if v is not None}
            for p in state["people"]]


def _add_sms_account(state: dict[str, Any]) -> None:
    """The Alibaba Cloud SMS account the simulator plays: an AccessKey pair, the approved sign
    and one approved template code per template of ``sms_templates`` (added when new)."""
    from chalicelib.services.sms_templates import TEMPLATES

    if "aliyun_sms" not in state:
        state["aliyun_sms"] = {
            "access_key_id": "LTAI5t" + _random(18), "access_key_secret": _random(30),
            "sign_name": "财政电子票据", "template_codes": {}}
    sms = state["aliyun_sms"]
    for n, key in enumerate(sorted(TEMPLATES)):
        sms["template_codes"].setdefault(key, f"SMS_46{n + 1:07d}")


def sms_secret(state: dict[str, Any]) -> dict[str, Any]:
    """The Secrets Manager value of the Alibaba Cloud SMS account (README: 'SMS in China')."""
    return dict(state["aliyun_sms"])


def _add_merchant_keys(state: dict[str, Any], channels: Path) -> None:
    """Our side's keys, with which we sign requests to the channels (filled in if missing)."""
    wx, ali, up = state["wechatpay"], state["alipay"], state["unionpay"]
    if "merchant_private_key_pem" not in wx:
        _rsa_pem(channels / "wechatpay_merchant_private.pem")
        wx["merchant_private_key_pem"] = str(channels / "wechatpay_merchant_private.pem")
        wx["merchant_serial"] = secrets.token_hex(20).upper()  # 商户API证书序列号
    if "app_private_key_pem" not in ali:
        _rsa_pem(channels / "alipay_app_private.pem")
        ali["app_private_key_pem"] = str(channels / "alipay_app_private.pem")
    if "merchant_sign_key_pem" not in up:
        _rsa_pem(channels / "unionpay_merchant_sign_key.pem")
        up["merchant_sign_key_pem"] = str(channels / "unionpay_merchant_sign_key.pem")
        up["merchant_sign_cert_pem"] = str(channels / "unionpay_merchant_sign_cert.pem")
        _self_signed(channels / "unionpay_merchant_sign_key.pem",
                     channels / "unionpay_merchant_sign_cert.pem", up["mer_id"])


def _self_signed(key_path: Path, cert_path: Path, mer_id: str) -> None:
    """A stand-in for the signing certificate UnionPay issues a merchant (acp_test_sign.pfx)."""
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives.hashes import SHA256

    key: Any = serialization.load_pem_private_key(key_path.read_bytes(), None)
    name = x509.Name.from_rfc4514_string(f"CN=041@Z{mer_id}@{mer_id}@00000001,O=Local Test,C=CN")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + timedelta(days=3652))
            .sign(key, SHA256()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _add_merchant_ca(unionpay: dict[str, str], channels: Path) -> None:
    """The stack's stand-in for CFCA issuing UnionPay merchants their signing certificates
    (the simulator issues with it; the secret's ``merchant_cert_roots_pem`` trusts it)."""
    if unionpay.get("merchant_ca_cert_pem"):
        return
    from devstack.builders.unionpay import make_merchant_ca

    cert, key = make_merchant_ca()
    cert_path, key_path = channels / "unionpay_merchant_ca.pem", \
        channels / "unionpay_merchant_ca_key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    unionpay.update(merchant_ca_cert_pem=str(cert_path), merchant_ca_key_pem=str(key_path))


def _unionpay_chain(channels: Path) -> dict[str, str]:
    from devstack.builders.unionpay import crlf_pem, make_test_chain

    root, middle, leaf, leaf_key = make_test_chain()
    files = {"root_cert_pem": "unionpay_root.pem", "middle_cert_pem": "unionpay_middle.pem",
             "sign_cert_pem": "unionpay_sign_cert.pem", "sign_key_pem": "unionpay_sign_key.pem"}
    for cert, name in ((root, "root_cert_pem"), (middle, "middle_cert_pem"),
                       (leaf, "sign_cert_pem")):
        (channels / files[name]).write_text(crlf_pem(cert) if name == "sign_cert_pem" else
                                            crlf_pem(cert).replace("\r\n", "\n"))
    (channels / files["sign_key_pem"]).write_bytes(leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (channels / files["sign_key_pem"]).chmod(0o600)
    return {"mer_id": "777290058110097", **{k: str(channels / v) for k, v in files.items()}}


def wechatpay_secret(state: dict[str, Any]) -> dict[str, Any]:
    """The Secrets Manager value of the WeChat Pay credentials."""
    wx = state["wechatpay"]
    return {"mchid": wx["mchid"], "appid": wx["appid"], "apiv3_key": wx["apiv3_key"],
            "platform_public_keys": {wx["platform_serial"]:
                                     public_pem_of(wx["platform_private_key_pem"])},
            "merchant_private_key_pem": Path(wx["merchant_private_key_pem"]).read_text(),
            "merchant_serial": wx["merchant_serial"]}


def channel_secrets(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each channel's Secrets Manager value (README: 'Payment channel credentials')."""
    alipay, unionpay, bank = state["alipay"], state["unionpay"], state["bank"]
    return {
        "wechatpay": wechatpay_secret(state),
        "alipay": {"app_id": alipay["app_id"], "seller_id": alipay["seller_id"],
                   "alipay_public_key_pem": public_pem_of(alipay["alipay_private_key_pem"]),
                   "app_private_key_pem": Path(alipay["app_private_key_pem"]).read_text()},
        "unionpay": {"mer_id": unionpay["mer_id"], "validate_cn": True,
                     "middle_cert_pem": Path(unionpay["middle_cert_pem"]).read_text(),
                     "root_cert_pem": Path(unionpay["root_cert_pem"]).read_text(),
                     "merchant_sign_key_pem": Path(unionpay["merchant_sign_key_pem"]).read_text(),
                     "merchant_sign_cert_pem":
                         Path(unionpay["merchant_sign_cert_pem"]).read_text(),
                     **({"merchant_cert_roots_pem":
                         Path(unionpay["merchant_ca_cert_pem"]).read_text()}
                        if unionpay.get("merchant_ca_cert_pem") else {})},
        "bank": {"banks": {bank["bank_code"]: bank["secret"]}},
    }


def wechat_oauth_secret(state: dict[str, Any]) -> dict[str, Any]:
    """The Secrets Manager value of the official account (README: 'Channel credentials')."""
    return {"appid": state["wechat_oauth"]["appid"], "secret": state["wechat_oauth"]["secret"]}


def put_channel_secrets(deps: Deps, state: dict[str, Any]) -> None:
    """Create or update every channel's secret, the official account's and the SMS provider's,
    in Secrets Manager."""
    sm = deps._client("secretsmanager")
    secrets_by_name = {deps.settings.channel_secret_ids[channel]: value
                       for channel, value in channel_secrets(state).items()}
    secrets_by_name[deps.settings.wechat_oauth_secret_id] = wechat_oauth_secret(state)
    for name, value in secrets_by_name.items():
        text = json.dumps(value)
        try:
            sm.create_secret(Name=name, SecretString=text)
        except sm.exceptions.ResourceExistsException:
            sm.put_secret_value(SecretId=name, SecretString=text)
    name, text = deps.settings.sms_secret_id, json.dumps(sms_secret(state), ensure_ascii=False)
    try:
        sm.create_secret(Name=name, SecretString=text)
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=name, SecretString=text)


def seed(deps: Deps, state_dir: Path, keys_dir: Path) -> Seeded:
    """Write the demo world into the stores behind ``deps`` (idempotent)."""
    state = _load_or_create_state(state_dir)
    from chalicelib.domain.key_trust import ROOT_USE, fingerprint
    from chalicelib.services.keys import endorsed

    signer = LocalSigner(keys_dir)
    for kid, use, owner in [(ROOT_KID, ROOT_USE, FINANCE_OWNER),
                            (FINANCE_KID, "finance", FINANCE_OWNER),
                            (FINANCE_SM2_KID, "finance", FINANCE_OWNER)] + [
            (u.signing_kid, "unit", u.unit_code) for u, _ in COLLECTING + KIND_UNITS]:
        assert kid is not None
        alg = KEY_ALGS.get(kid, ALG_ES256)
        if not (keys_dir / f"{kid}.pem").exists():
            signer.create_key(f"{kid}.pem", alg)
        pem = signer.public_key_pem(f"{kid}.pem")
        key = SigningKey(kid=kid, alg=alg, use=use, owner=owner, public_key_pem=pem,
                         not_before=KEYS_VALID_FROM, key_ref=f"{kid}.pem")
        deps.keys.put(key if use == ROOT_USE else endorsed(key, signer, f"{ROOT_KID}.pem"))
    for unit, items in COLLECTING:
        deps.units.put(_kept(deps, unit, sorted({unit.bill_kind, "0301"})),
                       hash_api_key(state["api_keys"][unit.unit_code]))
        for code, name in items:
            deps.units.put_fee_item(unit.unit_code, code, FeeItem(name, unit.bill_kind))
    for unit in REIMBURSING:
        deps.units.put(unit, hash_api_key(state["api_keys"][unit.unit_code]))
    _seed_finance_key(deps, state["finance_api_key"])
    seed_people(deps, state)
    now = deps.clock()
    for unit, _ in COLLECTING:
        for kind in sorted({unit.bill_kind, "0301"}):
            if not deps.ranges.for_unit(unit.unit_code, kind):
                deps.ranges.allocate(unit.unit_code, kind,
                                     make_bill_code(REGION_CODE, kind, now.year),
                                     RANGE_SIZE, now.isoformat(timespec="seconds"))
    _seed_kind_units(deps, state, now)
    return Seeded(state=state,
                  root_fingerprint=fingerprint(_public_of_ec(keys_dir / f"{ROOT_KID}.pem")))


def _kept(deps: Deps, unit: Unit, kinds: list[str]) -> Unit:
    """A demo unit as seeded, keeping what the finance department changed since (the bill
    kinds it allowed, the seals it set): the seed runs at every start of the stack."""
    now = deps.units.get(unit.unit_code)
    if now is None:
        return replace(unit, bill_kinds=tuple(kinds))
    return replace(unit, bill_kind=now.bill_kind if now.bill_kinds is not None else unit.bill_kind,
                   bill_kinds=now.bill_kinds if now.bill_kinds is not None else tuple(kinds),
                   seal_key=now.seal_key, seals=now.seals)


def _seed_finance_key(deps: Deps, api_key: str) -> None:
    """The provincial finance department's key (scope ``34``), stored once."""
    from chalicelib.domain.credentials import FinanceKey, key_id_of

    key_hash = hash_api_key(api_key)
    if deps.finance_keys.get(key_hash) is None:
        deps.finance_keys.add(FinanceKey(key_id=key_id_of(key_hash), scope=FINANCE_SCOPE,
                                         label=FINANCE_OWNER, created_at=KEYS_VALID_FROM),
                              key_hash)


def kind_unit_kinds(items: tuple[tuple[str, str, str], ...]) -> list[str]:
    """The bill kinds a unit of ``KIND_UNITS`` issues: those of its fee items."""
    return sorted({kind for _, _, kind in items})


def _seed_kind_units(deps: Deps, state: dict[str, Any], now: datetime) -> None:
    """The hospital and the charity, their fee items and ranges, and the finance department's
    choice of template for their kinds (made once: a choice changed since is kept)."""
    from chalicelib.domain.bill_templates import TemplateChoice, latest

    for unit, items in KIND_UNITS:
        deps.units.put(_kept(deps, unit, kind_unit_kinds(items)),
                       hash_api_key(state["api_keys"][unit.unit_code]))
        for code, name, kind in items:
            deps.units.put_fee_item(unit.unit_code, code, FeeItem(name, kind))
        for kind in kind_unit_kinds(items):
            if not deps.ranges.for_unit(unit.unit_code, kind):
                deps.ranges.allocate(unit.unit_code, kind,
                                     make_bill_code(REGION_CODE, kind, now.year),
                                     RANGE_SIZE, now.isoformat(timespec="seconds"))
    for kind, template_id in TEMPLATE_CHOICES.items():
        tpl = latest(template_id)
        if tpl is not None and deps.template_choices.get(kind) is None:
            deps.template_choices.put(TemplateChoice(
                kind, tpl.template_id, tpl.version, now.isoformat(timespec="seconds"),
                "seed"))


def _public_of_ec(path: Path) -> str:
    return public_pem_of(str(path))


def stack_document(seeded: Seeded, base_url: str, aws_endpoint_url: str,
                   now: datetime | None = None) -> dict[str, Any]:
    """``.local/stack.json`` as CONTRACT.md describes it, generated ``now`` (the wall clock's)."""
    from chalicelib.adapters.wall_clock import utc_now

    keys = seeded.state["api_keys"]
    wx = seeded.state["wechatpay"]
    return {
        "base_url": base_url, "aws_endpoint_url": aws_endpoint_url,
        "root_fingerprint": seeded.root_fingerprint,  # verify-bill --root-fingerprint
        "generated_at": (now or utc_now()).isoformat(timespec="seconds"),
        "units": [{"unit_code": u.unit_code, "name": u.name, "api_key": keys[u.unit_code],
                   "fee_items": [{"item_code": c, "name": n} for c, n in items]}
                  for u, items in COLLECTING] + [
            {"unit_code": u.unit_code, "name": u.name, "api_key": keys[u.unit_code],
             "fee_items": [{"item_code": c, "name": n, "bill_kind": k} for c, n, k in items]}
            for u, items in KIND_UNITS],
        "reimbursers": [{"unit_code": u.unit_code, "name": u.name, "api_key": keys[u.unit_code]}
                        for u in REIMBURSING],
        "finance": {"api_key": seeded.state["finance_api_key"], "scope": FINANCE_SCOPE,
                    "label": FINANCE_OWNER},
        "people": people_document(seeded.state),
        "channels": {"wechatpay": dict(wx), "alipay": dict(seeded.state["alipay"]),
                     "unionpay": dict(seeded.state["unionpay"]),
                     "bank": dict(seeded.state["bank"]),
                     "wechat_oauth": dict(seeded.state["wechat_oauth"]),
                     "aliyun_sms": dict(seeded.state["aliyun_sms"])},
    }
