"""Texting payers: one message per event, exactly once, and never a phone number in the logs.

Events (``sms_templates``): ``note_created`` (only when the collecting unit asks for it),
``bill_issued`` and ``bill_reversed`` (the red bill's text), ``refund``, and ``login_code``
(sent at once by the "my bills" page, never queued: the code must not sit in a queue).

Each event's message (``sms_templates``) carries both the full text (Amazon SNS) and the approved
template with its parameters (Alibaba Cloud SMS, in the mainland regions); ``SMS_PROVIDER``
chooses the provider. Every queued text is an SQS job, claimed (``sending``) by a conditional
write in the SMS log under one key per event (``bill#<bill_id>``, ``note_created#<payment_code>``,
``refund#<refund_id>``) before it goes out, and marked ``sent`` on the same small row after: the
bill row is not written (bills' claims once were kept on it; a claim found there is still
honoured, so a text sent before that change is not sent again). A job that runs twice finds the claim and sends nothing; a failed send
releases the claim so the retry can send, and the retry waits 30 s, 60 s, 120 s, 240 s before
the dead-letter queue takes the job. A message the provider refuses for good (``SmsRejected``:
a number it will not text, parameters it does not accept) is recorded ``rejected`` and never
sent again. A claim older than five minutes (a crash between send and
mark) is taken over: at-least-once wins over at-most-once only after that pause. Before a retry
or a takeover sends, a provider that can tell (Alibaba Cloud: ``QuerySendDetails`` by our
``OutId``) is asked whether the earlier attempt went out after all; if so it is not sent again. Every outcome
(provider, message id, sent/failed/rejected/skipped) is written to the SMS log.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.masking import mask_phone
from chalicelib.domain.notes import NoteStatus
from chalicelib.domain.records import SmsDelivery
from chalicelib.domain.sms import SmsMessage, SmsRejected
from chalicelib.services import sms_templates as templates
from chalicelib.services.links import bill_url
from chalicelib.services.phones import cn_mobile, scrub
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 30
SMS_CLAIM_TIMEOUT = timedelta(minutes=5)  # as the SMS log's (and the bill rows' of old)
LAST_RETRY_SECONDS = 900


def bill_message(deps: Ports, bill, link: str) -> SmsMessage:
    sender = deps.settings.sms_sender
    if bill.is_red:
        return templates.bill_reversed(sender, bill, link)
    return templates.bill_issued(sender, bill, link)


def send_bill_sms(deps: Ports, bill_code: str, bill_number: str) -> str:
    """Text the payer once; returns what happened: sent | already | rejected | no_phone |
    invalid_phone | missing."""
    record = deps.bills.get(bill_code, bill_number)
    if record is None:
        log.warning("sms job for unknown bill %s-%s", bill_code, bill_number)
        return "missing"
    if not record.payer_phone:
        return "no_phone"
    bill = record.bill
    event = "bill_reversed" if bill.is_red else "bill_issued"
    log_id = f"bill#{bill.bill_id}"
    phone = cn_mobile(record.payer_phone)
    if phone is None:
        _note_delivery(deps, log_id, event, record.payer_phone, "skipped",
                       error="not a mainland mobile number")
        return "invalid_phone"
    # Bills' claims were once written on the bill row itself: one left there is honoured.
    legacy = record.sms_status
    if legacy in ("sent", "rejected"):
        return "already"
    on_the_bill = None
    if legacy == "sending":
        claimed = record.sms_claimed_at or ""
        if claimed >= (deps.clock() - SMS_CLAIM_TIMEOUT).isoformat():
            raise _in_flight(log_id)
        on_the_bill = SmsDelivery(log_id, claimed_at=record.sms_claimed_at)
    message = bill_message(deps, bill, bill_url(deps, bill.bill_code, bill.bill_number,
                                                bill.check_code))
    return _send_once(deps, log_id, event, phone, message, on_the_bill)


def send_event(deps: Ports, job: dict[str, Any]) -> str:
    """Send the text of a queued event once; returns sent | already | rejected | what stopped
    it."""
    event = job.get("event")
    if event == "note_created":
        prepared = _note_created(deps, job)
    elif event == "refund":
        prepared = _refund(deps, job)
    else:
        log.error("sms job for unknown event %r dropped", event)
        return "unknown_event"
    if isinstance(prepared, str):
        return prepared
    event_id, raw_phone, message = prepared
    phone = cn_mobile(raw_phone)
    if phone is None:
        _note_delivery(deps, event_id, str(event), raw_phone, "skipped",
                       error="not a mainland mobile number")
        return "invalid_phone"
    return _send_once(deps, event_id, str(event), phone, message)


def _send_once(deps: Ports, event_id: str, event: str, phone: str, message: SmsMessage,
               on_the_bill: SmsDelivery | None = None) -> str:
    """Claim ``event_id`` in the SMS log, send, record the outcome on the same row. The claim
    answers what a failed or abandoned attempt left in the log (else ``on_the_bill``, a claim
    of old kept on the bill row), which a provider that can tell is asked about."""
    claim = deps.sms_log.claim(event_id, event, mask_phone(phone) or "", deps.clock())
    if not claim.taken:
        held = deps.sms_log.get(event_id)
        if held is not None and held.status == "sending":
            raise _in_flight(event_id)
        return "already"
    earlier = claim.earlier or on_the_bill
    try:
        message_id = (_sent_before(deps, phone, event_id, earlier)
                      or deps.sms.send(phone, replace(message, reference=event_id)))
    except SmsRejected as exc:
        _quietly(deps.sms_log.finish, event_id, "rejected", deps.clock(),
                 provider=_provider(deps), error=scrub(str(exc)))
        log.error("sms %s to %s rejected: %s", event_id, mask_phone(phone), scrub(str(exc)))
        return "rejected"
    except Exception as exc:  # noqa: BLE001 - raised again, without the number
        _quietly(deps.sms_log.finish, event_id, "failed", deps.clock(), error=scrub(str(exc)))
        raise _failure(event_id, phone, exc) from None
    _quietly(deps.sms_log.finish, event_id, "sent", deps.clock(),
             provider=_provider(deps), message_id=message_id)
    log.info("sms %s sent to %s", event_id, mask_phone(phone))
    return "sent"


def send_now(deps: Ports, event: str, event_id: str, phone: str, message: SmsMessage) -> str:
    """Send a text at once, outside the queue (login codes); returns the message id."""
    try:
        message_id = deps.sms.send(phone, replace(message, reference=event_id))
    except Exception as exc:  # noqa: BLE001 - raised again, without the number
        _note_delivery(deps, event_id, event, phone, "failed", error=scrub(str(exc)))
        raise _failure(event_id, phone, exc) from None
    _note_delivery(deps, event_id, event, phone, "sent", message_id=message_id)
    return message_id


def run_sms_job(deps: Ports, body: dict[str, Any]) -> str:
    """One message of the SMS queue: a bill's text (``{bill_code, bill_number}``, with or
    without ``event``) or another event's (``{"event": ..., ...}``)."""
    if body.get("event") in (None, "bill_issued", "bill_reversed"):
        return send_bill_sms(deps, body["bill_code"], body["bill_number"])
    return send_event(deps, body)


