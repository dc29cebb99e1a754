"""Refusals nobody's view words: the framework's own, and malformed path parameters.

Chalice answers a wrong method (405), a wrong media type (415), a binary answer without a
matching Accept (400) and an escaped exception (500) with ``{"Code", "Message"}``; its local
gateway answers an unknown route 403 ``{"message": "Missing Authentication Token"}``. Here every
one of them gets the contract's shape ``{"error": {"code", "message", "fields"}}`` (status kept,
except the unknown route: 404), or, for people, a page:

- ``contract_refusals`` is HTTP middleware: it refuses malformed path parameters before any
  view (so before any credential or store is read), and rewrites the framework's answers;
- ``unknown_route`` words the local gateway's answer (``devstack.gateway``); in
  production API Gateway's gateway responses (``infra/resources.json``) say the same.

A request wants a page when its path is a page's (``PAGE_ROOTS``), or when a browser form posts
(``application/x-www-form-urlencoded`` with ``Accept: text/html``) outside ``/callbacks/``: every
error it gets, the views' own included, is then the ``message.html`` page with the same status.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.errors import STATUS, error_body, error_response
from chalicelib.domain.codes import (
    is_bill_code,
    is_bill_number,
    is_out_trade_no,
    payment_code_problem,
)
from chalicelib.domain.errors import NotFound, ValidationFailed

bp = Blueprint(__name__)

PAGE_ROOTS = frozenset({"pay", "bills", "b", "verify", "reimburse", "lookup", "my-bills",
                        "console"})
MAX_PATH_PARAMETER = 64  # characters; every identifier we route on is far shorter

# Path parameters the contract defines: (is it well formed?, why not, in Chinese).
_PATH_RULES: dict[str, Callable[[str], str | None]] = {
    "payment_code": payment_code_problem,
    "bill_code": lambda v: None if is_bill_code(v) else "票据代码应为8位数字",
    "bill_number": lambda v: None if is_bill_number(v) else "票据号码应为10位数字",
    "out_trade_no": lambda v: None if is_out_trade_no(v) else "订单号应为8-32位字母或数字",
}
_FRAMEWORK = {  # Chalice's error code → ours, and what to tell the caller
    "MethodNotAllowedError": ("method_not_allowed", "该地址不支持此请求方法"),
    "UnsupportedMediaType": ("unsupported_media_type", "不支持该请求体类型（Content-Type）"),
    "BadRequest": ("not_acceptable", "请求的 Accept 与响应类型不符"),
    "BadRequestError": ("bad_request", "请求格式不正确"),
    "InternalServerError": ("internal_error", "服务暂时不可用，请稍后重试"),
}
_HEADINGS = {400: "信息有误", 401: "需要登录", 403: "无权访问", 404: "未找到", 405: "不支持的操作",
             409: "无法办理", 413: "内容过大", 415: "不支持的提交方式", 429: "操作过于频繁"}


def path_problem(name: str, value: str) -> str | None:
    """Why the path parameter ``name`` cannot be ``value`` (Chinese), or None if it can."""
    if not value:
        return "路径参数不能为空"
    if len(value) > MAX_PATH_PARAMETER:
        return f"路径参数过长（最多{MAX_PATH_PARAMETER}个字符）"
    rule = _PATH_RULES.get(name)
    return rule(value) if rule else None


def wants_page(path: str, method: str, headers: Mapping[str, str]) -> bool:
    """Whether a person's browser is asking (see the module docstring)."""
    path = path.split("?", 1)[0]
    if path.split("/")[1:2] and path.split("/")[1] in PAGE_ROOTS:
        return True
    lowered = {k.lower(): v for k, v in headers.items()}
    return (method == "POST" and not path.startswith("/callbacks/")
            and lowered.get("content-type", "").startswith("application/x-www-form-urlencoded")
            and "text/html" in lowered.get("accept", ""))


def page(status: int, message: str, headers: Mapping[str, Any] | None = None) -> Response:
    """The ``message.html`` page for a refusal, with ``headers`` (Allow, Retry-After…) kept."""
    from chalicelib.api.pages import render

    response = render("message.html", status, heading=_HEADINGS.get(status, "无法处理"),
                      message=message)
    for name, value in (headers or {}).items():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


def unknown_route(path: str, method: str, headers: Mapping[str, str]) -> tuple[int, dict, bytes]:
    """(status, headers, body) for a path no route serves: 404, as a page or the contract's."""
    status = STATUS[NotFound]
    if wants_page(path, method, headers):
        answer = page(status, "页面不存在，请核对地址")
        return status, dict(answer.headers), answer.body
    body = error_body("route_not_found", "接口不存在，请核对地址和请求方法",
                      {"path": "no such route"})
    return status, {"Content-Type": "application/json"}, json.dumps(
        body, ensure_ascii=False).encode("utf-8")


def _path_refusal(request: Any) -> Response | None:
    for name, value in (request.uri_params or {}).items():
        problem = path_problem(name, value or "")
        if problem:
            code = "invalid_payment_code" if name == "payment_code" else "invalid_path_parameter"
            return error_response(ValidationFailed(problem, {name: problem}, code=code))
    return None


def _reworded(response: Response) -> Response:
    """The framework's ``{"Code", "Message"}`` answer in the contract's shape, status kept."""
    code, message = _FRAMEWORK.get(str(response.body.get("Code")), ("bad_request", "请求无法处理"))
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    fields = {"request": str(response.body.get("Message", ""))[:200]}
    return Response(body=error_body(code, message, fields), status_code=response.status_code,
                    headers={**headers, "Content-Type": "application/json"})


def _is_framework_body(body: object) -> bool:
    return isinstance(body, dict) and set(body) == {"Code", "Message"}


def _error_message(response: Response) -> str:
    body = response.body
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return "请求无法处理"
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("message")) if isinstance(error, dict) else "请求无法处理"


@bp.middleware("http")
def contract_refusals(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Malformed path parameters refused first; every framework answer in the contract's shape;
    every error a page when a person's browser asked."""
    if event is None:
        return get_response(event)
    response = _path_refusal(event)
    if response is None:
        response = get_response(event)
        if response.status_code >= 400 and _is_framework_body(response.body):
            response = _reworded(response)
    # The route's own path (resourcePath): requestContext.path carries the stage in production.
    if response.status_code >= 400 and wants_page(event.path, event.method, dict(event.headers)):
        content_type = {k.lower(): str(v) for k, v in response.headers.items()}.get(
            "content-type", "application/json")
        if not content_type.startswith("text/html"):
            response = page(response.status_code, _error_message(response), response.headers)
    return response
