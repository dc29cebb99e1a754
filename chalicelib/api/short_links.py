"""Short links texted to payers: ``/b/<bill code><bill number><check code>`` → the bill's page.

A provider template's link variable is at most 35 characters (``services/sms_templates.py``),
too short for ``bills/<code>/<number>?check_code=<check code>``. The short path carries the
same three values, 24 characters, and redirects to the bill's page, which checks them; a
malformed one is a 404 page and costs no lookup.
"""

from __future__ import annotations

import re

from chalice import Blueprint, Response

from chalicelib.api.errors import handles_errors, status_of
from chalicelib.api.pages import render
from chalicelib.domain.errors import NotFound

bp = Blueprint(__name__)
_REF = re.compile(r"^([0-9]{8})([0-9]{10})([0-9A-Za-z]{6})$")


@bp.route("/b/{ref}", methods=["GET"])
@handles_errors
def bill_short_link(ref: str) -> Response:
    match = _REF.match(ref)
    if match is None:
        missing = NotFound("链接不完整或有误，请核对短信中的票据代码、号码和校验码后在票据查验页查询。")
        return render("message.html", status_of(missing), heading="未找到",
                      message=missing.message)
    code, number, check = match.groups()
    return Response(body="", status_code=302, headers={
        "Location": f"/bills/{code}/{number}?check_code={check}", "Cache-Control": "no-store"})