def handle_sms_record(deps: Ports, record: Any) -> str:
    """Run one SQS record; when it fails, hide it for a growing delay before SQS retries."""
    try:
        return run_sms_job(deps, json.loads(record.body))
    except Exception:
        attributes = record.to_dict().get("attributes") or {}
        received = int(attributes.get("ApproximateReceiveCount") or 1)
        deps.jobs.retry_sms_later(record.receipt_handle, retry_delay(received))
        raise


def _in_flight(event_id: str) -> ServiceUnavailable:
    """Another attempt holds the claim: it may be sending now, or it died (its claim written,
    its answer lost). Not "already": that would end the job and, if the other attempt died, no
    text would ever go out. The job fails; SQS delivers it again, and once the claim is stale
    (five minutes) the retry takes it over, or finds the text sent."""
    return ServiceUnavailable(f"sms {event_id}: another attempt holds the claim; retry later")


def retry_delay(received: int) -> int:
    """30 s after the first failure, doubling, at most 15 minutes."""
    return min(LAST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, received - 1))


def request_note_created_sms(deps: Ports, note) -> bool:
    """Queue the note's text to its payer (the unit asked for it); False without a phone."""
    if not note.payer.phone:
        return False
    deps.jobs.sms_event("note_created", {"payment_code": note.payment_code})
    return True


