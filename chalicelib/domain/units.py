"""Units that use the system: collecting units (执收单位) and reimbursing units (报销单位)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.domain.fee_items import FeeItem  # noqa: F401 - where the ports import it from


class UnitKind(StrEnum):
    COLLECTING = "collecting"
    REIMBURSING = "reimbursing"


@dataclass(frozen=True)
class Unit:
    unit_code: str
    name: str
    kind: UnitKind
    region_code: str = ""
    bill_kind: str = "0301"
    signing_kid: str | None = None
    handling_person: str = ""
    checker: str = ""
    seal_key: str | None = None  # the archive key of the unit's uploaded seal image (PNG)
    credit_code: str | None = None  # 统一社会信用代码 (GB 32100-2015), when given


MAX_SEAL_BYTES = 256 * 1024


def check_seal_png(data: bytes) -> tuple[int, int]:
    """Width and height of an acceptable seal image, else ``ValidationFailed``.

    A PNG of at most 256 KB, between 120 and 2000 pixels a side, roughly square (a round seal).
    """
    from chalicelib.domain.errors import ValidationFailed

    if len(data) > MAX_SEAL_BYTES:
        raise ValidationFailed("印章图片不能超过 256 KB", {"file": "at most 256 KB"})
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValidationFailed("印章图片应为 PNG 格式", {"file": "must be a PNG image"})
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if not (120 <= width <= 2000 and 120 <= height <= 2000) or abs(width - height) > width // 10:
        raise ValidationFailed("印章图片应为近似正方形，边长 120 至 2000 像素",
                               {"file": f"{width}×{height} px: need a square of 120-2000 px"})
    return width, height


def hash_api_key(api_key: str) -> str:
    """API keys are stored only as their SHA-256; the key itself is shown once, at creation.

    Keys are 32+ random characters, so a plain hash (no salt, no stretching) cannot be reversed
    by guessing, and it allows the one-read lookup a request needs.
    """
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


ALG_ES256 = "ES256"  # ECDSA P-256 with SHA-256
ALG_SM2 = "SM2"  # SM2 with SM3 (GB/T 32918, 国密), Z computed with the default ID 1234567812345678
SIGNING_ALGORITHMS = (ALG_ES256, ALG_SM2)

KEY_CACHE_SECONDS = 60  # how long a process may use its copy of the key list; rotation
                        # keeps the old key valid for twice this (services/keys.py)


@dataclass(frozen=True)
class SigningKey:
    """A public key that verifies bills; the private half stays in KMS (or on disk, locally)."""

    kid: str
    alg: str  # one of SIGNING_ALGORITHMS: ES256 (ECDSA P-256 / SHA-256) or SM2 (SM2 / SM3)
    use: str  # unit | finance
    owner: str
    public_key_pem: str
    not_before: str
    not_after: str | None = None
    key_ref: str = ""  # where the private key is: a KMS key id, or a local file name
    endorsement: str | None = None  # the finance root key's signature of the entry (key_trust)

    def public(self) -> dict:
        return {"kid": self.kid, "alg": self.alg, "use": self.use, "owner": self.owner,
                "public_key_pem": self.public_key_pem, "not_before": self.not_before,
                "not_after": self.not_after, "endorsement": self.endorsement}


@dataclass(frozen=True)
class OfdSealing:
    """Who seals a bill's OFD (GB/T 38540 electronic seal) and when: the issuing unit's key in
    force at ``at`` signs the package; the finance department's key makes the seal and
    certifies the unit's key. ``at`` is an aware datetime."""

    unit_key: SigningKey
    unit_name: str
    maker_key: SigningKey
    maker_name: str
    at: datetime
