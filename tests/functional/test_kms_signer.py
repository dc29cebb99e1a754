"""The production signer: ECDSA P-256 keys in KMS (moto), checked with `cryptography`."""

from chalicelib.adapters.signers import KmsSigner, verify_es256


def test_a_kms_signature_verifies_with_the_published_public_key(world):
    kms = world.deps._client("kms")
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY",
                            Tags=[{"TagKey": "fiscal-bills:signing", "TagValue": "finance"}]
                            )["KeyMetadata"]["KeyId"]
    signer = KmsSigner(kms)
    message = "<EInvoice>票据</EInvoice>".encode()
    signature = signer.sign(key_id, message)
    pem = signer.public_key_pem(key_id)
    assert verify_es256(pem, message, signature)
    assert not verify_es256(pem, message + b" ", signature)


def test_a_kms_key_can_be_rotated_in_as_the_finance_key(world):
    from dataclasses import replace

    from chalicelib.services.keys import rotate_key

    kms = world.deps._client("kms")
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    deps = replace(world.deps, overrides=dict(world.deps.overrides, signer=KmsSigner(kms)))
    # With every key in KMS, the finance root that endorses keys is in KMS too: the operator
    # brings it in first (README, "Trust in keys"), as in production.
    root_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    rotate_key(deps, kid="finance-root-34-kms1", use="root", owner="安徽省财政厅", kms_key_id=root_id)
    key = rotate_key(deps, kid="finance-34-kms1", use="finance", owner="安徽省财政厅",
                     kms_key_id=key_id)
    assert key.key_ref == key_id and "BEGIN PUBLIC KEY" in key.public_key_pem


def test_a_kms_sm2_key_whose_public_key_is_not_sm2_is_never_registered(world):
    """moto creates keys of spec SM2 but hands out an RSA public key for them (and refuses
    Sign with SM2DSA): rotating one in is refused, and nothing is written."""
    from dataclasses import replace

    import pytest

    from chalicelib.domain.errors import ValidationFailed
    from chalicelib.services.keys import rotate_key

    kms = world.deps._client("kms")
    key_id = kms.create_key(KeySpec="SM2", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    deps = replace(world.deps, overrides=dict(world.deps.overrides, signer=KmsSigner(kms)))
    before = world.deps.keys.all()
    with pytest.raises(ValidationFailed, match="not an SM2 key"):
        rotate_key(deps, kid="unit-340100002-kms-sm2", use="unit", owner="340100002",
                   kms_key_id=key_id)
    assert world.deps.keys.all() == before
