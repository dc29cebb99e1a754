"""Command line.

``verify-bill [--keys-url URL | --keys-file F] [--root-fingerprint HEX] FILE``: exit 0 only when
both signatures hold over intact content, by keys the pinned finance root key endorses; 1 when a
check fails; 2 when the file or the keys cannot be read. Each signature is checked with its
key's algorithm: ECDSA P-256 (``ES256``) or SM2 with SM3 (``SM2``, 国密).
``allocate-range --unit U --kind K --count N`` and ``range-report``: the finance department's
number ranges (``--stack .local/stack.json`` points them at the local stack).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_KEYS_BYTES = 1024 * 1024  # a key list is a few KB; more is not a key list
KEYS_TIMEOUT_SECONDS = 10
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
ROOT_FINGERPRINT_FILE = Path(__file__).parent / "trust" / "root_fingerprint.txt"
ROOT_FINGERPRINT_ENV = "BILL_ROOT_FINGERPRINT"
MAX_PAGE_SIZE = 10_000  # rows a back-fill's Scan page reads (1 MB caps a page anyway)


def check_keys_url(url: str) -> None:
    """A key list is fetched over HTTPS, or plain HTTP from this machine only; else ValueError."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise ValueError(f"{url!r}: the key list must come over https (plain http only from "
                     "127.0.0.1, ::1 or localhost)")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could lead from https to anywhere: refuse it, the URL must be the list's own."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        raise ValueError(f"the key list URL redirects ({code}) to {newurl}: give that URL")


def _load_keys_document(args: argparse.Namespace) -> dict:
    if args.keys_file:
        with Path(args.keys_file).open("rb") as f:
            raw = f.read(MAX_KEYS_BYTES + 1)
    else:
        check_keys_url(args.keys_url)
        opener = urllib.request.build_opener(_NoRedirect)
        with opener.open(args.keys_url, timeout=KEYS_TIMEOUT_SECONDS) as response:
            raw = response.read(MAX_KEYS_BYTES + 1)
    if len(raw) > MAX_KEYS_BYTES:
        raise ValueError(f"the key list is larger than {MAX_KEYS_BYTES} bytes")
    doc = json.loads(raw.decode("utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list) or not all(
            isinstance(k, dict) and isinstance(k.get("kid"), str) for k in doc["keys"]):
        raise ValueError("not a key list: expected {root, keys: [{kid, ...}]}")
    return doc


def pinned_root_fingerprint(args: argparse.Namespace) -> str:
    """The finance root fingerprint to trust: --root-fingerprint, else $BILL_ROOT_FINGERPRINT,
    else the one shipped in chalicelib/trust/root_fingerprint.txt (set when building)."""
    import os

    from chalicelib.domain.key_trust import normalise_fingerprint

    given = args.root_fingerprint or os.environ.get(ROOT_FINGERPRINT_ENV)
    if given is None and ROOT_FINGERPRINT_FILE.exists():
        lines = ROOT_FINGERPRINT_FILE.read_text(encoding="utf-8").splitlines()
        given = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), None)
    if given is None:
        raise ValueError("no finance root fingerprint is pinned: give --root-fingerprint, set "
                         f"{ROOT_FINGERPRINT_ENV} or write {ROOT_FINGERPRINT_FILE}")
    if not normalise_fingerprint(given):
        raise ValueError(f"{given.strip()!r} is not a SHA-256 fingerprint (64 hex digits)")
    return normalise_fingerprint(given)


