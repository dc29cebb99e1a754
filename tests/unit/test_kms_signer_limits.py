"""KmsSigner within KMS's limits: Sign takes a RAW message of at most 4096 bytes, so a longer
one (a bill of many items) goes as its SHA-256 digest. moto neither enforces the limit nor
implements DIGEST, so this is checked against KMS's documented request with botocore's Stubber;
the signature KMS returns for a digest is ECDSA over that digest, which verifies as ES256 over
the whole message."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from chalicelib.adapters.signers import KMS_RAW_LIMIT, KmsSigner, verify_es256

KEY = ec.generate_private_key(ec.SECP256R1())
PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                    serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def kms_signing(message: bytes, kind: str) -> tuple[KmsSigner, Stubber]:
    """A KMS client that expects one Sign request of ``kind`` for ``message`` and answers as
    KMS does: ECDSA over SHA-256 of a RAW message, over the DIGEST as given otherwise."""
    client = boto3.client("kms", region_name="cn-north-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    stub = Stubber(client)
    digest = hashlib.sha256(message).digest()
    sent = message if kind == "RAW" else digest
    signature = KEY.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    stub.add_response("sign", {"Signature": signature, "KeyId": "k", "SigningAlgorithm":
                               "ECDSA_SHA_256"},
                      {"KeyId": "k", "Message": sent, "MessageType": kind,
                       "SigningAlgorithm": "ECDSA_SHA_256"})
    stub.activate()
    return KmsSigner(client), stub


@pytest.mark.parametrize(("size", "kind"), [(1, "RAW"), (KMS_RAW_LIMIT, "RAW"),
                                            (KMS_RAW_LIMIT + 1, "DIGEST"), (20_000, "DIGEST")])
def test_a_message_over_kmss_raw_limit_is_signed_as_its_sha256_digest(size, kind):
    message = b"<" * size
    signer, stub = kms_signing(message, kind)
    signature = signer.sign("k", message)
    stub.assert_no_pending_responses()
    assert verify_es256(PEM, message, signature)
    assert not verify_es256(PEM, message + b" ", signature)
