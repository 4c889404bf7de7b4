"""find_sequences: several meetings in a row (an interview loop), found as one.

    first starts x orders x gaps -> segment starts (offsets from the first start)
    -> per segment: plan + cheapest assignment at each of its starts (bitsets)
    -> combos where every segment is feasible alone (shifted and combined)
    -> segments sharing candidates: one exact joint assignment per (order, gaps)
       over all first starts at once (solver/assign.py: min-cost flow, CP-SAT
       where costs are too wide), deadline-bounded
    -> per first start the cheapest option -> order and page.

Conventions (SCHEDULING.md "Sequences"): intervals are half-open; the first
segment starts on the request's ``start_interval`` (local clock), each gap is a
multiple of ``resolution`` minutes in ``[min_gap, max_gap]``. A member sits in at
most one segment unless ``allow_member_repeat``; even then (and for rooms,
which may serve several segments) a resource is never in two segments whose
buffered windows ``[s - buffer_before, e + buffer_after)`` overlap. Departure,
conservative: overlap is closed transitively, so where buffers chain three
segments (a overlaps b, b overlaps c, a not c) a resource stays out of a and c
together too; the joint solve is then still exact for the stricter rule.
Cost: the segments' seat costs plus ``w.gap`` per hour of total gap. Ties: the
earlier segment starts (in time order), then per segment, in listed order, the
meeting tie-break (lower candidate positions, unit by unit).
"""

from __future__ import annotations

import itertools
import math
import time as clock
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import numpy as np

from solver.assign import Assigned, SeatCosts, assign
from solver.busy import BusyTable
from solver.domain import (
    Assignment,
    Booking,
    BusyInterval,
    Directory,
    Order,
    RoomSeat,
    Seat,
    SeatFill,
    SlotRequest,
    Weights,
)
from solver.errors import FieldViolation, InvalidRequest
from solver.grid import IntArray, candidate_starts, from_minutes, to_minutes, zone_clock
from solver.plan import Plan, earliest_start, make_plan, minutes_of
from solver.seats import INFEASIBLE, MILLI, milli
from solver.validate import Limits, validate_request

__all__ = [
    "Segment",
    "SegmentSlot",
    "SequenceOption",
    "SequenceRequest",
    "SequenceResult",
    "find_sequences",
    "segment_request",
]


@dataclass(frozen=True)
class Segment:
    """One meeting of a sequence: its own seats, duration, buffers and attendees."""

    duration: timedelta
    seats: tuple[Seat, ...]
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    optional_members: tuple[str, ...] = ()
    customers: int = 1
    label: str = ""


@dataclass(frozen=True)
class SequenceRequest:
    """Find, per first start in ``[window_start, window_end)``, the cheapest sequence option.

    ``any_order``: the segments may come in any order; ``free_order`` names the
    listed positions that may be permuted among themselves (the others keep
    their place); empty with ``any_order`` means all of them.
    ``max_span`` (default one day) bounds first start to last end.
    """

    window_start: datetime
    window_end: datetime
    time_zone: str
    segments: tuple[Segment, ...]
    any_order: bool = False
    free_order: tuple[int, ...] = ()
    min_gap: timedelta = timedelta(0)
    max_gap: timedelta = timedelta(0)
    max_span: timedelta | None = None
    allow_member_repeat: bool = False
    resolution: int = 5
    start_interval: int = 15
    minimum_notice: timedelta = timedelta(0)
    now: datetime | None = None
    order: Order = Order.CHRONOLOGICAL
    preferred_hours: tuple[time, time] | None = None
    max_results: int = 0  # 0: all
    page_offset: int = 0
    weights: Weights = field(default_factory=Weights)
    gap_weight: float = 1.0  # w.gap: points per hour of total gap


@dataclass(frozen=True)
class SegmentSlot:
    """One segment of an option: which listed segment, when, and who."""

    segment_index: int
    start: datetime
    end: datetime
    assignment: Assignment


@dataclass(frozen=True)
class SequenceOption:
    """One first start: its cheapest option, segments in time order."""

    start: datetime
    end: datetime
    segments: tuple[SegmentSlot, ...]
    cost: float
    gap_minutes: int
    score: float = 0.0


