"""Free/busy of members and rooms over a window (GetSchedule), like Microsoft Graph's getSchedule.

For each resource: what blocks it (its calendar's blocking events and this
engine's confirmed bookings, by start), its working or opening hours inside
the window, and a merged grid: one code per ``interval`` from the window's
start, the strongest item overlapping that interval (Graph's codes):

    FREE 0  <  TENTATIVE 1  <  BUSY 2 (a booking too)  <  OUT_OF_OFFICE 3

Intervals are half-open; the last one may be cut short by the window's end.
Working hours do not enter the grid (Graph keeps them apart too): they are
listed beside it. Pure: no I/O, the caller brings the busy intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from solver.domain import Booking, BusyInterval, BusyKind, Directory, WorkingHours
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, UnknownResource
from solver.grid import from_minutes, to_minutes
from solver.hours import hours_ranges
from solver.validate import Limits

__all__ = ["CODES", "ResourceSchedule", "ScheduleRequest", "schedules", "validate_schedule"]

# The grid's code per kind (Microsoft Graph's availabilityView digits).
CODES = {BusyKind.TENTATIVE: 1, BusyKind.BUSY: 2, BusyKind.BOOKING: 2, BusyKind.OUT_OF_OFFICE: 3}
DEFAULT_INTERVAL = timedelta(minutes=30)


@dataclass(frozen=True)
class ScheduleRequest:
    """Whose time, over ``[window_start, window_end)``, at what grid ``interval``."""

    resource_ids: tuple[str, ...]
    window_start: datetime
    window_end: datetime
    interval: timedelta = DEFAULT_INTERVAL

    @property
    def cells(self) -> int:
        return math.ceil((self.window_end - self.window_start) / self.interval)


@dataclass(frozen=True)
class ResourceSchedule:
    """One resource's time in the window: ``items`` by start, ``view`` one code per interval,
    ``working`` the real intervals of its hours inside the window."""

    resource_id: str
    items: tuple[BusyInterval, ...]
    view: str
    working: tuple[tuple[datetime, datetime], ...]


def validate_schedule(directory: Directory, request: ScheduleRequest, limits: Limits | None = None) -> None:
    """Raises InvalidRequest / UnknownResource / LimitExceeded; None when the request is sound."""
    limits = limits or Limits()
    problems: list[FieldViolation] = []
    if not request.resource_ids:
        problems.append(FieldViolation("resource_ids", "name at least one member or room"))
    seen: set[str] = set()
    for i, resource_id in enumerate(request.resource_ids):
        if resource_id in seen:
            problems.append(FieldViolation(f"resource_ids[{i}]", f"{resource_id[:200]!r} is named twice"))
        seen.add(resource_id)
    if request.window_end <= request.window_start:
        problems.append(FieldViolation("window_end", "must be after window_start"))
    minutes = request.interval.total_seconds() / 60
    if minutes <= 0 or minutes != int(minutes) or 1440 % int(minutes):
        problems.append(FieldViolation("interval", "must be a positive divisor of 1440 minutes (a day)"))
    if problems:
        raise InvalidRequest(problems)
    for i, resource_id in enumerate(request.resource_ids):
        if resource_id not in directory.members and resource_id not in directory.rooms:
            raise UnknownResource(f"resource_ids[{i}]", resource_id)
    if len(request.resource_ids) > limits.max_candidates_per_seat:
        raise LimitExceeded("resource_ids", "max_candidates_per_seat", limits.max_candidates_per_seat,
                            len(request.resource_ids))
    days = math.ceil((request.window_end - request.window_start) / timedelta(days=1))
    if days > limits.max_horizon_days:
        raise LimitExceeded("window_end", "max_horizon_days", limits.max_horizon_days, days)
    if request.cells > limits.max_candidate_starts:
        raise LimitExceeded("interval", "max_candidate_starts", limits.max_candidate_starts, request.cells)


def _hours_of(directory: Directory, resource_id: str) -> WorkingHours | None:
    member = directory.members.get(resource_id)
    if member is not None:
        return member.working_hours
    room = directory.rooms.get(resource_id)
    return room.opening_hours if room is not None else None


def _working(hours: WorkingHours | None, start: datetime, end: datetime) -> tuple[tuple[datetime, datetime], ...]:
    """The hours' real intervals clipped to ``[start, end)``, touching ones joined; none set: the whole window."""
    if hours is None:
        return ((start, end),)
    lo, hi = math.floor(to_minutes(start)), math.ceil(to_minutes(end))
    joined: list[list[float]] = []
    for a, b in sorted(hours_ranges(hours, lo, hi)):
        if joined and a <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], b)
        else:
            joined.append([a, b])
    return tuple((max(from_minutes(int(a)), start), min(from_minutes(int(b)), end)) for a, b in joined
                 if from_minutes(int(a)) < end and from_minutes(int(b)) > start)


def _view(items: Sequence[BusyInterval], request: ScheduleRequest) -> str:
    """One code per interval: the strongest item overlapping it."""
    codes = np.zeros(request.cells, dtype=np.int8)
    step = request.interval.total_seconds()
    for item in items:
        first = max(math.floor((item.start - request.window_start).total_seconds() / step), 0)
        last = min(math.ceil((item.end - request.window_start).total_seconds() / step), request.cells)
        if last > first:
            np.maximum(codes[first:last], CODES.get(item.kind, 2), out=codes[first:last])
    return "".join(map(str, codes.tolist()))


def schedules(directory: Directory, busy: Iterable[BusyInterval], bookings: Iterable[Booking],
              request: ScheduleRequest) -> tuple[ResourceSchedule, ...]:
    """Each requested resource's schedule, in the request's order (see the module docstring)."""
    start, end = request.window_start, request.window_end
    wanted = set(request.resource_ids)
    found: dict[str, list[BusyInterval]] = {r: [] for r in request.resource_ids}
    for interval in busy:
        if interval.resource_id in wanted and interval.start < end and interval.end > start \
                and interval.end > interval.start:
            found[interval.resource_id].append(interval)
    for booking in bookings:
        if booking.start < end and booking.end > start:
            for resource_id in wanted.intersection(booking.resources):
                found[resource_id].append(BusyInterval(resource_id, booking.start, booking.end, BusyKind.BOOKING))
    out = []
    for resource_id in request.resource_ids:
        items = tuple(sorted(found[resource_id], key=lambda b: (b.start, b.end, b.kind)))
        out.append(ResourceSchedule(resource_id, items, _view(items, request),
                                    _working(_hours_of(directory, resource_id), start, end)))
    return tuple(out)
