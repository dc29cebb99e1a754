"""A scheduled job's daily round, carried from invocation to invocation in its ``JobState``.

The archive check and the merchant-credential check run every few minutes in slices: a round
starts at the first slice at or after its ``next_round_at`` (any slice, before the first round),
and each slice goes on from the state the last one saved. ``round_state`` is that opening: the
state a slice works from, or None when the next round is not due yet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.services.ports import Ports


def round_state(deps: Ports, job: str, now: datetime,
                fresh: Callable[[dict[str, Any]], dict[str, Any]]
                ) -> tuple[dict[str, Any], int] | None:
    """``job``'s saved state and its version while a round is under way; ``fresh(saved)``, a
    new round's first state made from the one it follows, once the next round is due; None
    while it is not."""
    state, version = deps.job_state.load(job)
    if not state.get("in_round"):
        due = state.get("next_round_at")
        if due and now < datetime.fromisoformat(due):
            return None
        state = fresh(state)
    return state, version
