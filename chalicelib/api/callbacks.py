"""Payment channels' notifications. Each answers exactly as its channel expects.

| channel   | recorded (or already recorded) | verification failed       | body too large        |
|-----------|--------------------------------|---------------------------|-----------------------|
| wechatpay | 204, no body                   | 401 {"code":"FAIL",…}     | 413 {"code":"FAIL",…} |
| alipay    | 200, body exactly ``success``  | 400, body ``fail``        | 413, body ``fail``    |
| alipay/gateway (messages) | 200 ``success`` (queued) | 400 ``fail``   | 413 ``fail``          |
| unionpay  | 200, body ``ok``               | 400, body ``fail``        | 413, body ``fail``    |
| bank      | 200 {"result": …}              | 401 contract error object | 413 contract error    |

A notification that fails verification changes nothing; it is kept only in the short-lived store
(``services/intake.py``), within per-client caps. A body over its channel's cap (16 KB; UnionPay
32 KB) is refused before any verification work. A temporary failure of our stores is a 5xx, so
the channel sends the notification again. A channel not in ``ENABLED_CHANNELS`` is refused first
(403, in that channel's failure form), before its body is read or anything is kept.

Each status comes from the one table (``api/errors.py``: ``status_of(exc, channel)``, where
Alipay's and UnionPay's 400 for a failed verification is written); a callback words only
its body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalice import Blueprint, Response

from chalicelib.api.errors import error_response, status_of
from chalicelib.api.http import client_address, raw_body
from chalicelib.bootstrap import deps
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    SignatureInvalid,
)
from chalicelib.domain.payments import PaymentOutcome
from chalicelib.services import merchant_rechecks
from chalicelib.services import payments as payments_service

log = logging.getLogger(__name__)
bp = Blueprint(__name__)
FORM = ["application/x-www-form-urlencoded"]
DISABLED = "支付渠道未启用"
RETRY = "暂时无法处理，请重试"


def _wechat_fail(status: int, message: str) -> Response:
    return Response(body={"code": "FAIL", "message": message}, status_code=status,
                    headers={"Content-Type": "application/json"})


def _text(status: int, body: str) -> Response:
    return Response(body=body.encode(), status_code=status,
                    headers={"Content-Type": "text/plain; charset=utf-8"})


def _disabled(channel: str) -> Forbidden | None:
    """The refusal (logged) when this deployment does not take ``channel``'s notifications."""
    if channel in deps().settings.enabled_channels:
        return None
    log.warning("%s notification refused: channel not enabled", channel)
    return Forbidden(DISABLED, code="channel_disabled")


def _order_unknown(outcome: PaymentOutcome) -> NotFound | None:
    if outcome is PaymentOutcome.ORDER_UNKNOWN:
        return NotFound("订单不存在", code="note_not_found")
    return None


def _record[T](channel: str, record: Callable[[], T]) -> T | Exception:
    """What the channel's notification came to: its outcome, or why it was not recorded (the
    status of the answer is ``status_of`` that exception; the callback words only the body)."""
    try:
        return record()
    except PayloadTooLarge as exc:
        log.warning("%s notification refused: %s", channel, exc.message)
        return exc
    except SignatureInvalid as exc:
        log.warning("%s notification rejected: %s", channel, exc.message)
        return exc
    except ServiceUnavailable as exc:  # AWS or a secret failed us: the channel sends it again
        log.error("%s notification not recorded: %s (%r)", channel, exc.message, exc.__cause__)
        return exc
    except DomainError as exc:
        log.warning("%s notification refused: %s", channel, exc.message)
        return exc
    except Exception as exc:
        log.exception("%s notification failed", channel)
        return exc


def _reason(exc: Exception) -> str:
    """What a WeChat failure answer says of ``exc``."""
    if isinstance(exc, SignatureInvalid):
        return f"签名验证失败: {exc.message}"
    if isinstance(exc, ServiceUnavailable):
        return RETRY
    if isinstance(exc, DomainError):
        return exc.message
    return "处理失败，请重试"


