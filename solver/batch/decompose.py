"""Independent parts of a batch, and their results put back together.

Two items interact when they could hold one resource at overlapping times.
``split_batch`` joins such items (union-find) from the requests alone, before
any planning, so the parts can be planned and solved apart, in parallel:

- each item *reaches* ``[window_start - buffer_before, window_end + buffer_after)``
  widened by one grid cell on each side, on every candidate it lists (members,
  pool members, rooms, room-pool rooms); items whose reaches overlap on one
  resource are joined;
- a booking limit couples a member's items starting on one local day (ISO
  week): items whose windows touch that period join;
- fairness (``w.fairness > 0``) couples a pool's items starting in one period of
  the pool's cycle: items whose windows touch that period join.

Items of two parts never meet on a resource, so the parts' optima add up to the
batch's optimum, and the objective of each is counted in the same terms
(``Score``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from solver.batch.prepare import cycle_keys, resources_of
from solver.batch.result import kpis_of, pinned_item, with_fairness_shares
from solver.batch.types import (
    TICKS_PER_POINT,
    BatchItem,
    BatchProgress,
    BatchRequest,
    BatchResult,
    BatchStatus,
    Score,
    points,
)
from solver.batch.validate import batch_grid
from solver.domain import Booking, Cycle, Directory, PoolSeat
from solver.grid import to_minutes
from solver.plan import minutes_of

__all__ = ["ProgressTally", "merge_results", "split_batch", "with_pinned"]

# Worst first: a merged result is as good as its worst part.
_RANK = {BatchStatus.OPTIMAL: 0, BatchStatus.FEASIBLE: 1, BatchStatus.UNKNOWN: 2, BatchStatus.INFEASIBLE: 3}


def split_batch(directory: Directory, batch: BatchRequest) -> list[BatchRequest]:
    """The independent parts of ``batch``, each a BatchRequest over some of its items
    (in their order), parts ordered by their first item. Assumes a validated batch.

    Pinned items are in no part (they are not solved: ``merge_results`` lists them); a
    movable item reaches its booking's current time too, and its priority is raised by
    the priorities of all the new items (so that no set of new items outweighs it).
    """
    grid = batch_grid(batch)
    reach: dict[str, list[tuple[float, float, int]]] = {}
    everywhere = (0.0, 1.0)  # a period shared is a link, whatever the times
    periods: dict[tuple[int, int, Cycle, str], range] = {}  # items share windows and zones: compute each once

    def _periods_of(first: int, last: int, cycle: Cycle, zone: str) -> range:
        key = (first, last, cycle, zone)
        if key not in periods:
            periods[key] = _periods(first, last, cycle, zone)
        return periods[key]

    for i, item in enumerate(batch.items):
        r = item.request
        if item.pinned:
            continue  # not solved: its booking is an obstacle like any other
        window_start, window_end = r.window_start, r.window_end
        if item.movable and item.current is not None:
            # Its booking's time is freed for the others: they meet it there too.
            window_start, window_end = min(window_start, item.current.start), max(window_end, item.current.end)
        lo = to_minutes(window_start) - minutes_of(r.buffer_before.total_seconds()) - grid
        hi = to_minutes(window_end) + minutes_of(r.buffer_after.total_seconds()) + grid
        first, last = math.floor(to_minutes(r.window_start)), math.ceil(to_minutes(r.window_end))
        for resource in resources_of(r, directory):
            reach.setdefault(resource, []).append((lo, hi, i))
            member = directory.members.get(resource)
            if member is None:
                continue
            for limit, cycle in ((member.daily_limit, Cycle.DAY), (member.weekly_limit, Cycle.WEEK)):
                if limit is not None:
                    for key in _periods_of(first, last, cycle, member.time_zone):
                        reach.setdefault(f"{cycle} {key} {resource}", []).append((*everywhere, i))
        if batch.weights.fairness > 0:
            for seat in r.seats:
                if isinstance(seat, PoolSeat):
                    pool = directory.pools[seat.pool_id]
                    for key in _periods_of(first, last, pool.cycle, r.time_zone):
                        reach.setdefault(f"{pool.cycle} {key} pool {pool.id}", []).append((*everywhere, i))

    parent = list(range(len(batch.items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Per resource, a sweep in order of reach: each item joins the run it overlaps.
    for spans in reach.values():
        spans.sort()
        run_end = float("-inf")
        run_root = -1
        for lo, hi, i in spans:
            if lo < run_end:
                a, b = find(i), find(run_root)
                parent[max(a, b)] = min(a, b)
                run_end = max(run_end, hi)
            else:
                run_end, run_root = hi, i
    groups: dict[int, list[BatchItem]] = {}
    # A movable item is worth more than every new item together: a booking is moved, not dropped for them.
    boost = sum(item.priority for item in batch.items if item.current is None)
    for i, item in enumerate(batch.items):
        if not item.pinned:
            groups.setdefault(find(i), []).append(replace(item, priority=item.priority + boost)
                                                  if item.movable else item)
    total = max(1, sum(len(items) for items in groups.values()))
    # A work limit is shared in proportion to the items: the same for the same batch, whatever runs the parts.
    return [replace(batch, items=tuple(items), grid_minutes=grid,
                    work_limit=None if batch.work_limit is None else batch.work_limit * len(items) / total)
            for _, items in sorted(groups.items())]


def with_pinned(batch: BatchRequest, bookings: Sequence[Booking]) -> list[Booking]:
    """``bookings`` and the booking of every pinned item not among them (an obstacle where it is)."""
    out = list(bookings)
    known = {bk.id for bk in out}
    for item in batch.items:
        current = item.current
        if item.pinned and current is not None and current.booking_id not in known:
            out.append(Booking(current.booking_id, current.start, current.end,
                               tuple(dict.fromkeys(r for seat in current.seats for r in seat))))
    return out


def _periods(first: int, last: int, cycle: Cycle, zone: str) -> range:
    """The cycle periods (solver.batch.prepare.cycle_keys) of every instant in ``[first, last)``."""
    keys = cycle_keys(np.array([first, max(first, last - 1)], dtype=np.int64), cycle, zone)
    return range(int(keys[0]), int(keys[1]) + 1)


def merge_results(directory: Directory, batch: BatchRequest, results: Sequence[BatchResult],
                  wall_time: float) -> BatchResult:
    """One result from the results of ``batch``'s parts: the worst status, scores
    added, KPIs recomputed over the whole schedule; pinned items scheduled where their
    bookings are, at no cost."""
    pinned = {item.id: pinned_item(item) for item in batch.items if item.pinned}
    if len(results) == 1 and not pinned:
        return replace(results[0], wall_time=wall_time)
    explicit = round(batch.priority_weight * TICKS_PER_POINT) if batch.priority_weight is not None else None
    score = results[0].score if results else Score(0, 0, 0, 0, 0, 0, 0, explicit)
    for r in results[1:]:
        score = score + r.score
    scheduled = {**pinned, **{k: v for r in results for k, v in r.scheduled.items()}}
    unscheduled = {k: v for r in results for k, v in r.unscheduled.items()}
    order = {item.id: n for n, item in enumerate(batch.items)}
    return BatchResult(
        status=max((r.status for r in results), key=_RANK.__getitem__, default=BatchStatus.OPTIMAL),
        objective=points(score.objective),
        best_bound=points(score.bound),
        gap=round(score.gap, 6),
        wall_time=wall_time,
        scheduled=with_fairness_shares(directory, dict(sorted(scheduled.items(), key=lambda kv: order[kv[0]])),
                                       batch.weights),
        unscheduled=dict(sorted(unscheduled.items(), key=lambda kv: order[kv[0]])),
        kpis=kpis_of(directory, batch.items, scheduled, batch.weights),
        priority_weight=score.weight / TICKS_PER_POINT,  # unrounded: it multiplies priorities
        baseline_objective=points(score.baseline),
        score=score,
        parts=sum(r.parts for r in results),
        incomplete=tuple(part for r in results for part in r.incomplete),
    )


@dataclass
class _PartState:
    score: Score
    scheduled: int
    done: bool = False


class ProgressTally:
    """Progress over the parts of a batch: each part's latest score, summed.

    Parts not heard from yet are left out of the sums (``parts_done`` of
    ``parts_total`` says how many are in). Not thread-safe: callers that report
    from several threads hold a lock around ``update``.
    """

    def __init__(self, parts_total: int, on_progress: Callable[[BatchProgress], None] | None,
                 began: float | None = None) -> None:
        self.parts_total = parts_total
        self._on_progress = on_progress
        self._began = time.monotonic() if began is None else began
        self._parts: dict[int, _PartState] = {}

    def update(self, part: int, score: Score, scheduled: int, source: str, *, done: bool = False) -> None:
        self._parts[part] = _PartState(score, scheduled, done)
        if self._on_progress is None:
            return
        total = _sum(s.score for s in self._parts.values())
        self._on_progress(BatchProgress(
            objective=points(total.objective),
            best_bound=points(total.bound),
            gap=round(total.gap, 6),
            scheduled=sum(s.scheduled for s in self._parts.values()),
            elapsed=round(time.monotonic() - self._began, 6),
            source=source,
            parts_done=sum(1 for s in self._parts.values() if s.done),
            parts_total=self.parts_total,
            complete=len(self._parts) == self.parts_total,
        ))


def _sum(scores: Iterable[Score]) -> Score:
    it = iter(scores)
    total = next(it)
    for s in it:
        total = total + s
    return total
