"""Large interacting panels: many pool seats drawing on overlapping pools.

Small property-test instances never reach the sizes where CP-SAT's own limits
matter (objective overflow checks, float objective values); these do, and the
answer must still be exact and complete.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest

from bench.baseline import baseline_slots
from solver import BusyInterval, Directory, Distribution, Member, Pool, PoolSeat, SlotRequest, WorkingHours, find_slots


def overlapping_pools(seed: int, count: int) -> tuple[Directory, list[BusyInterval], SlotRequest]:
    rnd = random.Random(seed)
    zone = "Europe/Berlin"
    members = [Member(f"m{i}", time_zone=zone, working_hours=WorkingHours.weekdays(time(9), time(17), zone))
               for i in range(40)]
    pools = [Pool(f"p{k}", tuple(f"m{i}" for i in rnd.sample(range(40), 35)), Distribution.ROUND_ROBIN)
             for k in range(4)]
    start = datetime(2026, 11, 30, tzinfo=UTC)
    busy = []
    for m in members:
        t = start
        while t < start + timedelta(days=1):
            t += timedelta(minutes=rnd.choice([60, 120, 240, 480]))
            length = timedelta(minutes=rnd.choice([30, 60, 90]))
            busy.append(BusyInterval(m.id, t, t + length))
            t += length
    request = SlotRequest(start, start + timedelta(days=1), timedelta(hours=1), zone,
                          tuple(PoolSeat(p.id, count) for p in pools), start_interval=15)
    return Directory.of(members, [], pools), busy, request


@pytest.mark.parametrize(("seed", "count"), [(3, 3), (4, 2)])
def test_many_interacting_pool_seats_match_the_baseline(seed: int, count: int) -> None:
    directory, busy, request = overlapping_pools(seed, count)
    result = find_slots(directory, busy, request)
    _, expected = baseline_slots(directory, busy, request)
    assert result.complete
    assert [(s.start, s.cost) for s in result.slots] == [(e.start, e.cost) for e in expected]
    assert len(expected) > 10
    for slot in result.slots:
        assert len(set(slot.assignment.resource_ids)) == 4 * count
