"""Production code never imports the developer's stack or the tests.

``chalicelib/`` and ``app.py`` are what ``chalice package`` puts in the deployment zip; ``devstack/``
(the local stack, the channel simulators, the message builders) and ``tests/`` are not in it, so
an import of either from production would fail on Lambda, and only there. The zip's contents are
checked after ``make package`` by ``tests/package/test_deployment_zip.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_domain_purity import imported_modules

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = sorted([ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py")])
OUTSIDE_THE_ZIP = ("devstack", "tests")


def reaches_outside(module: str) -> bool:
    return module.split(".")[0] in OUTSIDE_THE_ZIP


def test_production_is_app_py_and_the_chalicelib_package():
    names = {p.relative_to(ROOT).as_posix() for p in PRODUCTION}
    assert "app.py" in names and "chalicelib/bootstrap.py" in names
    assert not any(name.startswith("chalicelib/local/") for name in names)


@pytest.mark.parametrize("path", PRODUCTION, ids=[p.relative_to(ROOT).as_posix()
                                                  for p in PRODUCTION])
def test_a_production_module_imports_neither_devstack_nor_the_tests(path):
    bad = sorted(m for m in imported_modules(path.read_text(encoding="utf-8"))
                 if reaches_outside(m))
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"


def test_the_check_sees_dev_imports_inside_functions():
    source = ("def f():\n    from devstack.builders.wechatpay import sign_notification\n"
              "def g():\n    import tests.fakes\n"
              "def h():\n    import importlib\n    return importlib.import_module('devstack.seed')\n"
              "import devstacked\n")
    assert {m for m in imported_modules(source) if reaches_outside(m)} == {
        "devstack.builders.wechatpay", "tests.fakes", "devstack.seed"}
