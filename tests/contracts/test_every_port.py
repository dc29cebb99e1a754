"""Every port has its contract here: a ``Test<Port>`` class, so a new port cannot arrive with a
fake that nothing holds to its adapter."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from chalicelib.services import ports


def test_every_port_has_a_contract_class_in_this_tier():
    protocols = {name for name, value in vars(ports).items()
                 if inspect.isclass(value) and getattr(value, "_is_protocol", False)
                 and name not in ("Protocol", "Ports")}  # Ports: the container of them all
    classes = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        module = importlib.import_module(f"tests.contracts.{path.stem}")
        classes |= {name for name, value in vars(module).items()
                    if inspect.isclass(value) and name.startswith("Test")}
    assert protocols
    assert {f"Test{name}" for name in protocols} - classes == set()
