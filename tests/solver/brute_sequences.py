"""An exhaustive oracle for ``find_sequences``, straight from SCHEDULING.md "Sequences".

For every first start, every allowed order and every gap vector (multiples of
the resolution in ``[min_gap, max_gap]``), it asks tests/solver/brute.py's
``Freedom`` whether each candidate is free for its segment at that segment's
start, then tries every combination of every unit of every segment with
``itertools.product``: distinct within a segment; a member in one segment only
unless repeats are allowed; no resource in two segments whose buffered windows
overlap. Cost: exact ``Fraction`` seat costs plus ``gap_weight`` per hour of
gap. The best per first start minimizes (cost, segment offsets in time order,
candidate positions unit by unit in listed segment order).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from solver import Booking, BusyInterval, Directory, SlotRequest
from solver.sequences import SequenceRequest, segment_request
from tests.solver.brute import Freedom, attendees, candidate_cost, candidate_starts, conflict_price, expand_seats

__all__ = ["BruteOption", "brute_least_conflict_sequences", "brute_sequences", "orders"]


@dataclass(frozen=True)
class BruteOption:
    first: datetime
    cost: Fraction
    offsets: tuple[int, ...]  # minutes from the first start, in time order
    order: tuple[int, ...]  # listed segment at each time position
    resources: tuple[tuple[str, ...], ...]  # per listed segment, its units' resources in order


def orders(request: SequenceRequest) -> list[tuple[int, ...]]:
    n = len(request.segments)
    if not request.any_order:
        return [tuple(range(n))]
    free = sorted(request.free_order) if request.free_order else list(range(n))
    out = []
    for perm in itertools.permutations(free):
        order = list(range(n))
        for pos, seg in zip(free, perm, strict=True):
            order[pos] = seg
        out.append(tuple(order))
    return out


def _minutes(td: timedelta) -> int:
    return int(td.total_seconds() // 60)


def brute_sequences(directory: Directory, busy: Iterable[BusyInterval], request: SequenceRequest,
                    bookings: Sequence[Booking] = ()) -> dict[datetime, BruteOption]:
    busy = list(busy)
    n = len(request.segments)
    reqs = [segment_request(request, k) for k in range(n)]
    freedom = [Freedom(directory, busy, r, bookings) for r in reqs]
    expanded = [expand_seats(directory, r, bookings) for r in reqs]
    need = [attendees(r, e) for r, e in zip(reqs, expanded, strict=True)]
    durations = [_minutes(s.duration) for s in request.segments]
    probe = SlotRequest(request.window_start, request.window_end, timedelta(minutes=1), request.time_zone, (),
                        start_interval=request.start_interval, minimum_notice=request.minimum_notice, now=request.now)
    lo, hi = _minutes(request.min_gap), _minutes(request.max_gap)
    gap_values = list(range(lo, hi + 1, request.resolution))
    span_limit = _minutes(request.max_span or timedelta(days=1))
    out: dict[datetime, BruteOption] = {}
    for first in candidate_starts(probe):
        best: tuple[tuple[object, ...], BruteOption] | None = None
        for order in orders(request):
            for gaps in itertools.product(gap_values, repeat=n - 1):
                offsets = [0]
                for i in range(1, n):
                    offsets.append(offsets[-1] + durations[order[i - 1]] + gaps[i - 1])
                span = offsets[-1] + durations[order[-1]]
                if span > span_limit or first + timedelta(minutes=span) > request.window_end:
                    continue
                start_of = {k: first + timedelta(minutes=offsets[pos]) for pos, k in enumerate(order)}
                window = {k: (start_of[k] - request.segments[k].buffer_before,
                              start_of[k] + request.segments[k].duration + request.segments[k].buffer_after)
                          for k in range(n)}
                units = [(k, priced) for k in range(n) for _, priced, _ in expanded[k]]
                free = [[j for j, p in enumerate(priced) if freedom[k].is_free(p.resource, start_of[k])]
                        for k, priced in units]
                costs = [[candidate_cost(p, start_of[k], reqs[k], bookings, need[k]) for p in priced]
                         for k, priced in units]
                gap_cost = Fraction(request.gap_weight) * Fraction(sum(gaps), 60)
                for combo in itertools.product(*free):
                    if not _valid(request, directory, units, combo, window):
                        continue
                    cost = sum((costs[u][j] for u, j in enumerate(combo)), Fraction(0)) + gap_cost
                    key = (cost, tuple(offsets), combo)
                    if best is None or key < best[0]:  # type: ignore[operator]
                        res = tuple(tuple(units[u][1][j].resource for u, j in enumerate(combo) if units[u][0] == k)
                                    for k in range(n))
                        best = (key, BruteOption(first, cost, tuple(offsets), order, res))
        if best is not None:
            out[first] = best[1]
    return out


def _valid(request: SequenceRequest, directory: Directory, units: Sequence[tuple[int, Sequence[object]]],
           combo: Sequence[int], window: dict[int, tuple[datetime, datetime]]) -> bool:
    seated = [(units[u][0], units[u][1][j].resource) for u, j in enumerate(combo)]  # type: ignore[attr-defined]
    for (ka, ra), (kb, rb) in itertools.combinations(seated, 2):
        if ra != rb:
            continue
        if ka == kb:
            return False
        if ra in directory.members and not request.allow_member_repeat:
            return False
        (sa, ea), (sb, eb) = window[ka], window[kb]
        if sa < eb and sb < ea:
            return False
    return True


def brute_least_conflict_sequences(directory: Directory, busy: Iterable[BusyInterval], request: SequenceRequest,
                                   bookings: Sequence[Booking] = ()) -> dict[datetime, tuple[Fraction, Fraction]]:
    """Per first start, the least (conflict cost, seat and gap cost) of any sequence option in
    conflict mode: members may be seated while not free (``Freedom.may_conflict``), priced by
    their conflicts at their segment's start (``brute.conflict_price``); rooms and limits hard."""
    busy = list(busy)
    n = len(request.segments)
    reqs = [segment_request(request, k) for k in range(n)]
    freedom = [Freedom(directory, busy, r, bookings) for r in reqs]
    expanded = [expand_seats(directory, r, bookings) for r in reqs]
    need = [attendees(r, e) for r, e in zip(reqs, expanded, strict=True)]
    durations = [_minutes(s.duration) for s in request.segments]
    probe = SlotRequest(request.window_start, request.window_end, timedelta(minutes=1), request.time_zone, (),
                        start_interval=request.start_interval, minimum_notice=request.minimum_notice, now=request.now)
    lo, hi = _minutes(request.min_gap), _minutes(request.max_gap)
    gap_values = list(range(lo, hi + 1, request.resolution))
    span_limit = _minutes(request.max_span or timedelta(days=1))
    out: dict[datetime, tuple[Fraction, Fraction]] = {}
    for first in candidate_starts(probe):
        best: tuple[Fraction, Fraction] | None = None
        for order in orders(request):
            for gaps in itertools.product(gap_values, repeat=n - 1):
                offsets = [0]
                for i in range(1, n):
                    offsets.append(offsets[-1] + durations[order[i - 1]] + gaps[i - 1])
                span = offsets[-1] + durations[order[-1]]
                if span > span_limit or first + timedelta(minutes=span) > request.window_end:
                    continue
                start_of = {k: first + timedelta(minutes=offsets[pos]) for pos, k in enumerate(order)}
                window = {k: (start_of[k] - request.segments[k].buffer_before,
                              start_of[k] + request.segments[k].duration + request.segments[k].buffer_after)
                          for k in range(n)}
                units = [(k, priced) for k in range(n) for _, priced, _ in expanded[k]]
                allowed = [[j for j, p in enumerate(priced) if freedom[k].may_conflict(p.resource, start_of[k])]
                           for k, priced in units]
                keys = [[(conflict_price(freedom[k].conflicts(p.resource, start_of[k]), request.weights),
                          candidate_cost(p, start_of[k], reqs[k], bookings, need[k])) for p in priced]
                        for k, priced in units]
                gap_cost = Fraction(request.gap_weight) * Fraction(sum(gaps), 60)
                for combo in itertools.product(*allowed):
                    if not _valid(request, directory, units, combo, window):
                        continue
                    conflict = sum((keys[u][j][0] for u, j in enumerate(combo)), Fraction(0))
                    cost = sum((keys[u][j][1] for u, j in enumerate(combo)), Fraction(0)) + gap_cost
                    if best is None or (conflict, cost) < best:
                        best = (conflict, cost)
        if best is not None:
            out[first] = best
    return out
