import pytest

from tests.world import ENV, PROCESS_WORLDS


@pytest.fixture(scope="session")
def process_world(tmp_path_factory):
    """The seeded AWS state this test process starts every world from (``ProcessWorlds``)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in ENV.items():
            mp.setenv(key, value)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        try:
            yield PROCESS_WORLDS.start(tmp_path_factory.mktemp("process-world"))
        finally:
            PROCESS_WORLDS.stop()


@pytest.fixture
def world(tmp_path, monkeypatch, process_world):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    yield PROCESS_WORLDS.fresh(tmp_path)
    from chalicelib import bootstrap

    bootstrap.use(None)


@pytest.fixture
def client(world):
    import app as application
    from devstack.gateway import ContractClient  # chalice.test.Client, as deployed

    with ContractClient(application.app) as c:
        yield c


@pytest.fixture
def simulator_over_http(world, tmp_path):
    """The channel simulator served over HTTP on the world's clock, for independent clients
    (wechatpayv3, wechatpy) that speak HTTP themselves: (base URL, its ChannelServers)."""
    import json

    from devstack.simulator import serve

    path = tmp_path / "stack.json"
    path.write_text(json.dumps(world.stack))
    server = serve(path, "127.0.0.1", 0)
    server.channels.clock = world.clock
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.channels
    finally:
        server.shutdown()
        server.server_close()
