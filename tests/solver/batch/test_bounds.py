"""Bounds are never below 0: a negative bound (an early Lagrangian one) proves nothing and is
split as (0, 0), so that parts merged under a larger lexicographic weight stay >= 0."""

from __future__ import annotations

from dataclasses import replace

from bench.batch_instances import interview_weeks
from solver.batch import BatchProgress, PreparedPart, optimize_batch, prepare_part, split_batch
from solver.batch.optimize import _score, _split


def _parts() -> list[PreparedPart | None]:
    directory, busy, bookings, batch = interview_weeks(requests=12, members=10, rooms=2, weeks=2, teams=2, seed=3)
    ready = [prepare_part(directory, busy, bookings, part) for part in split_batch(directory, batch)]
    assert all(r is not None for r in ready) and len(ready) >= 2
    return ready


def test_a_negative_bound_splits_to_nothing_proven() -> None:
    ready = _parts()
    part = ready[0]
    assert part is not None
    assert _split(-5, part) == (0, 0)
    assert _split(-part.terms.priority * 3 - 7, part) == (0, 0)
    assert _split(part.terms.priority * 2 + 7, part) == (2, 7)


def test_merged_parts_never_report_a_bound_below_0() -> None:
    """Lexicographic parts merged: the merged weight exceeds each part's, so a part's bound
    split as (-1, weight - x) would have dragged the sum far below 0."""
    ready = _parts()
    scores = []
    for part in ready:
        assert part is not None
        b = part.baseline_breakdown
        scores.append(_score(part, (b.unscheduled_priority, b.cost), _split(-1_000, part)))
    total = scores[0]
    for s in scores[1:]:
        total = total + s
    assert (total.bound_unscheduled_priority, total.bound_cost) == (0, 0)
    assert total.bound == 0 and 0 <= total.gap <= 1
    assert total.weight > max(s.weight for s in scores)


def test_short_limits_report_bounds_between_0_and_the_objective() -> None:
    directory, busy, bookings, batch = interview_weeks(requests=30, members=12, rooms=3, weeks=2, seed=7)
    for limit in (0.2, 0.5):
        reports: list[BatchProgress] = []
        result = optimize_batch(directory, busy, bookings, replace(batch, time_limit=limit, workers=2),
                                on_progress=reports.append)
        assert 0 <= result.best_bound <= result.objective + 1e-6
        assert all(0 <= p.best_bound <= p.objective + 1e-6 for p in reports)
