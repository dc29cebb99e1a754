"""The layers of ``chalicelib`` import one way, and no module imports itself round a circle.

    api, cli, bootstrap, local   (the edge and the wiring: may import anything below)
          ↓
    adapters                     (one outside system each: domain, config, other adapters)
          ↓
    services                     (use cases: domain, config and the ports, never an adapter)
          ↓
    domain                       (the standard library and itself)

Services reach the outside world only through the ports (``services/ports.py``), which
``bootstrap`` fills with adapters; adapters take and give domain types, so neither needs the
other. Every import counts, at module level or inside a function (a lazy import is still a
dependency), and so does ``import_module("...")`` with a literal name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "chalicelib"

# layer → the layers it must not import (a module's layer is its first name under chalicelib)
FORBIDDEN = {
    "domain": {"services", "adapters", "api", "bootstrap", "cli", "local", "config"},
    "services": {"adapters", "api", "bootstrap", "cli", "local"},
    "adapters": {"services", "api", "bootstrap", "cli", "local"},
}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, name: str, known: Iterable[str]) -> set[str]:
    """The modules of ``known`` that ``source`` (the module ``name``) imports, anywhere in it.

    ``from a.b import c`` names ``a.b.c`` when that is a module, else ``a.b``; relative imports
    are resolved against ``name``."""
    known = set(known)
    package = name if name in known and _is_package(name, known) else name.rpartition(".")[0]
    found: set[str] = set()

    def add(module: str) -> None:
        while module and module not in known:  # an attribute import: its module
            module = module.rpartition(".")[0]
        if module and module != name:
            found.add(module)

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}" if base else alias.name
                add(full if full in known else base)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            called = node.func.id if isinstance(node.func, ast.Name) else \
                node.func.attr if isinstance(node.func, ast.Attribute) else ""
            if called in ("import_module", "__import__"):
                add(node.args[0].value)
    return found


def _is_package(name: str, known: set[str]) -> bool:
    return any(other.startswith(name + ".") for other in known)


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module → the modules of ``sources`` it imports."""
    return {name: imports_of(text, name, sources) for name, text in sources.items()}


def package_sources(root: Path = ROOT) -> dict[str, str]:
    return {module_name(path, root): path.read_text(encoding="utf-8")
            for path in sorted((root / PACKAGE).rglob("*.py"))}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_breaches(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{source} imports {target}" for source, targets in graph.items()
                  for target in targets if layer(target) in FORBIDDEN.get(layer(source), ()))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


@cache
def package_graph() -> dict[str, set[str]]:
    """The package's import graph, made by the first test that asks (~1.6 CPU-s: every module
    parsed), not at import: each test process imports this module to collect it."""
    return import_graph(package_sources())


def test_the_graph_sees_every_layer_of_the_package():
    assert {layer(m) for m in package_graph()} >= {"domain", "services", "adapters", "api", "bootstrap"}
    assert "chalicelib.services.ports" in package_graph()["chalicelib.services.issuance"]


def test_no_module_of_chalicelib_imports_itself_round_a_circle():
    assert cycles(package_graph()) == []


def test_the_domain_imports_nothing_from_the_layers_above_it():
    assert [b for b in layer_breaches(package_graph()) if layer(b.split()[0]) == "domain"] == []


def test_services_reach_adapters_only_through_the_ports():
    assert [b for b in layer_breaches(package_graph()) if layer(b.split()[0]) == "services"] == []


def test_adapters_import_neither_services_nor_the_api():
    assert [b for b in layer_breaches(package_graph()) if layer(b.split()[0]) == "adapters"] == []


def test_the_check_sees_imports_inside_functions_relative_and_by_name():
    sources = {
        "chalicelib": "", "chalicelib.services": "", "chalicelib.adapters": "",
        "chalicelib.domain": "", "chalicelib.domain.money": "",
        "chalicelib.services.a": "def f():\n    from chalicelib.adapters import s3\n",
        "chalicelib.services.b": "from . import a\nfrom .a import f\n",
        "chalicelib.adapters.s3": "import importlib\n"
                                  "def g():\n    importlib.import_module('chalicelib.services.b')\n",
        "chalicelib.domain.bills": "from chalicelib.domain import money\n",
    }
    graph = import_graph(sources)
    assert graph["chalicelib.services.a"] == {"chalicelib.adapters.s3"}
    assert graph["chalicelib.services.b"] == {"chalicelib.services.a"}
    assert graph["chalicelib.domain.bills"] == {"chalicelib.domain.money"}
    assert layer_breaches(graph) == ["chalicelib.adapters.s3 imports chalicelib.services.b",
                                     "chalicelib.services.a imports chalicelib.adapters.s3"]
    assert cycles(graph) == [["chalicelib.adapters.s3", "chalicelib.services.a",
                              "chalicelib.services.b"]]


def test_a_circle_between_two_services_is_found():
    sources = {"chalicelib.services.notes": "from chalicelib.services.sms import send\n",
               "chalicelib.services.sms": "def f():\n"
                                          "    from chalicelib.services.notes import bill_url\n",
               "chalicelib.services.links": "from chalicelib.services.ports import Ports\n",
               "chalicelib.services.ports": ""}
    assert cycles(import_graph(sources)) == [["chalicelib.services.notes",
                                             "chalicelib.services.sms"]]