def request_refund_sms(deps: Ports, payment_code: str, refund_id: str, amount_fen: int) -> None:
    """Queue the refund's text; ``refund_id`` makes it one text per refund."""
    deps.jobs.sms_event("refund", {"payment_code": payment_code, "refund_id": refund_id,
                                   "amount_fen": amount_fen})


def _note_created(deps: Ports, job: dict[str, Any]) -> tuple[str, str, SmsMessage] | str:
    note = deps.notes.get(str(job.get("payment_code")))
    if note is None:
        return "missing"
    if not note.payer.phone:
        return "no_phone"
    if note.status_at(deps.clock()) is not NoteStatus.UNPAID:
        return "stale"  # paid or cancelled before the text went out: nothing to ask for
    unit = deps.units.get(note.unit_code)
    message = templates.note_created(deps.settings.sms_sender, deps.settings.public_base_url,
                                     note, unit.name if unit else note.unit_code)
    return f"note_created#{note.payment_code}", note.payer.phone, message


def _refund(deps: Ports, job: dict[str, Any]) -> tuple[str, str, SmsMessage] | str:
    note = deps.notes.get(str(job.get("payment_code")))
    if note is None:
        return "missing"
    if not note.payer.phone:
        return "no_phone"
    unit = deps.units.get(note.unit_code)
    message = templates.refund(deps.settings.sms_sender, note,
                               unit.name if unit else note.unit_code, int(job["amount_fen"]))
    return f"refund#{job['refund_id']}", note.payer.phone, message


def _sent_before(deps: Ports, phone: str, event_id: str,
                 earlier: SmsDelivery | None) -> str | None:
    """On a retry, whether the earlier attempt's text went out after all: the provider's id
    for it, or None. Only providers that can tell (``find_sent``: Alibaba Cloud's
    QuerySendDetails) are asked; SNS cannot, so its retries send again."""
    find = getattr(deps.sms, "find_sent", None)
    if find is None or earlier is None:
        return None
    now = deps.clock()
    stamp = earlier.claimed_at or earlier.updated_at
    when = datetime.fromisoformat(stamp) if stamp else now - timedelta(days=1)
    days = sorted({when.astimezone(CHINA_TZ).date(), now.astimezone(CHINA_TZ).date()})
    found = find(phone, event_id, days)
    if found:
        log.warning("sms %s to %s had gone out on an earlier attempt; not sent again",
                    event_id, mask_phone(phone))
    return found


def _provider(deps: Ports) -> str:
    return str(getattr(deps.sms, "name", "sms"))


def _note_delivery(deps: Ports, event_id: str, event: str, phone: str, status: str, *,
                   message_id: str | None = None, error: str | None = None) -> None:
    _quietly(deps.sms_log.record, event_id, event, mask_phone(phone) or "", status,
             deps.clock(), provider=_provider(deps), message_id=message_id, error=error)


def _quietly(write, *args: Any, **kwargs: Any) -> None:
    """Write a delivery record; its failure is logged, never worth a second text."""
    try:
        write(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the status record is not the message
        log.warning("sms log write failed: %s", scrub(str(exc)))


def _failure(event_id: str, phone: str, exc: Exception) -> ServiceUnavailable:
    """Log the failed send with the number masked; the error to raise carries no number."""
    reason = scrub(str(exc))
    log.warning("sms %s to %s failed (%s); released for retry", event_id, mask_phone(phone),
                reason)
    return ServiceUnavailable(f"sms {event_id} failed: {reason}", code="sms_unavailable")
