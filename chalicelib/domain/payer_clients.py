"""Where a payer opened the pay page, told from the browser's ``User-Agent``.

A notice's QR code is scanned with whatever app is in the payer's hand, and the page opens in
that app's own browser, where only that app's payment works: inside WeChat (``MicroMessenger``)
a page pays by JSAPI and links to Alipay are blocked; inside Alipay (``AlipayClient``) WeChat
cannot be opened; inside 云闪付 (``UnionPay/<version>``) UnionPay pays. A phone's own browser
can open each app (WeChat H5, Alipay wap pay, UnionPay's mobile gateway); a desktop browser can
open none, so WeChat pays by a QR code to scan and Alipay by its desktop cashier.

The markers are the apps' own, as their documentation and merchants' code test them:
``MicroMessenger/`` (WeChat's JSAPI guide: "WeixinJSBridge内置对象在其他浏览器中无效"),
``AlipayClient/`` (Alipay's in-app container), ``UnionPay/`` (云闪付, e.g.
``UnionPay/1.0 CloudPay``). 企业微信 (``wxwork``) also says MicroMessenger but pays nothing of an
official account's, so it counts as a phone's browser. Pure: no I/O; an absent or strange
User-Agent is a phone's browser, the page every client could always use.
"""

from __future__ import annotations

import re
from enum import StrEnum

MAX_USER_AGENT = 512  # characters read; real ones are ~150-350


class Where(StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    UNIONPAY = "unionpay"  # the 云闪付 app
    MOBILE = "mobile"  # a phone's or tablet's own browser
    DESKTOP = "desktop"


_MOBILE = re.compile(r"Mobile|Android|iPhone|iPad|iPod|HarmonyOS|OpenHarmony|Windows Phone",
                     re.IGNORECASE)
_DESKTOP = re.compile(r"Windows NT|Macintosh|X11|CrOS", re.IGNORECASE)


def where(user_agent: str | None) -> Where:
    """Which app's browser (or which kind of browser) sent ``user_agent``."""
    ua = (user_agent or "")[:MAX_USER_AGENT]
    if "MicroMessenger/" in ua and "wxwork/" not in ua.lower():
        return Where.WECHAT
    if "AlipayClient/" in ua:
        return Where.ALIPAY
    if "UnionPay/" in ua:
        return Where.UNIONPAY
    if _MOBILE.search(ua) or not _DESKTOP.search(ua):
        return Where.MOBILE
    return Where.DESKTOP
