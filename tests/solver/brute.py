"""An exhaustive oracle for ``find_slots``, written straight from the semantics.

Slow and obvious on purpose: no grid arrays, no CP-SAT. For each candidate
start it asks every resource "are you free for this meeting?" with plain
datetimes and zoneinfo, then tries every assignment of free candidates to the
unit seats with ``itertools.product``. Costs are exact ``Fraction``s so that
"minimum cost, ties to the lexicographically smallest index vector" is decided
without float noise.

The rules it implements (and nothing else):

- Grid cells of ``resolution`` minutes aligned to the wall clock of the request's
  zone (its UTC offset at the window's start). Busy intervals
  and bookings widen outward to cells. Hours are not on the grid: ``[s, e)`` is
  in hours when it lies inside the union of the resource's hour ranges.
- Free for ``[s, e)``: ``[s, e)`` is in hours; no widened
  busy interval or booking holding the resource overlaps
  ``[s - buffer_before, e + buffer_after)``; fewer bookings than the daily
  (weekly) limit start on the member's local day (ISO week) of ``s``.
- Candidate starts: whole-minute instants in ``[window_start, window_end)`` on the
  start interval of the request's local clock, ending by ``window_end``, no
  earlier than ``now + minimum_notice``.
- Seats expand to unit seats; costs by seat kind and pool distribution rule.

Conflict mode (``brute_least_conflict``, ``brute_alternatives``): a member
candidate may be seated although not free; it then costs ``w.conflict_busy``
per overlapping busy / out-of-office event or confirmed booking,
``w.conflict_tentative`` per overlapping tentative event and
``w.outside_hours`` when ``[s, e)`` leaves the hours (overlap judged
exactly as for freedom: widened events against the buffered meeting). Rooms,
booking limits and strict round robin stay hard. The best assignment minimizes
(conflict cost, seat cost), ties to the lexicographically smallest index vector.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from solver import (
    Booking,
    BusyInterval,
    BusyKind,
    Conflict,
    Cycle,
    Directory,
    Distribution,
    MemberSeat,
    Pool,
    PoolSeat,
    RoomSeat,
    SlotRequest,
    Weights,
    WorkingHours,
)

__all__ = [
    "BruteConflictSlot",
    "BruteResult",
    "BruteSlot",
    "Freedom",
    "UnitSeat",
    "brute_alternatives",
    "brute_least_conflict",
    "brute_slots",
    "conflict_price",
    "hours_intervals",
    "time_of_day_distance",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class UnitSeat:
    """One resource to find: ``seat`` is the index of the request seat it belongs to."""

    seat: int
    candidates: tuple[str, ...]


@dataclass(frozen=True)
class BruteSlot:
    start: datetime
    end: datetime
    cost: Fraction
    score: Fraction
    indices: tuple[int, ...]  # per unit seat: index into UnitSeat.candidates
    resource_ids: tuple[tuple[str, ...], ...]  # per request seat
    seat_costs: tuple[Fraction, ...]  # per request seat
    free_candidates: tuple[tuple[str, ...], ...]  # per request seat
    optional: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class BruteResult:
    candidate_starts: tuple[datetime, ...]
    units: tuple[UnitSeat, ...]
    seat_candidates: tuple[tuple[str, ...], ...]  # per request seat
    slots: tuple[BruteSlot, ...]  # chronological

    def best_first(self) -> list[BruteSlot]:
        return sorted(self.slots, key=lambda s: (s.score, s.start))


# --- Time -----------------------------------------------------------------------


def floor_to_cell(t: datetime, cell: timedelta, origin: datetime = EPOCH) -> datetime:
    return origin + ((t - origin) // cell) * cell


def ceil_to_cell(t: datetime, cell: timedelta, origin: datetime = EPOCH) -> datetime:
    return origin - ((origin - t) // cell) * cell


def grid_origin(request: SlotRequest) -> datetime:
    """An instant where a cell begins: a local midnight of the request's zone at its offset at the
    window's start (cells then fall on that zone's wall clock)."""
    offset = request.window_start.astimezone(ZoneInfo(request.time_zone)).utcoffset() or timedelta(0)
    return EPOCH - offset


def wall_to_instant(day: date, minute_of_day: int, zone: ZoneInfo) -> datetime:
    """A wall-clock minute of a local day as a real instant (fold=0); 1440 is the next midnight."""
    base = datetime(day.year, day.month, day.day) + timedelta(minutes=minute_of_day)
    return base.replace(tzinfo=zone, fold=0).astimezone(UTC)


def hours_intervals(hours: WorkingHours, first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
    """The union of ``hours`` over local days ``first_day..last_day`` as merged real intervals."""
    zone = ZoneInfo(hours.time_zone)
    raw: list[tuple[datetime, datetime]] = []
    day = first_day
    while day <= last_day:
        for r in hours.ranges_on(day):
            lo = wall_to_instant(day, r.start_minute, zone)
            hi = wall_to_instant(day, r.end_minute, zone)
            if hi > lo:
                raw.append((lo, hi))
        day += timedelta(days=1)
    raw.sort()
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in raw:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def time_of_day_distance(start: datetime, zone: str, preferred: tuple[time, time] | None) -> Fraction:
    """Hours from the start's local time of day to ``[a, b)``; 0 inside (no wrap around midnight)."""
    if preferred is None:
        return Fraction(0)
    local = start.astimezone(ZoneInfo(zone))
    tod = local.hour * 60 + local.minute
    a = preferred[0].hour * 60 + preferred[0].minute
    b = preferred[1].hour * 60 + preferred[1].minute or 1440
    if tod < a:
        return Fraction(a - tod, 60)
    if tod >= b:
        return Fraction(tod - b, 60)
    return Fraction(0)


