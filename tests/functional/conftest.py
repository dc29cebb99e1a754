import pytest
from moto import mock_aws

from tests.world import ENV, build_world


@pytest.fixture
def world(tmp_path, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        from chalicelib.adapters import aws

        aws._client.cache_clear()
        w = build_world(tmp_path)
        yield w
        aws._client.cache_clear()
        from chalicelib import bootstrap

        bootstrap.use(None)


@pytest.fixture
def client(world):
    from chalice.test import Client

    import app as application

    with Client(application.app) as c:
        yield c
