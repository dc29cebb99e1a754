"""Reconciliation routes (清算对账, CONTRACT v2 ``/v1/admin/reconciliations``), finance key only.

A channel's statement covers the platform's whole merchant account, not one region's units, so
only a key of the province (or everywhere) may see, run or resolve a day's reconciliation; a
city's or county's key is 403. A run fetches four statements and may query channels, so runs
are limited (``RUNS_PER_HOUR`` a key) and make at most ``API_QUERIES`` active queries each (the
schedule's runs may make more).
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from chalice import Blueprint

from chalicelib.api.errors import handles_errors
from chalicelib.api.http import View, finance_only, json_body, raw_body
from chalicelib.bootstrap import deps
from chalicelib.domain.credentials import FinanceKey
from chalicelib.domain.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.domain.payments import CHANNELS
from chalicelib.domain.regions import level
from chalicelib.services import reconciliation
from chalicelib.services.limits import limit

bp = Blueprint(__name__)
RUNS_PER_HOUR = 30
MAX_LINE_ID = 100
API_QUERIES = 40  # in API Gateway's 29 s: the rest waits, open, for the next run


def checked_path(view: View) -> View:
    """The path's date (and channel, line) checked before anything else, the credential too:
    a malformed path is a 400 (an unknown channel 404) that costs no store a call."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        reconciliation.check_date(kwargs.get("date", ""))
        if "channel" in kwargs and kwargs["channel"] not in CHANNELS:
            raise NotFound("没有这个渠道", code="channel_not_found")
        if "line_id" in kwargs and not 0 < len(kwargs["line_id"]) <= MAX_LINE_ID:
            raise ValidationFailed("差异编号不正确", {"line_id": f"1-{MAX_LINE_ID} characters"})
        return view(*args, **kwargs)
    return wrapper


def _channels(request: Any) -> tuple[str, ...] | None:
    if not raw_body(request).strip():
        return None
    body = json_body(request)
    if not isinstance(body, dict):
        raise ValidationFailed("请求体应为 JSON 对象", {"body": "must be a JSON object"})
    chosen = body.get("channels")
    if chosen is None:
        return None
    if not isinstance(chosen, list) or not chosen or not all(c in CHANNELS for c in chosen):
        raise ValidationFailed("渠道不正确", {"channels": f"a list of {', '.join(CHANNELS)}"})
    return tuple(dict.fromkeys(chosen))


def _whole_account(finance: FinanceKey) -> None:
    if level(finance.scope) not in ("all", "province"):
        raise Forbidden("清算对账按渠道商户号进行，仅省级财政密钥可查看和处理",
                        code="scope_too_narrow")


@bp.route("/v1/admin/reconciliations/{date}", methods=["GET"])
@handles_errors
@checked_path
@finance_only(bp)
def get_reconciliation(finance: FinanceKey, date: str) -> dict:
    """The day's reconciliation of every channel: figures, status and discrepancies."""
    _whole_account(finance)
    return reconciliation.view(deps(), date)


@bp.route("/v1/admin/reconciliations/{date}", methods=["POST"])
@handles_errors
@checked_path
@finance_only(bp)
def run_reconciliation(finance: FinanceKey, date: str) -> dict:
    """Reconcile the day (again): what was matched or resolved stays as it is. An optional
    body ``{"channels": [...]}`` runs only those channels."""
    _whole_account(finance)
    channels = _channels(bp.current_request)
    limit(deps(), f"reconcile#{finance.key_id}", RUNS_PER_HOUR, timedelta(hours=1),
          "对账运行过于频繁，请稍后再试")
    reconciliation.reconcile_day(deps(), date, channels, max_queries=API_QUERIES)
    return reconciliation.view(deps(), date)


@bp.route("/v1/admin/reconciliations/{date}/{channel}/{line_id}/resolution",
          methods=["POST"])
@handles_errors
@checked_path
@finance_only(bp)
def resolve_discrepancy(finance: FinanceKey, date: str, channel: str, line_id: str) -> dict:
    """Resolve one discrepancy ``{resolution}``: kept with who and when; once (then 409)."""
    _whole_account(finance)
    body = json_body(bp.current_request)
    if not isinstance(body, dict):
        raise ValidationFailed("请求体应为 JSON 对象", {"body": "must be a JSON object"})
    line = reconciliation.resolve(deps(), date, channel, line_id, body.get("resolution"),
                                  finance.actor)
    return {"date": date, "channel": channel, "discrepancy": line.view()}
