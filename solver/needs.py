"""Which confirmed bookings a slot request depends on (so a store reads only those).

The solver takes bookings in four places, and each needs only some of them:

- rule 3 (who is free) and the conflicts of alternatives: bookings holding a
  resource the request could use whose meeting overlaps the window widened by
  the buffers (and one grid cell, as the calendars are read);
- daily/weekly limits (rule 4): a limited member's bookings *starting* in a
  local day/week (the member's zone) that holds a candidate start, before or
  after the window;
- a load-balanced pool: its members' bookings through the pool starting in a
  measurement cycle (day, ISO week, month in the request's zone) that holds a
  candidate start, also after the window;
- a round-robin pool (flexible or strict): each member's latest booking
  through the pool, wherever it lies.

``booking_needs`` describes those reads for one request; ``select`` applies
them to a list of bookings (the reference a store's query must agree with).
Nothing that ends at or before ``since`` (the history a store keeps counting)
is needed. Cycle bounds are widened by a day on each side, so that any zone
offset is covered: a superset is harmless, the solver ignores what it does
not use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from solver.domain import Booking, Cycle, Directory, Distribution, MemberSeat, PoolSeat, RoomSeat, SlotRequest

__all__ = ["BookingNeeds", "LatestThrough", "Overlapping", "StartingIn", "booking_needs", "request_span", "select"]

_MARGIN = timedelta(days=1)  # more than any UTC offset


@dataclass(frozen=True)
class Overlapping:
    """Bookings holding any of ``resource_ids`` whose meeting overlaps ``[start, end)``."""

    resource_ids: tuple[str, ...]
    start: datetime
    end: datetime


@dataclass(frozen=True)
class StartingIn:
    """Bookings holding any of ``resource_ids`` (through ``pool_id`` unless it is empty)
    that start in ``[start, end)``."""

    resource_ids: tuple[str, ...]
    pool_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class LatestThrough:
    """For each of ``member_ids``, its latest booking (by start) through ``pool_id``."""

    pool_id: str
    member_ids: tuple[str, ...]


@dataclass(frozen=True)
class BookingNeeds:
    """The bookings a request depends on: any that ``overlapping`` or one of ``starting``
    matches, plus the ``latest`` ones; none ending at or before ``since``."""

    since: datetime
    overlapping: Overlapping
    starting: tuple[StartingIn, ...] = ()
    latest: tuple[LatestThrough, ...] = ()


def request_span(request: SlotRequest) -> tuple[datetime, datetime]:
    """The window widened by the buffers and one grid cell: every booking that can touch a candidate."""
    cell = timedelta(minutes=max(request.resolution, 1))
    return (request.window_start - request.buffer_before - cell,
            request.window_end + request.buffer_after + cell)


def booking_needs(directory: Directory, request: SlotRequest, history: timedelta) -> BookingNeeds:
    """What ``request`` reads of the confirmed bookings, counting ``history`` back from its span.

    Unknown ids are left out (validation names them before any read).
    """
    span = request_span(request)
    resources: list[str] = list(request.optional_members)
    starting: list[StartingIn] = []
    latest: list[LatestThrough] = []
    pools: list[str] = []
    for seat in request.seats:
        if isinstance(seat, MemberSeat):
            resources.extend(seat.candidates)
        elif isinstance(seat, PoolSeat):
            pools.append(seat.pool_id)
        elif isinstance(seat, RoomSeat):
            resources.extend(seat.rooms)
            pools.extend(seat.pools)
    for pool_id in dict.fromkeys(pools):
        pool = directory.pools.get(pool_id)
        if pool is None:
            continue
        resources.extend(pool.members)
        if pool.distribution in (Distribution.ROUND_ROBIN, Distribution.STRICT_ROUND_ROBIN):
            latest.append(LatestThrough(pool.id, pool.members))
        elif pool.distribution is Distribution.LOAD_BALANCED:
            lo, hi = cycle_bounds(pool.cycle, request.time_zone, request.window_start, request.window_end)
            starting.append(StartingIn(pool.members, pool.id, lo, hi))
    ids = tuple(dict.fromkeys(r for r in resources if r in directory.members or r in directory.rooms))
    limited: dict[tuple[datetime, datetime], list[str]] = {}
    for member_id in ids:
        member = directory.members.get(member_id)
        if member is None or (member.daily_limit is None and member.weekly_limit is None):
            continue
        cycle = Cycle.WEEK if member.weekly_limit is not None else Cycle.DAY
        bounds = cycle_bounds(cycle, member.time_zone, request.window_start, request.window_end)
        limited.setdefault(bounds, []).append(member_id)
    starting.extend(StartingIn(tuple(members), "", lo, hi) for (lo, hi), members in limited.items())
    return BookingNeeds(span[0] - history, Overlapping(ids, *span), tuple(starting), tuple(latest))


def cycle_bounds(cycle: Cycle, zone: str, first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """A UTC span holding every instant of the local cycles (in ``zone``) from ``first``'s to ``last``'s."""
    tz = ZoneInfo(zone)
    lo = _cycle_start(cycle, first.astimezone(tz).date())
    hi = _cycle_end(cycle, last.astimezone(tz).date())
    return _utc(lo) - _MARGIN, _utc(hi) + _MARGIN


def _cycle_start(cycle: Cycle, day: date) -> date:
    if cycle is Cycle.DAY:
        return day
    if cycle is Cycle.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _cycle_end(cycle: Cycle, day: date) -> date:
    """The first day after the cycle holding ``day``."""
    if cycle is Cycle.DAY:
        return day + timedelta(days=1)
    if cycle is Cycle.WEEK:
        return day + timedelta(days=7 - day.weekday())
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def select(bookings: Iterable[Booking], needs: BookingNeeds) -> list[Booking]:
    """The bookings of ``bookings`` that ``needs`` names, in their given order (the reference
    for a store's query). A member's latest booking through a pool is the one with the latest
    start, then the greatest id."""
    alive = [b for b in bookings if b.end > needs.since]
    chosen: set[str] = set()
    over = needs.overlapping
    held = set(over.resource_ids)
    for b in alive:
        if b.start < over.end and b.end > over.start and held.intersection(b.resources):
            chosen.add(b.id)
        for part in needs.starting:
            if part.start <= b.start < part.end and _through(b, part.resource_ids, part.pool_id):
                chosen.add(b.id)
    for want in needs.latest:
        for member_id in want.member_ids:
            mine = [b for b in alive if (want.pool_id, member_id) in b.pool_members]
            if mine:
                chosen.add(max(mine, key=lambda b: (b.start, b.id)).id)
    return [b for b in alive if b.id in chosen]


def _through(b: Booking, resource_ids: Sequence[str], pool_id: str) -> bool:
    if not pool_id:
        return any(r in b.resources for r in resource_ids)
    return any((pool_id, r) in b.pool_members for r in resource_ids)
