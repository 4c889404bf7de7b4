"""An exhaustive oracle for batch optimization, written from the rules alone.

Slow and obvious on purpose. Per item it lists every *option*: a candidate start
and a way to fill every seat with distinct resources, each free there (in
conflict mode: members under their limits at a price, rooms free), priced with
exact Fractions through tests/brute.py (itself written straight from the
semantics). Then it tries every combination of one option or "unscheduled" per
item, keeping those that obey the batch rules, and returns the best objective.

Batch rules, as docs/objective.md states them:

- Two scheduled items sharing a resource: neither one's padded span
  ``[s - buffer_before, e + buffer_after)`` overlaps the other's meeting
  ``[s, e)``, both widened outward to the batch grid (the least common multiple
  of the items' resolutions).
- A member's booking limits count the batch's items like bookings: existing
  bookings plus scheduled items starting on a local day (ISO week) stay within
  the limit.
- Objective: priority left out (first, or times an explicit weight), then seat
  costs + conflict costs + w.earliness x hours from each window start +
  w.fairness x sum over (pool, cycle period) of max - min load over the pool's
  members.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from solver import Booking, BusyInterval, BusyKind, Cycle, Directory, PoolSeat
from solver.batch import BatchRequest
from tests.solver.brute import (
    Freedom,
    attendees,
    candidate_cost,
    candidate_starts,
    ceil_to_cell,
    expand_seats,
    floor_to_cell,
)

__all__ = ["BruteBest", "BruteOption", "brute_batch", "item_options", "pair_clashes", "period_of"]


@dataclass(frozen=True)
class BruteOption:
    """One way to schedule one item."""

    item: int
    start: datetime
    end: datetime
    seats: tuple[tuple[str, ...], ...]  # per request seat, the resources filling it (sorted)
    cost: Fraction  # seat costs + conflict costs + earliness, in points
    pad_before: timedelta
    pad_after: timedelta

    @property
    def resources(self) -> set[str]:
        return {r for seat in self.seats for r in seat}


@dataclass(frozen=True)
class BruteBest:
    left_out: int  # priority left unscheduled
    cost: Fraction  # points, fairness included
    choice: tuple[BruteOption | None, ...]


def period_of(start: datetime, cycle: Cycle, zone: str) -> object:
    local = start.astimezone(ZoneInfo(zone)).date()
    if cycle is Cycle.DAY:
        return local
    if cycle is Cycle.WEEK:
        return local.isocalendar()[:2]
    return (local.year, local.month)


def _conflict_cost(freedom: Freedom, busy: Sequence[BusyInterval], resource: str, start: datetime) -> Fraction:
    """What seating a member who is not free costs in conflict mode (0 when free)."""
    request = freedom.request
    w = request.weights
    end = start + request.duration
    lo, hi = start - request.buffer_before, end + request.buffer_after
    cost = Fraction(0)
    cell = freedom.cell
    for b in busy:
        if b.resource_id == resource and b.kind is not BusyKind.OUTSIDE_HOURS:
            b_lo, b_hi = floor_to_cell(b.start, cell), ceil_to_cell(b.end, cell)
            if b_lo < hi and b_hi > lo:
                cost += Fraction(w.conflict_tentative if b.kind is BusyKind.TENTATIVE else w.conflict_busy)
    for bk in freedom.bookings:
        if resource in bk.resources:
            b_lo, b_hi = floor_to_cell(bk.start, cell), ceil_to_cell(bk.end, cell)
            if b_lo < hi and b_hi > lo:
                cost += Fraction(w.conflict_busy)
    if not freedom.in_hours(resource, start, end):
        cost += Fraction(w.outside_hours)
    return cost


def item_options(directory: Directory, busy: Sequence[BusyInterval], bookings: Sequence[Booking],
                 batch: BatchRequest, index: int) -> list[BruteOption]:
    """Every way to schedule item ``index`` alone (no other item in the way)."""
    request = replace(batch.items[index].request, weights=batch.weights)
    freedom = Freedom(directory, busy, request, bookings)
    expanded = expand_seats(directory, request, bookings)
    need = attendees(request, expanded)
    window_start = request.window_start
    out: list[BruteOption] = []
    for start in candidate_starts(request):
        per_unit: list[list[tuple[str, Fraction]]] = []
        for _, priced, is_room in expanded:
            choices = []
            for p in priced:
                if freedom.is_free(p.resource, start):
                    extra = Fraction(0)
                elif batch.allow_conflicts and not is_room and freedom.within_limits(p.resource, start):
                    extra = _conflict_cost(freedom, busy, p.resource, start)
                else:
                    continue
                choices.append((p.resource, candidate_cost(p, start, request, bookings, need) + extra))
            per_unit.append(choices)
        seen: set[tuple[tuple[str, ...], ...]] = set()
        for combo in itertools.product(*per_unit):
            ids = [r for r, _ in combo]
            if len(set(ids)) < len(ids):
                continue
            seats = tuple(tuple(sorted(r for (r, _), (seat, _, _) in zip(combo, expanded, strict=True) if seat == i))
                          for i in range(len(request.seats)))
            if seats in seen:  # the k units of a pool seat in another order
                continue
            seen.add(seats)
            hours = Fraction(int((start - window_start).total_seconds()) // 60, 60)
            cost = sum((c for _, c in combo), Fraction(0)) + Fraction(request.weights.earliness) * hours
            out.append(BruteOption(index, start, start + request.duration, seats, cost,
                                   request.buffer_before, request.buffer_after))
    return out


def pair_clashes(a: BruteOption, b: BruteOption, grid: int) -> bool:
    """True when the two options share a resource and one's padded span meets the other's meeting."""
    if not (a.resources & b.resources):
        return False
    cell = timedelta(minutes=grid)

    def core(o: BruteOption) -> tuple[datetime, datetime]:
        return floor_to_cell(o.start, cell), ceil_to_cell(o.end, cell)

    def padded(o: BruteOption) -> tuple[datetime, datetime]:
        return floor_to_cell(o.start - o.pad_before, cell), ceil_to_cell(o.end + o.pad_after, cell)

    def meet(x: tuple[datetime, datetime], y: tuple[datetime, datetime]) -> bool:
        return x[0] < y[1] and y[0] < x[1]

    return meet(core(a), padded(b)) or meet(padded(a), core(b))


def _limits_hold(directory: Directory, bookings: Sequence[Booking], chosen: Sequence[BruteOption]) -> bool:
    for member in directory.members.values():
        if member.daily_limit is None and member.weekly_limit is None:
            continue
        zone = ZoneInfo(member.time_zone)
        starts = [o.start for o in chosen if member.id in o.resources]
        if not starts:
            continue
        held = [b.start for b in bookings if member.id in b.resources] + starts
        days = [s.astimezone(zone).date() for s in held]
        for day in {s.astimezone(zone).date() for s in starts}:
            if member.daily_limit is not None and sum(1 for d in days if d == day) > member.daily_limit:
                return False
            week = day.isocalendar()[:2]
            if member.weekly_limit is not None and sum(
                    1 for d in days if d.isocalendar()[:2] == week) > member.weekly_limit:
                return False
    return True


def fairness_spread(directory: Directory, batch: BatchRequest, chosen: Sequence[BruteOption]) -> int:
    """Sum over (pool, cycle period) of max - min load over the pool's members."""
    loads: dict[tuple[str, object], dict[str, int]] = {}
    for o in chosen:
        request = batch.items[o.item].request
        for i, seat in enumerate(request.seats):
            if isinstance(seat, PoolSeat):
                pool = directory.pools[seat.pool_id]
                counts = loads.setdefault((pool.id, period_of(o.start, pool.cycle, request.time_zone)), {})
                for m in o.seats[i]:
                    counts[m] = counts.get(m, 0) + 1
    spread = 0
    for (pool_id, _), counts in loads.items():
        per_member = [counts.get(m, 0) for m in directory.pools[pool_id].members]
        spread += max(per_member) - min(per_member)
    return spread


