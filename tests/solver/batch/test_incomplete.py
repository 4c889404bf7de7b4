"""A part dropped at the deadline while it was being planned: its items are unscheduled
(DEADLINE), and the result lists the part as incomplete and says why."""

from __future__ import annotations

import time
from dataclasses import replace

from bench.batch_instances import interview_weeks
from solver.batch import BatchStatus, UnscheduledReason, optimize_batch, solve_part, split_batch


def test_a_part_planned_past_its_deadline_is_listed_as_incomplete_with_the_reason() -> None:
    directory, busy, bookings, batch = interview_weeks(requests=12, members=10, rooms=2, weeks=2, teams=2, seed=3)
    part = split_batch(directory, batch)[0]
    result = solve_part(directory, busy, bookings, part, deadline=time.monotonic())
    assert result.status is BatchStatus.UNKNOWN and not result.scheduled
    assert len(result.incomplete) == 1
    dropped = result.incomplete[0]
    assert dropped.item_ids == tuple(item.id for item in part.items)
    assert "ran out while the part's" in dropped.reason and "being planned" in dropped.reason
    assert {u.reason for u in result.unscheduled.values()} == {UnscheduledReason.DEADLINE}
    assert all(dropped.reason in u.detail for u in result.unscheduled.values())


def test_the_merged_result_keeps_the_parts_that_were_dropped() -> None:
    directory, busy, bookings, batch = interview_weeks(requests=12, members=10, rooms=2, weeks=2, teams=2, seed=3)
    whole = optimize_batch(directory, busy, bookings, replace(batch, time_limit=5), deadline=time.monotonic())
    assert whole.parts == 4 and len(whole.incomplete) == 4
    assert sorted(i for part in whole.incomplete for i in part.item_ids) == sorted(i.id for i in batch.items)
    solved = optimize_batch(directory, busy, bookings, replace(batch, time_limit=5))
    assert solved.incomplete == () and solved.status is not BatchStatus.UNKNOWN
