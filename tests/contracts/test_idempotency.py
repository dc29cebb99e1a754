"""IdempotencyStore: FakeIdempotency against DynamoIdempotency (claim → attach → complete)."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.domain.records import IdempotencyClaim
from tests.contracts.builders import T0

LATER = T0 + timedelta(seconds=30)
STALE = T0 + timedelta(seconds=61)


class TestIdempotencyStore:
    def test_the_first_claim_wins_and_a_second_sees_it_in_progress(self, stores):
        assert stores.idempotency.claim("key-1", "h1", T0) is None
        assert stores.idempotency.claim("key-1", "h1", LATER) == IdempotencyClaim("in_progress", "h1", None)

    def test_a_completed_claim_answers_with_its_result(self, stores):
        stores.idempotency.claim("key-1", "h1", T0)
        assert stores.idempotency.attach("key-1", "note-1", T0) is True
        stores.idempotency.complete("key-1", "note-1")
        for now in (LATER, STALE):
            assert stores.idempotency.claim("key-1", "h1", now) == IdempotencyClaim("completed", "h1", "note-1")

    def test_another_request_body_under_the_same_key_sees_the_earlier_hash(self, stores):
        stores.idempotency.claim("key-1", "h1", T0)
        assert stores.idempotency.claim("key-1", "h2", STALE) == IdempotencyClaim("in_progress", "h1", None)

    def test_a_stale_claim_is_taken_over_with_the_result_its_holder_attached(self, stores):
        stores.idempotency.claim("key-1", "h1", T0)
        stores.idempotency.attach("key-1", "note-1", T0)
        assert stores.idempotency.claim("key-1", "h1", STALE) == IdempotencyClaim("taken_over", "h1", "note-1")
        assert stores.idempotency.claim("key-1", "h1", STALE + timedelta(seconds=1)) == IdempotencyClaim("in_progress", "h1", "note-1")

    def test_the_holder_taken_over_can_no_longer_attach_or_release(self, stores):
        stores.idempotency.claim("key-1", "h1", T0)
        stores.idempotency.claim("key-1", "h1", STALE)
        assert stores.idempotency.attach("key-1", "note-old", T0) is False
        stores.idempotency.release("key-1", T0)
        assert stores.idempotency.attach("key-1", "note-new", STALE) is True
        assert stores.idempotency.claim("key-1", "h1", STALE + timedelta(seconds=1)) == IdempotencyClaim("in_progress", "h1", "note-new")

    def test_a_released_claim_without_a_result_is_gone_and_can_be_claimed_afresh(self, stores):
        stores.idempotency.claim("key-1", "h1", T0)
        stores.idempotency.release("key-1", T0)
        assert stores.idempotency.claim("key-1", "h2", LATER) is None

    def test_a_released_claim_with_a_result_is_taken_over_at_once_by_the_same_body(self, stores):
        stores.idempotency.claim("key-1", "h1", T0)
        stores.idempotency.attach("key-1", "note-1", T0)
        stores.idempotency.release("key-1", T0)
        assert stores.idempotency.claim("key-1", "h2", LATER) == IdempotencyClaim("released", "h1", "note-1")
        assert stores.idempotency.claim("key-1", "h1", LATER) == IdempotencyClaim("taken_over", "h1", "note-1")

    def test_attaching_to_a_key_never_claimed_fails(self, stores):
        assert stores.idempotency.attach("key-9", "note-1", T0) is False
        assert stores.idempotency.claim("key-9", "h1", T0) is None

    def test_releasing_with_the_wrong_claim_time_changes_nothing(self, stores):
        stores.idempotency.claim("key-1", "h1", T0)
        stores.idempotency.release("key-1", LATER)
        assert stores.idempotency.claim("key-1", "h1", LATER) == IdempotencyClaim("in_progress", "h1", None)
