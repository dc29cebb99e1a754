"""Production code never imports the developer's stack or the tests.

``chalicelib/`` and ``app.py`` are what ``chalice package`` puts in the deployment zip; ``devstack/``
(the local stack, the channel simulators, the message builders) and ``tests/`` are not in it, so
an import of either from production would fail on Lambda, and only there. The zip's contents are
checked after ``make package`` by ``tests/package/test_deployment_zip.py``. Within ``devstack``
the modules import one way: ``simulator`` → ``channel_servers`` → ``sim_*`` → ``sim_common``, and
``notifications`` → ``builders``.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
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


def devstack_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module → the modules of ``sources`` it imports anywhere (``from a import b`` names ``a.b``
    when that is a module); ``__init__`` modules are left out: they import nothing."""
    graph: dict[str, set[str]] = {}
    for name, source in sources.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.update(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}"
                             in sources else node.module for alias in node.names)
        graph[name] = {m for m in found if m in sources and m != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[str]:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return list(exc.args[1])
    return []


def test_the_modules_of_devstack_import_one_way():
    sources = {".".join(p.relative_to(ROOT).with_suffix("").parts): p.read_text(encoding="utf-8")
               for p in sorted((ROOT / "devstack").rglob("*.py")) if p.stem != "__init__"}
    graph = devstack_graph(sources)
    assert "devstack.sim_common" in graph["devstack.sim_alipay"]
    assert "devstack.builders.wechatpay" in graph["devstack.notifications"]
    assert circles(graph) == []


def test_a_circle_through_a_function_level_import_is_found():
    graph = devstack_graph({
        "devstack.channel_servers": "def f():\n    from devstack.sim_alipay import AlipayServer\n",
        "devstack.sim_alipay": "from devstack import channel_servers\n",
        "devstack.sim_common": "import json\n"})
    assert sorted(set(circles(graph))) == ["devstack.channel_servers", "devstack.sim_alipay"]
