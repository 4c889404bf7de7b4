"""Large interacting panels: many pool seats drawing on overlapping pools.

Small property-test instances never reach the sizes where CP-SAT's own limits
matter (objective overflow checks, float objective values); these do, and the
answer must still be exact and complete.
"""

from __future__ import annotations

import pytest

from bench.baseline import baseline_slots
from bench.scenarios import overlapping_pools
from solver import find_slots


@pytest.mark.parametrize(("seed", "count"), [(3, 3), (4, 2)])
def test_many_interacting_pool_seats_match_the_baseline(seed: int, count: int) -> None:
    directory, busy, request, _ = overlapping_pools(seed, count, days=1, start_interval=15)
    result = find_slots(directory, busy, request)
    _, expected = baseline_slots(directory, busy, request)
    assert result.complete
    assert [(s.start, s.cost) for s in result.slots] == [(e.start, e.cost) for e in expected]
    assert len(expected) > 10
    for slot in result.slots:
        assert len(set(slot.assignment.resource_ids)) == 4 * count