@dataclass(frozen=True)
class SequenceResult:
    options: tuple[SequenceOption, ...]
    total_available: int
    candidates_considered: int
    next_offset: int | None = None
    complete: bool = True  # False: the deadline stopped the work; some first starts are undecided
    joint_solves: int = 0  # (order, gaps) combos that needed the exact joint assignment
    unavailable_segments: tuple[int, ...] = field(default=())  # listed segments never feasible alone


def segment_request(request: SequenceRequest, k: int) -> SlotRequest:
    """Segment ``k`` as a meeting request over the sequence's window."""
    seg = request.segments[k]
    return SlotRequest(
        window_start=request.window_start, window_end=request.window_end, duration=seg.duration,
        time_zone=request.time_zone, seats=seg.seats, optional_members=seg.optional_members,
        customers=seg.customers, resolution=request.resolution, start_interval=request.start_interval,
        buffer_before=seg.buffer_before, buffer_after=seg.buffer_after, weights=request.weights,
    )


def _validate(directory: Directory, request: SequenceRequest, limits: Limits | None) -> None:
    problems: list[FieldViolation] = []
    n = len(request.segments)
    if n == 0:
        problems.append(FieldViolation("segments", "at least one segment is required"))
    if n > 8:
        problems.append(FieldViolation("segments", f"at most 8 segments, got {n}"))
    if request.min_gap < timedelta(0) or request.max_gap < request.min_gap:
        problems.append(FieldViolation("max_gap", "gaps must satisfy 0 <= min_gap <= max_gap"))
    if request.max_gap > timedelta(days=1):
        problems.append(FieldViolation("max_gap", "at most one day"))
    if request.max_span is not None and request.max_span <= timedelta(0):
        problems.append(FieldViolation("max_span", "must be positive"))
    if any(not 0 <= p < n for p in request.free_order) or len(set(request.free_order)) != len(request.free_order):
        problems.append(FieldViolation("free_order", "distinct segment positions are required"))
    if request.page_offset < 0 or request.max_results < 0:
        problems.append(FieldViolation("page_offset", "must not be negative"))
    if problems:
        raise InvalidRequest(problems)
    for k in range(n):
        validate_request(directory, segment_request(request, k), limits)


def _orders(request: SequenceRequest) -> list[tuple[int, ...]]:
    """The segment orders allowed (listed positions, in time order)."""
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


@dataclass(frozen=True)
class _Combo:
    """One order and gap vector: offsets (minutes from the first start) per time position."""

    order: tuple[int, ...]
    gaps: tuple[int, ...]
    offsets: tuple[int, ...]
    span: int


def _combos(request: SequenceRequest, durations: Sequence[int]) -> list[_Combo]:
    lo, hi = minutes_of(request.min_gap.total_seconds()), minutes_of(request.max_gap.total_seconds())
    gap_values = list(range(lo, hi + 1, request.resolution)) or [lo]
    span_limit = minutes_of((request.max_span or timedelta(days=1)).total_seconds())
    n = len(durations)
    out = []
    for order in _orders(request):
        for gaps in itertools.product(gap_values, repeat=n - 1):
            offsets = [0]
            for i in range(1, n):
                offsets.append(offsets[-1] + durations[order[i - 1]] + gaps[i - 1])
            span = offsets[-1] + durations[order[-1]]
            if span <= span_limit:
                out.append(_Combo(order, tuple(gaps), tuple(offsets), span))
    return out


def _first_starts(request: SequenceRequest) -> IntArray:
    first = math.ceil(earliest_start(SlotRequest(
        request.window_start, request.window_end, timedelta(0), request.time_zone, (),
        minimum_notice=request.minimum_notice, now=request.now)))
    last = math.floor(to_minutes(request.window_end)) - 1
    return candidate_starts(request.time_zone, first, last, request.start_interval)


@dataclass(frozen=True)
class _SegmentPlan:
    """Segment k over every start it may take: ``index[minute]`` its column."""

    plan: Plan
    costs: list[SeatCosts]
    assigned: Assigned
    index: dict[int, int]


