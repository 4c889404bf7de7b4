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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from solver.assign import Assigned, SeatCosts, assign
from solver.busy import BusyTable
from solver.conflicts import conflict_costs, conflicts_of
from solver.diagnose import diagnose
from solver.domain import (
    Assignment,
    Booking,
    BusyInterval,
    Conflict,
    Diagnosis,
    Directory,
    Order,
    RoomSeat,
    Seat,
    SeatFill,
    SlotRequest,
    Weights,
)
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, SchedulingError, UnknownResource, quote
from solver.grid import BoolArray, IntArray, candidate_starts, from_minutes, to_minutes, zone_clock
from solver.plan import Plan, earliest_start, make_plan, minutes_of
from solver.seats import INFEASIBLE, MILLI, milli
from solver.validate import Limits, is_zone, validate_request

__all__ = [
    "Segment",
    "SegmentSlot",
    "SequenceOption",
    "SequenceRequest",
    "SequenceResult",
    "find_sequences",
    "option_violations",
    "segment_path",
    "segment_request",
    "span_limit",
    "validate_sequence",
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
    ``max_span`` (default one day in the request's zone: ``span_limit``) bounds first start to last end.
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
    # Conflict mode, as for a meeting: up to ``max_alternatives`` first starts without an
    # option, least conflict first, when fewer than ``min_available`` have one (or wanted).
    max_alternatives: int = 0
    min_available: int = 0
    want_alternatives: bool = False
    # First starts at or before this instant only; None: the window's.
    last_first_start: datetime | None = None
    # CheckSequence: the one first start the caller named, a whole minute on the start interval
    # or not (as CheckTime answers for any start); None: every start on the interval.
    first_start: datetime | None = None


@dataclass(frozen=True)
class SegmentSlot:
    """One segment of an option: which listed segment, when, and who."""

    segment_index: int
    start: datetime
    end: datetime
    assignment: Assignment
    conflicts: tuple[Conflict, ...] = ()  # alternatives only: what is in the way
    conflict_cost: float = 0.0


@dataclass(frozen=True)
class SequenceOption:
    """One first start: its cheapest option, segments in time order."""

    start: datetime
    end: datetime
    segments: tuple[SegmentSlot, ...]
    cost: float
    gap_minutes: int
    score: float = 0.0
    conflict_cost: float = 0.0  # alternatives only: the segments' conflict costs summed


@dataclass(frozen=True)
class SequenceResult:
    options: tuple[SequenceOption, ...]
    total_available: int
    candidates_considered: int
    next_offset: int | None = None
    complete: bool = True  # False: the deadline stopped the work; some first starts are undecided
    joint_solves: int = 0  # (order, gaps) combos that needed the exact joint assignment
    unavailable_segments: tuple[int, ...] = field(default=())  # listed segments never feasible alone
    # When no first start has an option: per listed segment, why it lacked people at its starts
    # (the meeting's diagnosis, over the starts the sequence would give it).
    diagnosis: tuple[Diagnosis, ...] | None = None
    alternatives: tuple[SequenceOption, ...] = ()  # conflict mode: least conflict, then chronological


def segment_request(request: SequenceRequest, k: int) -> SlotRequest:
    """Segment ``k`` as a meeting request over the sequence's window."""
    seg = request.segments[k]
    return SlotRequest(
        window_start=request.window_start, window_end=request.window_end, duration=seg.duration,
        time_zone=request.time_zone, seats=seg.seats, optional_members=seg.optional_members,
        customers=seg.customers, resolution=request.resolution, start_interval=request.start_interval,
        buffer_before=seg.buffer_before, buffer_after=seg.buffer_after, weights=request.weights,
    )


def validate_sequence(directory: Directory, request: SequenceRequest, limits: Limits | None = None) -> None:
    """Raises InvalidRequest / UnknownResource / LimitExceeded (paths of a segment's meeting under
    ``segments[k].``); returns None when the request is sound."""
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
    if request.resolution > 0 and 60 % request.resolution == 0:
        for name in ("min_gap", "max_gap"):
            if getattr(request, name) % timedelta(minutes=request.resolution):
                problems.append(FieldViolation(name, f"must be a multiple of the resolution ({request.resolution} "
                                                     "minutes)"))
    if request.max_span is not None and request.max_span <= timedelta(0):
        problems.append(FieldViolation("max_span", "must be positive"))
    if any(not 0 <= p < n for p in request.free_order) or len(set(request.free_order)) != len(request.free_order):
        problems.append(FieldViolation("free_order", "distinct segment positions are required"))
    if request.page_offset < 0 or request.max_results < 0:
        problems.append(FieldViolation("page_offset", "must not be negative"))
    if request.minimum_notice < timedelta(0):
        problems.append(FieldViolation("minimum_notice", "must not be negative"))
    if not (math.isfinite(request.gap_weight) and request.gap_weight >= 0):
        problems.append(FieldViolation("gap_weight", "must be a finite number >= 0"))
    if request.preferred_hours is not None and request.preferred_hours[0] >= request.preferred_hours[1]:
        problems.append(FieldViolation("preferred_hours", "start must be before end"))
    # Every bad argument at once, the sequence's and every segment's (one violation per
    # problem: the sequence's own fields, such as its zone, checked by each segment's meeting
    # rules, are reported once); then the first unknown id or limit, in segment order.
    if n == 0 and not is_zone(request.time_zone):
        problems.append(FieldViolation("time_zone", f"{quote(request.time_zone)} is not an IANA time zone"))
    later: SchedulingError | None = None
    for k in range(min(n, 8)):
        try:
            validate_request(directory, segment_request(request, k), limits)
        except InvalidRequest as exc:
            mapped = [FieldViolation(segment_path(k, v.field), v.description) for v in exc.violations]
            problems.extend(v for v in mapped if v not in problems)
        except SchedulingError as exc:
            later = later or _in_segment(exc, k)
    if problems:
        raise InvalidRequest(problems)
    if later is not None:
        raise later
    last = request.window_end if request.last_first_start is None else min(
        request.window_end, request.last_first_start + timedelta(minutes=1))
    firsts = max(1, math.ceil((last - request.window_start) / timedelta(minutes=request.start_interval)))
    candidates = combination_count(request) * firsts
    limit = (limits or Limits()).max_sequence_candidates
    if candidates > limit:
        raise LimitExceeded("max_gap" if request.max_gap > request.min_gap else "window_end",
                            "max_sequence_candidates", limit, candidates)


def span_limit(request: SequenceRequest, first: datetime) -> timedelta:
    """How long a sequence starting at ``first`` may last: ``max_span``, by default one day in
    the request's zone (to the same wall-clock time the next day: 23 or 25 hours across a
    clock change, as a nominal day of RFC 5545)."""
    if request.max_span is not None:
        return request.max_span
    zone = ZoneInfo(request.time_zone)
    local = first.astimezone(zone)
    following = (local.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone)
    return following.astimezone(UTC) - first.astimezone(UTC)  # real hours (aware, one tzinfo: wall clock)


def _span_caps(request: SequenceRequest, firsts: IntArray) -> IntArray:
    """Per first start (epoch minutes), its span limit in minutes (``span_limit``)."""
    if request.max_span is not None or not len(firsts):
        return np.full(len(firsts), minutes_of(_longest_span(request).total_seconds()), dtype=np.int64)
    return np.array([minutes_of(span_limit(request, from_minutes(int(f))).total_seconds()) for f in firsts],
                    dtype=np.int64)


def _longest_span(request: SequenceRequest) -> timedelta:
    """At least every first start's span limit: ``max_span``, else a day and an hour (a local
    day is 24 hours, or 23 or 25 across a clock change)."""
    return request.max_span if request.max_span is not None else timedelta(hours=25)


def combination_count(request: SequenceRequest) -> int:
    """How many (order, gaps) combinations the search may try, before the span cuts any:
    the orders allowed times the gap values to the power of the gaps."""
    n = len(request.segments)
    free = len(request.free_order) if request.free_order else n
    orders = math.factorial(free) if request.any_order else 1
    lo, hi = minutes_of(request.min_gap.total_seconds()), minutes_of(request.max_gap.total_seconds())
    values = max(1, len(range(lo, hi + 1, request.resolution)))
    return int(orders * values ** max(0, n - 1))


# Fields of a segment's meeting request that are the sequence's own (not the segment's).
SEQUENCE_FIELDS = frozenset({"window_start", "window_end", "time_zone", "resolution", "start_interval", "weights",
                             "minimum_notice", "now", "preferred_hours", "order", "max_results", "page_offset"})


def segment_path(k: int, path: str) -> str:
    """A path of segment ``k``'s meeting request as a path of the sequence request:
    ``seats[0].candidates[1]`` -> ``segments[k].seats[0].candidates[1]``; the sequence's
    own fields (window, zone, grid, weights) stay as they are."""
    head = path.split(".", 1)[0].split("[", 1)[0]
    return path if head in SEQUENCE_FIELDS else f"segments[{k}].{path}"


def _in_segment(exc: SchedulingError, k: int) -> SchedulingError:
    if isinstance(exc, InvalidRequest):
        return InvalidRequest([FieldViolation(segment_path(k, v.field), v.description) for v in exc.violations])
    if isinstance(exc, UnknownResource):
        return UnknownResource(segment_path(k, exc.field), exc.resource_id)
    if isinstance(exc, LimitExceeded):
        return LimitExceeded(segment_path(k, exc.field), exc.limit_name, exc.limit, exc.actual)
    return exc


def option_violations(directory: Directory, request: SequenceRequest, starts: Sequence[datetime],
                      resources: Sequence[Sequence[str]]) -> list[FieldViolation]:
    """What keeps a caller's option from being one of ``request``'s (listed segment k at
    ``starts[k]`` with ``resources[k]``): the order, the gaps, the span, a member in two
    segments, a resource in two segments at overlapping buffered times. Whether each
    segment is free is not asked here (booking re-checks each as a meeting)."""
    n = len(request.segments)
    if len(starts) != n or len(resources) != n:
        return [FieldViolation("segments", f"one choice per segment is required: {n} segments, {len(starts)} given")]
    problems: list[FieldViolation] = []
    order = tuple(sorted(range(n), key=lambda k: starts[k]))
    if order not in _orders(request):
        problems.append(FieldViolation("segments", "the segments' starts do not follow the sequence's order"))
    ends = [starts[k] + request.segments[k].duration for k in range(n)]
    for a, b in itertools.pairwise(order):
        gap = starts[b] - ends[a]
        if not request.min_gap <= gap <= request.max_gap:
            problems.append(FieldViolation(
                f"segments[{b}].start", f"starts {gap.total_seconds() / 60:g} minutes after segment {a} ends; the "
                f"gap must lie in [{request.min_gap.total_seconds() / 60:g}, {request.max_gap.total_seconds() / 60:g}]"
                " minutes"))
    if ends[order[-1]] - starts[order[0]] > span_limit(request, starts[order[0]]):
        problems.append(FieldViolation(f"segments[{order[-1]}].start", "the sequence lasts longer than max_span"))
    for a, b in itertools.combinations(range(n), 2):
        sa, sb = request.segments[a], request.segments[b]
        overlap = (starts[a] - sa.buffer_before < ends[b] + sb.buffer_after
                   and starts[b] - sb.buffer_before < ends[a] + sa.buffer_after)
        for r in dict.fromkeys(resources[b]):
            if r not in resources[a]:
                continue
            if overlap:
                problems.append(FieldViolation(f"segments[{b}].seats",
                                               f"{quote(r)} is also in segment {a} at an overlapping time"))
            elif r in directory.members and not request.allow_member_repeat:
                problems.append(FieldViolation(f"segments[{b}].seats", f"member {quote(r)} also sits in segment {a}"
                                               " (allow_member_repeat is off)"))
    return problems


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


def _combos(request: SequenceRequest, durations: Sequence[int],
            past: Callable[[], bool] = lambda: False) -> list[_Combo] | None:
    """Every (order, gaps) within the span; None when ``past()`` turned true meanwhile."""
    lo, hi = minutes_of(request.min_gap.total_seconds()), minutes_of(request.max_gap.total_seconds())
    gap_values = list(range(lo, hi + 1, request.resolution)) or [lo]
    longest = minutes_of(_longest_span(request).total_seconds())
    n = len(durations)
    out = []
    for order in _orders(request):
        if past():
            return None
        for i, gaps in enumerate(itertools.product(gap_values, repeat=n - 1)):
            if i % 1024 == 1023 and past():
                return None
            offsets = [0]
            for i in range(1, n):
                offsets.append(offsets[-1] + durations[order[i - 1]] + gaps[i - 1])
            span = offsets[-1] + durations[order[-1]]
            if span <= longest:
                out.append(_Combo(order, tuple(gaps), tuple(offsets), span))
    return out


def _first_starts(request: SequenceRequest) -> IntArray:
    first = math.ceil(earliest_start(SlotRequest(
        request.window_start, request.window_end, timedelta(0), request.time_zone, (),
        minimum_notice=request.minimum_notice, now=request.now)))
    last = math.floor(to_minutes(request.window_end)) - 1
    if request.last_first_start is not None:
        last = min(last, math.floor(to_minutes(request.last_first_start)))
    if request.first_start is not None:
        named = math.floor(to_minutes(request.first_start))
        return np.array([named] if first <= named <= last else [], dtype=np.int64)
    return candidate_starts(request.time_zone, first, last, request.start_interval)


@dataclass(frozen=True)
class _SegmentPlan:
    """Segment k over every start it may take: ``index[minute]`` its column."""

    plan: Plan
    costs: list[SeatCosts]
    assigned: Assigned
    starts: IntArray  # sorted: a start's column is its position


@dataclass(frozen=True)
class _Tried:
    """One combo over the first starts ``fit`` (indices into the first starts) where every
    segment is feasible alone: per listed segment its columns, and the lower bound."""

    ci: int
    fit: IntArray
    cols: list[IntArray]
    bound: IntArray
    gap_cost: int


def _offset_ranks(combos: Sequence[_Combo]) -> IntArray:
    """Per combo, the rank of its offsets (time order) among all combos' (equal offsets: equal rank)."""
    distinct = sorted({c.offsets for c in combos})
    rank = {o: i for i, o in enumerate(distinct)}
    return np.array([rank[c.offsets] for c in combos], dtype=np.int64)


def _klasses(segs: Sequence[_SegmentPlan], combos: Sequence[_Combo], request: SequenceRequest,
             is_room: Sequence[Sequence[bool]], past: Callable[[], bool]) -> tuple[IntArray, list[list[IntArray]]]:
    """Per combo its overlap pattern's id, and per pattern the joint rows (``_joint_rows``);
    cut short (the caller checks ``past`` again) once ``past()`` is true."""
    durations = [p.plan.window.duration for p in segs]
    ids: dict[tuple[int, ...], int] = {}
    rows: list[list[IntArray]] = []
    out = []
    for combo in combos:
        if past():
            break
        key = tuple(_overlap_classes(combo, request, durations))
        if key not in ids:
            ids[key] = len(rows)
            rows.append(_joint_rows(segs, combo, request, is_room))
        out.append(ids[key])
    return np.array(out, dtype=np.int64), rows


_Held = tuple[int, tuple[int, ...], tuple[int, ...], int, list[IntArray]]
# Pairs per open first start in one round of the search at most: a round's work stays
# small, so the deadline (checked between rounds) is kept within a few milliseconds.
_MAX_WIDTH = 8


def _search(directory: Directory, request: SequenceRequest, segs: Sequence[_SegmentPlan],
            levels: Sequence[tuple[list[SeatCosts], Assigned]], combos: Sequence[_Combo], firsts: IntArray,
            window_end: int, among: BoolArray | None, deadline: float | None,
            cancelled: Callable[[], bool] | None) -> tuple[dict[int, _Held], bool, set[int]]:
    """Per first start (of ``among``, default all), the cheapest option under ``levels`` (per
    segment its unit costs over its starts and their own cheapest assignment): best[f] =
    (cost, offsets, choices, combo index, per-segment columns); whether every first start was
    decided; the combos that needed a joint assignment."""
    n = len(segs)
    among = np.ones(len(firsts), dtype=np.bool_) if among is None else among
    is_room = [[_is_room_unit(directory, p.plan, u) for u in range(len(p.plan.units))] for p in segs]
    shared = _segments_share(segs)
    complete = True
    stopped = False

    # Per combo, the first starts where every segment is feasible alone, and a lower bound
    # there: the segments' own cheapest costs plus the gap cost (exact where no resource is
    # wanted by two segments that may not share it).
    def past() -> bool:
        return (deadline is not None and clock.monotonic() > deadline) or (cancelled is not None and cancelled())

    caps = _span_caps(request, firsts)
    tried: list[_Tried] = []
    for ci, combo in enumerate(combos):
        if past():
            return {}, False, set()  # the deadline came before any option: none found, undecided
        fit = np.flatnonzero((firsts + combo.span <= window_end) & (combo.span <= caps) & among)
        cols: list[IntArray] = [np.zeros(0, dtype=np.int64)] * n
        alone = np.ones(len(fit), dtype=np.bool_)
        for pos, k in enumerate(combo.order):
            cols[k] = np.searchsorted(segs[k].starts, firsts[fit] + combo.offsets[pos])
            alone &= levels[k][1].feasible[cols[k]]
            complete &= bool(levels[k][1].decided[cols[k]].all())
        fit, cols = fit[alone], [c[alone] for c in cols]
        gap_cost = int(milli(request.gap_weight, sum(combo.gaps) / 60.0))
        bound = sum((levels[k][1].total[cols[k]] for k in range(n)), np.zeros(len(fit), dtype=np.int64))
        tried.append(_Tried(ci, fit, cols, bound + gap_cost, gap_cost))

    # Per first start, its (combo, bound) pairs from the most promising: lower bound, then
    # offsets (the tie-break), then combo. A first start is settled when its next pair's
    # bound cannot beat (or tie) its best option so far.
    offset_rank = _offset_ranks(combos)
    klass_of, klass_rows = (_klasses(segs, combos, request, is_room, past) if shared
                            else (np.zeros(len(combos), np.int64), []))
    if past():
        return {}, False, set()

    def flat(parts: Iterable[IntArray]) -> IntArray:
        return np.concatenate([np.zeros(0, dtype=np.int64), *parts])

    f_of = flat(t.fit for t in tried)
    bound_of = flat(t.bound for t in tried)
    combo_of = flat(np.full(len(t.fit), t.ci) for t in tried)
    gap_of = flat(np.full(len(t.fit), t.gap_cost) for t in tried)
    cols_of = [flat(t.cols[k] for t in tried) for k in range(n)]
    rank_of = offset_rank[combo_of]
    by = np.lexsort((combo_of, rank_of, bound_of, f_of))
    f_of, bound_of, combo_of, gap_of, rank_of = f_of[by], bound_of[by], combo_of[by], gap_of[by], rank_of[by]
    cols_of = [c[by] for c in cols_of]
    if past():
        return {}, False, set()
    heads = np.flatnonzero(np.r_[True, f_of[1:] != f_of[:-1]]) if len(f_of) else np.zeros(0, dtype=np.int64)
    tails = np.r_[heads[1:], len(f_of)].astype(np.int64)
    pointer = heads.copy()
    held_cost = np.full(len(heads), INFEASIBLE, dtype=np.int64)
    held_rank = np.zeros(len(heads), dtype=np.int64)
    best: dict[int, _Held] = {}
    needed_joint: set[int] = set()
    units_of = [(k, u) for k, level in enumerate(levels) for u in level[0]]
    active = np.arange(len(heads))
    width = 1  # pairs per first start per round, doubling: few rounds, little work past the best
    while len(active):
        if past():
            stopped = True  # the options so far stand, not proven cheapest
            break
        # Each open first start's next ``width`` pairs that may still beat its best (or tie).
        take = np.minimum(width, tails[active] - pointer[active])
        owner = np.repeat(active, take)
        p = pointer[owner] + np.arange(len(owner)) - np.repeat(np.cumsum(take) - take, take)
        promising = (bound_of[p] < held_cost[owner]) | (
            (bound_of[p] == held_cost[owner]) & (rank_of[p] <= held_rank[owner]))
        open_ = np.zeros(len(heads), dtype=np.bool_)
        open_[owner[promising]] = True
        pointer[active[~open_[active]]] = tails[active[~open_[active]]]
        owner, p = owner[promising], p[promising]
        # Each segment's own cheapest assignment; where two segments want one resource they
        # may not share, one exact joint assignment (per overlap pattern) over all such pairs.
        choice = np.concatenate([levels[k][1].choice[:, cols_of[k][p]] for k in range(n)], axis=0)
        cost = bound_of[p].copy()
        feasible = np.ones(len(p), dtype=np.bool_)
        for kl, rows in enumerate(klass_rows):
            if kl % 16 == 15 and past():
                stopped = True  # this round's pairs are not all checked: none of them is taken
                break
            here = np.flatnonzero(klass_of[combo_of[p]] == kl)
            if len(here) == 0:
                continue
            chosen = np.sort(np.stack([r[c] for r, c in zip(rows, choice[:, here], strict=True)]), axis=0)
            clash = here[(chosen[1:] == chosen[:-1]).any(axis=0)]
            if len(clash) == 0:
                continue
            needed_joint.update(combo_of[p[clash]].tolist())
            units = [SeatCosts(r, u.cost[:, cols_of[k][p[clash]]]) for r, (k, u) in zip(rows, units_of, strict=True)]
            joint = assign(units, len(clash), deadline=deadline, cancelled=cancelled)
            complete &= bool(joint.decided.all())
            choice[:, clash] = joint.choice
            cost[clash] = joint.total + gap_of[p[clash]]
            feasible[clash] = joint.feasible
        if stopped:
            break
        for i in np.flatnonzero(feasible).tolist():
            g, q = int(owner[i]), int(p[i])
            ci, f, c = int(combo_of[q]), int(f_of[q]), int(cost[i])
            offsets = combos[ci].offsets
            picks = tuple(choice[:, i].tolist())
            held = best.get(f)
            if held is not None and (held[0], held[1], held[2], held[3]) <= (c, offsets, picks, ci):
                continue
            best[f] = (c, offsets, picks, ci, [col[q:q + 1] for col in cols_of])
            held_cost[g], held_rank[g] = c, offset_rank[ci]
        pointer[active] = np.maximum(pointer[active], np.minimum(pointer[active] + take, tails[active]))
        active = active[pointer[active] < tails[active]]
        width = min(width * 2, _MAX_WIDTH)
    complete &= not stopped
    return best, complete, needed_joint


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
    validate_sequence(directory, request, limits)
    table, bookings = BusyTable.coerce(busy), list(bookings)
    n = len(request.segments)
    durations = [minutes_of(s.duration.total_seconds()) for s in request.segments]
    firsts = _first_starts(request)
    window_end = math.floor(to_minutes(request.window_end))

    def past() -> bool:
        return (deadline is not None and clock.monotonic() > deadline) or (cancelled is not None and cancelled())

    cut = _combos(request, durations, past)
    if cut is None:  # the deadline came before the search could start: nothing decided
        return SequenceResult((), 0, len(firsts), None, False)
    combos = cut

    # Which starts each segment may take, over all combos and first starts.
    shortest: list[dict[int, int]] = [{} for _ in range(n)]  # per segment: offset -> the shortest span with it
    for ci, combo in enumerate(combos):
        if ci % 1024 == 1023 and past():
            return SequenceResult((), 0, len(firsts), None, False)
        for pos, k in enumerate(combo.order):
            at = combo.offsets[pos]
            shortest[k][at] = min(shortest[k].get(at, combo.span), combo.span)
    needed: list[list[IntArray]] = [
        [firsts[firsts + span <= window_end] + at for at, span in shortest[k].items()] for k in range(n)]
    segs: list[_SegmentPlan] = []
    for k in range(n):
        if past():
            return SequenceResult((), 0, len(firsts), None, False)
        starts = np.unique(np.concatenate(needed[k])) if needed[k] else np.zeros(0, dtype=np.int64)
        plan = make_plan(directory, table, bookings, segment_request(request, k), starts)
        costs = plan.seat_costs()
        assigned = assign(costs, len(starts), deadline=deadline, cancelled=cancelled)
        segs.append(_SegmentPlan(plan, costs, assigned, starts))

    levels = [(p.costs, p.assigned) for p in segs]
    best, complete, needed_joint = _search(directory, request, segs, levels, combos, firsts, window_end,
                                           None, deadline, cancelled)
    joint_solves = len(needed_joint)

    available = sorted(best)
    scores = {f: best[f][0] + _time_of_day(request, int(firsts[f])) for f in available}
    if request.order is Order.BEST_FIRST:
        available.sort(key=lambda f: (scores[f], int(firsts[f])))
    page_end = len(available) if request.max_results == 0 else request.page_offset + request.max_results
    page = available[request.page_offset:page_end]
    options = tuple(_option(segs, combos[best[f][3]], int(firsts[f]), best[f], scores[f], durations) for f in page)
    never = tuple(k for k in range(n) if not segs[k].assigned.feasible.any())
    diagnosis = tuple(diagnose(p.plan, p.assigned) for p in segs) if not available else None
    alternatives: tuple[SequenceOption, ...] = ()
    if past():
        complete = False  # no time left for alternatives either
    elif request.max_alternatives > 0 and (request.want_alternatives or len(available) < request.min_available):
        without = np.ones(len(firsts), dtype=np.bool_)
        without[list(best)] = False
        alternatives, decided = _alternatives(directory, table, bookings, request, segs, combos, firsts, window_end,
                                              without, durations, deadline, cancelled)
        complete &= decided
    return SequenceResult(options, len(available), len(firsts), page_end if page_end < len(available) else None,
                          complete, joint_solves, never, diagnosis, alternatives)


def _alternatives(directory: Directory, table: BusyTable, bookings: Sequence[Booking], request: SequenceRequest,
                  segs: Sequence[_SegmentPlan], combos: Sequence[_Combo], firsts: IntArray, window_end: int,
                  without: BoolArray, durations: Sequence[int], deadline: float | None,
                  cancelled: Callable[[], bool] | None) -> tuple[tuple[SequenceOption, ...], bool]:
    """Conflict mode (SCHEDULING.md "Conflicts", per segment as for a meeting): at the first
    starts ``without`` an option, the cheapest option when members may be seated while not
    free, priced by the meeting's conflict costs (solver/conflicts.py), rooms and limits
    hard. Cost: the segments' conflict costs times a scale above any seat-and-gap total, plus
    seat and gap costs, so the same search (``_search``) finds the least conflict with seat
    costs breaking ties. The ``max_alternatives`` lowest conflict costs, then chronological,
    each with every segment's conflicts; and whether every first start was decided."""
    priced = [conflict_costs(p.plan, directory) for p in segs]
    gap_max = max((int(milli(request.gap_weight, sum(c.gaps) / 60.0)) for c in combos), default=0)
    scale = sum(own for _, own in priced) + gap_max + 1
    levels = []
    for (costs, own), p in zip(priced, segs, strict=True):
        # Each segment's conflict * own + seat cost re-scaled to the sequence's conflict * scale + seat.
        rescaled = [SeatCosts(u.rows, np.where(u.cost < INFEASIBLE, u.cost // own * scale + u.cost % own, INFEASIBLE))
                    for u in costs]
        levels.append((rescaled, assign(rescaled, len(p.starts), deadline=deadline, cancelled=cancelled)))
    best, complete, _ = _search(directory, request, segs, levels, combos, firsts, window_end, without, deadline,
                                cancelled)
    chosen = sorted(best, key=lambda f: (best[f][0] // scale, int(firsts[f])))[:request.max_alternatives]
    bookings_by: dict[str, list[Booking]] = {}
    for bk in bookings:
        for r in bk.resources:
            bookings_by.setdefault(r, []).append(bk)
    out = []
    for f in chosen:
        cost, offsets, picks, ci, cols = best[f]
        plain = _option(segs, combos[ci], int(firsts[f]), (cost % scale, offsets, picks, ci, cols), cost % scale,
                        durations)
        parts = []
        at = {k: sum(len(q.plan.units) for q in segs[:k]) for k in range(len(segs))}
        for part in plain.segments:
            k = part.segment_index
            col = int(cols[k][0])
            units = levels[k][0]
            penalty = sum(int(units[u].cost[picks[at[k] + u], col]) // scale for u in range(len(units)))
            conflicts = conflicts_of(segs[k].plan, part.assignment.resource_ids, col, table, bookings_by)
            parts.append(replace(part, conflicts=tuple(conflicts), conflict_cost=penalty / MILLI))
        score = cost % scale + _time_of_day(request, int(firsts[f]))
        out.append(replace(plain, segments=tuple(parts), score=score / MILLI, conflict_cost=cost // scale / MILLI))
    return tuple(out), complete


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


def _joint_rows(segs: Sequence[_SegmentPlan], combo: _Combo, request: SequenceRequest,
                is_room: Sequence[Sequence[bool]]) -> list[IntArray]:
    """Per unit of every segment (listed order), its candidates' rows in one joint meeting.

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
            out.append(np.array([rows.setdefault((r, group), len(rows)) for r in unit.candidates], dtype=np.int64))
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