def brute_batch(directory: Directory, busy: Sequence[BusyInterval], bookings: Sequence[Booking],
                batch: BatchRequest) -> BruteBest:
    """The best objective over every combination (depth first, pruned on what is already certain)."""
    grid = batch.grid_minutes or math.lcm(*(i.request.resolution for i in batch.items))
    options = [sorted(item_options(directory, busy, bookings, batch, i), key=lambda o: o.cost)
               for i in range(len(batch.items))]
    priorities = [item.priority for item in batch.items]
    weight = Fraction(str(batch.priority_weight)) if batch.priority_weight is not None else None
    fairness = Fraction(batch.weights.fairness)
    best: list[BruteBest | None] = [None]

    def key(left_out: int, cost: Fraction) -> tuple[Fraction, Fraction]:
        return (Fraction(left_out), cost) if weight is None else (weight * left_out + cost, Fraction(0))

    def walk(i: int, chosen: list[BruteOption | None], left_out: int, cost: Fraction) -> None:
        current = best[0]
        # Fairness is >= 0 and the rest only grows: prune what cannot beat the best.
        if current is not None and key(left_out, cost) >= key(current.left_out, current.cost):
            return
        if i == len(options):
            placed = [o for o in chosen if o is not None]
            total = cost + fairness * fairness_spread(directory, batch, placed)
            if current is None or key(left_out, total) < key(current.left_out, current.cost):
                best[0] = BruteBest(left_out, total, tuple(chosen))
            return
        placed = [o for o in chosen if o is not None]
        for option in options[i]:
            if any(pair_clashes(option, other, grid) for other in placed):
                continue
            if not _limits_hold(directory, bookings, [*placed, option]):
                continue
            walk(i + 1, [*chosen, option], left_out, cost + option.cost)
        walk(i + 1, [*chosen, None], left_out + priorities[i], cost)

    walk(0, [], 0, Fraction(0))
    assert best[0] is not None
    return best[0]


