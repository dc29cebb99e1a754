"""The pay page where the payer opened it: inside WeChat (silent OAuth → JSAPI → paid → bill),
inside Alipay and 云闪付, on a phone's browser, on a desktop (WeChat's QR code paid by a scan,
Alipay's page pay, UnionPay's desktop form). The channels' servers and WeChat's OAuth are the
simulator's, in-process (``world.channels``), checking our signatures as the channels do."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.adapters.wechatpay.jsapi import verify_pay_sign
from chalicelib.domain.errors import ServiceUnavailable
from devstack.sim_weixin import openid_of
from tests.functional.channel_support import deliver_through
from tests.functional.support import JSON, assert_error, body_of, create_note, get_note
from tests.unit.test_payer_clients import (
    ALIPAY,
    CHROME_WINDOWS,
    SAFARI_IPHONE,
    UNIONPAY,
    WECHAT_IOS,
)

HTML_FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}


def page(response) -> str:
    return response.body.decode("utf-8")


def cookie_of(response, name: str = "wx_session") -> str:
    value = response.headers.get("Set-Cookie") or []
    for item in value if isinstance(value, list) else [value]:
        if item.startswith(f"{name}="):
            return item.split(";")[0]
    raise AssertionError(f"no {name} cookie in {value!r}")


def open_in(client, code: str, ua: str, cookie: str = "", query: str = ""):
    headers = {"User-Agent": ua, "X-Forwarded-For": "198.51.100.7"}
    if cookie:
        headers["Cookie"] = cookie
    return client.http.get(f"/pay/{code}{query}", headers=headers)


def identified_in_wechat(world, client, code: str, user: str = "alice") -> str:
    """Scan → the pay page → WeChat's silent OAuth → back: the session cookie with the openid."""
    r = open_in(client, code, WECHAT_IOS)
    assert r.status_code == 302, page(r)
    pending = cookie_of(r)
    link = urlsplit(r.headers["Location"])
    assert link.fragment == "wechat_redirect"
    back = world.channels.handle("GET", f"{link.path}?{link.query}",
                                 {"Cookie": f"sim_wx_user={user}"}, b"")
    assert back.status == 302, back.body[:300]
    to = urlsplit(back.headers["Location"])
    assert to.path == f"/pay/{code}/wechat"
    r = client.http.get(f"{to.path}?{to.query}", headers={"Cookie": pending,
                                                          "X-Forwarded-For": "198.51.100.7"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/pay/{code}")
    return cookie_of(r)


def test_inside_wechat_the_payer_is_identified_silently_pays_by_jsapi_and_gets_the_bill(
        world, client):
    world.channels.deliver = deliver_through(client)
    code = create_note(world, client)["payment_code"]
    session = identified_in_wechat(world, client, code)

    r = open_in(client, code, WECHAT_IOS, session)
    assert r.status_code == 200
    html = page(r)
    assert 'id="wxpay"' in html and "微信支付" in html
    assert "支付宝" not in re.sub(r'<p class="muted hint">.*?</p>', "", html)  # only the hint
    assert "在默认浏览器中打开" in html and "代理银行柜台" in html
    csp = r.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", csp)
    assert nonce and f'<script nonce="{nonce.group(1)}">' in html and "connect-src 'self'" in csp

    r = client.http.post(f"/v1/public/notes/{code}/pay", headers={**JSON, "Cookie": session},
                         body=json.dumps({"channel": "wechatpay", "mode": "jsapi"}))
    assert r.status_code == 201, r.body
    view = body_of(r)
    assert view["mode"] == "jsapi" and view["pay_url"].endswith(f"/pay/{code}")
    params = view["jsapi"]
    merchant = world.channels.servers["wechatpay"].merchant_public
    verify_pay_sign(params, merchant)
    [(_, api, sent)] = [c for c in world.channels.calls if c[1].endswith("/jsapi")]
    appid = world.stack["channels"]["wechatpay"]["appid"]
    assert sent["payer"] == {"openid": openid_of(appid, "alice")}

    # Another WeChat user cannot pay these parameters; the payer can, once.
    other = world.channels.handle("POST", "/wechatpay/_sim/jsapi-pay", {},
                                  json.dumps({"user": "bob", "params": params}).encode())
    assert json.loads(other.body)["err_msg"] == "get_brand_wcpay_request:fail"
    paid = world.channels.handle("POST", "/wechatpay/_sim/jsapi-pay", {},
                                 json.dumps({"user": "alice", "params": params}).encode())
    assert json.loads(paid.body) == {"err_msg": "get_brand_wcpay_request:ok",
                                     "notify_status": 204}
    assert get_note(world, client, code)["status"] == "paid"
    world.drain()
    r = open_in(client, code, WECHAT_IOS, session)
    assert r.status_code == 200 and "电子票据已开具" in page(r)


def test_a_jsapi_order_without_a_wechat_session_is_refused_and_takes_no_order_slot(world, client):
    code = create_note(world, client)["payment_code"]
    for cookie in ("", "wx_session=forged", "wx_session="):
        r = client.http.post(f"/v1/public/notes/{code}/pay", headers={**JSON, "Cookie": cookie},
                             body=json.dumps({"channel": "wechatpay", "mode": "jsapi"}))
        assert assert_error(r, 400, "mode")["code"] == "wechat_session_required"
    assert world.channels.calls == []
    for _ in range(5):  # every slot still free
        r = client.http.post(f"/v1/public/notes/{code}/pay", headers=JSON,
                             body=json.dumps({"channel": "alipay"}))
        assert r.status_code == 201


@pytest.mark.parametrize(("channel", "mode"), [("alipay", "jsapi"), ("unionpay", "native"),
                                               ("wechatpay", "page"), ("wechatpay", 1),
                                               ("wechatpay", ["h5"])])
def test_a_mode_the_channel_has_not_is_refused(world, client, channel, mode):
    code = create_note(world, client)["payment_code"]
    r = client.http.post(f"/v1/public/notes/{code}/pay", headers=JSON,
                         body=json.dumps({"channel": channel, "mode": mode}))
    assert_error(r, 400, "mode")


def test_a_forged_or_replayed_oauth_return_falls_back_to_the_page_with_a_clear_line(
        world, client):
    code = create_note(world, client)["payment_code"]
    pending = cookie_of(open_in(client, code, WECHAT_IOS))
    r = client.http.get(f"/pay/{code}/wechat?code=abc&state={'f' * 32}",
                        headers={"Cookie": pending, "X-Forwarded-For": "198.51.100.7"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/pay/{code}?wechat=expired")
    assert world.channels.servers["weixin"].exchanges == []  # WeChat never asked
    r = open_in(client, code, WECHAT_IOS, query="?wechat=expired")
    assert r.status_code == 200  # no second redirect: the page explains instead
    html = page(r)
    assert "微信授权已过期或页面已失效" in html and "重新授权" in html
    assert re.search(r'id="wxpay"[^>]*disabled', html) and "需微信授权" in html
    assert "在默认浏览器中打开" in html and "代理银行柜台" in html


def test_a_refused_oauth_and_an_unreachable_wechat_each_fall_back_with_their_line(world, client):
    code = create_note(world, client)["payment_code"]
    world.channels.servers["weixin"].refuse_oauth = True
    r = open_in(client, code, WECHAT_IOS)
    link = urlsplit(r.headers["Location"])
    back = urlsplit(world.channels.handle("GET", f"{link.path}?{link.query}", {}, b"")
                    .headers["Location"])
    assert "code" not in parse_qs(back.query)
    r = client.http.get(f"{back.path}?{back.query}", headers={"Cookie": cookie_of(r)})
    assert r.headers["Location"].endswith("?wechat=refused")
    assert "您未同意微信授权" in page(open_in(client, code, WECHAT_IOS, query="?wechat=refused"))

    class Down:
        def authorize_url(self, redirect_uri: str, state: str) -> str:
            raise ServiceUnavailable("the official account's secret is unavailable")

    world.deps.overrides["wechat_oauth"] = Down()
    r = open_in(client, code, WECHAT_IOS)
    assert r.status_code == 200 and "暂时无法连接微信授权服务" in page(r)


@pytest.mark.parametrize("query", ["?state=" + "a" * 129, "?state=a%20b&code=x",
                                   "?state=ab&code=" + "c" * 129, "?state=ab&code=%3Cx%3E", ""])
def test_a_malformed_oauth_return_is_a_400_page_and_changes_nothing(world, client, query):
    code = create_note(world, client)["payment_code"]
    r = client.http.get(f"/pay/{code}/wechat{query}")
    assert r.status_code == 400 and "授权参数格式不正确" in page(r)
    assert "Set-Cookie" not in r.headers


@pytest.mark.parametrize(("ua", "offered", "hint"), [
    (ALIPAY, ["alipay"], "支付宝内无法使用微信支付"),
    (UNIONPAY, ["unionpay"], "云闪付内仅可使用银联支付"),
    (SAFARI_IPHONE, ["wechatpay", "alipay", "unionpay"], "可直接在该应用内支付"),
    (CHROME_WINDOWS, ["wechatpay", "alipay", "unionpay"], "请用手机微信「扫一扫」支付"),
], ids=["alipay-app", "unionpay-app", "phone-browser", "desktop"])
def test_each_place_is_offered_what_works_there_with_the_bank_counter_always(
        world, client, ua, offered, hint):
    code = create_note(world, client)["payment_code"]
    r = open_in(client, code, ua)
    assert r.status_code == 200 and "Set-Cookie" not in r.headers
    html = page(r)
    assert re.findall(r'name="channel" value="(\w+)"', html) == offered
    assert hint in html and "也可凭缴款码到代理银行柜台缴款" in html
    assert "<script" not in html and "script-src" not in r.headers["Content-Security-Policy"]
    modes = re.findall(r'name="mode" value="(\w+)"', html)
    assert modes == {ALIPAY: ["h5"], UNIONPAY: ["h5"], SAFARI_IPHONE: ["h5", "h5", "h5"],
                     CHROME_WINDOWS: ["native", "page", "page"]}[ua]


def test_a_desktop_payer_scans_the_wechat_qr_code_and_the_page_follows_to_paid(world, client):
    from chalicelib.adapters.qr_svg import qr_svg

    world.channels.deliver = deliver_through(client)
    code = create_note(world, client)["payment_code"]
    r = client.http.post(f"/v1/public/notes/{code}/pay", headers=HTML_FORM,
                         body="channel=wechatpay&mode=native")
    assert r.status_code == 303
    qr_page = urlsplit(r.headers["Location"]).path
    assert re.fullmatch(rf"/pay/{code}/qr/{code}\w+", qr_page)
    r = client.http.get(qr_page, headers={"User-Agent": CHROME_WINDOWS})
    assert r.status_code == 200
    html = page(r)
    asked = [c[2] for c in world.channels.calls if c[1].endswith("/native")]
    assert len(asked) == 2 and asked[0] == asked[1]  # opening the order, then the page
    order = world.channels.order("wechatpay", asked[0]["out_trade_no"])
    code_url = order.extra["code_url"]
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    assert qr_svg(code_url) in html and "扫一扫" in html
    nonce = re.search(r"'nonce-([^']+)'", r.headers["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">' in html
    # The same page again: WeChat is asked again and gives the same code (no new order).
    assert qr_svg(code_url) in page(client.http.get(qr_page))

    scanned = world.channels.handle("POST", "/wechatpay/_sim/scan", {},
                                    json.dumps({"code_url": code_url}).encode())
    assert json.loads(scanned.body)["notify_status"] == 204
    assert get_note(world, client, code)["status"] == "paid"
    r = client.http.get(qr_page)
    assert r.status_code == 200 and "该订单已无需支付" in page(r) and "<svg" not in page(r)


def test_the_qr_page_of_an_unknown_or_another_kind_of_order_is_a_404_that_spends_a_guess(
        world, client):
    code = create_note(world, client)["payment_code"]
    other = create_note(world, client)["payment_code"]
    h5 = body_of(client.http.post(f"/v1/public/notes/{code}/pay", headers=JSON,
                                  body=json.dumps({"channel": "wechatpay"})))
    native = body_of(client.http.post(f"/v1/public/notes/{code}/pay", headers=JSON,
                                      body=json.dumps({"channel": "wechatpay",
                                                       "mode": "native"})))
    assert native["code_url"].startswith("weixin://") and "/qr/" in native["pay_url"]
    for path in (f"/pay/{code}/qr/{h5['out_trade_no']}", f"/pay/{code}/qr/{code}Zz9Zz9",
                 f"/pay/{other}/qr/{native['out_trade_no']}"):
        r = client.http.get(path, headers={"X-Forwarded-For": "203.0.113.50"})
        assert r.status_code == 404 and "订单不存在" in page(r)
    r = client.http.get(f"/pay/{code}/qr/bad-no!", headers={"X-Forwarded-For": "203.0.113.50"})
    assert r.status_code == 400


def test_a_desktop_payer_goes_to_alipays_page_pay_and_unionpays_desktop_form(world, client):
    code = create_note(world, client)["payment_code"]
    r = client.http.post(f"/v1/public/notes/{code}/pay", headers=HTML_FORM,
                         body="channel=alipay&mode=page")
    assert r.status_code == 303
    link = urlsplit(r.headers["Location"])
    params = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert params["method"] == "alipay.trade.page.pay"
    biz = json.loads(params["biz_content"])
    assert biz["product_code"] == "FAST_INSTANT_TRADE_PAY" and "quit_url" not in biz
    cashier = world.channels.handle("GET", f"{link.path}?{link.query}", {}, b"")
    assert cashier.status == 200 and "确认支付" in cashier.body.decode()

    r = client.http.post(f"/v1/public/notes/{code}/pay", headers=JSON,
                         body=json.dumps({"channel": "unionpay", "mode": "page"}))
    assert 'name="channelType" value="07"' in body_of(r)["form_html"]
    r = client.http.post(f"/v1/public/notes/{code}/pay", headers=JSON,
                         body=json.dumps({"channel": "unionpay"}))
    assert 'name="channelType" value="08"' in body_of(r)["form_html"]


def test_reloading_the_qr_page_without_end_gets_429_not_as_many_calls_to_wechat(world, client):
    from chalicelib.services.checkout import QR_VIEWS_PER_CLIENT_PER_HOUR

    code = create_note(world, client)["payment_code"]
    native = body_of(client.http.post(f"/v1/public/notes/{code}/pay", headers=JSON,
                                      body=json.dumps({"channel": "wechatpay",
                                                       "mode": "native"})))
    path = urlsplit(native["pay_url"]).path
    for _ in range(QR_VIEWS_PER_CLIENT_PER_HOUR):
        assert client.http.get(path, headers={"X-Forwarded-For": "203.0.113.60"}).status_code \
            == 200
    r = client.http.get(path, headers={"X-Forwarded-For": "203.0.113.60"})
    assert r.status_code == 429 and "Retry-After" in r.headers
    asked = [c for c in world.channels.calls if c[1].endswith("/native")]
    assert len(asked) == 1 + QR_VIEWS_PER_CLIENT_PER_HOUR
    assert client.http.get(path, headers={"X-Forwarded-For": "198.51.100.61"}).status_code == 200
