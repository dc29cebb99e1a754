"""The verification pages: public 查验 (no credential, no JavaScript) and the reimbursing unit's tool.

``/verify`` answers a form (GET query or POST form-urlencoded) with 真票 or 查无此票 and nothing
personal; every lookup is counted per client and per bill per day (429 page with Retry-After).
``/reimburse`` is a static page whose script calls our JSON API with the unit's key, which stays
in the tab's sessionStorage and travels only in the Authorization header.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors, status_of
from chalicelib.api.http import client_address, raw_body
from chalicelib.api.pages import BILL_STATUS, render
from chalicelib.bootstrap import deps
from chalicelib.domain.china_time import CHINA_TZ
from chalicelib.domain.errors import RateLimited, ValidationFailed
from chalicelib.services import public_verification as service

bp = Blueprint(__name__)

FORM_FIELDS = ("bill_code", "bill_number", "check_code", "issue_date", "total", "qr")
_BASE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
             "base-uri 'none'; frame-ancestors 'none'")


def _form() -> dict[str, str]:
    request = bp.current_request
    params: Any = request.query_params or {}
    values = {name: str(params.get(name) or "") for name in FORM_FIELDS}
    if request.method == "POST":
        form = parse_qs(raw_body(request).decode("utf-8", "replace"))
        values = {name: (form.get(name) or [""])[0] for name in FORM_FIELDS}
    return {k: v[:300] for k, v in values.items()}


def _page(status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> Response:
    response = render("verify.html", status, status_labels=BILL_STATUS,
                      labels=service.FIELD_LABELS, per_client=service.LOOKUPS_PER_CLIENT_PER_DAY,
                      per_bill=service.LOOKUPS_PER_BILL_PER_DAY, **context)
    response.headers["Content-Security-Policy"] = _BASE_CSP + "; form-action 'self'"
    response.headers.update(headers or {})
    return response


@bp.route("/verify", methods=["GET"])
@handles_errors
def verify_page() -> Response:
    return _answer(_form())


@bp.route("/verify", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@handles_errors
def verify_form() -> Response:
    return _answer(_form())


def _answer(form: dict[str, str]) -> Response:
    if not any(form.values()):
        return _page(form=form)
    d = deps()
    try:
        query = service.parse_query(form)
        answer = service.verify_publicly(d, query, client_address(bp.current_request))
    except ValidationFailed as exc:
        return _page(status_of(exc), form=form, problems=exc.fields)
    except RateLimited as exc:
        retry_at = (d.clock() + timedelta(seconds=exc.retry_after)).astimezone(CHINA_TZ)
        return _page(status_of(exc), {"Retry-After": str(exc.retry_after)}, form=form, limited=exc.message,
                     retry_at=f"{retry_at:%Y-%m-%d %H:%M}")
    return _page(form=form, answer=answer)


@bp.route("/reimburse", methods=["GET"])
@handles_errors
def reimburse_page() -> Response:
    nonce = secrets.token_urlsafe(16)
    response = render("reimburse.html", nonce=nonce, status_labels=BILL_STATUS)
    response.headers["Content-Security-Policy"] = (
        f"{_BASE_CSP}; script-src 'nonce-{nonce}'; connect-src 'self'; form-action 'none'")
    return response
