"""WeChat's web authorisation: the authorise link and the code exchange exactly as the Official
Accounts Platform documents them (网页授权), and the payer's session that keeps the openid
(``services/wechat_session``): bound to the browser that began it, sealed, never logged."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.adapters.channel_http import HttpReply
from chalicelib.adapters.wechat_oauth import WechatOAuth, WechatOAuthConfig
from chalicelib.domain.errors import RateLimited, ServiceUnavailable
from chalicelib.services import wechat_session
from chalicelib.services.wechat_session import Failure

APPID, SECRET = "wx8888888888888888", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
CODE = "34010026000000000017"
CLIENT = "203.0.113.9"


class WeChat:
    """A transport answering the code exchange with ``answer`` (status, body)."""

    def __init__(self, status: int = 200, body: object = None) -> None:
        self.status, self.body, self.urls = status, body, []

    def __call__(self, method, url, headers, body):
        self.urls.append((method, url))
        raw = self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
        return HttpReply(self.status, {"content-type": "application/json"}, raw)


def oauth(transport: WeChat) -> WechatOAuth:
    return WechatOAuth(WechatOAuthConfig(APPID, SECRET), "https://open.weixin.qq.com",
                       "https://api.weixin.qq.com", transport)


def test_the_authorise_link_is_wechats_with_its_parameters_in_the_documented_order():
    link = oauth(WeChat()).authorize_url("https://pj.example.gov.cn/pay/34010026000000000017/"
                                         "wechat", "ab12CD34")
    assert link == ("https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx8888888888888888"
                    "&redirect_uri=https%3A%2F%2Fpj.example.gov.cn%2Fpay%2F34010026000000000017"
                    "%2Fwechat&response_type=code&scope=snsapi_base&state=ab12CD34"
                    "#wechat_redirect")


@pytest.mark.parametrize("state", ["", "a" * 129, "has space", "中文", "a-b"])
def test_a_state_wechat_would_not_carry_back_is_refused(state):
    with pytest.raises(ValueError):
        oauth(WeChat()).authorize_url("https://x/cb", state)


def test_the_code_is_exchanged_at_sns_oauth2_access_token_for_the_openid():
    wechat = WeChat(body={"access_token": "ACCESS_TOKEN", "expires_in": 7200,
                          "refresh_token": "REFRESH_TOKEN", "openid": OPENID,
                          "scope": "snsapi_base"})
    assert oauth(wechat).openid("061Fx0ll2dKy9e4b6Rml2Xh4Kq4Fx0lW") == OPENID
    [(method, url)] = wechat.urls
    parts = urlsplit(url)
    assert (method, parts.scheme, parts.netloc, parts.path) == (
        "GET", "https", "api.weixin.qq.com", "/sns/oauth2/access_token")
    assert parse_qs(parts.query) == {"appid": [APPID], "secret": [SECRET],
                                     "code": ["061Fx0ll2dKy9e4b6Rml2Xh4Kq4Fx0lW"],
                                     "grant_type": ["authorization_code"]}


@pytest.mark.parametrize("answer", [
    {"errcode": 40029, "errmsg": "invalid code"},
    {"errcode": 40163, "errmsg": "code been used"},
    {"access_token": "T", "openid": OPENID, "scope": "snsapi_base", "is_snapshotuser": 1},
    {"access_token": "T", "scope": "snsapi_base"},
    {"access_token": "T", "openid": "<script>", "scope": "snsapi_base"},
], ids=["invalid-code", "code-used", "snapshot-page-user", "no-openid", "not-an-openid"])
def test_a_code_wechat_refuses_or_an_unusable_openid_is_no_openid(answer):
    assert oauth(WeChat(body=answer)).openid("c") is None


@pytest.mark.parametrize(("status", "body"), [
    (500, {"errcode": -1}), (200, {"errcode": -1, "errmsg": "system error"}),
    (200, b"<html>busy</html>"), (200, ["not", "an", "object"]), (429, {}),
], ids=["http-500", "system-busy", "not-json", "not-an-object", "http-429"])
def test_wechat_unable_to_answer_is_service_unavailable_without_the_secret_in_the_message(
        status, body):
    with pytest.raises(ServiceUnavailable) as failed:
        oauth(WeChat(status, body)).openid("c")
    assert SECRET not in str(failed.value)


def test_the_official_accounts_secret_never_shows_in_repr():
    assert SECRET not in repr(oauth(WeChat())) and SECRET not in repr(WechatOAuthConfig(APPID,
                                                                                        SECRET))


# ---- the payer's session -------------------------------------------------------------------

def began(deps) -> tuple[str, str]:
    """The page began the OAuth: (the state WeChat will carry back, the pending cookie)."""
    link, cookie = wechat_session.begin(deps, CODE)
    state = parse_qs(urlsplit(link.split("#")[0]).query)["state"][0]
    return state, cookie


def test_the_payer_comes_back_with_a_code_and_the_session_then_holds_the_openid(deps):
    state, pending = began(deps)
    deps.wechat_oauth.codes["c1"] = OPENID
    sealed = wechat_session.finish(deps, pending, CODE, "c1", state, CLIENT)
    assert isinstance(sealed, str)
    assert wechat_session.openid(deps, sealed) == OPENID
    assert OPENID not in sealed and wechat_session.openid(deps, pending) is None


def test_the_authorise_link_goes_back_to_this_notes_page(deps):
    link, _ = wechat_session.begin(deps, CODE)
    assert parse_qs(urlsplit(link.split("#")[0]).query)["redirect_uri"] == [
        f"http://testserver/pay/{CODE}/wechat"]


def test_another_browsers_or_a_forged_state_is_refused_before_wechat_is_asked(deps):
    state, pending = began(deps)
    _, other = began(deps)
    deps.wechat_oauth.codes["c1"] = OPENID
    assert wechat_session.finish(deps, other, CODE, "c1", state, CLIENT) is Failure.EXPIRED
    assert wechat_session.finish(deps, None, CODE, "c1", state, CLIENT) is Failure.EXPIRED
    assert wechat_session.finish(deps, pending, CODE, "c1", "f" * 32, CLIENT) is Failure.EXPIRED
    assert wechat_session.finish(deps, pending, "34010026000000000025", "c1", state, CLIENT) \
        is Failure.EXPIRED
    assert deps.wechat_oauth.asked == []


def test_forged_returns_spend_the_clients_guessing_budget(deps):
    state, pending = began(deps)
    for _ in range(30):
        assert wechat_session.finish(deps, pending, CODE, "c", "f" * 32, CLIENT) \
            is Failure.EXPIRED
    deps.wechat_oauth.codes["c1"] = OPENID
    with pytest.raises(RateLimited):
        wechat_session.finish(deps, pending, CODE, "c1", state, CLIENT)
    assert isinstance(wechat_session.finish(deps, pending, CODE, "c1", state, "198.51.100.7"),
                      str)


def test_a_pending_session_older_than_ten_minutes_is_expired(deps, clock):
    state, pending = began(deps)
    clock.advance(minutes=10, seconds=1)
    deps.wechat_oauth.codes["c1"] = OPENID
    assert wechat_session.finish(deps, pending, CODE, "c1", state, CLIENT) is Failure.EXPIRED


def test_a_return_without_a_code_is_a_refusal_and_wechat_is_not_asked(deps):
    state, pending = began(deps)
    assert wechat_session.finish(deps, pending, CODE, None, state, CLIENT) is Failure.REFUSED
    assert deps.wechat_oauth.asked == []


def test_a_code_wechat_refuses_fails_and_wechat_down_is_unavailable(deps):
    state, pending = began(deps)
    assert wechat_session.finish(deps, pending, CODE, "unknown", state, CLIENT) is Failure.FAILED
    deps.wechat_oauth.down = True
    assert wechat_session.finish(deps, pending, CODE, "c1", state, CLIENT) is Failure.UNAVAILABLE


def test_codes_taken_to_wechat_are_bounded_per_client_and_hour(deps, clock):
    state, pending = began(deps)
    for _ in range(wechat_session.EXCHANGES_PER_CLIENT_PER_HOUR):
        wechat_session.finish(deps, pending, CODE, "unknown", state, CLIENT)
    with pytest.raises(RateLimited):
        wechat_session.finish(deps, pending, CODE, "unknown", state, CLIENT)
    assert len(deps.wechat_oauth.asked) == wechat_session.EXCHANGES_PER_CLIENT_PER_HOUR
    clock.advance(hours=1)
    state, pending = began(deps)
    assert wechat_session.finish(deps, pending, CODE, "unknown", state, CLIENT) is Failure.FAILED


def test_an_identified_session_lasts_thirty_minutes(deps, clock):
    state, pending = began(deps)
    deps.wechat_oauth.codes["c1"] = OPENID
    sealed = wechat_session.finish(deps, pending, CODE, "c1", state, CLIENT)
    clock.advance(minutes=29)
    assert wechat_session.openid(deps, sealed) == OPENID
    clock.advance(minutes=1, seconds=1)
    assert wechat_session.openid(deps, sealed) is None


@pytest.mark.parametrize("tamper", [
    lambda c: c[:-2] + ("AA" if c[-2:] != "AA" else "BB"), lambda c: c[:20],
    lambda c: "x" * 2000, lambda c: c + "!!", lambda c: "",
], ids=["flipped", "truncated", "huge", "not-base64", "empty"])
def test_a_session_cookie_we_did_not_seal_holds_nothing(deps, tamper):
    state, pending = began(deps)
    deps.wechat_oauth.codes["c1"] = OPENID
    sealed = wechat_session.finish(deps, pending, CODE, "c1", state, CLIENT)
    assert isinstance(sealed, str)
    assert wechat_session.openid(deps, tamper(sealed)) is None


def test_a_session_sealed_under_another_pepper_holds_nothing(deps, tmp_path, seeded_dir):
    from tests.fakes import fake_deps

    other = fake_deps(tmp_path / "other", seed_from=seeded_dir, payer_pepper="another-" * 6)
    sealed = wechat_session.seal(other, wechat_session.Session(openid=OPENID, expires_epoch=int(
        other.clock().timestamp()) + 60))
    assert wechat_session.openid(other, sealed) == OPENID
    assert wechat_session.openid(deps, sealed) is None


def test_the_openid_is_never_logged_on_the_way(deps, caplog):
    caplog.set_level(logging.DEBUG)
    state, pending = began(deps)
    deps.wechat_oauth.codes["c1"] = OPENID
    sealed = wechat_session.finish(deps, pending, CODE, "c1", state, CLIENT)
    wechat_session.openid(deps, sealed)
    assert OPENID not in caplog.text


def test_the_cookie_is_http_only_lax_and_secure_on_https(deps):
    from dataclasses import replace

    header = wechat_session.cookie_header(deps, "v", 60)
    assert header == "wx_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
    deps.settings = replace(deps.settings, public_base_url="https://pj.example.gov.cn")
    assert wechat_session.cookie_header(deps, "v", 60).endswith("; Secure")
