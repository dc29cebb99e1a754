"""Fixtures of the fuzz tier: one application world on moto per test process, with the things a
fuzzed request can aim at (notes, a bill, open orders) made once, and a recorder of every AWS
write each request makes.

The world is built over the process's seeded AWS state (``tests/world.py``, ``ProcessWorlds``),
so the fuzz tier shares a test process with the functional tier. Once the targets are made,
their state is kept (``MotoSnapshot``) and given back before each fuzz test: a family starts
from the same stores whichever tests ran before it in the process.
"""

from __future__ import annotations

import shutil

import pytest

from tests.functional.conftest import process_world  # noqa: F401  (fixture)
from tests.world import ENV, PROCESS_WORLDS, MotoSnapshot, freeze_long_lived


@pytest.fixture(scope="session")
def _fuzz_world(tmp_path_factory, process_world):  # noqa: F811
    import app as application
    from chalicelib import bootstrap
    from devstack.gateway import ContractClient  # chalice.test.Client, as deployed
    from tests.fuzz.targets import make_targets
    from tests.fuzz.writes import WriteRecorder

    tmp = tmp_path_factory.mktemp("fuzz-world")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in ENV.items():
            mp.setenv(key, value)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        recorder = WriteRecorder.install(mp)
        world = PROCESS_WORLDS.fresh(tmp)
        with ContractClient(application.app) as client:
            targets = make_targets(world, client)
            recorder.adopt_live_clients()
            snapshot = MotoSnapshot()
            freeze_long_lived()  # the targets and their snapshot stay for the session
            yield (world, client, targets, recorder), snapshot, world.clock()
        bootstrap.use(None)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def fuzz_world(_fuzz_world):
    """``(world, client, targets, recorder)``, with the stores as the targets left them."""
    from chalicelib import bootstrap

    (world, client, targets, recorder), snapshot, now = _fuzz_world
    snapshot.restore()
    world.clock.now = now
    bootstrap.use(world.deps)
    yield world, client, targets, recorder
    bootstrap.use(None)


def pytest_sessionfinish(session):
    """In an xdist worker: hand this process's tally to the controller, which prints it."""
    from tests.fuzz.checks import TALLY

    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["fuzz_tally"] = {
            "sent": list(TALLY.sent.items()), "statuses": list(TALLY.statuses.items()),
            "server_errors": list(TALLY.server_errors.items())}


def pytest_testnodedown(node, error):
    """In the xdist controller: add up the workers' tallies."""
    from tests.fuzz.checks import TALLY

    tally = getattr(node, "workeroutput", {}).get("fuzz_tally", {})
    for name in ("sent", "statuses", "server_errors"):
        getattr(TALLY, name).update({(tuple(k) if isinstance(k, list) else k): n
                                     for k, n in tally.get(name, [])})


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
