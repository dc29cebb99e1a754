"""CSRF protection for the page forms that change state (sign in, sign out, every console
form): a signed double-submit token, bound to the session it was made for.

The token is ``nonce.mac``: HMAC-SHA256 of the nonce and a *binding* under a key of its own,
derived from the payer pepper. The console binds each token to the session's id (the SHA-256
of its token, which only the server and the session's own cookie lead to); the sign-in form
and the payer pages, which have no session, bind to ``""``. The token travels twice: in an
HttpOnly, SameSite=Strict cookie scoped to the pages' path, and in a hidden form field the page
renders. A post is accepted only when both are present, equal (constant time) and the MAC holds
for the binding of the session the post comes with. Another site can make a browser post a
form, but can neither read the cookie nor set a valid one (the MAC needs our key), so it cannot
fill in the field; and someone who can plant a cookie (a sibling subdomain) cannot reuse a
token of their own session in a victim's: it is refused in every other session.
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


def _mac(deps: Deps, nonce: str, binding: str) -> str:
    digest = hmac.new(derive_key(deps.payer_pepper, "csrf"), f"{nonce}|{binding}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _valid(deps: Deps, token: str | None, binding: str) -> bool:
    if not token or len(token) > _MAX or token.count(".") != 1:
        return False
    nonce, mac = token.split(".")
    return bool(nonce) and hmac.compare_digest(mac.encode(),
                                               _mac(deps, nonce, binding).encode())


def _cookie_token(request: Request) -> str | None:
    for part in (header(request, "cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def new_token(deps: Deps, binding: str = "") -> str:
    """A fresh token for the session ``binding`` (its id; ``""`` outside a session)."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_mac(deps, nonce, binding)}"


def token_for(deps: Deps, request: Request, binding: str = "") -> tuple[str, bool]:
    """The token to render into the page's forms, and whether its cookie must be (re)set
    (none yet, or one made for another session)."""
    token = _cookie_token(request)
    if _valid(deps, token, binding):
        return str(token), False
    return new_token(deps, binding), True


def set_cookie(deps: Deps, token: str, path: str) -> str:
    secure = "; Secure" if deps.settings.public_base_url.startswith("https://") else ""
    return f"{COOKIE}={token}; Path={path}; HttpOnly; SameSite=Strict{secure}"


def accepted(deps: Deps, request: Request, form_token: str, binding: str = "") -> bool:
    """True when the form's token equals the cookie's and is ours, made for ``binding`` (the
    session the post comes with; ``""`` outside one)."""
    cookie = _cookie_token(request)
    if not _valid(deps, cookie, binding) or not form_token:
        return False
    return hmac.compare_digest(str(cookie).encode(), form_token.encode())


def refused() -> Response:
    """The page a post without a valid token gets: 403, nothing changed."""
    from chalicelib.api.errors import status_of
    from chalicelib.api.pages import render

    stale = Forbidden("为保护您的安全，请返回并刷新页面后重新提交。", code="csrf_token_invalid")
    return render("message.html", status_of(stale), heading="页面已失效", message=stale.message)
