"""WeChat web authorisation (网页授权) of the official account bound to our WeChat Pay merchant:
who the payer is to WeChat Pay (the ``openid`` a JSAPI order needs), learnt silently.

As the Official Accounts Platform documents it (网页授权, ``snsapi_base``):

1. The payer's browser (inside WeChat) goes to
   ``https://open.weixin.qq.com/connect/oauth2/authorize?appid=APPID&redirect_uri=URL&
   response_type=code&scope=snsapi_base&state=STATE#wechat_redirect``; the parameters in
   exactly that order (WeChat matches the link strictly), ``redirect_uri`` URL-encoded and under
   the account's 网页授权域名, ``state`` at most 128 of ``a-zA-Z0-9``. ``snsapi_base`` shows no
   consent page: WeChat redirects at once to ``redirect_uri?code=CODE&state=STATE``; without a
   ``code`` (``redirect_uri?state=STATE``) the authorisation was refused.
2. Our server exchanges the code: ``GET https://api.weixin.qq.com/sns/oauth2/access_token?
   appid=APPID&secret=SECRET&code=CODE&grant_type=authorization_code`` →
   ``{"access_token", "expires_in": 7200, "refresh_token", "openid", "scope"}``, or
   ``{"errcode": 40029, "errmsg": "invalid code"}`` (a code is single-use and expires in 5
   minutes: 40029, 40163 "code been used"). With ``snsapi_base`` the flow ends here; the
   access token is not kept. ``is_snapshotuser: 1`` marks the virtual account of a 朋友圈
   snapshot page, which cannot pay: treated as refused.

The app secret is the official account's (``fiscal/channels/wechat-oauth`` in Secrets Manager,
``{appid, secret}``, beside the merchant's); it never appears in a log or ``repr``, and neither
does an openid. Errors become ours here: the network, a 5xx, or an answer that is not a JSON
object is ``ServiceUnavailable``; WeChat's refusal of a code is ``None``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from chalicelib.adapters.channel_http import Transport
from chalicelib.domain.errors import ServiceUnavailable

AUTHORIZE = "/connect/oauth2/authorize"
ACCESS_TOKEN = "/sns/oauth2/access_token"  # noqa: S105 - a path, not a secret
SCOPE = "snsapi_base"
STATE = re.compile(r"[A-Za-z0-9]{1,128}")
OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # e.g. oUpF8uMuAJO_M2pxb1Q9zNjWeS6o (28 chars)


@dataclass(frozen=True, repr=False)
class WechatOAuthConfig:
    """The official account's AppID and AppSecret (公众号开发信息). ``appid`` must be the one
    our WeChat Pay merchant orders with: an openid belongs to one appid."""

    appid: str
    secret: str

    def __post_init__(self) -> None:
        if not self.appid or not self.secret:
            raise ValueError("the official account's appid and secret are required")

    def __repr__(self) -> str:
        return f"WechatOAuthConfig(appid={self.appid!r}, secret=<redacted>)"

    @classmethod
    def from_secret(cls, data: Mapping[str, Any]) -> WechatOAuthConfig:
        return cls(appid=str(data["appid"]), secret=str(data["secret"]))


class WechatOAuth:
    """PayerIdentity (ports): the authorise link, and the code's openid."""

    def __init__(self, config: WechatOAuthConfig, open_base: str, api_base: str,
                 transport: Transport) -> None:
        self.config = config
        self.open_base, self.api_base = open_base.rstrip("/"), api_base.rstrip("/")
        self.transport = transport

    def __repr__(self) -> str:
        return f"WechatOAuth({self.config!r}, {self.open_base!r}, {self.api_base!r})"

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where the payer's browser goes to be identified silently (snsapi_base)."""
        if not STATE.fullmatch(state):
            raise ValueError("state must be 1-128 letters or digits")
        return (f"{self.open_base}{AUTHORIZE}?appid={quote(self.config.appid, safe='')}"
                f"&redirect_uri={quote(redirect_uri, safe='')}&response_type=code"
                f"&scope={SCOPE}&state={state}#wechat_redirect")

    def openid(self, code: str) -> str | None:
        """The openid WeChat gives for ``code``; None when WeChat refuses the code."""
        query = urlencode({"appid": self.config.appid, "secret": self.config.secret,
                           "code": code, "grant_type": "authorization_code"})
        reply = self.transport("GET", f"{self.api_base}{ACCESS_TOKEN}?{query}",
                               {"Accept": "application/json"}, None)
        if reply.status != 200:
            raise ServiceUnavailable(f"WeChat OAuth: HTTP {reply.status}")
        try:
            data = json.loads(reply.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ServiceUnavailable("WeChat OAuth: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise ServiceUnavailable("WeChat OAuth: the answer is not a JSON object")
        if data.get("errcode"):
            if data.get("errcode") == -1:  # 系统繁忙: try again later
                raise ServiceUnavailable("WeChat OAuth: system busy (-1)")
            return None
        openid = data.get("openid")
        if data.get("is_snapshotuser") == 1 or not isinstance(openid, str) \
                or not OPENID.fullmatch(openid):
            return None
        return openid
