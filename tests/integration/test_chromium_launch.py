"""The session's Chromium, as conftest.py launches it: no address-bar WebUI renderers (a context
costs ~1 CPU-s less), and Playwright's own disabled features still disabled (Chromium reads only
the last --disable-features switch, so ours must repeat Playwright's)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import CHROMIUM_DISABLED_FEATURES, playwright_disabled_features

pytestmark = pytest.mark.integration


def test_a_context_opens_no_address_bar_webui_and_playwrights_features_stay_disabled(
        browser: Any) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto("data:text/html,<title>t</title><p>页</p>")
        cdp = browser.new_browser_cdp_session()
        try:
            targets = cdp.send("Target.getTargets", {"filter": [{}]})["targetInfos"]
            switches = cdp.send("Browser.getBrowserCommandLine")["arguments"]
        finally:
            cdp.detach()
    finally:
        context.close()

    assert [t["url"] for t in targets if t["type"] == "browser_ui"] == []
    assert any(t["type"] == "page" and t["url"].startswith("data:") for t in targets), targets
    last = [s for s in switches if s.startswith("--disable-features=")][-1]
    disabled = set(last.removeprefix("--disable-features=").split(","))
    wanted = {*playwright_disabled_features(), *CHROMIUM_DISABLED_FEATURES}
    assert len(playwright_disabled_features()) >= 10
    assert wanted <= disabled, wanted - disabled
