"""Where a payer opened the pay page, from real user agents of each app and browser."""

from __future__ import annotations

import pytest

from chalicelib.domain.payer_clients import Where, where

WECHAT_IOS = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003129) "
              "NetType/WIFI Language/zh_CN")
WECHAT_ANDROID = ("Mozilla/5.0 (Linux; Android 13; V2241A Build/TP1A.220624.014; wv) "
                  "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 "
                  "Mobile Safari/537.36 XWEB/1160117 MMWEBSDK/20231202 MMWEBID/4973 "
                  "MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/5G "
                  "Language/zh_CN ABI/arm64")
WECHAT_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781"
                  "(0x6700143B) WindowsWechat(0x63090a13) XWEB/8555 Flue")
WECOM = ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Mobile/15E148 wxwork/4.1.16 MicroMessenger/7.0.1 Language/zh")
ALIPAY = ("Mozilla/5.0 (Linux; U; Android 12; zh-CN; PEHM00 Build/SKQ1.210216.001) "
          "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.43 "
          "Mobile Safari/537.36 UCBS/3.22.2.43_220223200704 ChannelId(0) NebulaSDK/1.8.100112 "
          "Nebula AlipayDefined(nt:WIFI,ws:360|0|3.0) AliApp(AP/10.2.96.8000) "
          "AlipayClient/10.2.96.8000 Language/zh-Hans useStatusBar/true isConcaveScreen/true "
          "Region/CNAriver/1.0.0")
UNIONPAY = ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Mobile/15E148 (com.unionpay.chsp) (cordova 4.5.4) (updebug 0) "
            "(version 1001) (UnionPay/1.0 CloudPay) (clientVersion 301) (language zh_CN)")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
HUAWEI_BROWSER = ("Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/99.0.4844.88 HuaweiBrowser/14.0.1.301 "
                  "Mobile Safari/537.36")
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/126.0.0.0 Safari/537.36")
SAFARI_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
              "like Gecko) Version/17.5 Safari/605.1.15")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.mark.parametrize(("user_agent", "expected"), [
    (WECHAT_IOS, Where.WECHAT), (WECHAT_ANDROID, Where.WECHAT), (WECHAT_WINDOWS, Where.WECHAT),
    (ALIPAY, Where.ALIPAY), (UNIONPAY, Where.UNIONPAY),
    (SAFARI_IPHONE, Where.MOBILE), (HUAWEI_BROWSER, Where.MOBILE), (WECOM, Where.MOBILE),
    (CHROME_WINDOWS, Where.DESKTOP), (SAFARI_MAC, Where.DESKTOP), (FIREFOX_LINUX, Where.DESKTOP),
], ids=["wechat-ios", "wechat-android", "wechat-windows", "alipay", "unionpay", "safari-iphone",
        "huawei-browser", "wecom", "chrome-windows", "safari-mac", "firefox-linux"])
def test_each_apps_browser_and_each_kind_of_browser_is_told_apart(user_agent, expected):
    assert where(user_agent) is expected


@pytest.mark.parametrize("user_agent", [None, "", "curl/8.5.0", "x" * 100_000])
def test_a_missing_or_strange_user_agent_gets_the_phone_page_every_client_can_use(user_agent):
    assert where(user_agent) is Where.MOBILE


def test_only_the_start_of_a_huge_user_agent_is_read():
    assert where("Mozilla/5.0 (Windows NT 10.0)" + " " * 600 + "MicroMessenger/8.0") \
        is Where.DESKTOP
