"""KmsSigner with an SM2 key (key spec ``SM2``, algorithm ``SM2DSA``; AWS China regions only).

moto creates SM2 keys but refuses ``Sign`` with ``SM2DSA`` (and hands out an RSA public key for
them), so the requests and the handling of KMS's answers are checked with botocore's Stubber
against KMS's documented API: RAW messages up to 4,096 bytes (KMS computes Z with its fixed
default ID and signs SM3(Z ‖ M)), longer ones as DIGEST e = SM3(Z ‖ M) computed here. Playing
KMS is pure-Python ``gmssl`` (an implementation independent of ours), given k from ``secrets``.
The DIGEST we send must equal gmssl's own e for the message, and what KMS signs as that digest
must verify as the SM2 signature of the whole message.

Untested until a China-region account is at hand (README): that real KMS answers DER (its Sign
reference states DER only for ECDSA), that its DIGEST mode signs e as given, and which OIDs its
GetPublicKey writes.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from gmssl import sm2 as gm

from chalicelib.adapters import sm2
from chalicelib.adapters.signers import KMS_RAW_LIMIT, KmsSigner, LocalSigner
from chalicelib.domain.errors import ServiceUnavailable, ValidationFailed
from chalicelib.services.keys import rotate_key
from tests.unit.test_sm2 import spki


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> dict[str, Any]:
    """The 'KMS' key: its private value (for gmssl), public PEM and SPKI DER."""
    signer = LocalSigner(tmp_path_factory.mktemp("kms"))
    pem = signer.create_key("kms.pem", "SM2")
    numbers = sm2._public_key(pem).public_numbers()
    return {"d": signer._key("kms.pem").private_numbers().private_value, "pem": pem,
            "x": numbers.x, "y": numbers.y,
            "der": base64.b64decode("".join(pem.splitlines()[1:-1]))}


def kms_as_gmssl(key: dict[str, Any]) -> gm.CryptSM2:
    crypt = gm.CryptSM2(private_key=f"{key['d']:064x}", public_key="", asn1=True)
    crypt.public_key = f"{key['x']:064x}{key['y']:064x}"
    return crypt


def nonce() -> str:
    return f"{secrets.randbelow(sm2.N - 1) + 1:064x}"


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("kms", region_name="cn-north-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    return client, Stubber(client)


def public_key_answer(key: dict[str, Any], der: bytes | None = None, spec: str = "SM2") -> dict:
    return {"KeyId": "k", "PublicKey": der or key["der"], "KeySpec": spec,
            "KeyUsage": "SIGN_VERIFY", "SigningAlgorithms": ["SM2DSA"]}


def test_a_short_message_goes_raw_with_sm2dsa_and_kms_computes_z(key):
    client, stub = stubbed()
    message = "<bill>国密</bill>".encode()
    # KMS, for RAW: Z with the default ID, e = SM3(Z ‖ M), signed; here gmssl does exactly that.
    answer = bytes.fromhex(kms_as_gmssl(key).sign_with_sm3(message, nonce()))
    stub.add_response("sign", {"KeyId": "k", "Signature": answer, "SigningAlgorithm": "SM2DSA"},
                      {"KeyId": "k", "Message": message, "MessageType": "RAW",
                       "SigningAlgorithm": "SM2DSA"})
    with stub:
        signature = KmsSigner(client).sign("k", message, "SM2")
    stub.assert_no_pending_responses()
    assert signature == answer
    assert sm2.verify(key["pem"], message, signature)


@pytest.mark.parametrize(("size", "kind"), [(KMS_RAW_LIMIT, "RAW"), (KMS_RAW_LIMIT + 1, "DIGEST"),
                                            (20_000, "DIGEST")])
def test_a_message_over_the_raw_limit_goes_as_sm3_of_z_and_m_which_gmssl_agrees_with(
        key, size, kind):
    client, stub = stubbed()
    message = secrets.token_bytes(size)
    crypt = kms_as_gmssl(key)
    theirs_e = bytes.fromhex(crypt._sm3_z(message))  # gmssl's e = SM3(Z ‖ M), default ID
    if kind == "DIGEST":
        stub.add_response("get_public_key", public_key_answer(key), {"KeyId": "k"})
        answer = bytes.fromhex(crypt.sign(theirs_e, nonce()))  # KMS signs a DIGEST as given
        sent = theirs_e
    else:
        answer = bytes.fromhex(crypt.sign_with_sm3(message, nonce()))
        sent = message
    stub.add_response("sign", {"KeyId": "k", "Signature": answer, "SigningAlgorithm": "SM2DSA"},
                      {"KeyId": "k", "Message": sent, "MessageType": kind,
                       "SigningAlgorithm": "SM2DSA"})
    with stub:
        signature = KmsSigner(client).sign("k", message, "SM2")
    stub.assert_no_pending_responses()
    assert sm2.verify(key["pem"], message, signature)  # Sign(DIGEST = e) verifies as RAW M
    assert not sm2.verify(key["pem"], message[:-1], signature)


def test_the_public_key_for_digests_is_asked_once_per_key(key):
    client, stub = stubbed()
    crypt = kms_as_gmssl(key)
    stub.add_response("get_public_key", public_key_answer(key), {"KeyId": "k"})
    messages = [secrets.token_bytes(KMS_RAW_LIMIT + n) for n in (1, 2)]
    for message in messages:
        e = bytes.fromhex(crypt._sm3_z(message))
        stub.add_response("sign", {"KeyId": "k", "Signature": bytes.fromhex(crypt.sign(e, nonce())),
                                   "SigningAlgorithm": "SM2DSA"},
                          {"KeyId": "k", "Message": e, "MessageType": "DIGEST",
                           "SigningAlgorithm": "SM2DSA"})
    signer = KmsSigner(client)
    with stub:
        signatures = [signer.sign("k", m, "SM2") for m in messages]
    stub.assert_no_pending_responses()
    assert all(sm2.verify(key["pem"], m, s) for m, s in zip(messages, signatures, strict=True))


def sign_answering(answer: dict[str, Any], message: bytes = b"bill") -> bytes:
    client, stub = stubbed()
    stub.add_response("sign", {"KeyId": "k", **answer})
    with stub:
        return KmsSigner(client).sign("k", message, "SM2")


def test_a_raw_r_s_answer_is_kept_as_der(key):
    crypt = kms_as_gmssl(key)
    crypt.asn1 = False
    raw = bytes.fromhex(crypt.sign_with_sm3(b"bill", nonce()))
    signature = sign_answering({"Signature": raw, "SigningAlgorithm": "SM2DSA"})
    assert signature[0] == 0x30 and len(raw) == 64
    assert sm2.verify(key["pem"], b"bill", signature)


def test_an_answer_naming_another_algorithm_is_refused(key):
    answer = bytes.fromhex(kms_as_gmssl(key).sign_with_sm3(b"bill", nonce()))
    with pytest.raises(ServiceUnavailable, match="ECDSA_SHA_256"):
        sign_answering({"Signature": answer, "SigningAlgorithm": "ECDSA_SHA_256"})


def test_an_answer_that_is_no_signature_is_refused():
    with pytest.raises(ServiceUnavailable, match="neither DER"):
        sign_answering({"Signature": b"\x01" * 70, "SigningAlgorithm": "SM2DSA"})


def test_the_public_key_of_an_sm2_key_is_published_in_our_standard_form(key):
    client, stub = stubbed()
    other_oids = spki(bytes.fromhex("06082a811ccf5501822d"),
                      b"\x04" + key["x"].to_bytes(32, "big") + key["y"].to_bytes(32, "big"))
    stub.add_response("get_public_key", public_key_answer(key, other_oids), {"KeyId": "k"})
    stub.add_response("get_public_key", public_key_answer(key), {"KeyId": "k"})
    with stub:
        signer = KmsSigner(client)
        assert signer.public_key_pem("k") == key["pem"]
        assert signer.key_alg("k") == "SM2"


def test_a_key_of_spec_sm2_whose_public_key_is_not_sm2_is_refused(key):
    """moto's SM2 keys come with an RSA public key: such a key must never be registered."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_der = rsa.generate_private_key(65537, 2048).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    client, stub = stubbed()
    stub.add_response("get_public_key", public_key_answer(key, rsa_der), {"KeyId": "k"})
    with stub, pytest.raises(ValidationFailed, match="not an SM2 key"):
        KmsSigner(client).public_key_pem("k")


