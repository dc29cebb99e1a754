"""SM2 with SM3 (``adapters/sm2.py``, tongsuopy) is the real SM2 signature, not ECDSA on the SM2
curve: proved on the GM/T 0003.5 (GB/T 32918.5) example values, and against an independent
implementation both ways — pure-Python ``gmssl`` (tests only: it draws its nonce from
``random``, so here it is always given k from ``secrets``; and its ``04``-prefix handling
mangles keys, so its public key is set as bare X‖Y hex) — and OpenSSL 3's command line.

The example (shared/reference/china-regions.md §5, vector A): recommended curve, default ID
``1234567812345678``, M = ``message digest``.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from gmssl import sm2 as gm
from gmssl import sm3 as gm3
from gmssl.func import bytes_to_list

from chalicelib.adapters import sm2
from chalicelib.adapters.signers import LocalSigner, verify_es256

D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
PX = 0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020
PY = 0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13
M = b"message digest"
K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
Z = bytes.fromhex("B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3")
E = bytes.fromhex("F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640")
R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
# The example's public key as SubjectPublicKeyInfo (id-ecPublicKey, curve 1.2.156.10197.1.301)
EXAMPLE_PEM = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAECfnfMR5UIaFQ3X0WHkvFxnIXn60Y
M/wHa7CP81bzUCDM6kkM4md1pS3G6nGMwapgCu0F+/NeCEpmMvYHLamtEw==
-----END PUBLIC KEY-----
"""


