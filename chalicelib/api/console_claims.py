"""The console's second cookie, ``console_claims``: who a session says it is, so that a page may
start its reads together with the session's own read instead of after it.

A console page costs the session's read (one ``GetItem``) and then the page's reads; made one
after the other they are two round trips at least. At sign-in the browser also gets
``console_claims``: the session's person, role, unit, region, start and client address, sealed
(``domain/cursors``: HMAC-SHA256 under a key of its own, derived from the pepper) to the
session's id, the SHA-256 of its token. A page that opts in (``console_view(early=True)``, GET
pages that only read) runs with the claimed session *while* the session is read, and its answer
is sent only when the stored session is live and says exactly what the claims said; otherwise
it is thrown away and the request goes the ordinary way (no live session: back to the form; a
session that differs: the page made again with the stored one). So nothing is shown on the
claims' word alone.

Why a seal and not just the cookie's word: without the session read first, anyone could make
a page's reads run by sending any cookie. The seal needs our key and names one session's token,
so only a browser that signed in (and holds that very token) can have a page's reads start
early; a random or copied-to-another-token claim is refused and the page waits for the session
as before (one read, then nothing). What remains is a signed-out person's old cookie, whose
reads are made and discarded: bounded by what one page reads, as any signed-in request is.
"""

from __future__ import annotations

from typing import Any

from chalicelib.bootstrap import Deps
from chalicelib.domain.cursors import seal, unseal
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.people import Role, Session
from chalicelib.services.phones import derive_key

COOKIE = "console_claims"


def _key(deps: Deps) -> bytes:
    return derive_key(deps.payer_pepper, "console-claims")


def _scope(token_hash: str) -> str:
    return f"console-claims|{token_hash}"


def sealed(deps: Deps, session: Session) -> str:
    """The cookie's value for ``session``."""
    return seal({"u": session.username, "r": session.role.value, "c": session.unit_code,
                 "s": session.scope, "t": session.created_epoch, "a": session.client},
                _key(deps), _scope(session.token_hash))


def claimed(deps: Deps, value: str | None, token_hash: str) -> Session | None:
    """The session the cookie ``value`` claims for the token of ``token_hash``; None when there
    is no cookie or it was not sealed for that token (edited, forged, another session's)."""
    if not value or not token_hash:
        return None
    try:
        said: dict[str, Any] = unseal(value, _key(deps), _scope(token_hash))
        return Session(token_hash=token_hash, username=str(said["u"]), role=Role(said["r"]),
                       unit_code=None if said["c"] is None else str(said["c"]),
                       created_epoch=int(said["t"]), seen_epoch=int(said["t"]),
                       client=str(said["a"]), scope=str(said["s"]))
    except (ValidationFailed, KeyError, ValueError, TypeError):
        return None


def same(claim: Session, stored: Session) -> bool:
    """True when the stored session is the one claimed (all but when it was last seen)."""
    return ((claim.token_hash, claim.username, claim.role, claim.unit_code, claim.scope,
             claim.created_epoch, claim.client)
            == (stored.token_hash, stored.username, stored.role, stored.unit_code,
                stored.scope, stored.created_epoch, stored.client))