def test_a_kms_key_of_another_spec_is_not_one_we_sign_with(key):
    client, stub = stubbed()
    stub.add_response("get_public_key", public_key_answer(key, spec="RSA_2048"), {"KeyId": "k"})
    with stub, pytest.raises(ValidationFailed, match="RSA_2048"):
        KmsSigner(client).key_alg("k")


class UnitKeysInKms:
    """The signer of a deployment whose new unit key is in (stubbed) KMS; the root key that
    endorses it stays the seeded local one."""

    kind = "kms"

    def __init__(self, kms: KmsSigner, local: Any) -> None:
        self.kms, self.local = kms, local

    def sign(self, key_ref: str, message: bytes, alg: str = "ES256") -> bytes:
        return self.local.sign(key_ref, message, alg)

    def public_key_pem(self, key_ref: str) -> str:
        return self.kms.public_key_pem(key_ref)

    def key_alg(self, key_ref: str) -> str:
        return self.kms.key_alg(key_ref)

    def create_key(self, key_ref: str, alg: str = "ES256") -> str:
        return self.kms.create_key(key_ref, alg)


def test_rotating_to_a_kms_sm2_key_registers_it_as_sm2_endorsed_by_the_root(key, deps):
    from chalicelib.adapters.signers import verify_es256
    from chalicelib.domain.key_trust import KeyTrust
    from devstack.seed import ROOT_KID

    client, stub = stubbed()
    stub.add_response("get_public_key", public_key_answer(key), {"KeyId": "kms-sm2"})
    stub.add_response("get_public_key", public_key_answer(key), {"KeyId": "kms-sm2"})
    deps.overrides["signer"] = UnitKeysInKms(KmsSigner(client), deps.signer)
    with stub:
        new = rotate_key(deps, kid="unit-340100001-sm2", use="unit", owner="340100001",
                         kms_key_id="kms-sm2", alg="SM2")
    stub.assert_no_pending_responses()
    assert (new.alg, new.key_ref, new.public_key_pem) == ("SM2", "kms-sm2", key["pem"])
    stored = deps.keys.get("unit-340100001-sm2")
    assert stored is not None and stored.alg == "SM2"
    root = deps.keys.get(ROOT_KID)
    assert KeyTrust(root.public_key_pem, verify_es256).problem(stored.public()) is None


def test_a_kms_key_of_another_algorithm_than_asked_is_refused(key, deps):
    client, stub = stubbed()
    stub.add_response("get_public_key", public_key_answer(key), {"KeyId": "kms-sm2"})
    stub.add_response("get_public_key", public_key_answer(key), {"KeyId": "kms-sm2"})
    deps.overrides["signer"] = UnitKeysInKms(KmsSigner(client), deps.signer)
    with stub, pytest.raises(ValidationFailed, match="is an SM2 key, not ES256"):
        rotate_key(deps, kid="unit-340100001-x", use="unit", owner="340100001",
                   kms_key_id="kms-sm2", alg="ES256")
    assert deps.keys.get("unit-340100001-x") is None
