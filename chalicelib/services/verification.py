"""Verification (查验) for reimbursing units: by the elements, in batches, or by the bill file.

Results: ``authentic`` (it is our bill and all given elements match), ``mismatch`` (it is our bill
but the date or amount given differs: the fields are named), ``tampered`` (a file whose
signatures fail, whose check code is not the bill's, or whose content differs from our record;
``reason`` says which), ``not_found``. With every found bill
come its status (normal, reversed, voided), how often it was checked and its reimbursement.
Every verification is audited. A wrong check code reveals nothing of the bill. Wrong codes are
counted against the unit that sent them (``limits.Guesser.unit``), never against the bill or
an address another caller shares.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict
from datetime import datetime

from chalicelib.domain import bill_xml
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.codes import check_bill_reference, is_bill_code, is_bill_number
from chalicelib.domain.errors import (
    DomainError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from chalicelib.domain.records import BillLookup
from chalicelib.domain.units import Unit
from chalicelib.services.bills import bill_view, look_up_bill
from chalicelib.services.limits import Guesser
from chalicelib.services.ports import Ports
from chalicelib.services.reimbursements import audit, audit_event

MAX_BATCH = 500
NOT_FOUND = {"result": "not_found", "status": None, "bill": None, "reimbursement": None,
             "check_count": 0}


def _elements(body: object) -> tuple[str, str, str, str | None, int | None]:
    if not isinstance(body, dict):
        raise ValidationFailed("请求体必须是 JSON 对象", {"body": "must be a JSON object"})
    code, number, check = body.get("bill_code"), body.get("bill_number"), body.get("check_code")
    check_bill_reference(code, number, check)
    issue_date, total = body.get("issue_date"), body.get("total_fen")
    fields = {}
    if issue_date is not None:
        try:
            datetime.strptime(str(issue_date), "%Y-%m-%d")
        except ValueError:
            fields["issue_date"] = "must be a date YYYY-MM-DD"
    if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
        fields["total_fen"] = "must be an integer number of fen"
    if fields:
        raise ValidationFailed("请求参数有误", fields)
    return str(code), str(number), str(check), issue_date, total


def _found(deps: Ports, unit: Unit, found: BillLookup, result: str, client: str,
           detail: dict | None = None) -> dict:
    """The answer about a bill found: the check is counted and audited in one write, and the
    reimbursement came with the bill's read (two DynamoDB requests in all)."""
    record = found.record
    assert record is not None
    now = deps.clock().astimezone(CHINA_TZ).isoformat(timespec="seconds")
    counted = deps.bills.count_check(record, now, audit_event(
        deps, record.bill.bill_id, unit, "verify", result, client, detail))
    held = found.reimbursement
    return {"result": result, "status": counted.status.value, "bill": bill_view(deps, counted),
            "reimbursement": held.public() if held else None,
            "check_count": counted.check_count, "first_checked_at": counted.first_checked_at,
            "last_checked_at": counted.last_checked_at}


def verify_elements(deps: Ports, unit: Unit, body: object, client: str) -> dict:
    """By code, number and check code; the issue date and total are compared when given."""
    code, number, check, issue_date, total = _elements(body)
    try:
        found = look_up_bill(deps, code, number, check, Guesser.unit(unit.unit_code),
                             reimbursement=True)
    except NotFound:
        audit(deps, code + number, unit, "verify", "not_found", client)
        return dict(NOT_FOUND)
    assert found.record is not None
    bill = found.record.bill
    mismatched = {}
    if issue_date is not None and issue_date != bill.issue_date:
        mismatched["issue_date"] = "does not match the bill"
    if total is not None and total != bill.total_fen:
        mismatched["total_fen"] = "does not match the bill"
    out = _found(deps, unit, found, "mismatch" if mismatched else "authentic", client,
                 mismatched or None)
    out["mismatched_fields"] = mismatched
    return out


