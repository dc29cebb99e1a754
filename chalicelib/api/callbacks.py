"""Payment channels' notifications. Each answers exactly as its channel expects."""

from __future__ import annotations

import logging

from chalice import Blueprint, Response

from chalicelib.api.http import raw_body
from chalicelib.bootstrap import deps
from chalicelib.domain.errors import DomainError, ServiceUnavailable, SignatureInvalid
from chalicelib.domain.payments import PaymentOutcome
from chalicelib.services import payments as payments_service

log = logging.getLogger(__name__)
bp = Blueprint(__name__)


def _wechat_fail(status: int, message: str) -> Response:
    return Response(body={"code": "FAIL", "message": message}, status_code=status,
                    headers={"Content-Type": "application/json"})


@bp.route("/callbacks/wechatpay", methods=["POST"], content_types=["application/json"])
def wechatpay() -> Response:
    request = bp.current_request
    try:
        outcome = payments_service.record_wechatpay(deps(), raw_body(request),
                                                    dict(request.headers))
    except SignatureInvalid as exc:
        log.warning("wechatpay notification rejected: %s", exc.message)
        return _wechat_fail(401, f"签名验证失败: {exc.message}")
    except ServiceUnavailable as exc:
        log.error("wechatpay notification not recorded: %s", exc.message)
        return _wechat_fail(503, "暂时无法处理，请重试")
    except DomainError as exc:
        log.warning("wechatpay notification refused: %s", exc.message)
        return _wechat_fail(400, exc.message)
    except Exception:
        log.exception("wechatpay notification failed")
        return _wechat_fail(500, "处理失败，请重试")
    if outcome is PaymentOutcome.ORDER_UNKNOWN:
        return _wechat_fail(404, "订单不存在")
    return Response(body="", status_code=204)
