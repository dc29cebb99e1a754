"""The fault tier runs on the functional tier's world (the whole app on moto, in-process)."""

from tests.functional.conftest import client, seed_cache, world  # noqa: F401  (fixtures)
