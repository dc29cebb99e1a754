"""CounterRepository: FakeCounters against DynamoCounters (an atomic ADD, a conditional lease)."""

from __future__ import annotations


class TestCounterRepository:
    def test_a_counter_never_counted_is_zero(self, stores):
        assert stores.counters.value("rate#a") == 0

    def test_next_value_counts_from_one_and_value_reads_without_counting(self, stores):
        assert [stores.counters.next_value("rate#a") for _ in range(3)] == [1, 2, 3]
        assert stores.counters.value("rate#a") == 3
        assert stores.counters.value("rate#a") == 3

    def test_counters_are_independent_and_an_expiry_does_not_reset_one(self, stores):
        stores.counters.next_value("rate#a", expires_epoch=1000)
        assert stores.counters.next_value("rate#a", expires_epoch=2000) == 2
        assert stores.counters.next_value("rate#b") == 1
        assert stores.counters.value("rate#a") == 2

    def test_a_free_lease_is_taken_and_a_held_one_says_when_it_ends(self, stores):
        assert stores.counters.hold("lease#job", 1000, 1060) == 0
        assert stores.counters.hold("lease#job", 1010, 1070) == 1060
        assert stores.counters.hold("lease#job", 1059, 1119) == 1060

    def test_a_lease_is_free_again_from_the_second_it_ends(self, stores):
        stores.counters.hold("lease#job", 1000, 1060)
        assert stores.counters.hold("lease#job", 1060, 1120) == 0
        assert stores.counters.hold("lease#job", 1100, 1160) == 1120

    def test_leases_of_different_names_do_not_block_each_other(self, stores):
        assert stores.counters.hold("lease#a", 1000, 1060) == 0
        assert stores.counters.hold("lease#b", 1000, 1060) == 0
