"""axe-core (Deque, MPL-2.0, from npm) run in the page by Playwright: WCAG 2.1 A and AA rules.

axe-core is installed once per machine with npm under ``~/.cache/chalicelib-local/axe``
(``AXE_CORE_PREFIX``), pinned, as DynamoDB Local is; a missing npm fails the test, never skips
it. Our pages forbid every script but their own (CSP), so the browser context that runs axe
must be made with ``bypass_csp=True``: the test injects axe, the page itself stays unchanged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

AXE_CORE_VERSION = "4.10.3"
PREFIX = Path(os.environ.get("AXE_CORE_PREFIX",
                             Path.home() / ".cache" / "chalicelib-local" / "axe"))
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_script() -> Path:
    """The path of ``axe.min.js``, installing the pinned axe-core with npm if missing."""
    script = PREFIX / "node_modules" / "axe-core" / "axe.min.js"
    if script.exists():
        return script
    if shutil.which("npm") is None:
        pytest.fail("npm not found: the accessibility checks need axe-core from npm")
    PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund",
                    "--save-exact", f"axe-core@{AXE_CORE_VERSION}"], check=True, timeout=300)
    return script


def violations(page: Any) -> list[str]:
    """Every WCAG 2.1 A/AA violation axe finds on the page, one line each (empty: none)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script()))
    result = page.evaluate("async (tags) => await axe.run(document, "
                           "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
                           TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{', '.join(str(n['target']) for n in v['nodes'][:3])}"
            for v in result["violations"]]
