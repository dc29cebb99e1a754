"""Every route learns who is calling from one decorator: ``api.http.authenticated`` for a
unit's routes, ``api.http.finance_only`` for the finance department's (``/v1/admin``).

The routes under ``/v1/`` that are not public each check the caller's API key before anything
else; the answers to a missing, unknown or wrong kind of key are the contract's.
"""

from __future__ import annotations

from chalicelib.api.http import COLLECTING_OR_FINANCE, FINANCE
from chalicelib.domain.units import UnitKind
from tests.functional.support import assert_error
from tests.functional.test_bad_input import VALID_PATH, _filled


def _unit_routes() -> list[tuple[str, str, object]]:
    import app as application

    return sorted((path, method, entry) for path, methods in application.app.routes.items()
                  for method, entry in methods.items()
                  if path.startswith("/v1/") and not path.startswith("/v1/public/"))


def _kind(entry) -> UnitKind | str | None:
    return getattr(entry.view_function, "caller_kind", None)


def test_every_non_public_v1_route_names_its_caller_through_the_decorator():
    routes = _unit_routes()
    assert len([r for r in routes if not r[0].startswith("/v1/admin/")]) == 17
    undecorated = [f"{method} {path}" for path, method, entry in routes if _kind(entry) is None]
    assert undecorated == []
    reimbursing = {path for path, _, entry in routes if _kind(entry) is UnitKind.REIMBURSING}
    assert reimbursing == {"/v1/verifications", "/v1/verifications/batch",
                           "/v1/verifications/file", "/v1/reimbursements",
                           "/v1/reimbursements/{bill_code}/{bill_number}"}
    finance = {path for path, _, entry in routes if _kind(entry) == FINANCE}
    assert finance == {path for path, _, _ in routes if path.startswith("/v1/admin/")}
    assert finance  # the finance department's routes exist, each behind its decorator
    both = {f"{method} {path}" for path, method, entry in routes
            if _kind(entry) == COLLECTING_OR_FINANCE}
    assert both == {"GET /v1/notes"}


def test_every_unit_route_checks_the_credential_before_reading_the_body(world, client):
    """A body that is not even JSON: the credential's answer comes first, on every route."""
    collecting, reimbursing = world.api_key(0), world.api_key(0, kind="reimbursers")
    finance = world.stack["finance"]["api_key"]
    for path, method, entry in _unit_routes():
        url = _filled(path, **VALID_PATH)
        content_type = (entry.content_types or ["application/json"])[0]
        wrongs = {UnitKind.REIMBURSING: (collecting, finance), UnitKind.COLLECTING:
                  (reimbursing, finance), FINANCE: (collecting, reimbursing),
                  COLLECTING_OR_FINANCE: (reimbursing,)}[_kind(entry)]

        def call(authorization: str | None, url=url, method=method, ct=content_type):
            headers = {"Content-Type": ct}
            if authorization is not None:
                headers["Authorization"] = authorization
            return client.http.request(method, url, headers=headers, body=b"{not json")

        missing = call(None)
        assert assert_error(missing, 401)["code"] == "missing_credential", (method, path)
        assert missing.headers.get("WWW-Authenticate") == "Bearer"
        assert assert_error(call("Bearer ck_never_issued"), 401)["code"] == "unknown_credential"
        for wrong in wrongs:
            expected = "not_a_finance_key" if _kind(entry) == FINANCE else "wrong_kind_of_unit"
            assert assert_error(call(f"Bearer {wrong}"), 403)["code"] == expected, (method, path)