@bp.route("/callbacks/wechatpay", methods=["POST"], content_types=["application/json"])
def wechatpay() -> Response:
    refused = _disabled("wechatpay")
    if refused:
        return _wechat_fail(status_of(refused), DISABLED)
    request = bp.current_request
    outcome = _record("wechatpay", lambda: payments_service.record_wechatpay(
        deps(), raw_body(request), dict(request.headers), client_address(request)))
    failure = outcome if isinstance(outcome, Exception) else _order_unknown(outcome)
    if failure is not None:
        return _wechat_fail(status_of(failure, "wechatpay"), _reason(failure))
    return Response(body="", status_code=204)


def _form_channel(channel: str, record, ack: str) -> Response:
    refused = _disabled(channel)
    if refused:
        return _text(status_of(refused, channel), "fail")
    request = bp.current_request
    content_type = request.headers.get("content-type", "")
    outcome = _record(channel, lambda: record(deps(), raw_body(request), content_type,
                                              client_address(request)))
    failure = outcome if isinstance(outcome, Exception) else _order_unknown(outcome)
    if failure is not None:
        return _text(status_of(failure, channel), "fail")
    return _text(200, ack)


@bp.route("/callbacks/alipay", methods=["POST"], content_types=FORM)
def alipay() -> Response:
    return _form_channel("alipay", payments_service.record_alipay, "success")


@bp.route("/callbacks/alipay/gateway", methods=["POST"], content_types=FORM)
def alipay_gateway() -> Response:
    """Our Alipay application's gateway (应用网关, set in Alipay's console apart from the
    payments' notify_url): its open-platform messages. A merchant's cancelled authorisation
    is verified and its re-check queued (``services/merchant_rechecks``); answered as the
    payment notices are (``success``; ``fail`` with 400 unverified, 413 too large, 5xx when it
    could not be queued, so Alipay sends it again)."""
    refused = _disabled("alipay")
    if refused:
        return _text(status_of(refused, "alipay"), "fail")
    request = bp.current_request
    outcome = _record("alipay message", lambda: merchant_rechecks.record_alipay_message(
        deps(), raw_body(request), request.headers.get("content-type", ""),
        client_address(request)))
    if isinstance(outcome, Exception):
        return _text(status_of(outcome, "alipay"), "fail")
    return _text(200, "success")


@bp.route("/callbacks/unionpay", methods=["POST"], content_types=FORM)
def unionpay() -> Response:
    return _form_channel("unionpay", payments_service.record_unionpay, "ok")


@bp.route("/callbacks/bank", methods=["POST"], content_types=["application/json"])
def bank() -> Response:
    refused = _disabled("bank")
    if refused:
        return error_response(refused)
    request = bp.current_request
    outcome = _record("bank", lambda: payments_service.record_bank(
        deps(), raw_body(request), dict(request.headers), client_address(request)))
    if isinstance(outcome, Exception):
        if isinstance(outcome, DomainError) and not isinstance(outcome, ServiceUnavailable):
            return error_response(outcome)  # SignatureInvalid → 401, PayloadTooLarge → 413, …
        return error_response(ServiceUnavailable(RETRY))  # ours, whatever it was: sent again
    if outcome is PaymentOutcome.ORDER_UNKNOWN:
        return error_response(NotFound("缴款码不存在", code="note_not_found"))
    if outcome in (PaymentOutcome.AMOUNT_MISMATCH, PaymentOutcome.NOTE_NOT_PAYABLE):
        return error_response(Conflict(
            "缴款金额与缴款书不符，已登记为异常待退款" if outcome is PaymentOutcome.AMOUNT_MISMATCH
            else "该缴款书已缴款或不可缴款，已登记为异常待退款", code=outcome.value,
            details={"result": outcome.value}))
    return Response(body={"result": outcome.value}, status_code=200)
