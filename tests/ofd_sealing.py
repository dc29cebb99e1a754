"""Keys that seal test OFDs (GB/T 38540): a unit key and a finance department key on a local
signer, and the key list a verifier is given (``GET /v1/public/keys`` entries by kid)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from chalicelib.adapters.signers import LocalSigner
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.units import OfdSealing, SigningKey

SEALED_AT = datetime(2026, 6, 15, 10, 0, tzinfo=CHINA_TZ)
SINCE = "2026-01-01T00:00:00+08:00"


@dataclass
class Sealer:
    signer: LocalSigner
    sealing: OfdSealing
    unit_key: SigningKey
    finance_key: SigningKey

    def keys(self, *extra: SigningKey) -> dict[str, dict]:
        return {k.kid: k.public() for k in (self.unit_key, self.finance_key, *extra)}


def local_sealer(folder: Path, alg: str, unit_code: str, unit_name: str,
                 supervisor_name: str = "北京市财政局") -> Sealer:
    signer = LocalSigner(folder)
    unit = SigningKey(f"unit-{alg}", alg, "unit", unit_code,
                      signer.create_key(f"unit-{alg}.pem", alg), SINCE, None, f"unit-{alg}.pem")
    finance = SigningKey(f"finance-{alg}", alg, "finance", "finance",
                         signer.create_key(f"finance-{alg}.pem", alg), SINCE, None,
                         f"finance-{alg}.pem")
    sealing = OfdSealing(unit_key=unit, unit_name=unit_name, maker_key=finance,
                         maker_name=supervisor_name, at=SEALED_AT)
    return Sealer(signer, sealing, unit, finance)