def verify_batch(deps: Ports, unit: Unit, body: object, client: str) -> dict:
    """Up to 500 bills at once; each item succeeds or fails on its own."""
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 0 < len(items) <= MAX_BATCH:
        raise ValidationFailed(f"items 应为 1 到 {MAX_BATCH} 张票据",
                               {"items": f"a list of 1 to {MAX_BATCH} bills"})
    results = []
    for index, item in enumerate(items):
        try:
            results.append({"index": index, **verify_elements(deps, unit, item, client)})
        except RateLimited as exc:
            results.append({"index": index, "result": "rate_limited",
                            "error": {"code": exc.code, "message": exc.message}})
        except ServiceUnavailable:  # our stores failed, not this bill: the batch is sent again
            raise
        except DomainError as exc:
            results.append({"index": index, "result": "invalid", "error": {
                "code": exc.code, "message": exc.message,
                "fields": getattr(exc, "fields", {})}})
    counts: dict[str, int] = {}
    for r in results:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    return {"results": results, "summary": counts}


def _reveals_nothing(result: str, reason: str | None, checks: list[dict]) -> dict:
    """The answer about a file that does not prove itself: what failed, nothing of any bill."""
    out = {**NOT_FOUND, "result": result, "signatures": checks, "differences": []}
    if reason:
        out["reason"] = reason
    return out


def verify_file(deps: Ports, unit: Unit, data: bytes, client: str) -> dict:
    """By the bill file itself (XML, or PDF with the XML attached).

    A stored bill is revealed only when both signatures hold AND the check code in the file is
    the stored one: the file then proves its holder was given that bill. Otherwise the answer
    says what failed (``reason``: ``signature_invalid`` or ``check_code_mismatch``) and carries
    no check code, payer, items, status or count of any stored bill, so that a forged file
    naming a real bill's code and number learns nothing; nor does it count as a check of it.
    """
    if not data:
        raise ValidationFailed("请上传票据文件", {"file": "empty"})
    keys = {k.kid: k.public() for k in deps.keys.all()}
    report = deps.bill_files.verify(data, keys)
    if report.bill is None:
        # Not a bill, or refused before any signature was checked (size, encoding, shape).
        raise report.error or ValidationFailed("无法读取票据文件", {"file": "unreadable"})
    bill = report.bill.bill
    checks = report.checks_view()
    well_formed = is_bill_code(bill.bill_code) and is_bill_number(bill.bill_number)
    audit_id = bill.bill_code + bill.bill_number if well_formed else "malformed"
    if not report.ok:
        audit(deps, audit_id, unit, "verify_file", "tampered", client,
              {"reason": "signature_invalid", "failed": report.failed()})
        return _reveals_nothing("tampered", "signature_invalid", checks)
    found = deps.bills.lookup(bill.bill_code, bill.bill_number, reimbursement=True)
    record = found.record
    if record is None:
        audit(deps, audit_id, unit, "verify_file", "not_found", client)
        return _reveals_nothing("not_found", None, checks)
    if not hmac.compare_digest(record.bill.check_code.encode(), bill.check_code.encode()):
        # Signed by our keys yet not the stored bill's check code: never reveal the stored one.
        audit(deps, audit_id, unit, "verify_file", "tampered", client,
              {"reason": "check_code_mismatch"})
        return _reveals_nothing("tampered", "check_code_mismatch", checks)
    stored_tpl = record.bill.template_def
    if stored_tpl is not None and (bill.template_id, bill.template_version) == (
            stored_tpl.template_id, stored_tpl.version):  # a finance-defined template
        bill = bill_xml.with_template(report.bill, stored_tpl)
    ours, theirs = asdict(record.bill), asdict(bill)
    ours.pop("template_def"), theirs.pop("template_def")
    differences = sorted(k for k in ours if ours[k] != theirs.get(k))
    out = _found(deps, unit, found, "tampered" if differences else "authentic", client,
                 {"differences": differences} if differences else None)
    if differences:
        out["reason"] = "content_differs"
    return {**out, "signatures": checks, "differences": differences}
