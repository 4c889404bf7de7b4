"""The naive way to answer FindSlots, to measure the engine against.

For every candidate start, one at a time: ask each resource whether it is free
(sorted intervals and bisect, no grid arrays), then build and solve one CP-SAT
model choosing a distinct free candidate per unit seat at minimum cost. It
follows the same semantics as ``find_slots`` (minimum cost only; it does not
tie-break), so the benchmark also checks that both give the same available
starts and costs.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

from solver import (
    Booking,
    BusyInterval,
    Cycle,
    Directory,
    Distribution,
    MemberSeat,
    Pool,
    PoolSeat,
    RoomSeat,
    SlotRequest,
    WorkingHours,
)

__all__ = ["BaselineSlot", "baseline_slots"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COST_SCALE = 1000  # CP-SAT needs integers: costs in thousandths of a point


@dataclass(frozen=True)
class BaselineSlot:
    start: datetime
    cost: float


@dataclass(frozen=True)
class _Candidate:
    resource: str
    base_cost: float  # everything but a load-balanced pool's load
    load_pool: Pool | None  # set when the cost also counts this pool's load at the start


def baseline_slots(directory: Directory, busy: Sequence[BusyInterval], request: SlotRequest,
                   bookings: Sequence[Booking] = ()) -> tuple[list[datetime], list[BaselineSlot]]:
    """(every candidate start, the available ones with their minimum cost), chronological."""
    starts = _candidate_starts(request)
    units = _unit_seats(directory, request, bookings)
    calendars = _Calendars(directory, busy, request, bookings, {c.resource for u in units for c in u})
    loads = _Loads(request, bookings)
    slots: list[BaselineSlot] = []
    for start in starts:
        cost = _solve_one_start(units, calendars, loads, request, start)
        if cost is not None:
            slots.append(BaselineSlot(start, cost))
    return starts, slots


# --- Candidate starts ----------------------------------------------------------


def _candidate_starts(request: SlotRequest) -> list[datetime]:
    zone = ZoneInfo(request.time_zone)
    earliest = request.window_start
    if request.now is not None:
        earliest = max(earliest, request.now + request.minimum_notice)
    t = _EPOCH + -((_EPOCH - earliest) // timedelta(minutes=1)) * timedelta(minutes=1)
    out = []
    while t + request.duration <= request.window_end:
        local = t.astimezone(zone)
        if (local.hour * 60 + local.minute) % request.start_interval == 0:
            out.append(t)
        t += timedelta(minutes=1)
    return out


# --- Seats and costs -------------------------------------------------------------


def _rank(pool: Pool, bookings: Sequence[Booking]) -> dict[str, int]:
    last: dict[str, datetime] = {}
    for b in bookings:
        for pool_id, m in b.pool_members:
            if pool_id == pool.id and (m not in last or b.start > last[m]):
                last[m] = b.start
    order = sorted(range(len(pool.members)),
                   key=lambda i: (pool.members[i] in last, last.get(pool.members[i], _EPOCH), i))
    return {pool.members[i]: r for r, i in enumerate(order)}


def _pool_candidates(pool: Pool, request: SlotRequest, bookings: Sequence[Booking],
                     extra: dict[str, float], count: int) -> list[_Candidate]:
    w = request.weights
    members = list(pool.members)
    if pool.distribution in (Distribution.ROUND_ROBIN, Distribution.STRICT_ROUND_ROBIN):
        rank = _rank(pool, bookings)
        if pool.distribution == Distribution.STRICT_ROUND_ROBIN:
            members = [m for m in members if rank[m] < count]
        return [_Candidate(m, w.pool_balance * rank[m] + extra.get(m, 0.0), None) for m in members]
    if pool.distribution == Distribution.LOAD_BALANCED:
        return [_Candidate(m, extra.get(m, 0.0), pool) for m in members]
    priority = dict(pool.priorities)
    top = max(priority.get(m, 0) for m in members)
    return [_Candidate(m, w.pool_priority * (top - priority.get(m, 0)) + extra.get(m, 0.0), None)
            for m in members]


def _unit_seats(directory: Directory, request: SlotRequest,
                bookings: Sequence[Booking]) -> list[list[_Candidate]]:
    w = request.weights
    non_room = sum(s.count if isinstance(s, PoolSeat) else 1 for s in request.seats if not isinstance(s, RoomSeat))
    attendees = non_room + len(request.optional_members) + request.customers
    units: list[list[_Candidate]] = []
    for seat in request.seats:
        if isinstance(seat, MemberSeat):
            units.append([_Candidate(m, w.alternate * i, None) for i, m in enumerate(seat.candidates)])
        elif isinstance(seat, PoolSeat):
            pool = directory.pools[seat.pool_id]
            units += [_pool_candidates(pool, request, bookings, {}, seat.count)] * seat.count
        else:
            fit = {r.id: w.room_fit * (r.capacity - attendees) for r in directory.rooms.values()}
            room_seat: list[_Candidate] = [_Candidate(r, w.alternate * i + fit[r], None)
                                           for i, r in enumerate(seat.rooms)]
            for pool_id in seat.pools:
                room_seat += _pool_candidates(directory.pools[pool_id], request, bookings, fit, 1)
            seen: set[str] = set()
            unit = []
            for c in room_seat:
                if c.resource not in seen and directory.rooms[c.resource].capacity >= attendees:
                    unit.append(c)
                seen.add(c.resource)
            units.append(unit)
    return units


def _cycle_key(t: datetime, cycle: Cycle, zone: ZoneInfo) -> tuple[int, ...]:
    d = t.astimezone(zone).date()
    if cycle == Cycle.DAY:
        return (d.toordinal(),)
    if cycle == Cycle.WEEK:
        return tuple(d.isocalendar()[:2])
    return (d.year, d.month)


class _Loads:
    """Bookings per pool member in the pool's cycle holding a start (counted once per cycle)."""

    def __init__(self, request: SlotRequest, bookings: Sequence[Booking]) -> None:
        self.zone = ZoneInfo(request.time_zone)
        self.bookings = bookings
        self.counted: dict[tuple[str, tuple[int, ...]], dict[str, int]] = {}

    def load(self, pool: Pool, member: str, start: datetime) -> int:
        key = (pool.id, _cycle_key(start, pool.cycle, self.zone))
        if key not in self.counted:
            counts: dict[str, int] = {}
            for b in self.bookings:
                if _cycle_key(b.start, pool.cycle, self.zone) == key[1]:
                    for pool_id, m in b.pool_members:
                        if pool_id == pool.id:
                            counts[m] = counts.get(m, 0) + 1
            self.counted[key] = counts
        return self.counted[key].get(member, 0)


