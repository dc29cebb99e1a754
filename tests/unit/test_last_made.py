"""``adapters/last_made.LastMade``: a result is made once while kept, the least recently used
is forgotten past the bound (the PDF's compressed streams and font subsets are kept so)."""

from __future__ import annotations

from chalicelib.adapters.last_made import LastMade


def test_a_kept_result_is_made_once_and_the_least_recently_used_is_forgotten():
    made: list[str] = []
    kept: LastMade[str, str] = LastMade(2)

    def get(key: str) -> str:
        return kept.get(key, lambda: made.append(key) or key.upper())

    assert [get("a"), get("b"), get("a")] == ["A", "B", "A"] and made == ["a", "b"]
    get("c")  # "b" was used least recently: forgotten, "a" kept
    assert get("a") == "A" and made == ["a", "b", "c"]
    assert get("b") == "B" and made == ["a", "b", "c", "b"]