def find_sequences(
    directory: Directory,
    busy: Iterable[BusyInterval] | BusyTable,
    request: SequenceRequest,
    bookings: Iterable[Booking] = (),
    *,
    limits: Limits | None = None,
    deadline: float | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> SequenceResult:
    """Per first start with an option, the cheapest option (see the module docstring).

    ``deadline`` (a ``time.monotonic()`` instant) and ``cancelled`` bound the work: past
    either, the options found so far come back with ``complete`` False.
    """
    _validate(directory, request, limits)
    table, bookings = BusyTable.coerce(busy), list(bookings)
    n = len(request.segments)
    durations = [minutes_of(s.duration.total_seconds()) for s in request.segments]
    firsts = _first_starts(request)
    window_end = math.floor(to_minutes(request.window_end))
    combos = _combos(request, durations)

    # Which starts each segment may take, over all combos and first starts.
    needed: list[set[int]] = [set() for _ in range(n)]
    for combo in combos:
        ok = firsts + combo.span <= window_end
        for pos, k in enumerate(combo.order):
            needed[k].update((firsts[ok] + combo.offsets[pos]).tolist())
    segs: list[_SegmentPlan] = []
    for k in range(n):
        starts = np.array(sorted(needed[k]), dtype=np.int64)
        plan = make_plan(directory, table, bookings, segment_request(request, k), starts)
        costs = plan.seat_costs()
        assigned = assign(costs, len(starts), deadline=deadline, cancelled=cancelled)
        segs.append(_SegmentPlan(plan, costs, assigned, {m: i for i, m in enumerate(starts.tolist())}))

    is_room = [[_is_room_unit(directory, p.plan, u) for u in range(len(p.plan.units))] for p in segs]
    shared = _segments_share(segs)
    # best[f] = (cost, offsets, choices, combo index, per-segment totals) for first start f.
    best: dict[int, tuple[int, tuple[int, ...], tuple[int, ...], int, list[IntArray]]] = {}
    complete, joint_solves = True, 0
    for ci, combo in enumerate(combos):
        if (deadline is not None and clock.monotonic() > deadline) or (cancelled is not None and cancelled()):
            complete = False  # the options so far stand, not proven cheapest; later combos unseen
            break
        fit = np.flatnonzero(firsts + combo.span <= window_end)
        cols = [np.zeros(len(fit), dtype=np.int64) for _ in range(n)]
        alone = np.ones(len(fit), dtype=np.bool_)
        for pos, k in enumerate(combo.order):
            idx = segs[k].index
            cols[k] = np.array([idx[m] for m in (firsts[fit] + combo.offsets[pos]).tolist()], dtype=np.int64)
            alone &= segs[k].assigned.feasible[cols[k]]
            complete &= bool(segs[k].assigned.decided[cols[k]].all())
        fit, cols = fit[alone], [c[alone] for c in cols]
        if len(fit) == 0:
            continue
        gap_cost = int(milli(request.gap_weight, sum(combo.gaps) / 60.0))
        if shared:
            joint_solves += 1
            units = _joint_units(segs, cols, combo, request, is_room)
            joint = assign(units, len(fit), deadline=deadline, cancelled=cancelled)
            complete &= bool(joint.decided.all())
            total, feasible = joint.total, joint.feasible
            choice = joint.choice
        else:
            total = sum((segs[k].assigned.total[cols[k]] for k in range(n)), np.zeros(len(fit), dtype=np.int64))
            feasible = np.ones(len(fit), dtype=np.bool_)
            choice = np.concatenate([segs[k].assigned.choice[:, cols[k]] for k in range(n)], axis=0)
        cost = total + gap_cost
        for i in np.flatnonzero(feasible).tolist():
            f = int(fit[i])
            c = int(cost[i])
            held = best.get(f)
            if held is not None and (held[0], held[1]) < (c, combo.offsets):
                continue
            picks = tuple(choice[:, i].tolist())
            if held is not None and (held[0], held[1]) == (c, combo.offsets) and held[2] <= picks:
                continue
            best[f] = (c, combo.offsets, picks, ci, [cols[k][i:i + 1] for k in range(n)])

    available = sorted(best)
    scores = {f: best[f][0] + _time_of_day(request, int(firsts[f])) for f in available}
    if request.order is Order.BEST_FIRST:
        available.sort(key=lambda f: (scores[f], int(firsts[f])))
    page_end = len(available) if request.max_results == 0 else request.page_offset + request.max_results
    page = available[request.page_offset:page_end]
    options = tuple(_option(segs, combos[best[f][3]], int(firsts[f]), best[f], scores[f], durations) for f in page)
    never = tuple(k for k in range(n) if not segs[k].assigned.feasible.any())
    return SequenceResult(options, len(available), len(firsts), page_end if page_end < len(available) else None,
                          complete, joint_solves, never)


def _is_room_unit(directory: Directory, plan: Plan, u: int) -> bool:
    return isinstance(plan.request.seats[plan.units[u].seat_index], RoomSeat)


def _segments_share(segs: Sequence[_SegmentPlan]) -> bool:
    """Whether a resource is a candidate in two segments (then they must be solved jointly)."""
    seen: dict[str, int] = {}
    for k, p in enumerate(segs):
        for unit in p.plan.units:
            for r in unit.candidates:
                if seen.setdefault(r, k) != k:
                    return True
    return False


def _overlap_classes(combo: _Combo, request: SequenceRequest, durations: Sequence[int]) -> list[int]:
    """Per listed segment, a class id: segments whose buffered windows overlap share a class."""
    n = len(combo.order)
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    windows = []
    for pos, k in enumerate(combo.order):
        seg = request.segments[k]
        s = combo.offsets[pos]
        windows.append((k, s - minutes_of(seg.buffer_before.total_seconds()),
                        s + durations[k] + minutes_of(seg.buffer_after.total_seconds())))
    for (a, sa, ea), (b, sb, eb) in itertools.combinations(windows, 2):
        if sa < eb and sb < ea:
            parent[find(a)] = find(b)
    return [find(k) for k in range(n)]


def _joint_units(segs: Sequence[_SegmentPlan], cols: Sequence[IntArray], combo: _Combo,
                 request: SequenceRequest, is_room: Sequence[Sequence[bool]]) -> list[SeatCosts]:
    """Every unit of every segment (listed order) as one meeting over the first starts.

    A resource's row is shared by the segments it may not sit in together:
    members across all segments (unless repeats are allowed), and any resource
    across segments whose buffered windows overlap.
    """
    durations = [p.plan.window.duration for p in segs]
    klass = _overlap_classes(combo, request, durations)
    rows: dict[tuple[str, int], int] = {}
    out = []
    for k, p in enumerate(segs):
        for u, unit in enumerate(p.plan.units):
            room = is_room[k][u]
            group = klass[k] if room or request.allow_member_repeat else -1
            ids = [rows.setdefault((r, group), len(rows)) for r in unit.candidates]
            out.append(SeatCosts(np.array(ids, dtype=np.int64), p.costs[u].cost[:, cols[k]]))
    return out


def _time_of_day(request: SequenceRequest, start: int) -> int:
    if request.preferred_hours is None:
        return 0
    a, b = (t.hour * 60 + t.minute for t in request.preferred_hours)
    clock = zone_clock(request.time_zone, start, start + 1)
    minute = int(clock.local(np.array([start], dtype=np.int64))[0]) % 1440
    return int(milli(request.weights.time_of_day, max(a - minute, minute - b, 0) / 60.0))


def _option(segs: Sequence[_SegmentPlan], combo: _Combo, first: int,
            held: tuple[int, tuple[int, ...], tuple[int, ...], int, list[IntArray]], score: int,
            durations: Sequence[int]) -> SequenceOption:
    cost, _, picks, _, cols = held
    out = []
    at = 0
    choice_of: list[list[int]] = []
    for p in segs:
        choice_of.append(list(picks[at:at + len(p.plan.units)]))
        at += len(p.plan.units)
    for pos, k in enumerate(combo.order):
        p = segs[k]
        col = int(cols[k][0])
        fills: list[SeatFill] = []
        for seat in range(len(p.plan.request.seats)):
            units = [u for u, unit in enumerate(p.plan.units) if unit.seat_index == seat]
            ids = tuple(p.plan.units[u].candidates[choice_of[k][u]] for u in units)
            c = sum(int(p.plan.units[u].cost[choice_of[k][u], col]) for u in units)
            fills.append(SeatFill(ids, c / MILLI))
        start = first + combo.offsets[pos]
        out.append(SegmentSlot(k, from_minutes(start), from_minutes(start + durations[k]), Assignment(tuple(fills))))
    assert cost < INFEASIBLE
    return SequenceOption(from_minutes(first), from_minutes(first + combo.span), tuple(out), cost / MILLI,
                          sum(combo.gaps), score / MILLI)
