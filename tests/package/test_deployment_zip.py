"""The deployment zip ``make package`` builds (beside the packaged template) holds the product
and nothing of the developer's stack: no ``devstack/`` (local stack, channel simulators, message
builders), no ``tests/``, and none of their old homes inside ``chalicelib``. A zip that is missing
fails: it is never skipped."""

from __future__ import annotations

import zipfile
from pathlib import PurePosixPath

import pytest

from tests.package.test_packaged_template import TEMPLATE

ZIP = TEMPLATE.parent / "deployment.zip"


def dev_files(names: list[str]) -> list[str]:
    """The entries that are development code: what Lambda never runs."""
    found = []
    for name in names:
        path = PurePosixPath(name)
        top = path.parts[0]
        if top in ("devstack", "tests"):
            found.append(name)
        elif top == "chalicelib" and (
                "local" in path.parts[1:-1] or "builders" in path.parts[1:-1]
                or path.stem.endswith("_builders") or path.stem.startswith("sim_")
                or path.stem in ("simulator", "channel_servers", "seed")):
            found.append(name)
    return found


@pytest.fixture(scope="module")
def names() -> list[str]:
    assert ZIP.exists(), f"{ZIP} is missing: run `make package`"
    with zipfile.ZipFile(ZIP) as archive:
        return archive.namelist()


def test_the_zip_holds_the_app_and_chalicelib(names):
    assert "app.py" in names
    assert "chalicelib/bootstrap.py" in names and "chalicelib/adapters/wechatpay/verify.py" in names


def test_the_zip_holds_reportlabs_c_accelerator(names):
    # Without it every PDF formats its numbers in Python: 20-25 % more CPU per bill.
    assert any(PurePosixPath(name).name.startswith("_rl_accel.") for name in names)


def test_the_zip_holds_no_local_stack_simulator_or_builder(names):
    assert dev_files(names) == []


def test_the_check_names_every_kind_of_dev_file():
    assert dev_files(["devstack/stack.py", "devstack/builders/unionpay.py", "tests/fakes.py",
                      "chalicelib/local/seed.py", "chalicelib/adapters/wechatpay_builders.py",
                      "chalicelib/sim_alipay.py", "chalicelib/simulator.py",
                      "app.py", "chalicelib/adapters/wechatpay/verify.py", "cryptography/x509/base.py",
                      "moto/stack.py"]) == [
        "devstack/stack.py", "devstack/builders/unionpay.py", "tests/fakes.py",
        "chalicelib/local/seed.py", "chalicelib/adapters/wechatpay_builders.py",
        "chalicelib/sim_alipay.py", "chalicelib/simulator.py"]