def der(r: int, s: int) -> bytes:
    return sm2.der_signature(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def xy(public_pem: str) -> tuple[int, int]:
    numbers = sm2._public_key(public_pem).public_numbers()
    return numbers.x, numbers.y


def theirs(private: int | None, public: tuple[int, int]) -> gm.CryptSM2:
    """gmssl over a key, DER signatures; the public key set after construction (bare X‖Y hex),
    so that its ``lstrip("04")`` never sees it."""
    crypt = gm.CryptSM2(private_key=f"{private or 1:064x}", public_key="", asn1=True)
    crypt.public_key = f"{public[0]:064x}{public[1]:064x}"
    return crypt


def private_value(signer: LocalSigner) -> int:
    return int(signer._key("sm2.pem").private_numbers().private_value)


def nonce() -> str:
    return f"{secrets.randbelow(sm2.N - 1) + 1:064x}"


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> tuple[LocalSigner, str]:
    signer = LocalSigner(tmp_path_factory.mktemp("keys"))
    return signer, signer.create_key("sm2.pem", "SM2")


# --- the standard's example values ---------------------------------------------------------

def test_sm3_of_abc_is_the_standards_example_and_gmssls():
    expected = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm2.sm3(b"abc").hex() == expected == gm3.sm3_hash(bytes_to_list(b"abc"))


def test_the_curve_is_the_recommended_one_as_gmssl_has_it():
    table = gm.default_ecc_table
    assert (sm2.P, sm2.A, sm2.B, sm2.N) == tuple(int(table[k], 16) for k in "pabn")
    assert f"{sm2.GX:064x}{sm2.GY:064x}" == table["g"].lower()


def test_z_and_e_of_the_example_are_the_published_values():
    assert sm2.z_value(PX, PY) == Z
    assert sm2.message_digest(EXAMPLE_PEM, M) == E


def test_the_example_public_key_reads_back_as_its_point():
    assert xy(EXAMPLE_PEM) == (PX, PY)


def test_the_example_signature_verifies():
    assert sm2.verify(EXAMPLE_PEM, M, der(R, S))


def test_the_example_signature_fails_on_another_message_or_value():
    assert not sm2.verify(EXAMPLE_PEM, M + b" ", der(R, S))
    assert not sm2.verify(EXAMPLE_PEM, M, der(R, S ^ 1))
    assert not sm2.verify(EXAMPLE_PEM, M, der(R ^ 1, S))


def test_gmssl_reproduces_the_example_signature_from_its_k():
    """The independent implementation is itself right: with the example's d and k it writes
    the example's r and s (so its Z, e and arithmetic are the standard's)."""
    crypt = theirs(D, (PX, PY))
    crypt.asn1 = False
    assert crypt.sign_with_sm3(M, f"{K:064x}") == f"{R:064x}{S:064x}"


# --- interoperability, both ways -----------------------------------------------------------

def test_our_signatures_verify_with_gmssl(ours):
    signer, public = ours
    crypt = theirs(None, xy(public))
    for size in (0, 1, 31, 64, 1000, 5000):
        message = secrets.token_bytes(size)
        signature = signer.sign("sm2.pem", message, "SM2")
        assert signature[0] == 0x30  # DER SEQUENCE{r, s}
        assert crypt.verify_with_sm3(signature.hex(), message)
        assert not crypt.verify_with_sm3(signature.hex(), message + b"x")


def test_gmssls_signatures_verify_with_ours(ours):
    signer, public = ours
    crypt = theirs(private_value(signer), xy(public))
    for size in (0, 1, 32, 4096, 4097):
        message = secrets.token_bytes(size)
        signature = bytes.fromhex(crypt.sign_with_sm3(message, nonce()))
        assert sm2.verify(public, message, signature)
        changed = message[:-1] + bytes([message[-1] ^ 1]) if message else b"?"
        assert not sm2.verify(public, changed, signature)


def test_a_bill_signed_by_us_verifies_with_gmssl_over_its_signing_input(ours):
    """What a bill's signature covers (the canonical form of the XML) is bytes like any other."""
    signer, public = ours
    message = '<EInvoice><Main><EInvoiceName>安徽省非税收入一般缴款书（电子）</EInvoiceName>' \
        '</Main></EInvoice>'.encode()
    signature = signer.sign("sm2.pem", message, "SM2")
    assert theirs(None, xy(public)).verify_with_sm3(signature.hex(), message)


# --- not ECDSA on the SM2 curve, and the default ID --------------------------------------------

def test_our_signature_covers_z_with_the_default_id_not_the_bare_message_hash(ours):
    signer, public = ours
    crypt = theirs(None, xy(public))
    signature = signer.sign("sm2.pem", M, "SM2")
    assert crypt.verify(signature.hex(), sm2.message_digest(public, M))  # SM3(Z ‖ M)
    assert not crypt.verify(signature.hex(), sm2.sm3(M))  # SM3(M): no Z
    other_id = sm2.message_digest(public, M, user_id=b"ALICE123@YAHOO.COM")
    assert not crypt.verify(signature.hex(), other_id)


def test_a_signature_over_another_ids_z_does_not_verify(ours):
    signer, public = ours
    e = sm2.message_digest(public, M, user_id=b"ALICE123@YAHOO.COM")
    signature = bytes.fromhex(theirs(private_value(signer), xy(public)).sign(e, nonce()))
    assert not sm2.verify(public, M, signature)


def test_plain_ecdsa_on_the_sm2_curve_is_refused(ours):
    """Textbook ECDSA with SM3 over the message, on the same curve and key, is not SM2."""
    signer, public = ours
    d = private_value(signer)
    crypt = theirs(d, xy(public))
    k = secrets.randbelow(sm2.N - 1) + 1
    r = int(crypt._kg(k, crypt.ecc_table["g"])[:64], 16) % sm2.N
    e = int.from_bytes(sm2.sm3(M), "big")
    s = pow(k, -1, sm2.N) * (e + r * d) % sm2.N
    assert not sm2.verify(public, M, der(r, s))
    # ...while the SM2 signature of the same message by the same key does verify.
    assert sm2.verify(public, M, signer.sign("sm2.pem", M, "SM2"))


# --- encodings and hostile input ---------------------------------------------------------------

def test_a_raw_r_s_signature_becomes_der_and_der_is_kept():
    raw = R.to_bytes(32, "big") + S.to_bytes(32, "big")
    as_der = sm2.der_signature(raw)
    assert as_der[0] == 0x30 and sm2.der_signature(as_der) == as_der
    assert sm2.verify(EXAMPLE_PEM, M, as_der)
    with pytest.raises(ValueError, match="neither DER"):
        sm2.der_signature(b"\x01" * 63)
    with pytest.raises(ValueError, match="neither DER"):
        sm2.der_signature(b"\x00" * 64)  # r = s = 0


@pytest.mark.parametrize("signature", [
    b"", b"\x30", b"\x30\x03garbage", der(R, S)[:-1], der(R, S) + b"\x00",
    b"\x30\x06\x02\x01\x00\x02\x01\x01",  # r = 0
    R.to_bytes(32, "big") + S.to_bytes(32, "big"),  # raw r‖s is not what a bill carries
])
def test_a_malformed_signature_is_refused_without_an_error(signature):
    assert sm2.verify(EXAMPLE_PEM, M, signature) is False


def test_keys_of_one_algorithm_never_verify_the_other(ours, tmp_path):
    signer, public = ours
    es256 = LocalSigner(tmp_path)
    es_public = es256.create_key("p256.pem")
    es_sig = es256.sign("p256.pem", M)
    sm_sig = signer.sign("sm2.pem", M, "SM2")
    assert not sm2.verify(es_public, M, es_sig)
    assert not verify_es256(public, M, sm_sig)
    assert not sm2.verify("not a key", M, sm_sig)


def spki(algorithm: bytes, point: bytes) -> bytes:
    def tlv(tag: int, body: bytes) -> bytes:
        return bytes([tag, len(body)]) + body
    return tlv(0x30, tlv(0x30, algorithm) + tlv(0x03, b"\x00" + point))


def test_an_spki_with_other_algorithm_oids_reads_as_the_same_sm2_key():
    """Which OIDs KMS writes around an SM2 point is not documented: the point decides."""
    point = b"\x04" + PX.to_bytes(32, "big") + PY.to_bytes(32, "big")
    sm2_oid = bytes.fromhex("06082a811ccf5501822d")  # 1.2.156.10197.1.301
    ec_public_key = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1
    for algorithm in (ec_public_key + sm2_oid, sm2_oid, sm2_oid + b"\x05\x00"):
        assert sm2.public_pem_from_spki(spki(algorithm, point)) == EXAMPLE_PEM
    der_pem = base64.b64decode("".join(EXAMPLE_PEM.splitlines()[1:-1]))
    assert sm2.public_pem_from_spki(der_pem) == EXAMPLE_PEM


def test_an_spki_whose_point_is_off_the_curve_or_not_ec_is_refused():
    sm2_oid = bytes.fromhex("06082a811ccf5501822d")
    off = b"\x04" + (PX ^ 1).to_bytes(32, "big") + PY.to_bytes(32, "big")
    with pytest.raises(ValueError, match="not on the SM2 curve"):
        sm2.public_pem_from_spki(spki(sm2_oid, off))
    # What moto answers for a KMS key of spec SM2: an RSA key.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_der = rsa.generate_private_key(65537, 2048).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ValueError):
        sm2.public_pem_from_spki(rsa_der)


def test_the_local_signer_refuses_to_sign_with_the_wrong_algorithm(ours):
    from chalicelib.domain.errors import ValidationFailed

    signer, _ = ours
    with pytest.raises(ValidationFailed):
        signer.sign("sm2.pem", M)  # ES256 asked of an SM2 key
    with pytest.raises(ValidationFailed):
        signer.sign("sm2.pem", M, "RS256")
    assert signer.key_alg("sm2.pem") == "SM2"


# --- a third implementation: OpenSSL 3's command line (C) --------------------------------------

def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", "pkeyutl", *args], capture_output=True, text=True,
                          check=False)


