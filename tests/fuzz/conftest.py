"""Fixtures of the fuzz tier: one application world on moto for the whole module, with the
things a fuzzed request can aim at (notes, a bill, open orders) made once, and a recorder of
every AWS write each request makes."""

from __future__ import annotations

import shutil

import pytest
from moto import mock_aws

from tests.world import ENV, build_world


@pytest.fixture(scope="session")
def fuzz_world(tmp_path_factory):
    import app as application
    from chalicelib import bootstrap
    from chalicelib.adapters import aws
    from devstack.gateway import ContractClient  # chalice.test.Client, as deployed
    from tests.fuzz.targets import make_targets
    from tests.fuzz.writes import WriteRecorder

    tmp = tmp_path_factory.mktemp("fuzz-world")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in ENV.items():
            mp.setenv(key, value)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        recorder = WriteRecorder.install(mp)
        with mock_aws():
            aws._client.cache_clear()
            world = build_world(tmp)
            with ContractClient(application.app) as client:
                targets = make_targets(world, client)
                recorder.adopt_live_clients()
                yield world, client, targets, recorder
            aws._client.cache_clear()
            bootstrap.use(None)
    shutil.rmtree(tmp, ignore_errors=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The figures of the closing note: requests sent by family, and 5xx seen."""
    from tests.fuzz.checks import TALLY

    if not TALLY.sent:
        return
    write = terminalreporter.write_line
    write(f"fuzz: {sum(TALLY.sent.values())} requests, "
          f"{sum(TALLY.server_errors.values())} answered 5xx")
    for family, count in sorted(TALLY.sent.items()):
        statuses = sorted((s, n) for (f, s), n in TALLY.statuses.items() if f == family)
        write(f"  {family:<22} {count:>6}  " + " ".join(f"{s}:{n}" for s, n in statuses))
