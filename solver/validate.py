"""Validation of a SlotRequest against the directory and the limits, before any work.

Every problem found is reported, one FieldViolation each, with the field's
path in the request (``seats[1].candidates[0]``). Unknown ids are
``UnknownResource`` (NOT_FOUND on the wire); work over a limit is
``LimitExceeded`` naming the limit.
"""

from __future__ import annotations

import functools
import math
import zoneinfo
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from solver.domain import Directory, MemberSeat, PoolSeat, RoomSeat, SlotRequest
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, UnknownResource, quote

__all__ = ["MAX_WEIGHT", "Limits", "is_zone", "validate_request"]

# The largest weight (points per unit) a request may set. Costs are whole milli-points
# (a batch's ticks: milli-points x 60) in 64-bit integers: past this, a horizon of seats,
# minutes and loads could wrap them around (a negative objective) or overflow the floats
# of the LP. A million points per unit is far beyond any tuning (the defaults are 0.1 to 100).
MAX_WEIGHT = 1_000_000.0

_MAX_ZONE_NAME = 64  # the longest name in the tz database has 32 characters


@dataclass(frozen=True)
class Limits:
    """Work the engine accepts per request (the server's config sets them)."""

    max_horizon_days: int = 93
    max_seats: int = 20
    max_candidates_per_seat: int = 200
    max_candidate_starts: int = 20_000
    max_results: int = 1_000
    max_optional_members: int = 50
    # A sequence's candidates: first starts times (order, gaps) combinations (the orders
    # allowed times the gap values to the power of the gaps); its search's time and memory
    # grow with it.
    max_sequence_candidates: int = 2_000_000


_HOST_FILES = frozenset({"localtime", "posixrules"})


@functools.cache
def _zones() -> frozenset[str]:
    """Every zone name of the installed tz database (the system's, else the tzdata package's).

    Without ``localtime`` and ``posixrules``: files some systems keep beside the zones (Debian's
    /usr/share/zoneinfo/localtime links to /etc/localtime), no IANA names, and "localtime" is the
    host's own zone, which no answer may depend on.
    """
    return (frozenset(zoneinfo.available_timezones()) - _HOST_FILES) | {"UTC"}


def is_zone(name: str) -> bool:
    """True for a zone name of the installed tz database (IANA names such as ``Europe/Berlin``).

    A set lookup: no file is opened for the caller's string, so no length or shape
    of it (a path, "a/b" a thousand times, megabytes) can fail other than with False.
    """
    return len(name) <= _MAX_ZONE_NAME and name in _zones()


