"""A payer's session inside WeChat: the silent OAuth that learns their openid, and where the
openid is then kept (only there).

The pay page, opened inside WeChat for an unpaid note, has no openid yet: ``begin`` makes a
random ``state``, puts it in the session with the note's code and sends the browser to WeChat's
authorise link (``snsapi_base``). WeChat sends it back to ``/pay/{code}/wechat?code=…&state=…``;
``finish`` accepts that only for the browser that began it (its session holds that state, for
that note, not expired: the OAuth ``state`` is the CSRF token, compared in constant time), then
asks WeChat for the openid and keeps it in the session. A JSAPI order reads it back
(``openid``). What failed is said by ``Failure`` for the page to word; the page then offers
what still works.

The session is one cookie, encrypted and authenticated (AES-256-GCM under a key derived from
the payer pepper; a new random nonce each time), so the openid is readable by no one but us,
and exists nowhere else: never in a store, a log line or a URL. HttpOnly, SameSite=Lax (WeChat's
redirect back is a top-level GET from another site: Lax sends the cookie there, and never with
another site's POST), Secure on HTTPS, Path=/ (the JSAPI order is posted to ``/v1/public/…``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.services import limits
from chalicelib.services.links import wechat_oauth_return_url
from chalicelib.services.phones import derive_key
from chalicelib.services.ports import Ports

COOKIE = "wx_session"
PENDING_SECONDS = 10 * 60  # from the redirect to WeChat until it sends the payer back
SESSION_SECONDS = 30 * 60  # an identified payer: long enough to pay, then it is asked again
MAX_COOKIE = 1024  # characters; ours are ~150
EXCHANGES_PER_CLIENT_PER_HOUR = 30  # codes we take to WeChat per client address
_AAD = b"fiscal-bills/wechat-session/v1"
_SEALED = re.compile(r"[A-Za-z0-9_-]+")  # what seal() writes (base64's decoder skips the rest)


class Failure(StrEnum):
    """Why a payer inside WeChat has no openid; the pay page words each one."""

    REFUSED = "refused"  # WeChat sent the payer back without a code
    EXPIRED = "expired"  # no pending session for this state (too late, another browser, forged)
    FAILED = "failed"  # WeChat refused the code (used, expired) or gave no usable openid
    UNAVAILABLE = "unavailable"  # WeChat (or our official account's secret) cannot be reached


@dataclass(frozen=True)
class Session:
    state: str = ""  # pending: the OAuth state sent to WeChat
    payment_code: str = ""  # pending: the note whose page began it
    openid: str = ""  # identified
    expires_epoch: int = 0


def _key(deps: Ports) -> bytes:
    return derive_key(deps.payer_pepper, "wechat-session")


def seal(deps: Ports, session: Session) -> str:
    """The cookie value carrying ``session``: urlsafe base64 of nonce ‖ AES-GCM ciphertext."""
    payload = json.dumps({"s": session.state, "p": session.payment_code, "o": session.openid,
                          "e": session.expires_epoch}, separators=(",", ":")).encode()
    nonce = secrets.token_bytes(12)
    sealed = nonce + AESGCM(_key(deps)).encrypt(nonce, payload, _AAD)
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")


def read(deps: Ports, cookie: str | None) -> Session | None:
    """The session in ``cookie`` if we sealed it and it has not expired; else None."""
    if not cookie or len(cookie) > MAX_COOKIE or not _SEALED.fullmatch(cookie):
        return None
    try:
        raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        plain = AESGCM(_key(deps)).decrypt(raw[:12], raw[12:], _AAD)
        data = json.loads(plain)
        session = Session(str(data["s"]), str(data["p"]), str(data["o"]), int(data["e"]))
    except (binascii.Error, ValueError, InvalidTag, KeyError, TypeError):
        return None
    now = int(deps.clock().timestamp())
    if not now < session.expires_epoch <= now + SESSION_SECONDS:
        return None
    return session


def openid(deps: Ports, cookie: str | None) -> str | None:
    """The payer's openid, if their session has one."""
    session = read(deps, cookie)
    return session.openid if session is not None and session.openid else None


def begin(deps: Ports, payment_code: str) -> tuple[str, str]:
    """Start the silent OAuth for the note's page: (WeChat's authorise link, the new cookie).
    ``ServiceUnavailable`` when the official account is not configured."""
    state = secrets.token_hex(16)
    link = deps.wechat_oauth.authorize_url(wechat_oauth_return_url(deps, payment_code), state)
    now = int(deps.clock().timestamp())
    return link, seal(deps, Session(state=state, payment_code=payment_code,
                                    expires_epoch=now + PENDING_SECONDS))


def finish(deps: Ports, cookie: str | None, payment_code: str, code: str | None, state: str,
           client: str) -> str | Failure:
    """WeChat sent the payer back: the identified session's cookie, or why not.

    A state that is not this browser's pending one spends the client's guessing budget (a
    forged or replayed return); every code taken to WeChat counts against the client's hourly
    exchanges, so nobody can make us call WeChat without bound."""
    guesser = limits.Guesser.client(client)
    limits.guard(deps, guesser)
    pending = read(deps, cookie)
    if pending is None or not pending.state or not hmac.compare_digest(
            pending.state.encode(), state.encode()) or pending.payment_code != payment_code:
        limits.count_miss(deps, guesser)
        return Failure.EXPIRED
    if not code:
        return Failure.REFUSED
    limits.limit(deps, f"wx-oauth#{limits.client_key(client)}#"
                       f"{int(deps.clock().timestamp()) // 3600}",
                 EXCHANGES_PER_CLIENT_PER_HOUR, timedelta(hours=1), limits.GUESSING_MESSAGE)
    try:
        found = deps.wechat_oauth.openid(code)
    except ServiceUnavailable:
        return Failure.UNAVAILABLE
    if found is None:
        return Failure.FAILED
    now = int(deps.clock().timestamp())
    return seal(deps, Session(openid=found, expires_epoch=now + SESSION_SECONDS))


def cookie_header(deps: Ports, value: str, max_age: int) -> str:
    """The ``Set-Cookie`` of the session (``max_age`` 0 clears it)."""
    secure = "; Secure" if deps.settings.public_base_url.startswith("https://") else ""
    return f"{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
