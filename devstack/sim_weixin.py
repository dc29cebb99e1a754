"""WeChat's web authorisation (网页授权) of the official account, played locally, and the
stand-in ``WeixinJSBridge`` a browser test injects as the WeChat client.

Under ``/weixin`` (what ``open.weixin.qq.com`` and ``api.weixin.qq.com`` are in production):

- ``GET /weixin/connect/oauth2/authorize?appid=…&redirect_uri=…&response_type=code&scope=
  snsapi_base&state=…`` checks what WeChat checks (the official account's appid, the parameters
  in their documented order, ``snsapi_base``, ``state`` of ``a-zA-Z0-9`` ≤ 128, a redirect_uri
  on the 网页授权域名, here the app's host) and sends the browser back at once with a fresh
  code: ``302 redirect_uri?code=CODE&state=STATE``, or, when the test asks for a refusal
  (``refuse_oauth``), ``redirect_uri?state=STATE``. Who the WeChat user is: the cookie
  ``sim_wx_user`` on the simulator's host (a test sets it; else ``payer``), turned into that
  user's openid for the appid (stable, 28 characters like WeChat's).
- ``GET /weixin/sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code``
  answers ``{"access_token", "expires_in": 7200, "refresh_token", "openid", "scope"}`` for a
  code it gave, once, within five minutes; else WeChat's ``{"errcode": 40029, "errmsg":
  "invalid code"}`` (40163 for a used code, 40125 for a wrong secret, 40013 for a wrong appid).

``BRIDGE_JS`` is the stand-in WeChat client: a ``WeixinJSBridge`` whose ``invoke(
'getBrandWCPayRequest', params, callback)`` shows a small cashier over the page and, on 确认支付,
hands the parameters to ``window.__simWechatPay`` (a Playwright binding that posts them to the
simulator's ``/wechatpay/_sim/jsapi-pay``, where WeChat Pay's checks are made: paySign with our
merchant key, the appId, the prepay_id, the payer), then calls back with ``err_msg`` as WeChat
does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from devstack.sim_common import ChannelState, Reply, page

CODE_LIFETIME = timedelta(minutes=5)
AUTHORIZE_ORDER = ["appid", "redirect_uri", "response_type", "scope", "state"]
_STATE = re.compile(r"[A-Za-z0-9]{1,128}")
DEFAULT_USER = "payer"


def openid_of(appid: str, user: str) -> str:
    """A WeChat user's openid for one appid: stable, 28 characters of ``[A-Za-z0-9_-]``."""
    digest = hashlib.sha256(f"{appid}/{user}".encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode("ascii")[:27]


@dataclass
class Grant:
    openid: str
    appid: str
    issued: datetime
    used: bool = False


class WeixinServer:
    channel = "weixin"

    def __init__(self, servers: ChannelState) -> None:
        self.s = servers
        self.oa: dict[str, Any] = servers.stack["channels"].get("wechat_oauth") or {}
        self.grants: dict[str, Grant] = {}
        self.refuse_oauth = False  # a test's payer refusing (or WeChat failing) the OAuth
        self.exchanges: list[str] = []  # codes we were asked about, for tests

    def handle(self, method: str, url: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Reply:
        path = url.split("?", 1)[0]
        if method == "GET" and path == "/connect/oauth2/authorize":
            return self.authorize(url, query, headers)
        if method == "GET" and path == "/sns/oauth2/access_token":
            return self.access_token(query)
        return page("wechatpay", 404, "<p>未知的模拟微信请求</p>")

    def authorize(self, url: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        order = [part.split("=", 1)[0] for part in urlsplit(url).query.split("&") if part]
        redirect = query.get("redirect_uri", "")
        app_host = urlsplit(self.s.stack.get("base_url", "")).netloc
        why = None
        if order != AUTHORIZE_ORDER:
            why = f"参数顺序应为 {','.join(AUTHORIZE_ORDER)}"
        elif query.get("appid") != self.oa.get("appid"):
            why = "appid 不是本公众号"
        elif query.get("response_type") != "code" or query.get("scope") != "snsapi_base":
            why = "response_type 或 scope 错误"
        elif not _STATE.fullmatch(query.get("state", "")):
            why = "state 应为 1-128 位字母或数字"
        elif urlsplit(redirect).netloc != app_host or not redirect.startswith(("http://",
                                                                                 "https://")):
            why = "redirect_uri 域名与后台配置不一致"  # 网页授权域名
        if why is not None:
            return page("wechatpay", 400, f"<p>{why}</p>")
        state = query["state"]
        joiner = "&" if "?" in redirect else "?"
        if self.refuse_oauth:
            return Reply(302, {"Location": f"{redirect}{joiner}{urlencode({'state': state})}"},
                         b"")
        user = _cookie(headers.get("cookie", ""), "sim_wx_user") or DEFAULT_USER
        code = secrets.token_hex(16)
        with self.s.lock:
            self.grants[code] = Grant(openid_of(query["appid"], user), query["appid"],
                                      self.s.clock())
        return Reply(302, {"Location": f"{redirect}{joiner}"
                                       f"{urlencode({'code': code, 'state': state})}"}, b"")

    def access_token(self, query: dict[str, str]) -> Reply:
        code = query.get("code", "")
        self.exchanges.append(code)
        failing = self.s.failing.get(self.channel)
        if failing:
            return Reply(failing, {"Content-Type": "text/plain"}, b"service unavailable")
        if query.get("appid") != self.oa.get("appid"):
            return _json({"errcode": 40013, "errmsg": "invalid appid"})
        if not secrets.compare_digest(query.get("secret", ""), self.oa.get("secret", "")):
            return _json({"errcode": 40125, "errmsg": "invalid appsecret"})
        if query.get("grant_type") != "authorization_code":
            return _json({"errcode": 40002, "errmsg": "invalid grant_type"})
        with self.s.lock:
            grant = self.grants.get(code)
            if grant is None or grant.appid != query["appid"] or \
                    self.s.clock() - grant.issued > CODE_LIFETIME:
                return _json({"errcode": 40029, "errmsg": "invalid code"})
            if grant.used:
                return _json({"errcode": 40163, "errmsg": "code been used"})
            grant.used = True
        return _json({"access_token": secrets.token_urlsafe(60), "expires_in": 7200,
                      "refresh_token": secrets.token_urlsafe(60), "openid": grant.openid,
                      "scope": "snsapi_base"})


def _json(data: dict[str, Any]) -> Reply:
    return Reply(200, {"Content-Type": "application/json; charset=utf-8"},
                 json.dumps(data, ensure_ascii=False).encode())


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
            return value
    return None


# The stand-in WeChat client, injected by browser tests (Playwright ``add_init_script``) into
# every page of a context whose user agent says MicroMessenger. It plays only what the pay page
# uses: WeixinJSBridge.invoke('getBrandWCPayRequest', …) and the WeixinJSBridgeReady event.
BRIDGE_JS = r"""
(function () {
  if (window.WeixinJSBridge) { return; }
  function cashier(params, done) {
    var box = document.createElement("div");
    box.id = "sim-wechat-cashier";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "微信支付");
    box.style.cssText = "position:fixed;left:0;right:0;bottom:0;background:#fff;border-top:1px solid #ddd;" +
      "box-shadow:0 -4px 16px rgba(0,0,0,.15);padding:20px 16px 28px;font:16px/1.6 sans-serif;z-index:9999;text-align:center";
    var title = document.createElement("div");
    title.textContent = "微信支付（本地模拟）";
    title.style.cssText = "font-weight:600;color:#07a35a;margin-bottom:8px";
    var what = document.createElement("div");
    what.textContent = "向 " + params.appId + " 付款 · " + params["package"];
    what.style.cssText = "color:#555;font-size:13px;word-break:break-all";
    var pay = document.createElement("button");
    pay.textContent = "确认支付";
    pay.style.cssText = "display:block;width:100%;margin-top:16px;padding:12px;border:0;border-radius:8px;background:#07a35a;color:#fff;font-size:17px";
    var cancel = document.createElement("button");
    cancel.textContent = "取消";
    cancel.style.cssText = "display:block;width:100%;margin-top:8px;padding:10px;border:0;background:none;color:#576b95;font-size:16px";
    pay.onclick = function () { box.remove(); done(true); };
    cancel.onclick = function () { box.remove(); done(false); };
    box.appendChild(title); box.appendChild(what); box.appendChild(pay); box.appendChild(cancel);
    document.body.appendChild(box);
  }
  window.WeixinJSBridge = {
    invoke: function (name, params, callback) {
      if (name !== "getBrandWCPayRequest") {
        callback({err_msg: name + ":fail_not_supported"});
        return;
      }
      cashier(params, function (confirmed) {
        if (!confirmed) { callback({err_msg: "get_brand_wcpay_request:cancel"}); return; }
        window.__simWechatPay(params).then(function (answer) { callback(answer); },
          function () { callback({err_msg: "get_brand_wcpay_request:fail"}); });
      });
    }
  };
  function ready() { document.dispatchEvent(new Event("WeixinJSBridgeReady")); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); }
  else { setTimeout(ready, 0); }
})();
"""