def verify_bill(args: argparse.Namespace) -> int:
    from functools import partial

    from chalicelib.adapters.bill_files import MAX_FILE_BYTES, verify_bill_file
    from chalicelib.adapters.signers import verify_signature
    from chalicelib.domain.key_trust import trust_of

    try:
        pinned = pinned_root_fingerprint(args)
        doc = _load_keys_document(args)
    except Exception as exc:  # noqa: BLE001 - any failure: say it and exit 2
        print(f"cannot load keys: {exc}", file=sys.stderr)
        return 2
    try:
        # The root's algorithm as the list says; its key is the pinned one, so a false "alg"
        # only makes every endorsement fail.
        root = doc.get("root")
        root_alg = str(root.get("alg") or "ES256") if isinstance(root, dict) else "ES256"
        trust = trust_of(doc, pinned, partial(verify_signature, root_alg))
    except ValueError as exc:
        print(f"FAIL finance root key: {exc}")
        print("INVALID")
        return 1
    keys = {k["kid"]: k for k in doc["keys"]}
    try:
        with Path(args.file).open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # one byte over the limit is enough to refuse it
    except OSError as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    report = verify_bill_file(data, keys, trust)
    if report.bill is not None:
        bill = report.bill.bill
        print(f"bill {bill.bill_code}-{bill.bill_number} ({bill.title}), "
              f"total {bill.total_fen / 100:.2f} yuan, issued {bill.issued_at}")
    for name, passed, detail in report.checks:
        print(f"{'OK  ' if passed else 'FAIL'} {name}: {detail}")
    print("VALID: both signatures hold" if report.ok else "INVALID")
    return 0 if report.ok else 1


def _use_stack(path: str | None) -> None:
    """Point this process at the local stack described by ``path`` (``.local/stack.json``)."""
    if not path:
        return
    import os

    stack = json.loads(Path(path).read_text(encoding="utf-8"))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "cn-north-1")
    os.environ.setdefault("STAGE", "local")  # the local stack is the local stage
    os.environ["AWS_ENDPOINT_URL"] = stack["aws_endpoint_url"]
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = stack.get("dynamodb_endpoint_url",
                                                        stack["aws_endpoint_url"])


