"""PayerIdentity: FakePayerIdentity against ``adapters/wechat_oauth.WechatOAuth`` talking to the
simulator's WeChat (``devstack/sim_weixin.py``, in-process), which checks the authorise link as
WeChat does (the official account's appid, the parameters in their documented order,
snsapi_base, a state of letters and digits, the redirect on our host) and answers the code
exchange as ``sns/oauth2/access_token`` does."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.domain.errors import ServiceUnavailable
from tests.contracts.conftest import demo_state

CHANNELS_URL = "http://channels.test"
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
RETURN = "http://testserver/pay/34010026000000000017/wechat"


@dataclass
class Identity:
    port: Any
    visit: Any  # (authorise link, user) → the query WeChat sends the browser back with
    go_down: Any


def served(state: dict[str, Any]) -> Identity:
    from chalicelib.adapters.wechat_oauth import WechatOAuth, WechatOAuthConfig
    from devstack.channel_servers import ChannelServers, InProcessTransport
    from devstack.seed import Seeded, stack_document, wechat_oauth_secret

    stack = stack_document(Seeded(state), "http://testserver", "moto", NOW)
    servers = ChannelServers(stack, CHANNELS_URL, clock=lambda: NOW,
                             deliver=lambda url, body, headers: 0)
    port = WechatOAuth(WechatOAuthConfig.from_secret(wechat_oauth_secret(state)),
                       f"{CHANNELS_URL}/weixin", f"{CHANNELS_URL}/weixin",
                       InProcessTransport(servers))

    def visit(link: str, user: str) -> dict[str, str]:
        url = urlsplit(link.split("#", 1)[0])
        reply = servers.handle("GET", f"{url.path}?{url.query}", {"Cookie": f"sim_wx_user={user}"},
                               b"")
        assert reply.status == 302, reply.body[:300]
        back = urlsplit(reply.headers["Location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == RETURN
        return {k: v[0] for k, v in parse_qs(back.query).items()}

    return Identity(port, visit, lambda: servers.failing.__setitem__("weixin", 503))


def faked() -> Identity:
    from tests.fakes_channels import FakePayerIdentity

    fake = FakePayerIdentity()

    def visit(link: str, user: str) -> dict[str, str]:
        query = parse_qs(urlsplit(link.split("#", 1)[0]).query)
        assert query["redirect_uri"] == [RETURN]
        code = secrets.token_hex(8)
        fake.codes[code] = f"o-{user}"
        return {"code": code, "state": query["state"][0]}

    return Identity(fake, visit, lambda: setattr(fake, "down", True))


@pytest.fixture(scope="session")
def channel_state(demo_state_dir: Path) -> dict[str, Any]:
    return demo_state(demo_state_dir)


@pytest.fixture(params=["fake", "served"])
def identity(request: pytest.FixtureRequest) -> Identity:
    return faked() if request.param == "fake" else served(request.getfixturevalue("channel_state"))


class TestPayerIdentity:
    def test_the_authorise_link_sends_the_browser_back_with_a_code_and_the_same_state(
            self, identity):
        back = identity.visit(identity.port.authorize_url(RETURN, "ab12CD34"), "alice")
        assert back["state"] == "ab12CD34" and back["code"]

    def test_a_code_gives_the_payers_openid_the_same_for_the_same_payer(self, identity):
        first = identity.port.openid(identity.visit(identity.port.authorize_url(RETURN, "s1"),
                                                    "alice")["code"])
        again = identity.port.openid(identity.visit(identity.port.authorize_url(RETURN, "s2"),
                                                    "alice")["code"])
        other = identity.port.openid(identity.visit(identity.port.authorize_url(RETURN, "s3"),
                                                    "bob")["code"])
        assert first and first == again and other and other != first

    def test_a_code_is_good_once(self, identity):
        code = identity.visit(identity.port.authorize_url(RETURN, "s1"), "alice")["code"]
        assert identity.port.openid(code)
        assert identity.port.openid(code) is None

    def test_a_code_wechat_never_gave_is_refused(self, identity):
        assert identity.port.openid("0" * 32) is None

    def test_wechat_down_is_service_unavailable(self, identity):
        code = identity.visit(identity.port.authorize_url(RETURN, "s1"), "alice")["code"]
        identity.go_down()
        with pytest.raises(ServiceUnavailable):
            identity.port.openid(code)