# --- Who is free ---------------------------------------------------------------------


class _Calendars:
    """Per resource: merged blocked intervals and hour ranges (sorted), and booking days."""

    def __init__(self, directory: Directory, busy: Sequence[BusyInterval], request: SlotRequest,
                 bookings: Sequence[Booking], resources: set[str]) -> None:
        self.request = request
        self.directory = directory
        cell = timedelta(minutes=request.resolution)
        blocked: dict[str, list[tuple[datetime, datetime]]] = {r: [] for r in resources}
        for b in busy:
            if b.resource_id in blocked:
                blocked[b.resource_id].append(_widen(b.start, b.end, cell))
        for bk in bookings:
            for r in bk.resources:
                if r in blocked:
                    blocked[r].append(_widen(bk.start, bk.end, cell))
        self.blocked = {r: _merge(v) for r, v in blocked.items()}
        self.hours: dict[str, list[tuple[datetime, datetime]] | None] = {}
        for r in resources:
            hours = (directory.members[r].working_hours if r in directory.members
                     else directory.rooms[r].opening_hours)
            self.hours[r] = None if hours is None else _hour_ranges(hours, request)
        self.booking_days: dict[str, list[date]] = {}
        for r in resources:
            member = directory.members.get(r)
            if member is not None and (member.daily_limit is not None or member.weekly_limit is not None):
                zone = ZoneInfo(member.time_zone)
                self.booking_days[r] = [bk.start.astimezone(zone).date() for bk in bookings if r in bk.resources]

    def is_free(self, resource: str, start: datetime) -> bool:
        r = self.request
        end = start + r.duration
        if not _inside(self.hours[resource], start, end, timedelta(minutes=r.resolution)):
            return False
        if _overlaps(self.blocked[resource], start - r.buffer_before, end + r.buffer_after):
            return False
        days = self.booking_days.get(resource)
        if days:
            member = self.directory.members[resource]
            day = start.astimezone(ZoneInfo(member.time_zone)).date()
            if member.daily_limit is not None and sum(d == day for d in days) >= member.daily_limit:
                return False
            week = day.isocalendar()[:2]
            if member.weekly_limit is not None and sum(
                d.isocalendar()[:2] == week for d in days
            ) >= member.weekly_limit:
                return False
        return True


