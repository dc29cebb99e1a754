"""CSRF protection for the page forms that change state (sign in, sign out): a signed
double-submit token.

The token is ``nonce.mac`` (HMAC-SHA256 of the nonce under a key of its own, derived from the
payer pepper). It travels twice: in an HttpOnly, SameSite=Strict cookie scoped to the pages'
path, and in a hidden form field the page renders. A post is accepted only when both are
present, equal (constant time) and the MAC holds. Another site can make a browser post a form,
but can neither read the cookie nor set a valid one (the MAC needs our key), so it cannot fill
in the field.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from chalice import Response
from chalice.app import Request

from chalicelib.api.http import header
from chalicelib.bootstrap import Deps
from chalicelib.domain.errors import Forbidden
from chalicelib.services.phones import derive_key

COOKIE = "csrf_token"
FIELD = "csrf_token"
_MAX = 200


def _mac(deps: Deps, nonce: str) -> str:
    digest = hmac.new(derive_key(deps.payer_pepper, "csrf"), nonce.encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _valid(deps: Deps, token: str | None) -> bool:
    if not token or len(token) > _MAX or token.count(".") != 1:
        return False
    nonce, mac = token.split(".")
    return bool(nonce) and hmac.compare_digest(mac.encode(), _mac(deps, nonce).encode())


def _cookie_token(request: Request) -> str | None:
    for part in (header(request, "cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def new_token(deps: Deps) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_mac(deps, nonce)}"


def token_for(deps: Deps, request: Request) -> tuple[str, bool]:
    """The token to render into the page's forms, and whether its cookie must be (re)set."""
    token = _cookie_token(request)
    if _valid(deps, token):
        return str(token), False
    return new_token(deps), True


def set_cookie(deps: Deps, token: str, path: str) -> str:
    secure = "; Secure" if deps.settings.public_base_url.startswith("https://") else ""
    return f"{COOKIE}={token}; Path={path}; HttpOnly; SameSite=Strict{secure}"


def accepted(deps: Deps, request: Request, form_token: str) -> bool:
    """True when the form's token equals the cookie's and is ours."""
    cookie = _cookie_token(request)
    if not _valid(deps, cookie) or not form_token:
        return False
    return hmac.compare_digest(str(cookie).encode(), form_token.encode())


def refused() -> Response:
    """The page a post without a valid token gets: 403, nothing changed."""
    from chalicelib.api.errors import status_of
    from chalicelib.api.pages import render

    stale = Forbidden("为保护您的安全，请返回并刷新页面后重新提交。", code="csrf_token_invalid")
    return render("message.html", status_of(stale), heading="页面已失效", message=stale.message)
