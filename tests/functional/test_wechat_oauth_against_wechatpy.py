"""WeChat's web authorisation (网页授权, silent ``snsapi_base``) cross-checked against an
independent client of it, ``wechatpy`` (MIT, its own ``WeChatOAuth``): the link we send the
payer's browser to is wechatpy's byte for byte, and wechatpy's own code exchange, over HTTP
against the simulator's WeChat, finds the same openid ours finds for the same WeChat user, and
refuses the same codes."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import pytest
from wechatpy.exceptions import WeChatOAuthException  # type: ignore[import-untyped]
from wechatpy.oauth import WeChatOAuth  # type: ignore[import-untyped]

from chalicelib.adapters.channel_http import UrllibTransport
from chalicelib.adapters.wechat_oauth import WechatOAuth, WechatOAuthConfig
from devstack.sim_weixin import openid_of

REDIRECT = "http://testserver/pay/34010026000000000017/wechat"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def code_for(base: str, user: str, appid: str) -> str:
    """What WeChat hands the browser of ``user`` back: a single-use code (the simulator)."""
    link = WeChatOAuth(appid, "unused", REDIRECT, state="abc123").authorize_url
    request = urllib.request.Request(link.replace("https://open.weixin.qq.com/connect/",
                                                  f"{base}/weixin/connect/"),
                                     headers={"Cookie": f"sim_wx_user={user}"})
    with pytest.raises(urllib.error.HTTPError) as redirect:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    assert redirect.value.code == 302
    location = urllib.parse.urlsplit(redirect.value.headers["Location"])
    query = dict(urllib.parse.parse_qsl(location.query))
    assert location.path == urllib.parse.urlsplit(REDIRECT).path and query["state"] == "abc123"
    return query["code"]


def theirs(base: str, oa: dict) -> WeChatOAuth:
    client = WeChatOAuth(oa["appid"], oa["secret"], REDIRECT, scope="snsapi_base")
    client.API_BASE_URL = f"{base}/weixin/"
    return client


def ours(base: str, oa: dict) -> WechatOAuth:
    return WechatOAuth(WechatOAuthConfig(oa["appid"], oa["secret"]), f"{base}/weixin",
                       f"{base}/weixin", UrllibTransport(10))


def test_our_authorise_link_is_wechatpys_byte_for_byte(world):
    oa = world.stack["channels"]["wechat_oauth"]
    for state in ("a", "0123456789abcdefABCDEF0123456789", "Z" * 128):
        link = WechatOAuth(WechatOAuthConfig(oa["appid"], oa["secret"]),
                           "https://open.weixin.qq.com", "https://api.weixin.qq.com",
                           UrllibTransport(10)).authorize_url(REDIRECT, state)
        assert link == WeChatOAuth(oa["appid"], oa["secret"], REDIRECT, scope="snsapi_base",
                                   state=state).authorize_url


def test_wechatpys_exchange_and_ours_find_the_same_openid_for_the_same_user(
        world, simulator_over_http):
    base, _ = simulator_over_http
    oa = world.stack["channels"]["wechat_oauth"]
    for user in ("payer", "another-payer"):
        their_answer = theirs(base, oa).fetch_access_token(code_for(base, user, oa["appid"]))
        our_openid = ours(base, oa).openid(code_for(base, user, oa["appid"]))
        assert their_answer["openid"] == our_openid == openid_of(oa["appid"], user)
        assert their_answer["scope"] == "snsapi_base"
    assert openid_of(oa["appid"], "payer") != openid_of(oa["appid"], "another-payer")


def test_a_code_wechatpy_has_used_is_refused_to_both_of_us(world, simulator_over_http):
    base, _ = simulator_over_http
    oa = world.stack["channels"]["wechat_oauth"]
    code = code_for(base, "payer", oa["appid"])
    theirs(base, oa).fetch_access_token(code)
    with pytest.raises(WeChatOAuthException) as refused:
        theirs(base, oa).fetch_access_token(code)
    assert refused.value.errcode == 40163
    assert ours(base, oa).openid(code) is None
    assert ours(base, oa).openid("0" * 32) is None