def _widen(start: datetime, end: datetime, cell: timedelta) -> tuple[datetime, datetime]:
    lo = _EPOCH + ((start - _EPOCH) // cell) * cell
    hi = _EPOCH - ((_EPOCH - end) // cell) * cell
    return lo, hi


def _merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _hour_ranges(hours: WorkingHours, request: SlotRequest) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(hours.time_zone)
    day = request.window_start.astimezone(zone).date() - timedelta(days=1)
    last = request.window_end.astimezone(zone).date() + timedelta(days=1)
    ranges = []
    while day <= last:
        midnight = datetime(day.year, day.month, day.day)
        for rng in hours.ranges_on(day):
            lo = (midnight + timedelta(minutes=rng.start_minute)).replace(tzinfo=zone)
            hi = (midnight + timedelta(minutes=rng.end_minute)).replace(tzinfo=zone)
            if hi > lo:
                ranges.append((lo.astimezone(UTC), hi.astimezone(UTC)))
        day += timedelta(days=1)
    return _merge(ranges)


def _inside(ranges: list[tuple[datetime, datetime]] | None, start: datetime, end: datetime,
            cell: timedelta) -> bool:
    """Every grid cell touching [start, end) lies inside one merged range."""
    if ranges is None:
        return True
    lo, hi = _widen(start, end, cell)
    i = bisect.bisect_right(ranges, (lo, _EPOCH + timedelta(days=365_000))) - 1
    return i >= 0 and ranges[i][0] <= lo and hi <= ranges[i][1]


def _overlaps(intervals: list[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> bool:
    i = bisect.bisect_left(intervals, (hi,)) - 1  # the last interval starting before hi
    return i >= 0 and intervals[i][1] > lo


# --- One CP-SAT model per start -----------------------------------------------------------


def _solve_one_start(units: list[list[_Candidate]], calendars: _Calendars, loads: _Loads,
                     request: SlotRequest, start: datetime) -> float | None:
    """The minimum cost at ``start``, or None when no assignment fills every seat."""
    free = {c.resource: calendars.is_free(c.resource, start) for unit in units for c in unit}
    model = cp_model.CpModel()
    # x[u, c] is 1 when candidate c (a resource) fills unit seat u; only free candidates get a variable.
    x: dict[tuple[int, str], cp_model.IntVar] = {}
    cost: dict[tuple[int, str], int] = {}
    for u, unit in enumerate(units):
        for c in unit:
            if free[c.resource]:
                x[u, c.resource] = model.new_bool_var(f"x[{u},{c.resource}]")
                load = loads.load(c.load_pool, c.resource, start) if c.load_pool else 0
                total = c.base_cost + request.weights.pool_balance * load
                cost[u, c.resource] = round(total * COST_SCALE)

    # Each unit seat gets exactly one candidate.
    for u in range(len(units)):
        model.add_exactly_one(v for (uu, _), v in x.items() if uu == u)
    # No resource fills two unit seats.
    by_resource: dict[str, list[cp_model.IntVar]] = {}
    for (_, r), v in x.items():
        by_resource.setdefault(r, []).append(v)
    for group in by_resource.values():
        if len(group) > 1:
            model.add_at_most_one(group)
    model.minimize(sum(cost[k] * v for k, v in x.items()))

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # tiny models: one worker is fastest
    status = solver.solve(model)
    if status != cp_model.OPTIMAL:
        return None
    return solver.objective_value / COST_SCALE
