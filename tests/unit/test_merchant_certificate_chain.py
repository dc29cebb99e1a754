"""An uploaded UnionPay merchant signing certificate must chain to the configured trust roots
for merchant certificates (CFCA's in production), be valid, and be a signing certificate
(``services/signing_certificates.check_merchant_chain``).

Genuine certificates first: UnionPay's test-environment signing certificate from its official
demo's notice (``/work/shared/vectors/unionpay``, copied to ``tests/events/unionpay``), a CFCA
"Enterprises" certificate as CFCA issues merchants theirs (key usage digitalSignature…), chains
leaf ← CFCA TEST OCA1 ← CFCA TEST CS CA, all SHA-1 signed, valid 2017-11-01 → 2020-11-01. Then
stand-ins built here (cryptography cannot make SHA-1 certificates) for what no genuine file
shows: a foreign root, an encryption certificate. Every clock is pinned."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from cryptography import x509

from chalicelib.adapters.unionpay.config import UnionPayConfig, load_certificate
from chalicelib.domain.errors import ServiceUnavailable, ValidationFailed
from chalicelib.services.signing_certificates import check_merchant_chain, open_signing_pfx
from devstack.builders.unionpay import (
    ENCRYPTION_USAGE,
    make_merchant_ca,
    make_test_chain,
    merchant_signing_pfx,
)

EVENTS = Path(__file__).parent.parent / "events" / "unionpay"
GENUINE_NOW = datetime(2019, 6, 1, tzinfo=UTC)  # within the genuine leaf's validity
NOW = datetime(2026, 6, 15, 2, tzinfo=UTC)
MER_ID, PASSWORD = "898340100000001", "000000"


@pytest.fixture(scope="module")
def genuine() -> tuple[x509.Certificate, x509.Certificate, x509.Certificate]:
    """(leaf, CFCA TEST OCA1, CFCA TEST CS CA)."""
    fields = dict(parse_qsl((EVENTS / "back-notification.txt").read_text().strip(),
                            keep_blank_values=True))
    leaf = x509.load_pem_x509_certificate(fields["signPubKeyCert"].encode("ascii"))
    return (leaf, load_certificate((EVENTS / "acp_test_middle.cer").read_bytes()),
            load_certificate((EVENTS / "acp_test_root.cer").read_bytes()))


@pytest.fixture(scope="module")
def ca():
    return make_merchant_ca()


def refused(why: str):
    return pytest.raises(ValidationFailed, match=why)


def test_the_genuine_cfca_chain_is_accepted_with_middle_and_root_configured(genuine):
    leaf, middle, root = genuine
    assert leaf.signature_hash_algorithm.name == "sha1"  # checked by hand, not by cryptography
    check_merchant_chain(leaf, (), (middle, root), GENUINE_NOW)


def test_with_only_the_root_configured_the_middle_must_come_in_the_pfx(genuine):
    leaf, middle, root = genuine
    check_merchant_chain(leaf, (middle,), (root,), GENUINE_NOW)
    with refused("does not chain to a trust root") as caught:
        check_merchant_chain(leaf, (), (root,), GENUINE_NOW)
    assert set(caught.value.fields) == {"sign_cert_pfx"}
    assert "CFCA TEST OCA1" in caught.value.fields["sign_cert_pfx"]  # whose it is, named


def test_a_certificate_of_a_foreign_root_is_refused(genuine):
    leaf, _, _ = genuine
    foreign_root, foreign_middle, _, _ = make_test_chain()
    with refused("does not chain to a trust root") as caught:
        check_merchant_chain(leaf, (), (foreign_middle, foreign_root), GENUINE_NOW)
    assert set(caught.value.fields) == {"sign_cert_pfx"}


def test_a_look_alike_issuer_name_is_not_enough(genuine):
    """The PFX brings its own 'CFCA TEST OCA1' (same name, another key): it signs nothing the
    configured root vouches for."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.hashes import SHA256

    leaf, middle, root = genuine
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    impostor = (x509.CertificateBuilder().subject_name(middle.subject)
                .issuer_name(root.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(middle.not_valid_before_utc)
                .not_valid_after(middle.not_valid_after_utc)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, SHA256()))
    with refused("does not chain"):
        check_merchant_chain(leaf, (impostor,), (root,), GENUINE_NOW)  # its key signed neither
    with refused("does not chain"):
        check_merchant_chain(leaf, (), (impostor,), GENUINE_NOW)  # nor as a configured root


