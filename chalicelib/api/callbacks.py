"""Payment channels' notifications. Each answers exactly as its channel expects.

| channel   | recorded (or already recorded) | verification failed       | body too large        |
|-----------|--------------------------------|---------------------------|-----------------------|
| wechatpay | 204, no body                   | 401 {"code":"FAIL",…}     | 413 {"code":"FAIL",…} |
| alipay    | 200, body exactly ``success``  | 400, body ``fail``        | 413, body ``fail``    |
| unionpay  | 200, body ``ok``               | 400, body ``fail``        | 413, body ``fail``    |
| bank      | 200 {"result": …}              | 401 contract error object | 413 contract error    |

A notification that fails verification changes nothing; it is kept only in the short-lived store
(``services/intake.py``), within per-client caps. A body over its channel's cap (16 KB; UnionPay
32 KB) is refused before any verification work. A temporary failure of our stores is a 5xx, so
the channel sends the notification again. A channel not in ``ENABLED_CHANNELS`` is refused first
(403, in that channel's failure form), before its body is read or anything is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalice import Blueprint, Response

from chalicelib.adapters.aws import is_unavailable
from chalicelib.api.errors import error_response
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
from chalicelib.services import payments as payments_service

log = logging.getLogger(__name__)
bp = Blueprint(__name__)
FORM = ["application/x-www-form-urlencoded"]


def _wechat_fail(status: int, message: str) -> Response:
    return Response(body={"code": "FAIL", "message": message}, status_code=status,
                    headers={"Content-Type": "application/json"})


def _text(status: int, body: str) -> Response:
    return Response(body=body.encode(), status_code=status,
                    headers={"Content-Type": "text/plain; charset=utf-8"})


DISABLED = "支付渠道未启用"


def _disabled(channel: str) -> bool:
    """True (and logged) when this deployment does not take ``channel``'s notifications."""
    if channel in deps().settings.enabled_channels:
        return False
    log.warning("%s notification refused: channel not enabled", channel)
    return True


def _handle(channel: str, record: Callable[[], PaymentOutcome],
            fail: Callable[[int, str], Response]) -> PaymentOutcome | Response:
    try:
        return record()
    except PayloadTooLarge as exc:
        log.warning("%s notification refused: %s", channel, exc.message)
        return fail(413, exc.message)
    except SignatureInvalid as exc:
        log.warning("%s notification rejected: %s", channel, exc.message)
        return fail(401, f"签名验证失败: {exc.message}")
    except ServiceUnavailable as exc:
        log.error("%s notification not recorded: %s", channel, exc.message)
        return fail(503, "暂时无法处理，请重试")
    except DomainError as exc:
        log.warning("%s notification refused: %s", channel, exc.message)
        return fail(400, exc.message)
    except Exception as exc:
        if is_unavailable(exc):  # AWS failed us: the channel sends it again
            log.warning("%s notification not recorded, AWS unavailable: %s", channel, exc)
            return fail(503, "暂时无法处理，请重试")
        log.exception("%s notification failed", channel)
        return fail(500, "处理失败，请重试")


@bp.route("/callbacks/wechatpay", methods=["POST"], content_types=["application/json"])
def wechatpay() -> Response:
    if _disabled("wechatpay"):
        return _wechat_fail(403, DISABLED)
    request = bp.current_request
    outcome = _handle("wechatpay", lambda: payments_service.record_wechatpay(
        deps(), raw_body(request), dict(request.headers), client_address(request)),
        _wechat_fail)
    if isinstance(outcome, Response):
        return outcome
    if outcome is PaymentOutcome.ORDER_UNKNOWN:
        return _wechat_fail(404, "订单不存在")
    return Response(body="", status_code=204)


def _form_channel(channel: str, record, ack: str) -> Response:
    if _disabled(channel):
        return _text(403, "fail")
    request = bp.current_request
    content_type = request.headers.get("content-type", "")
    outcome = _handle(channel, lambda: record(deps(), raw_body(request), content_type,
                                              client_address(request)),
                      lambda status, _message: _text(status if status == 413 or status >= 500
                                                     else 400, "fail"))
    if isinstance(outcome, Response):
        return outcome
    if outcome is PaymentOutcome.ORDER_UNKNOWN:
        return _text(404, "fail")
    return _text(200, ack)


@bp.route("/callbacks/alipay", methods=["POST"], content_types=FORM)
def alipay() -> Response:
    return _form_channel("alipay", payments_service.record_alipay, "success")


@bp.route("/callbacks/unionpay", methods=["POST"], content_types=FORM)
def unionpay() -> Response:
    return _form_channel("unionpay", payments_service.record_unionpay, "ok")


@bp.route("/callbacks/bank", methods=["POST"], content_types=["application/json"])
def bank() -> Response:
    if _disabled("bank"):
        return error_response(Forbidden(DISABLED, code="channel_disabled"))
    request = bp.current_request
    try:
        outcome = payments_service.record_bank(deps(), raw_body(request), dict(request.headers),
                                               client_address(request))
    except DomainError as exc:  # SignatureInvalid → 401, PayloadTooLarge → 413, …
        log.warning("bank notification refused: %s", exc.message)
        return error_response(exc)
    except Exception as exc:
        if is_unavailable(exc):  # AWS failed us: the bank sends it again
            log.warning("bank notification not recorded, AWS unavailable: %s", exc)
        else:
            log.exception("bank notification failed")
        return error_response(ServiceUnavailable("暂时无法处理，请重试"))
    if outcome is PaymentOutcome.ORDER_UNKNOWN:
        return error_response(NotFound("缴款码不存在", code="note_not_found"))
    if outcome in (PaymentOutcome.AMOUNT_MISMATCH, PaymentOutcome.NOTE_NOT_PAYABLE):
        return error_response(Conflict(
            "缴款金额与缴款书不符，已登记为异常待退款" if outcome is PaymentOutcome.AMOUNT_MISMATCH
            else "该缴款书已缴款或不可缴款，已登记为异常待退款", code=outcome.value,
            details={"result": outcome.value}))
    return Response(body={"result": outcome.value}, status_code=200)
