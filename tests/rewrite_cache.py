"""pytest's rewritten test modules, written once per run and shared by the xdist workers.

pytest rewrites the asserts of every test module and ``conftest.py`` it imports (an AST pass in
Python: ~11 CPU-s for this repository's ~250 test modules, two thirds of a worker's collection)
and caches the result beside the module (``__pycache__/*.cpython-312-pytest-*.pyc``), but only
when bytecode may be written. This machine's environment sets ``PYTHONDONTWRITEBYTECODE=1``, so
nothing was ever cached and each of the tiers' two workers rewrote every module on every run.

pytest still *reads* a cached rewrite when bytecode writing is off. So each worker, before it
collects, rewrites the modules no one has cached yet and writes them, starting at its own share
of the list (worker ``k`` of ``n`` at the ``k``-th ``n``-th, wrapping round): the workers rewrite
disjoint parts side by side, then each collects from the cache. Each module is rewritten once
per change instead of once per worker, exactly as pytest itself rewrites it (its own function,
with the session's config); a write is a temporary file renamed into place, as pytest's.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any


def share_rewritten_modules(config: Any) -> int:
    """On an xdist worker whose asserts are rewritten: rewrite and cache each test module under
    the session's paths that has no up-to-date cached rewrite yet. Returns how many it wrote."""
    worker = getattr(config, "workerinput", None)
    if worker is None or config.getoption("assertmode") != "rewrite":
        return 0
    try:
        from _pytest.assertion.rewrite import (
            PYC_TAIL,
            _rewrite_test,
            _write_pyc_fp,
            get_cache_dir,
        )
        from _pytest.pathlib import fnmatch_ex
    except ImportError:  # another pytest: it rewrites for itself, as before
        return 0
    patterns = [*config.getini("python_files"), "conftest.py"]
    modules = sorted({path for path in _python_files(config)
                      if any(fnmatch_ex(pattern, path) for pattern in patterns)})
    if not modules:
        return 0
    index, count = int(worker["workerid"].removeprefix("gw")), int(worker["workercount"])
    start = len(modules) * index // max(count, 1)
    written = 0
    for module in modules[start:] + modules[:start]:
        pyc = get_cache_dir(module) / (module.name[:-3] + PYC_TAIL)
        try:
            if _up_to_date(module, pyc):
                continue
            source_stat, code = _rewrite_test(module, config)
            pyc.parent.mkdir(parents=True, exist_ok=True)
            partial = pyc.with_name(f"{pyc.name}.{os.getpid()}")
            with open(partial, "wb") as out:
                _write_pyc_fp(out, source_stat, code)
            os.replace(partial, pyc)
            written += 1
        except (OSError, SyntaxError, ValueError):  # ValueError: undecodable or NUL bytes
            continue  # pytest meets it again at import, and reports it as it always did
    return written


def _python_files(config: Any) -> list[Path]:
    here = Path(config.invocation_params.dir)
    found: list[Path] = []
    for arg in config.args:
        path = (here / str(arg).split("::")[0]).resolve()
        if path.is_dir():
            found.extend(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        elif path.suffix == ".py":
            found.append(path)
        for parent in path.parents:  # the conftest.py files above a path apply to it too
            if (parent / "conftest.py").exists():
                found.append(parent / "conftest.py")
            if parent == Path(config.rootpath):
                break
    return found


def _up_to_date(source: Path, pyc: Path) -> bool:
    """The header test pytest's own reader makes (magic, flags, source mtime and size)."""
    try:
        with open(pyc, "rb") as cached:
            head = cached.read(16)
        stat = source.stat()
    except OSError:
        return False
    return (len(head) == 16 and head[:4] == importlib.util.MAGIC_NUMBER
            and head[4:8] == b"\x00\x00\x00\x00"
            and int.from_bytes(head[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(head[12:16], "little") == stat.st_size & 0xFFFFFFFF)