def validate_request(directory: Directory, request: SlotRequest, limits: Limits | None = None) -> None:
    """Raises InvalidRequest / UnknownResource / LimitExceeded; returns None when the request is sound."""
    limits = limits or Limits()
    problems: list[FieldViolation] = []

    def bad(field: str, description: str) -> None:
        problems.append(FieldViolation(field, description))

    # Time.
    for name in ("window_start", "window_end", "now"):
        value = getattr(request, name)
        if isinstance(value, datetime) and value.utcoffset() is None:
            bad(name, "must be timezone-aware")
    if not is_zone(request.time_zone):
        bad("time_zone", f"{quote(request.time_zone)} is not an IANA time zone")
    instants = (request.window_start, request.window_end, request.now)
    aware = all(v is None or v.utcoffset() is not None for v in instants)
    if aware and request.window_end <= request.window_start:
        bad("window_end", "must be after window_start")
    if request.duration <= timedelta(0):
        bad("duration", "must be positive")
    elif request.duration.total_seconds() % 60:
        bad("duration", "must be whole minutes")
    elif aware and request.window_end > request.window_start and request.duration > (
        request.window_end - request.window_start
    ):
        bad("duration", "is longer than the window")
    if request.resolution <= 0 or 60 % request.resolution:
        bad("resolution", "must be a divisor of 60 minutes (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)")
    if request.start_interval <= 0 or 1440 % request.start_interval:
        bad("start_interval", "must be a positive divisor of 1440 minutes (a day)")
    for name in ("buffer_before", "buffer_after", "minimum_notice"):
        if getattr(request, name) < timedelta(0):
            bad(name, "must not be negative")
    if request.preferred_hours is not None and request.preferred_hours[0] >= request.preferred_hours[1]:
        bad("preferred_hours", "start must be before end")

    # Paging and counts.
    if request.customers < 0:
        bad("customers", "must not be negative")
    if request.page_offset < 0:
        bad("page_offset", "must not be negative")
    if request.max_results < 0:
        bad("max_results", "must not be negative")
    if request.max_alternatives < 0:
        bad("max_alternatives", "must not be negative")
    if request.min_available < 0:
        bad("min_available", "must not be negative")
    for f in fields(request.weights):
        value = getattr(request.weights, f.name)
        if not math.isfinite(value) or value < 0:
            bad(f"weights.{f.name}", "must be a finite number >= 0")
        elif value > MAX_WEIGHT:
            bad(f"weights.{f.name}", f"must be at most {MAX_WEIGHT:.0f} points (the limit of a weight)")

    # Seats.
    if not request.seats:
        bad("seats", "at least one seat is required")
    for i, seat in enumerate(request.seats):
        where = f"seats[{i}]"
        if isinstance(seat, MemberSeat):
            if not seat.candidates:
                bad(f"{where}.candidates", "at least one member is required")
            if len(set(seat.candidates)) != len(seat.candidates):
                bad(f"{where}.candidates", "lists a member twice")
        elif isinstance(seat, PoolSeat):
            pool = directory.pools.get(seat.pool_id)
            if seat.count < 1:
                bad(f"{where}.count", "must be at least 1")
            elif pool is not None and seat.count > len(pool.members):
                bad(f"{where}.count", f"pool {quote(seat.pool_id)} has only {len(pool.members)} members")
            if pool is not None and any(m not in directory.members for m in pool.members):
                bad(f"{where}.pool_id", f"{quote(seat.pool_id)} is not a pool of members")
        elif isinstance(seat, RoomSeat):
            if not seat.rooms and not seat.pools:
                bad(where, "a room seat needs rooms or room pools")
            if len(set(seat.rooms)) != len(seat.rooms):
                bad(f"{where}.rooms", "lists a room twice")
            for j, pool_id in enumerate(seat.pools):
                pool = directory.pools.get(pool_id)
                if pool is not None and any(r not in directory.rooms for r in pool.members):
                    bad(f"{where}.pools[{j}]", f"{quote(pool_id)} is not a pool of rooms")
    if problems:
        raise InvalidRequest(problems)

    _check_known(directory, request)
    _check_limits(request, limits)


def _check_known(directory: Directory, request: SlotRequest) -> None:
    for i, seat in enumerate(request.seats):
        if isinstance(seat, MemberSeat):
            for j, m in enumerate(seat.candidates):
                if m not in directory.members:
                    raise UnknownResource(f"seats[{i}].candidates[{j}]", m)
        elif isinstance(seat, PoolSeat):
            if seat.pool_id not in directory.pools:
                raise UnknownResource(f"seats[{i}].pool_id", seat.pool_id)
        else:
            for j, r in enumerate(seat.rooms):
                if r not in directory.rooms:
                    raise UnknownResource(f"seats[{i}].rooms[{j}]", r)
            for j, p in enumerate(seat.pools):
                if p not in directory.pools:
                    raise UnknownResource(f"seats[{i}].pools[{j}]", p)
    for j, m in enumerate(request.optional_members):
        if m not in directory.members:
            raise UnknownResource(f"optional_members[{j}]", m)


def _check_limits(request: SlotRequest, limits: Limits) -> None:
    horizon = (request.window_end - request.window_start) / timedelta(days=1)
    if horizon > limits.max_horizon_days:
        raise LimitExceeded("window_end", "max_horizon_days", limits.max_horizon_days, math.ceil(horizon))
    if len(request.seats) > limits.max_seats:
        raise LimitExceeded("seats", "max_seats", limits.max_seats, len(request.seats))
    for i, seat in enumerate(request.seats):
        n = len(seat.candidates) if isinstance(seat, MemberSeat) else 0
        if n > limits.max_candidates_per_seat:
            raise LimitExceeded(f"seats[{i}].candidates", "max_candidates_per_seat",
                                limits.max_candidates_per_seat, n)
    starts = horizon * 1440 / request.start_interval
    if starts > limits.max_candidate_starts:
        raise LimitExceeded(
            "start_interval", "max_candidate_starts", limits.max_candidate_starts, int(starts)
        )
    if request.max_results > limits.max_results:
        raise LimitExceeded("max_results", "max_results", limits.max_results, request.max_results)
    if len(request.optional_members) > limits.max_optional_members:
        raise LimitExceeded("optional_members", "max_optional_members", limits.max_optional_members,
                            len(request.optional_members))
