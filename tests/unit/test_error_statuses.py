"""Every HTTP status of an error comes from one table, ``chalicelib.api.errors.STATUS``."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import chalicelib
from chalicelib.api.errors import CHANNEL_STATUS, STATUS, UNEXPECTED, status_of
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    NotFound,
    ServiceUnavailable,
    SignatureInvalid,
    ValidationFailed,
)

ROOT = Path(__file__).resolve().parents[2]


def every_domain_error() -> set[type[DomainError]]:
    """Every subclass of ``DomainError`` the application defines, wherever it is defined."""
    for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        importlib.import_module(module.name)
    found: set[type[DomainError]] = set()
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        kind = pending.pop()
        if kind.__module__.startswith("chalicelib.") and kind not in found:
            found.add(kind)
            pending.extend(kind.__subclasses__())
    return found


def test_every_domain_error_class_has_its_own_row_in_the_status_table():
    errors = every_domain_error()
    assert len(errors) >= 15  # the walk really found them (the domain's tree, SMS, issuance)
    unmapped = sorted(f"{k.__module__}.{k.__qualname__}" for k in errors if k not in STATUS)
    assert unmapped == []


def test_the_table_maps_only_domain_errors_to_error_statuses():
    assert all(issubclass(kind, DomainError) and 400 <= status < 600
               for kind, status in STATUS.items())
    assert all(kind in STATUS for rows in CHANNEL_STATUS.values() for kind in rows)


def test_a_failed_verification_is_401_except_to_alipay_and_unionpay_which_get_400():
    forged = SignatureInvalid("签名不符")
    assert status_of(forged) == status_of(forged, "wechatpay") == status_of(forged, "bank") == 401
    assert status_of(forged, "alipay") == status_of(forged, "unionpay") == 400
    assert status_of(ValidationFailed("x"), "alipay") == 400
    assert status_of(ServiceUnavailable("x"), "unionpay") == 503


def test_a_class_without_a_row_takes_its_nearest_mapped_base_and_a_bug_is_500():
    class Unlisted(NotFound):
        pass

    assert status_of(Unlisted("x")) == 404
    assert status_of(Conflict("x")) == 409
    assert status_of(KeyError("x")) == UNEXPECTED == 500


def _error_status_literals(path: Path) -> list[str]:
    """Integer literals 400–599 in ``path``, except in comparisons and as dictionary keys."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            allowed.update(id(n) for n in ast.walk(node))
        elif isinstance(node, ast.Dict):
            allowed.update(id(k) for k in node.keys if k is not None)
    return [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and type(node.value) is int
            and 400 <= node.value < 600 and id(node) not in allowed]


def test_no_view_callback_or_page_writes_an_error_status_of_its_own():
    modules = [p for p in sorted((ROOT / "chalicelib" / "api").glob("*.py"))
               if p.name != "errors.py"] + [ROOT / "app.py"]
    assert len(modules) >= 10
    assert [hit for path in modules for hit in _error_status_literals(path)] == []


def test_the_literal_finder_finds_a_status_written_by_hand():
    sample = ROOT / "chalicelib" / "api" / "errors.py"  # the one module allowed to write them
    assert any(": 404" in hit for hit in _error_status_literals(sample))