def test_an_expired_certificate_is_refused(genuine):
    leaf, middle, root = genuine
    with refused("the certificate is valid from 2017-11-01.* to 2020-11-01.*not now") as caught:
        check_merchant_chain(leaf, (), (middle, root), datetime(2021, 1, 1, tzinfo=UTC))
    assert set(caught.value.fields) == {"sign_cert_pfx"}
    with refused("not now"):  # not yet valid
        check_merchant_chain(leaf, (), (middle, root), datetime(2017, 1, 1, tzinfo=UTC))


def test_an_expired_root_or_intermediate_is_refused(ca):
    old_root = make_merchant_ca("Old Merchant CA", valid_from=datetime(2020, 1, 1, tzinfo=UTC),
                                days=365)
    _, cert = merchant_signing_pfx(MER_ID, PASSWORD, issuer=old_root,
                                   valid_from=datetime(2020, 1, 1, tzinfo=UTC), days=3650)
    with refused("the issuing root CN=Old Merchant CA.*not now"):
        check_merchant_chain(cert, (), (old_root[0],), NOW)


def test_an_encryption_certificate_or_one_without_key_usage_is_not_a_signing_one(ca):
    for usage in (ENCRYPTION_USAGE, None):
        _, cert = merchant_signing_pfx(MER_ID, PASSWORD, issuer=ca, usage=usage)
        with refused("not a signing certificate") as caught:
            check_merchant_chain(cert, (), (ca[0],), NOW)
        assert set(caught.value.fields) == {"sign_cert_pfx"}


def test_a_ca_certificate_is_not_a_signing_one(genuine):
    _, middle, root = genuine
    with refused("not a signing certificate"):
        check_merchant_chain(middle, (), (root,), GENUINE_NOW)


def test_a_stand_in_chain_opens_from_the_pfx_and_a_self_issued_one_does_not(ca):
    pfx, cert = merchant_signing_pfx(MER_ID, PASSWORD, issuer=ca)
    _, cert_id, _ = open_signing_pfx(base64.b64encode(pfx).decode(), PASSWORD, NOW, (ca[0],))
    assert cert_id == str(cert.serial_number)
    alone, _ = merchant_signing_pfx(MER_ID, PASSWORD)  # self-issued: what a typo or forgery is
    with refused("does not chain"):
        open_signing_pfx(base64.b64encode(alone).decode(), PASSWORD, NOW, (ca[0],))


def test_no_configured_roots_refuses_every_upload_never_takes_it_unchecked(ca):
    pfx, _ = merchant_signing_pfx(MER_ID, PASSWORD, issuer=ca)
    with pytest.raises(ServiceUnavailable, match="merchant_cert_roots_pem"):
        open_signing_pfx(base64.b64encode(pfx).decode(), PASSWORD, NOW, ())


def test_the_roots_are_configured_in_the_unionpay_secret_as_one_pem_text_or_a_list(genuine):
    from cryptography.hazmat.primitives.serialization import Encoding

    root, middle, _, _ = make_test_chain()
    base = {"mer_id": "777290058110097", "root_cert_pem": root.public_bytes(Encoding.PEM).decode(),
            "middle_cert_pem": middle.public_bytes(Encoding.PEM).decode()}
    _, cfca_middle, cfca_root = genuine
    bundle = "".join(c.public_bytes(Encoding.PEM).decode() for c in (cfca_middle, cfca_root))
    assert UnionPayConfig.from_secret({**base, "merchant_cert_roots_pem": bundle}
                                      ).merchant_cert_roots == (cfca_middle, cfca_root)
    listed = [(EVENTS / "acp_test_middle.cer").read_text(), bundle.split("-----END")[0]
              + "-----END CERTIFICATE-----\n"]
    assert UnionPayConfig.from_secret({**base, "merchant_cert_roots_pem": listed}
                                      ).merchant_cert_roots == (cfca_middle, cfca_middle)
    assert UnionPayConfig.from_secret(base).merchant_cert_roots == ()


def test_the_check_takes_little_time(genuine):
    import time

    leaf, middle, root = genuine
    started = time.perf_counter()
    for _ in range(50):
        check_merchant_chain(leaf, (), (middle, root), GENUINE_NOW)
    assert (time.perf_counter() - started) / 50 < 0.05  # well under the PFX opening's ~150 ms
