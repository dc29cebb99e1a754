import shutil

import pytest
from moto import mock_aws

from tests.world import ENV, build_world


@pytest.fixture(scope="session")
def seed_cache(tmp_path_factory):
    """Keys and channel credentials made once per session (RSA key generation is slow)."""
    return tmp_path_factory.mktemp("seed-cache")


@pytest.fixture
def world(tmp_path, monkeypatch, seed_cache):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    cached = (seed_cache / "state" / "world.json").exists()
    if cached:
        for part in ("state", "keys"):
            shutil.copytree(seed_cache / part, tmp_path / part)
    with mock_aws():
        from chalicelib.adapters import aws

        aws._client.cache_clear()
        w = build_world(tmp_path)
        if not cached:
            for part in ("state", "keys"):
                shutil.copytree(tmp_path / part, seed_cache / part, dirs_exist_ok=True)
        yield w
        aws._client.cache_clear()
        from chalicelib import bootstrap

        bootstrap.use(None)


@pytest.fixture
def client(world):
    import app as application
    from devstack.gateway import ContractClient  # chalice.test.Client, as deployed

    with ContractClient(application.app) as c:
        yield c