def candidate_starts(request: SlotRequest) -> list[datetime]:
    zone = ZoneInfo(request.time_zone)
    earliest = request.now + request.minimum_notice if request.now is not None else None
    t = ceil_to_cell(request.window_start, ONE_MINUTE)
    out: list[datetime] = []
    while t < request.window_end:
        local = t.astimezone(zone)
        on_interval = (local.hour * 60 + local.minute) % request.start_interval == 0 and local.second == 0
        if on_interval and t + request.duration <= request.window_end and (earliest is None or t >= earliest):
            out.append(t)
        t += ONE_MINUTE
    return out


# --- Freedom -----------------------------------------------------------------


class Freedom:
    """Answers "is resource r free for the meeting starting at s?" one question at a time."""

    def __init__(self, directory: Directory, busy: Iterable[BusyInterval], request: SlotRequest,
                 bookings: Sequence[Booking]) -> None:
        self.directory = directory
        self.request = request
        self.bookings = bookings
        self.cell = timedelta(minutes=request.resolution)
        self.origin = grid_origin(request)
        self.blocks: dict[str, list[tuple[datetime, datetime]]] = {}
        # The same intervals, each with the Conflict it becomes when it is in the way.
        self.events: dict[str, list[tuple[datetime, datetime, Conflict]]] = {}
        for b in busy:
            if b.end <= b.start:
                continue  # an empty interval blocks nothing
            self.blocks.setdefault(b.resource_id, []).append(self._widen(b.start, b.end))
            self.events.setdefault(b.resource_id, []).append(
                (*self._widen(b.start, b.end), Conflict(b.resource_id, b.start, b.end, b.kind, b.owner, b.details)))
        for bk in bookings:
            if bk.end <= bk.start:
                continue
            for r in bk.resources:
                self.blocks.setdefault(r, []).append(self._widen(bk.start, bk.end))
                self.events.setdefault(r, []).append(
                    (*self._widen(bk.start, bk.end), Conflict(r, bk.start, bk.end, BusyKind.BOOKING)))
        self._hours: dict[str, list[tuple[datetime, datetime]] | None] = {}

    def _widen(self, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        return floor_to_cell(start, self.cell, self.origin), ceil_to_cell(end, self.cell, self.origin)

    def hours_of(self, resource: str) -> list[tuple[datetime, datetime]] | None:
        if resource not in self._hours:
            if resource in self.directory.members:
                hours = self.directory.members[resource].working_hours
            else:
                hours = self.directory.rooms[resource].opening_hours
            if hours is None:
                self._hours[resource] = None
            else:
                zone = ZoneInfo(hours.time_zone)
                first = self.request.window_start.astimezone(zone).date() - timedelta(days=2)
                last = self.request.window_end.astimezone(zone).date() + timedelta(days=2)
                self._hours[resource] = hours_intervals(hours, first, last)
        return self._hours[resource]

    def in_hours(self, resource: str, start: datetime, end: datetime) -> bool:
        ranges = self.hours_of(resource)
        if ranges is None:
            return True
        return any(lo <= start and end <= hi for lo, hi in ranges)

    def unblocked(self, resource: str, start: datetime, end: datetime) -> bool:
        lo = start - self.request.buffer_before
        hi = end + self.request.buffer_after
        return not any(b_lo < hi and b_hi > lo for b_lo, b_hi in self.blocks.get(resource, ()))

    def within_limits(self, member_id: str, start: datetime) -> bool:
        member = self.directory.members.get(member_id)
        if member is None:
            return True  # rooms have no limits
        zone = ZoneInfo(member.time_zone)
        day = start.astimezone(zone).date()
        held = [b for b in self.bookings if member_id in b.resources]
        if member.daily_limit is not None:
            on_day = sum(1 for b in held if b.start.astimezone(zone).date() == day)
            if on_day >= member.daily_limit:
                return False
        if member.weekly_limit is not None:
            week = day.isocalendar()[:2]
            in_week = sum(1 for b in held if b.start.astimezone(zone).date().isocalendar()[:2] == week)
            if in_week >= member.weekly_limit:
                return False
        return True

    def is_free(self, resource: str, start: datetime) -> bool:
        end = start + self.request.duration
        return (self.in_hours(resource, start, end) and self.unblocked(resource, start, end)
                and self.within_limits(resource, start))

    def conflicts(self, resource: str, start: datetime) -> list[Conflict]:
        """Everything in the way of ``resource`` for the meeting at ``start``: each event or
        booking ``unblocked`` would see, and leaving the hours ``in_hours`` checks."""
        end = start + self.request.duration
        lo = start - self.request.buffer_before
        hi = end + self.request.buffer_after
        out = [c for b_lo, b_hi, c in self.events.get(resource, ()) if b_lo < hi and b_hi > lo]
        if not self.in_hours(resource, start, end):
            out.append(Conflict(resource, start, end, BusyKind.OUTSIDE_HOURS))
        return out

    def may_conflict(self, resource: str, start: datetime) -> bool:
        """Whether conflict mode may seat ``resource``: members within their limits, free rooms."""
        if resource in self.directory.members:
            return self.within_limits(resource, start)
        return self.is_free(resource, start)


# --- Costs -------------------------------------------------------------------


def round_robin_rank(pool: Pool, bookings: Sequence[Booking]) -> dict[str, int]:
    """Rank 0 = least recently assigned; never assigned first; ties by pool order."""

    def key(item: tuple[int, str]) -> tuple[int, datetime, int]:
        position, member = item
        starts = [b.start for b in bookings if (pool.id, member) in b.pool_members]
        return (0, EPOCH, position) if not starts else (1, max(starts), position)

    ordered = sorted(enumerate(pool.members), key=key)
    return {member: rank for rank, (_, member) in enumerate(ordered)}


def same_cycle(a: datetime, b: datetime, cycle: Cycle, zone: ZoneInfo) -> bool:
    da, db = a.astimezone(zone).date(), b.astimezone(zone).date()
    if cycle == Cycle.DAY:
        return da == db
    if cycle == Cycle.WEEK:
        return da.isocalendar()[:2] == db.isocalendar()[:2]
    return (da.year, da.month) == (db.year, db.month)


def pool_cost(pool: Pool, member: str, start: datetime, request: SlotRequest,
              bookings: Sequence[Booking]) -> Fraction:
    w = request.weights
    if pool.distribution in (Distribution.ROUND_ROBIN, Distribution.STRICT_ROUND_ROBIN):
        return Fraction(w.pool_balance) * round_robin_rank(pool, bookings)[member]
    if pool.distribution == Distribution.LOAD_BALANCED:
        zone = ZoneInfo(request.time_zone)
        load = sum(1 for b in bookings
                   if (pool.id, member) in b.pool_members and same_cycle(b.start, start, pool.cycle, zone))
        return Fraction(w.pool_balance) * load
    priorities = dict(pool.priorities)
    top = max(priorities.get(m, 0) for m in pool.members)
    return Fraction(w.pool_priority) * (top - priorities.get(member, 0))


@dataclass(frozen=True)
class _Priced:
    """How one candidate of a unit seat is priced."""

    resource: str
    listed_index: int | None  # member seat / listed room: position in the request's list
    pool: Pool | None  # pool member / pool room: the pool it comes from
    capacity: int | None  # rooms only


def attendees(request: SlotRequest, units: Sequence[tuple[int, Sequence[_Priced], bool]]) -> int:
    non_room = sum(1 for _, _, is_room in units if not is_room)
    return non_room + len(request.optional_members) + request.customers


def expand_seats(directory: Directory, request: SlotRequest,
                 bookings: Sequence[Booking]) -> list[tuple[int, list[_Priced], bool]]:
    """Unit seats in request order: (seat index, priced candidates, is a room seat)."""
    out: list[tuple[int, list[_Priced], bool]] = []
    for i, seat in enumerate(request.seats):
        if isinstance(seat, MemberSeat):
            out.append((i, [_Priced(m, k, None, None) for k, m in enumerate(seat.candidates)], False))
        elif isinstance(seat, PoolSeat):
            pool = directory.pools[seat.pool_id]
            members = list(pool.members)
            if pool.distribution == Distribution.STRICT_ROUND_ROBIN:
                rank = round_robin_rank(pool, bookings)
                members = [m for m in members if rank[m] < seat.count]
            for _ in range(seat.count):
                out.append((i, [_Priced(m, None, pool, None) for m in members], False))
        elif isinstance(seat, RoomSeat):
            priced: list[_Priced] = []
            seen: set[str] = set()
            for k, r in enumerate(seat.rooms):
                if r not in seen:
                    seen.add(r)
                    priced.append(_Priced(r, k, None, directory.rooms[r].capacity))
            for pid in seat.pools:
                pool = directory.pools[pid]
                rooms = list(pool.members)
                if pool.distribution == Distribution.STRICT_ROUND_ROBIN:
                    rank = round_robin_rank(pool, bookings)
                    rooms = [r for r in rooms if rank[r] < 1]
                for r in rooms:
                    if r not in seen:
                        seen.add(r)
                        priced.append(_Priced(r, None, pool, directory.rooms[r].capacity))
            out.append((i, priced, True))
    need = attendees(request, out)
    return [(i, [p for p in priced if p.capacity is None or p.capacity >= need], is_room)
            for i, priced, is_room in out]


def candidate_cost(p: _Priced, start: datetime, request: SlotRequest, bookings: Sequence[Booking],
                   need: int) -> Fraction:
    w = request.weights
    cost = Fraction(0)
    if p.listed_index is not None:
        cost += Fraction(w.alternate) * p.listed_index
    if p.pool is not None:
        cost += pool_cost(p.pool, p.resource, start, request, bookings)
    if p.capacity is not None:
        cost += Fraction(w.room_fit) * (p.capacity - need)
    return cost


# --- The oracle --------------------------------------------------------------


def best_assignment(free: Sequence[Sequence[int]], costs: Sequence[Sequence[Fraction]],
                    candidates: Sequence[Sequence[str]]) -> tuple[Fraction, tuple[int, ...]] | None:
    """Minimum total cost over every assignment of distinct free candidates.

    ``itertools.product`` yields index vectors in lexicographic order, so the
    first vector reaching the minimum is the lexicographically smallest one.
    """
    best: tuple[Fraction, tuple[int, ...]] | None = None
    for combo in itertools.product(*free):
        ids = [candidates[u][k] for u, k in enumerate(combo)]
        if len(set(ids)) < len(ids):
            continue
        cost = sum((costs[u][k] for u, k in enumerate(combo)), Fraction(0))
        if best is None or cost < best[0]:
            best = (cost, combo)
    return best


def brute_slots(directory: Directory, busy: Iterable[BusyInterval], request: SlotRequest,
                bookings: Iterable[Booking] = ()) -> BruteResult:
    """Every available start of ``request`` (chronological) with its optimal, tie-broken assignment."""
    bookings = list(bookings)
    freedom = Freedom(directory, busy, request, bookings)
    expanded = expand_seats(directory, request, bookings)
    need = attendees(request, expanded)
    units = tuple(UnitSeat(i, tuple(p.resource for p in priced)) for i, priced, _ in expanded)
    seat_candidates = tuple(
        next(u.candidates for u in units if u.seat == i) for i in range(len(request.seats))
    )
    starts = candidate_starts(request)
    memo: dict[tuple[object, ...], tuple[Fraction, tuple[int, ...]] | None] = {}
    slots: list[BruteSlot] = []
    for start in starts:
        free_ids = {r: freedom.is_free(r, start) for u in units for r in u.candidates}
        free = [tuple(k for k, r in enumerate(u.candidates) if free_ids[r]) for u in units]
        costs = [tuple(candidate_cost(p, start, request, bookings, need) for p in priced)
                 for _, priced, _ in expanded]
        key = (tuple(free), tuple(costs))
        if key not in memo:
            memo[key] = best_assignment(free, costs, [u.candidates for u in units])
        best = memo[key]
        if best is None:
            continue
        cost, combo = best
        resource_ids = tuple(
            tuple(units[u].candidates[k] for u, k in enumerate(combo) if units[u].seat == i)
            for i in range(len(request.seats))
        )
        seat_costs = tuple(
            sum((costs[u][k] for u, k in enumerate(combo) if units[u].seat == i), Fraction(0))
            for i in range(len(request.seats))
        )
        free_candidates = tuple(tuple(r for r in cands if free_ids[r]) for cands in seat_candidates)
        optional = tuple((m, freedom.is_free(m, start)) for m in request.optional_members)
        score = cost + Fraction(request.weights.time_of_day) * time_of_day_distance(
            start, request.time_zone, request.preferred_hours)
        slots.append(BruteSlot(start, start + request.duration, cost, score, combo, resource_ids,
                               seat_costs, free_candidates, optional))
    return BruteResult(tuple(starts), units, seat_candidates, tuple(slots))


# --- Conflict mode -------------------------------------------------------------


@dataclass(frozen=True)
class BruteConflictSlot:
    """The least-conflict assignment at one start."""

    start: datetime
    end: datetime
    conflict: Fraction
    cost: Fraction  # seat costs
    indices: tuple[int, ...]  # per unit seat: index into UnitSeat.candidates
    resource_ids: tuple[tuple[str, ...], ...]  # per request seat
    seat_costs: tuple[Fraction, ...]  # per request seat
    free_candidates: tuple[tuple[str, ...], ...]  # per request seat
    optional: tuple[tuple[str, bool], ...]
    conflicts: tuple[Conflict, ...]


def conflict_price(conflicts: Iterable[Conflict], weights: Weights) -> Fraction:
    """What a list of conflicts costs: busy, out-of-office and bookings alike, tentative, outside hours."""
    price = {
        BusyKind.TENTATIVE: Fraction(weights.conflict_tentative),
        BusyKind.OUTSIDE_HOURS: Fraction(weights.outside_hours),
    }
    return sum((price.get(c.kind, Fraction(weights.conflict_busy)) for c in conflicts), Fraction(0))


def least_conflict_assignment(
    allowed: Sequence[Sequence[int]], keys: Sequence[Sequence[tuple[Fraction, Fraction]]],
    candidates: Sequence[Sequence[str]],
) -> tuple[tuple[Fraction, Fraction], tuple[int, ...]] | None:
    """Minimum (conflict, seat cost) over every assignment of distinct allowed candidates.

    Depth first in index order, so (as with ``itertools.product``) the first
    vector reaching the minimum is the lexicographically smallest; a resource
    already seated cuts its subtree, which is all that makes it fast enough.
    """
    best: tuple[tuple[Fraction, Fraction], tuple[int, ...]] | None = None

    def visit(u: int, combo: tuple[int, ...], used: frozenset[str], conflict: Fraction, cost: Fraction) -> None:
        nonlocal best
        if u == len(allowed):
            if best is None or (conflict, cost) < best[0]:
                best = ((conflict, cost), combo)
            return
        for k in allowed[u]:
            r = candidates[u][k]
            if r not in used:
                c, s = keys[u][k]
                visit(u + 1, (*combo, k), used | {r}, conflict + c, cost + s)

    visit(0, (), frozenset(), Fraction(0), Fraction(0))
    return best


def brute_least_conflict(directory: Directory, busy: Iterable[BusyInterval], request: SlotRequest,
                         bookings: Iterable[Booking], starts: Iterable[datetime]) -> dict[datetime,
                                                                                           BruteConflictSlot | None]:
    """Per start, the least-conflict assignment (None when even conflict mode cannot fill the seats)."""
    bookings = list(bookings)
    freedom = Freedom(directory, busy, request, bookings)
    expanded = expand_seats(directory, request, bookings)
    need = attendees(request, expanded)
    units = [UnitSeat(i, tuple(p.resource for p in priced)) for i, priced, _ in expanded]
    seat_candidates = [next(u.candidates for u in units if u.seat == i) for i in range(len(request.seats))]
    out: dict[datetime, BruteConflictSlot | None] = {}
    for start in starts:
        resources = {r for u in units for r in u.candidates}
        conflicts = {r: freedom.conflicts(r, start) for r in resources}
        allowed = [tuple(k for k, r in enumerate(u.candidates) if freedom.may_conflict(r, start)) for u in units]
        keys = [tuple((conflict_price(conflicts[p.resource], request.weights),
                       candidate_cost(p, start, request, bookings, need)) for p in priced)
                for _, priced, _ in expanded]
        best = least_conflict_assignment(allowed, keys, [u.candidates for u in units])
        if best is None:
            out[start] = None
            continue
        (conflict, cost), combo = best
        seats = range(len(request.seats))
        chosen = [(units[u].seat, units[u].candidates[k], keys[u][k][1]) for u, k in enumerate(combo)]
        out[start] = BruteConflictSlot(
            start, start + request.duration, conflict, cost, combo,
            tuple(tuple(r for seat, r, _ in chosen if seat == i) for i in seats),
            tuple(sum((c for seat, _, c in chosen if seat == i), Fraction(0)) for i in seats),
            tuple(tuple(r for r in cands if freedom.is_free(r, start)) for cands in seat_candidates),
            tuple((m, freedom.is_free(m, start)) for m in request.optional_members),
            tuple(c for _, r, _ in chosen for c in conflicts[r]),
        )
    return out


def brute_alternatives(directory: Directory, busy: Iterable[BusyInterval], request: SlotRequest,
                       bookings: Iterable[Booking] = ()) -> tuple[BruteResult, list[BruteConflictSlot]]:
    """The free-mode result, and the alternatives ``find_slots`` must return with it: when fewer
    than ``min_available`` starts are available (or ``want_alternatives``), the first
    ``max_alternatives`` unavailable starts by (conflict cost, start)."""
    busy, bookings = list(busy), list(bookings)
    free = brute_slots(directory, busy, request, bookings)
    wanted = request.want_alternatives or len(free.slots) < request.min_available
    if not wanted or request.max_alternatives <= 0:
        return free, []
    available = {s.start for s in free.slots}
    unavailable = [t for t in free.candidate_starts if t not in available]
    least = brute_least_conflict(directory, busy, request, bookings, unavailable)
    ranked = sorted((s for s in least.values() if s is not None), key=lambda s: (s.conflict, s.start))
    return free, ranked[:request.max_alternatives]
