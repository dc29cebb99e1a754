"""Signer: LocalSigner (keys on disk, the local stack's) against KmsSigner on moto's KMS, as
production signs: DER ECDSA P-256 / SHA-256 over the raw message, which ``verify_es256``
accepts with the key's public half and refuses for any other message; and LocalSigner's SM2
keys, DER SM2/SM3 that ``sm2.verify`` accepts. KMS SM2 is not here: moto refuses ``Sign`` with
``SM2DSA`` (``tests/unit/test_kms_sm2_signer.py`` checks it against KMS's documented API)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.signers import KMS_RAW_LIMIT, KmsSigner, LocalSigner, verify_signature
from tests.contracts.conftest import client

MESSAGE = "<bill>票据</bill>".encode()


@pytest.fixture(params=["local-ES256", "kms-ES256", "local-SM2"])
def signing(request: pytest.FixtureRequest, tmp_path) -> tuple[object, str, str, str]:
    """(signer, key_ref, public key PEM, algorithm)."""
    kind, alg = request.param.split("-")
    if kind == "local":
        signer = LocalSigner(tmp_path)
        return signer, "unit-1.pem", signer.create_key("unit-1.pem", alg), alg
    request.getfixturevalue("aws")
    kms = client("kms")
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"][
        "KeyId"]
    kms_signer = KmsSigner(kms)
    return kms_signer, key_id, kms_signer.public_key_pem(key_id), alg


class TestSigner:
    def test_a_signature_verifies_with_the_keys_public_half(self, signing):
        signer, key_ref, public_pem, alg = signing
        signature = signer.sign(key_ref, MESSAGE, alg)
        assert signature[0] == 0x30  # DER: a SEQUENCE of r and s
        assert verify_signature(alg, public_pem, MESSAGE, signature)

    def test_a_signature_does_not_verify_another_message(self, signing):
        signer, key_ref, public_pem, alg = signing
        signature = signer.sign(key_ref, MESSAGE, alg)
        assert not verify_signature(alg, public_pem, MESSAGE + b" ", signature)

    def test_a_message_of_kmss_whole_raw_size_is_signed_whole(self, signing):
        # Longer messages go to KMS as a digest, which moto does not implement:
        # tests/unit/test_kms_signer_limits.py checks those against KMS's documented request.
        signer, key_ref, public_pem, alg = signing
        message = (MESSAGE * 300)[:KMS_RAW_LIMIT]
        assert verify_signature(alg, public_pem, message, signer.sign(key_ref, message, alg))
        assert not verify_signature(alg, public_pem, message[:-1],
                                    signer.sign(key_ref, message, alg))

    def test_the_signer_names_the_algorithm_of_its_key(self, signing):
        signer, key_ref, _, alg = signing
        assert signer.key_alg(key_ref) == alg
