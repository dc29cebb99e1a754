"""The fault tier runs on the functional tier's world (the whole app on moto, in-process)."""

from tests.functional.conftest import client, process_world, world  # noqa: F401  (fixtures)
