"""Benchmark: signatures per second, ECDSA P-256 / SHA-256 (``cryptography``) next to SM2 / SM3
(``tongsuopy``), as the local signer makes them and as every verifier checks them.

For a short message and for a bill's signing input (the C14N form of a real bill's XML, as
issuance signs it), each on one core, per CPU-second of the process: signs, verifies, and the whole
check of a signed bill file (``verify_bill_file``: parse, canonical forms, both signatures) for
an ES256 bill and an SM2 bill. Also the import time of tongsuopy, which a process pays the first
time it meets an SM2 key (cold start), measured in a fresh interpreter.

    .venv/bin/python -m bench.signing [SECONDS]      (per figure; default 1.0)

No AWS here: in production KMS signs (one request per signature, its latency dominates), and
verification is always local.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable


def rate(action: Callable[[], object], seconds: float) -> float:
    """Calls per CPU-second of this process (the fair figure on a shared machine): the median
    of five runs of ``seconds / 5`` of CPU each."""
    action()  # warm: parsed keys, caches
    runs = []
    for _ in range(5):
        count, started = 0, time.process_time()
        deadline = started + seconds / 5
        while time.process_time() < deadline:
            action()
            count += 1
        runs.append(count / (time.process_time() - started))
    return statistics.median(runs)


def tongsuopy_import_ms() -> float:
    code = ("import time; t = time.perf_counter(); "
            "from tongsuopy.crypto.asymciphers import ec; from tongsuopy.crypto import hashes; "
            "print((time.perf_counter() - t) * 1000)")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(5)]
    return statistics.median(runs)


def signed_bills(tmp: str) -> dict[str, tuple[bytes, dict]]:
    """One bill of each algorithm, issued on a world of fakes: (XML, public key entries)."""
    from pathlib import Path

    from chalicelib.services import notes as note_service
    from chalicelib.services.issuance import issue_bill
    from devstack.seed import COLLECTING
    from tests.fakes import fake_deps
    from tests.unit.scenario import note_body, pay

    deps = fake_deps(Path(tmp))
    bills = {}
    for i, (unit, items) in enumerate(COLLECTING):
        body = note_body(items=[{"item_code": code, "name": name, "quantity": "1",
                                 "standard_fen": 1000, "amount_fen": 1000}
                                for code, name in items], total_fen=1000 * len(items))
        note, _ = note_service.create_note(deps, unit, body)
        pay(deps, note, f"42000000012026030200000{i:05d}")
        ref = issue_bill(deps, note.payment_code)
        assert ref is not None
        xml = deps.archive.get(deps.bills.get(ref.bill_code, ref.bill_number).xml.key)
        key = deps.keys.get(unit.signing_kid)
        assert key is not None
        bills[key.alg] = (xml, deps.keys.public())
    return bills


def main(seconds: float = 1.0) -> None:
    from chalicelib.adapters.bill_files import verify_bill_file
    from chalicelib.adapters.signers import LocalSigner, verify_signature
    from chalicelib.domain import bill_xml

    with tempfile.TemporaryDirectory() as tmp:
        signer = LocalSigner(tmp)
        public = {alg: signer.create_key(f"{alg}.pem", alg) for alg in ("ES256", "SM2")}
        bills = signed_bills(tmp + "/world")
        bill_input = bill_xml.parse_document(bills["SM2"][0]).signed_inputs[0]
        messages = {"64-byte message": b"m" * 64,
                    f"bill signing input ({len(bill_input)} B)": bill_input}
        print(f"\nSignatures per CPU-second, one core ({seconds:.1f} s per figure, median of 5)\n")
        print(f"{'message':<32}{'alg':<7}{'sign/s':>9}{'verify/s':>10}{'ms sign':>9}"
              f"{'ms verify':>10}")
        for label, message in messages.items():
            for alg in ("ES256", "SM2"):
                signature = signer.sign(f"{alg}.pem", message, alg)
                assert verify_signature(alg, public[alg], message, signature)
                signs = rate(lambda a=alg, m=message: signer.sign(f"{a}.pem", m, a), seconds)
                verifies = rate(lambda a=alg, m=message, s=signature:
                                verify_signature(a, public[a], m, s), seconds)
                print(f"{label:<32}{alg:<7}{signs:>9.0f}{verifies:>10.0f}{1000 / signs:>9.3f}"
                      f"{1000 / verifies:>10.3f}")
        print(f"\n{'whole bill file check (2 signatures)':<39}{'files/s':>9}{'ms':>9}")
        for alg, (xml, keys) in bills.items():
            assert verify_bill_file(xml, keys).ok
            files = rate(lambda x=xml, k=keys: verify_bill_file(x, k), seconds)
            print(f"  {alg + ' bill':<37}{files:>9.0f}{1000 / files:>9.2f}")
    print(f"\ntongsuopy import (first SM2 key in a process, fresh interpreter): "
          f"{tongsuopy_import_ms():.0f} ms")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
