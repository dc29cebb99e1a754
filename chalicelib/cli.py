"""Command line: ``python -m chalicelib.cli verify-bill [--keys-url URL | --keys-file F] FILE``.

Exit 0 only when both signatures hold over intact content; 1 when a check fails; 2 when the
file or the keys cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path


def _load_keys(args: argparse.Namespace) -> dict[str, dict]:
    if args.keys_file:
        doc = json.loads(Path(args.keys_file).read_text(encoding="utf-8"))
    else:
        with urllib.request.urlopen(args.keys_url, timeout=10) as response:  # noqa: S310
            doc = json.loads(response.read().decode("utf-8"))
    return {k["kid"]: k for k in doc["keys"]}


def verify_bill(args: argparse.Namespace) -> int:
    from chalicelib.services.verify_file import verify_bill_file

    try:
        keys = _load_keys(args)
    except Exception as exc:  # noqa: BLE001 - any failure: say it and exit 2
        print(f"cannot load keys: {exc}", file=sys.stderr)
        return 2
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    report = verify_bill_file(data, keys)
    if report.bill is not None:
        bill = report.bill.bill
        print(f"bill {bill.bill_code}-{bill.bill_number} ({bill.title}), "
              f"total {bill.total_fen / 100:.2f} yuan, issued {bill.issued_at}")
    for name, passed, detail in report.checks:
        print(f"{'OK  ' if passed else 'FAIL'} {name}: {detail}")
    print("VALID: both signatures hold" if report.ok else "INVALID")
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify-bill", help="verify a bill file (XML or PDF) offline")
    source = verify.add_mutually_exclusive_group()
    source.add_argument("--keys-url", default="http://127.0.0.1:8000/v1/public/keys")
    source.add_argument("--keys-file")
    verify.add_argument("file")
    args = parser.parse_args(argv)
    if args.command == "verify-bill":
        return verify_bill(args)
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