def test_openssl_verifies_ours_and_we_verify_openssls_with_the_default_id(ours, tmp_path):
    """OpenSSL 3 computes Z only with the ID it is given (without ``distid`` it uses an empty
    one, and our signature fails there: the ID is part of what is signed)."""
    signer, public = ours
    message = "<EInvoice>国密票据</EInvoice>".encode()
    (tmp_path / "pub.pem").write_text(public)
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "ours.sig").write_bytes(signer.sign("sm2.pem", message, "SM2"))
    common = ["-rawin", "-digest", "sm3", "-in", str(tmp_path / "msg")]
    default_id = ["-pkeyopt", "distid:1234567812345678"]
    verify = ["-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"), *common,
              "-sigfile", str(tmp_path / "ours.sig")]
    done = openssl(*verify, *default_id)
    assert done.returncode == 0 and "Signature Verified Successfully" in done.stdout, done
    assert openssl(*verify).returncode != 0  # no ID given: another Z
    signed = openssl("-sign", "-inkey", str(signer._dir / "sm2.pem"), *common, *default_id,
                     "-out", str(tmp_path / "openssl.sig"))
    assert signed.returncode == 0, signed.stderr
    theirs_sig = (tmp_path / "openssl.sig").read_bytes()
    assert sm2.verify(public, message, theirs_sig)
    assert not sm2.verify(public, message + b" ", theirs_sig)


def test_processes_that_meet_no_sm2_key_never_import_tongsuopy():
    """Cold start: tongsuopy (tens of ms to import) loads on the first SM2 key, not before."""
    code = ("import sys, app, chalicelib.adapters.signers, chalicelib.adapters.bill_files, "
            "chalicelib.cli; print(sorted(m for m in sys.modules if m.startswith('tongsuopy')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "[]"
