"""The domain imports only the standard library and itself (STYLE.md, rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "chalicelib" / "domain"
FORBIDDEN = ("boto3", "botocore", "chalice", "pynamodb", "cryptography")
MODULES = sorted(DOMAIN.glob("*.py"))


def imported_modules(source: str) -> set[str]:
    """Every module an import statement names, wherever it is (functions, ``if``, ``try``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
            called = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if called in ("__import__", "import_module") and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value,
                                                                             str):
                names.add(node.args[0].value)
    return names


def is_forbidden(module: str) -> bool:
    return module.split(".")[0] in FORBIDDEN


def test_the_domain_folder_holds_the_modules_we_expect():
    assert {p.stem for p in MODULES} >= {"money", "codes", "notes", "bills", "bill_xml",
                                         "masking", "units", "payments", "errors"}


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_a_domain_module_imports_no_aws_web_or_crypto_library(path):
    bad = sorted(m for m in imported_modules(path.read_text(encoding="utf-8")) if is_forbidden(m))
    assert bad == [], f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_a_domain_module_imports_nothing_from_the_outer_layers(path):
    ours = {m for m in imported_modules(path.read_text(encoding="utf-8"))
            if m.startswith("chalicelib.")}
    assert all(m.startswith("chalicelib.domain") for m in ours), ours


def test_the_check_sees_imports_hidden_inside_functions_and_branches():
    source = (
        "import os\n"
        "def f():\n    import boto3.session\n"
        "try:\n    from chalice import Chalice\nexcept ImportError:\n    pass\n"
        "class C:\n    def m(self):\n        from cryptography.hazmat import x\n"
        "def g():\n    return __import__('pynamodb')\n"
        "def h():\n    import importlib\n    return importlib.import_module('botocore.client')\n"
    )
    assert {m for m in imported_modules(source) if is_forbidden(m)} == {
        "boto3.session", "chalice", "cryptography.hazmat", "pynamodb", "botocore.client"}
    assert not is_forbidden("chalicelib.domain.money")