def allocate_range(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps
    from chalicelib.services.ranges import allocate_range as allocate

    _use_stack(args.stack)
    allocated = allocate(deps(), args.unit, args.kind, args.count, args.year)
    print(json.dumps(allocated.report(), ensure_ascii=False))
    return 0


def range_report(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps
    from chalicelib.services.ranges import range_report as report

    _use_stack(args.stack)
    rows = report(deps())
    print(f"{'bill code':<10}{'unit':<11}{'kind':<6}{'start':>12}{'end':>12}"
          f"{'used':>8}{'void':>6}{'left':>8}  low")
    for r in rows:
        print(f"{r['bill_code']:<10}{r['unit_code']:<11}{r['kind_code']:<6}{r['start']:>12}"
              f"{r['end']:>12}{r['used']:>8}{r['void']:>6}{r['left']:>8}  "
              f"{'LOW' if r['low'] else ''}")
    return 0


def replay_intake(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps
    from chalicelib.services.payments import replay

    _use_stack(args.stack)
    print(replay(deps(), args.key))
    return 0


def check_archive(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps
    from chalicelib.services.integrity import check_archive as check

    _use_stack(args.stack)
    report = check(deps())
    for problem in report.problems:
        print(f"FAIL {problem['bill_id']} {problem['file']}: {problem['problem']}")
    print(f"{report.checked} files checked, {len(report.problems)} problems")
    return 0 if report.ok else 1


def check_statements(args: argparse.Namespace) -> int:
    """An auditor's check of a reconciled day: every statement file the day lists is read back
    from the archive (the version first written), its SHA-256 compared, parsed again, and every
    kept line that came from a statement is found in the file of the run that judged it, with
    its amount. Exit 1 on any difference."""
    import hashlib

    from chalicelib.adapters.statement_files import reparse
    from chalicelib.bootstrap import deps
    from chalicelib.domain.errors import DomainError
    from chalicelib.services.reconciliation import channels_of, check_date

    _use_stack(args.stack)
    d = deps()
    date = check_date(args.date)
    problems, checked = [], 0
    for channel in [args.channel] if args.channel else channels_of(d):
        day = d.reconciliations.day(date, channel)
        if day is None:
            print(f"{channel} {date}: never reconciled")
            continue
        parsed: dict[int, dict[str, int]] = {}  # run → line id → amount, of that run's files
        for kept in day.files:
            try:
                body = d.archive.get(kept["key"], kept.get("version_id", ""))
                if hashlib.sha256(body).hexdigest() != kept["sha256"]:
                    raise DomainError("SHA-256 differs from the one recorded")
                lines = reparse(channel, kept["name"], body, date).lines
            except DomainError as exc:
                problems.append(f"{channel} {kept['key']}: {exc.message}")
                continue
            checked += 1
            parsed.setdefault(kept["run"], {}).update(
                {li.line_id: li.amount_fen for li in lines})
        for line in d.reconciliations.lines(date, channel):
            if not line.on_statement:
                continue
            # the latest file fetched by its run or before that holds it (a run that fetched a
            # file already kept lists none of its own; a bank's files are one per bank)
            found = next((parsed[r][line.line_id] for r in sorted(parsed, reverse=True)
                          if r <= line.run and line.line_id in parsed[r]), None)
            if found != line.amount_fen:
                problems.append(f"{channel} {line.line_id}: kept {line.amount_fen} fen, the "
                                f"archived files of run {line.run} or before have {found}")
    for problem in problems:
        print(f"FAIL {problem}")
    print(f"{checked} statement files re-read, {len(problems)} problems")
    return 1 if problems else 0


def rotate_key(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps
    from chalicelib.services.keys import rotate_key as rotate

    _use_stack(args.stack)
    key = rotate(deps(), kid=args.kid, use=args.use, owner=args.owner,
                 kms_key_id=args.kms_key_id, alg=args.alg)
    print(json.dumps(key.public(), ensure_ascii=False))
    return 0


def root_fingerprint(args: argparse.Namespace) -> int:
    """Print the finance root key in force and its fingerprint, the value verifiers pin."""
    from chalicelib.bootstrap import deps
    from chalicelib.services.keys import root_view

    _use_stack(args.stack)
    root = root_view(deps())
    print(f"{root['fingerprint']}  {root['kid']}")
    return 0


def create_unit(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps
    from chalicelib.services.units import create_unit as create

    _use_stack(args.stack)
    unit, key = create(deps(), unit_code=args.code, name=args.name, kind=args.kind,
                       region_code=args.region, bill_kind=args.bill_kind,
                       credit_code=args.credit_code, who=_operator())
    print(json.dumps({"unit_code": unit.unit_code, "name": unit.name, "kind": unit.kind.value,
                      "api_key": key}, ensure_ascii=False))
    print("The API key is shown only now; store it safely.", file=sys.stderr)
    return 0


def create_person(args: argparse.Namespace) -> int:
    """Create a console account; print its TOTP provisioning URI (to scan once) if it has one.
    The password is read from the environment (CONSOLE_PASSWORD) or asked for, never an
    argument (it would stay in the shell's history and in ``ps``)."""
    import getpass
    import os

    from chalicelib.bootstrap import deps
    from chalicelib.domain.errors import DomainError
    from chalicelib.services.people import CLI, provisioning_uri
    from chalicelib.services.people import create_person as create

    _use_stack(args.stack)
    password = os.environ.get("CONSOLE_PASSWORD") or getpass.getpass("Password: ")
    try:
        person, secret = create(deps(), CLI, username=args.username, role=args.role,
                                unit_code=args.unit, password=password,
                                display_name=args.name or "", totp=not args.no_totp,
                                scope=args.scope)
    except DomainError as exc:
        print(f"refused: {exc.message} {getattr(exc, 'fields', '') or ''}", file=sys.stderr)
        return 2
    print(json.dumps({"username": person.username, "role": person.role.value,
                      "unit_code": person.unit_code, "scope": person.scope,
                      "totp_uri": provisioning_uri(secret, person.username) if secret else None},
                     ensure_ascii=False))
    if secret:
        print("Scan the totp_uri into an authenticator app now; it is shown only once.",
              file=sys.stderr)
    return 0


def new_api_key(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps
    from chalicelib.services.units import rotate_api_key

    _use_stack(args.stack)
    print(json.dumps({"unit_code": args.code,
                      "api_key": rotate_api_key(deps(), args.code, who=_operator())}))
    return 0


def create_finance_key(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps
    from chalicelib.services.finance_keys import create_finance_key as create

    _use_stack(args.stack)
    key, api_key = create(deps(), scope=args.scope, label=args.label, actor=_operator())
    print(json.dumps({**key.public(), "api_key": api_key}, ensure_ascii=False))
    print("The API key is shown only now; store it safely.", file=sys.stderr)
    return 0


def finance_keys(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps

    _use_stack(args.stack)
    for key in deps().finance_keys.all():
        print(json.dumps(key.public(), ensure_ascii=False))
    return 0


def revoke_finance_key(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps
    from chalicelib.services.finance_keys import revoke_finance_key as revoke

    _use_stack(args.stack)
    print(json.dumps(revoke(deps(), args.key_id, actor=_operator()).public(),
                     ensure_ascii=False))
    return 0


def _operator() -> str:
    """Who runs an operator command, as the audit log records it."""
    import getpass

    try:
        return f"operator:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment (a container)
        return "operator"


def audit_log(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps

    _use_stack(args.stack)
    rows = deps().audit.query(bill_id=args.bill, unit_code=args.unit, day=args.day,
                              limit=args.limit)
    for row in rows:
        print(json.dumps(row.row(), ensure_ascii=False, default=str))
    return 0


def redrive_dlq(args: argparse.Namespace) -> int:
    from chalicelib.bootstrap import deps
    from chalicelib.services.recovery import redrive_dead_letters

    _use_stack(args.stack)
    for queue, count in redrive_dead_letters(deps(), args.limit).items():
        print(f"{queue}: {count} messages moved back from its dead-letter queue")
    return 0


def _backfill(args: argparse.Namespace, fill: Callable[[int, str | None], Any], bind: str,
              rows: str, lacking: str, filled: str) -> int:
    """A back-fill command: ``fill`` page after page from ``--after``, each page printed with
    the key to resume after, then the totals (``rows`` read, ``lacking`` the index's key,
    ``filled``; "" leaves the lacking out)."""
    from chalicelib.adapters.dynamo_models import FillPage, fill_all
    from chalicelib.bootstrap import deps

    if not 1 <= args.page_size <= MAX_PAGE_SIZE:
        print(f"the page size must be 1 to {MAX_PAGE_SIZE}", file=sys.stderr)
        return 2
    _use_stack(args.stack)
    getattr(deps(), bind)  # binds the models to this deployment's tables

    def counts(page: FillPage) -> str:
        return (f"{page.missing} {lacking}, " if lacking else "") + f"{page.filled} {filled}"

    def show(number: int, page: FillPage) -> None:
        print(f"page {number}: {page.scanned} read, {counts(page)}; next: "
              f"{f'--after {page.after}' if page.after else 'none, done'}")

    total = fill_all(fill, args.page_size, args.after or None, show)
    print(f"{total.scanned} {rows} read, {counts(total)}")
    return 0


def backfill_payment_days(args: argparse.Namespace) -> int:
    """Date the payments written before ``paid_day-payment_id-index`` (the day page, the weekly
    report and reconciliation read a day's payments only through it). Run once the code that
    writes ``paid_day`` is deployed; a second run finds nothing to date."""
    from chalicelib.adapters.dynamo_payments import fill_paid_days

    return _backfill(args, fill_paid_days, "payments", "payments", "without a day", "dated")


def backfill_people_places(args: argparse.Namespace) -> int:
    """Place the accounts written before ``listing-place-index`` (the people pages list accounts
    only through it). Idempotent: a second run places nothing."""
    from chalicelib.adapters.dynamo_people import fill_people_places

    return _backfill(args, fill_people_places, "people", "rows", "", "accounts placed")


def backfill_bill_listing(args: argparse.Namespace) -> int:
    """List the bills issued before ``issuing_unit-issued_at-index`` (the unit console's bill
    list reads only it). Idempotent: a second run lists nothing."""
    from chalicelib.adapters.dynamo_bills import fill_bill_listing

    return _backfill(args, fill_bill_listing, "bills", "bills", "without a unit", "listed")


def backfill_payer_search(args: argparse.Namespace) -> int:
    """Give the notes created before the payer indexes, or before ``note_brief``, their search
    keys (the unit console's search finds a note by phone or credit code only through them, and
    lists a note from the payer index without reading it only with its brief). Idempotent: a
    second run changes nothing."""
    from chalicelib.adapters.dynamo_notes import fill_payer_search

    return _backfill(args, fill_payer_search, "notes", "notes", "without payer keys",
                     "keyed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser(
        "verify-bill", help="verify a bill file (XML, or PDF or OFD with the XML attached) offline")
    source = verify.add_mutually_exclusive_group()
    source.add_argument("--keys-url", default="http://127.0.0.1:8000/v1/public/keys")
    source.add_argument("--keys-file")
    verify.add_argument("--root-fingerprint",
                        help="SHA-256 of the finance root key to trust (default: "
                             f"${ROOT_FINGERPRINT_ENV}, else {ROOT_FINGERPRINT_FILE.name})")
    verify.add_argument("file")
    allocate = commands.add_parser("allocate-range",
                                   help="finance: give a unit a block of bill numbers")
    allocate.add_argument("--unit", required=True)
    allocate.add_argument("--kind", required=True, help="4-digit 分类+种类 code, e.g. 0301")
    allocate.add_argument("--count", type=int, required=True)
    allocate.add_argument("--year", type=int, help="the bill code's year (default: this year)")
    report = commands.add_parser("range-report", help="used, void and left per number range")
    replay_cmd = commands.add_parser(
        "replay-intake", help="run a kept channel notification through its handler again")
    replay_cmd.add_argument("key", help="intake/{channel}/{day}/….json (archive: verified) or "
                            "rejected/{channel}/{day}/….json (short-lived store: refused, "
                            "kept 7 days)")
    integrity = commands.add_parser("check-archive",
                                    help="re-read archived bill files and compare SHA-256")
    statements_cmd = commands.add_parser(
        "check-statements", help="re-read a reconciled day's archived statement files, check "
                                 "their SHA-256 and that they hold the lines kept")
    statements_cmd.add_argument("--date", required=True, help="YYYY-MM-DD")
    statements_cmd.add_argument("--channel", choices=("wechatpay", "alipay", "unionpay", "bank"))
    rotate = commands.add_parser("rotate-key", help="bring a new signing key into force")
    rotate.add_argument("--kid", required=True)
    rotate.add_argument("--use", required=True, choices=("unit", "finance", "root"),
                        help="root: a new finance root key, which endorses every key")
    rotate.add_argument("--owner", required=True, help="unit code, or the finance department")
    rotate.add_argument("--kms-key-id", help="a SIGN_VERIFY key in KMS: ECC_NIST_P256, or SM2 "
                        "(China regions); the key's own algorithm is used")
    rotate.add_argument("--alg", choices=("ES256", "SM2"),
                        help="the new key's algorithm (default ES256; with --kms-key-id, the "
                             "KMS key must be of it)")
    fingerprint_cmd = commands.add_parser(
        "root-fingerprint", help="the finance root key's fingerprint, for verifiers to pin")
    unit_cmd = commands.add_parser("create-unit", help="create a collecting or reimbursing unit")
    unit_cmd.add_argument("--code", required=True)
    unit_cmd.add_argument("--name", required=True)
    unit_cmd.add_argument("--kind", required=True, choices=("collecting", "reimbursing"))
    unit_cmd.add_argument("--region", required=True, help="6-digit region code")
    unit_cmd.add_argument("--bill-kind", default="0301")
    unit_cmd.add_argument("--credit-code", help="统一社会信用代码 (18 characters)")
    person_cmd = commands.add_parser(
        "create-person", help="create a console account (password from $CONSOLE_PASSWORD or "
                              "asked); prints its TOTP provisioning URI")
    person_cmd.add_argument("--username", required=True)
    person_cmd.add_argument("--role", required=True, choices=("finance_admin", "finance_auditor",
                                                             "unit_admin", "unit_operator"))
    person_cmd.add_argument("--unit", help="the unit code (unit roles)")
    person_cmd.add_argument("--scope", help="a finance person's region: 34, 3401, 340102 "
                            "(default: every region)")
    person_cmd.add_argument("--name", help="display name")
    person_cmd.add_argument("--no-totp", action="store_true",
                            help="unit roles only: no second factor (finance roles always have it)")
    key_cmd = commands.add_parser("new-api-key", help="replace every API key of a unit by a "
                                  "new one (a leaked key)")
    key_cmd.add_argument("--code", required=True)
    finance_cmd = commands.add_parser(
        "create-finance-key", help="a finance department's API key (/v1/admin), for a region")
    finance_cmd.add_argument("--scope", default="", help="region it reaches: 34 (province), "
                             "3401 (city), 340102 (county); empty: everywhere")
    finance_cmd.add_argument("--label", required=True, help="who holds it, e.g. 合肥市财政局")
    finance_list = commands.add_parser("finance-keys", help="list the finance keys (not the "
                                       "keys themselves: their ids, regions and holders)")
    finance_revoke = commands.add_parser("revoke-finance-key",
                                         help="revoke a finance key at once")
    finance_revoke.add_argument("--key-id", required=True, help="key_… as finance-keys lists")
    audit = commands.add_parser("audit", help="the finance department's audit log")
    audit.add_argument("--bill", help="bill code + number (18 digits)")
    audit.add_argument("--unit", help="a unit code")
    audit.add_argument("--day", help="YYYY-MM-DD (with --unit, or alone)")
    audit.add_argument("--limit", type=int, default=200)
    redrive = commands.add_parser("redrive-dlq",
                                  help="move each queue's dead letters back to the queue")
    redrive.add_argument("--limit", type=int, default=10_000, help="at most this many per queue")
    backfills = []
    for name, what, resume in (
            ("backfill-payment-days", "date the payments written before the payments' day index",
             "this payment id"),
            ("backfill-people-places", "list the accounts written before the people's list "
                                       "index", "this key"),
            ("backfill-bill-listing", "list the bills issued before the bills' unit index",
             "this bill id"),
            ("backfill-payer-search", "key the notes created before the notes' payer indexes",
             "this payment code")):
        fill = commands.add_parser(name, help=f"{what} (idempotent; resumable with --after)")
        fill.add_argument("--page-size", type=int, default=500,
                          help="rows a Scan page reads (default 500)")
        fill.add_argument("--after", help=f"resume after {resume} (as a page printed)")
        backfills.append(fill)
    for sub in (allocate, report, replay_cmd, integrity, statements_cmd, rotate, unit_cmd,
                key_cmd, audit, *backfills,
                redrive, fingerprint_cmd, finance_cmd, finance_list, finance_revoke,
                person_cmd):
        sub.add_argument("--stack", help="use the local stack of this stack.json")
    args = parser.parse_args(argv)
    handlers = {"verify-bill": verify_bill, "allocate-range": allocate_range,
                "range-report": range_report, "replay-intake": replay_intake,
                "check-archive": check_archive, "check-statements": check_statements,
                "rotate-key": rotate_key,
                "root-fingerprint": root_fingerprint, "create-unit": create_unit, "new-api-key": new_api_key, "audit": audit_log,
                "redrive-dlq": redrive_dlq, "create-finance-key": create_finance_key,
                "finance-keys": finance_keys, "revoke-finance-key": revoke_finance_key,
                "create-person": create_person, "backfill-payment-days": backfill_payment_days,
                "backfill-people-places": backfill_people_places,
                "backfill-bill-listing": backfill_bill_listing,
                "backfill-payer-search": backfill_payer_search}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
