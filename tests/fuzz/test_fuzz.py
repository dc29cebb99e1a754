"""The fuzz tier: over 10,000 generated requests against every route of the app, on moto.

Each family below sends its share of requests (``QUOTAS``); every request must be answered
below 500, every refusal in its route's shape, and every refused request must leave the stores
as they were (``checks.py`` lists the few writes a refusal may make, and why). The requests
are drawn from a seed per family (``driver.py``), the same requests in every process and every
run (the constants Hypothesis's provider mixes in are fixed to the product's). The clock is the
world's pinned one.

    .venv/bin/python -m pytest -q tests/fuzz
"""

from __future__ import annotations

import logging

import pytest

from tests.fuzz import routes
from tests.fuzz.checks import TALLY, LastErrors, check
from tests.fuzz.driver import draws

QUOTAS = {
    "collecting_notes": 1500,
    "collecting_bills": 900,
    "public": 1300,
    "pages": 1600,
    "reimbursing": 1300,
    "other": 600,
    "admin": 600,
    "callbacks_junk": 800,
    "callbacks_wechatpay": 500,
    "callbacks_alipay": 500,
    "callbacks_alipay_gateway": 200,
    "callbacks_unionpay": 500,
    "callbacks_bank": 500,
    "console": 600,
}


def run_family(family: str, fuzz_world) -> None:
    world, client, targets, recorder = fuzz_world
    errors = LastErrors()
    app_log = logging.getLogger()
    strategy = routes.family_strategy(family, targets)
    before = TALLY.sent[family]

    def fuzz(request: routes.Request) -> None:
        errors.records.clear()
        recorder.start()
        try:
            response = client.http.request(request.method, request.path,
                                           headers=dict(request.headers), body=request.body)
        finally:
            writes = recorder.stop()
        check(request, response, writes, world.deps, errors.records)

    app_log.addHandler(errors)
    try:
        for request in draws(strategy, QUOTAS[family], seed=f"fuzz {family}"):
            fuzz(request)
    finally:
        app_log.removeHandler(errors)
    assert TALLY.sent[family] - before == QUOTAS[family]


def test_every_route_has_a_strategy():
    import app as application

    served = {(path, method) for path, entry in application.app.routes.items()
              for method in entry}
    missing = sorted(served - set(routes.ROUTES))
    assert not missing, f"routes without a fuzz strategy (add one to tests/fuzz/routes.py): " \
                        f"{missing}"
    stale = sorted(set(routes.ROUTES) - served)
    assert not stale, f"strategies for routes the app no longer serves: {stale}"


def test_the_write_recorder_sees_a_note_being_created(fuzz_world):
    """The state check would pass vacuously if the hook missed pynamodb's clients."""
    import json

    from tests.functional.support import NOTE

    world, client, targets, recorder = fuzz_world
    recorder.start()
    r = client.http.post("/v1/notes", headers={"Authorization": f"Bearer {targets.keys['unit0']}",
                                               "Content-Type": "application/json"},
                         body=json.dumps(NOTE).encode())
    writes = recorder.stop()
    assert r.status_code == 201, r.body
    notes_table = world.deps.settings.table("NOTES")
    assert any(w.where == notes_table for w in writes), writes


@pytest.mark.parametrize("family", sorted(QUOTAS))
def test_hostile_requests_get_no_5xx_a_contract_refusal_and_change_nothing(family, fuzz_world):
    run_family(family, fuzz_world)
