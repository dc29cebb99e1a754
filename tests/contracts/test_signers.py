"""Signer: LocalSigner (keys on disk, the local stack's) against KmsSigner on moto's KMS, as
production signs: DER ECDSA P-256 / SHA-256 over the raw message, which ``verify_es256``
accepts with the key's public half and refuses for any other message."""

from __future__ import annotations

import pytest

from chalicelib.adapters.signers import KMS_RAW_LIMIT, KmsSigner, LocalSigner, verify_es256
from tests.contracts.conftest import client

MESSAGE = "<bill>票据</bill>".encode()


@pytest.fixture(params=["local", "kms"])
def signing(request: pytest.FixtureRequest, tmp_path) -> tuple[object, str, str]:
    """(signer, key_ref, public key PEM)."""
    if request.param == "local":
        signer = LocalSigner(tmp_path)
        return signer, "unit-1.pem", signer.create_key("unit-1.pem")
    request.getfixturevalue("aws")
    kms = client("kms")
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"][
        "KeyId"]
    signer = KmsSigner(kms)
    return signer, key_id, signer.public_key_pem(key_id)


class TestSigner:
    def test_a_signature_verifies_with_the_keys_public_half(self, signing):
        signer, key_ref, public_pem = signing
        signature = signer.sign(key_ref, MESSAGE)
        assert signature[0] == 0x30  # DER: a SEQUENCE of r and s
        assert verify_es256(public_pem, MESSAGE, signature)

    def test_a_signature_does_not_verify_another_message(self, signing):
        signer, key_ref, public_pem = signing
        signature = signer.sign(key_ref, MESSAGE)
        assert not verify_es256(public_pem, MESSAGE + b" ", signature)

    def test_a_message_of_kmss_whole_raw_size_is_signed_whole(self, signing):
        # Longer messages go to KMS as a digest, which moto does not implement:
        # tests/unit/test_kms_signer_limits.py checks those against KMS's documented request.
        signer, key_ref, public_pem = signing
        message = (MESSAGE * 300)[:KMS_RAW_LIMIT]
        assert verify_es256(public_pem, message, signer.sign(key_ref, message))
        assert not verify_es256(public_pem, message[:-1], signer.sign(key_ref, message))
