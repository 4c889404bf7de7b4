"""Checks on what callers hand the store, before any database work.

Every problem becomes one ``FieldViolation`` naming the field, so the server
can answer INVALID_ARGUMENT with all of them at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from server.booking.store.errors import InvalidBooking
from server.booking.store.model import BookedSeat, Edit, MemberLimit, Move, NewBooking, Person, ResourceKind
from solver.errors import FieldViolation, quote
from solver.validate import is_zone

__all__ = ["check_edit", "check_hold", "check_move", "check_new_booking", "check_time_zone"]

MAX_ID_LENGTH = 200
# A pragmatic address check: something@something, no spaces or control characters
# (addresses and names end up in mail headers, where a newline would inject headers).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_time_zone(name: str) -> str | None:
    """None when ``name`` is a known IANA zone, else the reason it is not."""
    if not name:
        return "must not be empty"
    if not is_zone(name):
        return f"unknown IANA time zone {quote(name)}"
    return None


def check_new_booking(request_id: str, body_hash: str, booking: NewBooking,
                      limits: Mapping[str, MemberLimit] | None) -> None:
    """Raises ``InvalidBooking`` listing every problem with a create request."""
    v: list[FieldViolation] = []
    _check_id(v, "request_id", request_id)
    _check_id(v, "body_hash", body_hash)
    _check_id(v, "tenant", booking.tenant)
    _check_interval(v, booking.start, booking.end)
    if (reason := check_time_zone(booking.time_zone)) is not None:
        v.append(FieldViolation("time_zone", reason))
    _check_seats(v, booking.seats)
    for name, buffer in (("buffer_before", booking.buffer_before), ("buffer_after", booking.buffer_after)):
        if buffer < timedelta(0):
            v.append(FieldViolation(name, "must not be negative"))
    for name, text in (("title", booking.title), ("location", booking.location), ("hold_id", booking.hold_id)):
        if _CONTROL.search(text):
            v.append(FieldViolation(name, "must not contain control characters"))
    _check_person(v, "organizer", booking.organizer, required=bool(booking.customers))
    for group, people in (("customers", booking.customers), ("attendees", booking.attendees)):
        for i, person in enumerate(people):
            _check_person(v, f"{group}[{i}]", person, required=True)
    for resource_id, limit in (limits or {}).items():
        _check_limit(v, f"limits[{quote(resource_id)}]", limit)
    if v:
        raise InvalidBooking(v)


def check_move(request_id: str, body_hash: str, version: int, move: Move,
               limits: Mapping[str, MemberLimit] | None) -> None:
    """Raises ``InvalidBooking`` listing every problem with a reschedule request."""
    v: list[FieldViolation] = []
    _check_id(v, "request_id", request_id)
    _check_id(v, "body_hash", body_hash)
    if version < 1:
        v.append(FieldViolation("etag", "must be a version of the booking (1 or more)"))
    _check_interval(v, move.start, move.end)
    _check_seats(v, move.seats)
    for i, person in enumerate(move.attendees):
        _check_person(v, f"attendees[{i}]", person, required=True)
    for resource_id, limit in (limits or {}).items():
        _check_limit(v, f"limits[{quote(resource_id)}]", limit)
    if v:
        raise InvalidBooking(v)


def check_edit(version: int, edit: Edit) -> None:
    """Raises ``InvalidBooking`` listing every problem with an update."""
    v: list[FieldViolation] = []
    if version < 1:
        v.append(FieldViolation("etag", "must be a version of the booking (1 or more)"))
    for name, text in (("title", edit.title), ("location", edit.location)):
        if text is not None and _CONTROL.search(text):
            v.append(FieldViolation(name, "must not contain control characters"))
    for i, person in enumerate(edit.customers or ()):
        _check_person(v, f"customers[{i}]", person, required=True)
    if v:
        raise InvalidBooking(v)


def check_hold(resource_ids: Sequence[str], start: datetime, end: datetime, ttl: timedelta) -> None:
    """Raises ``InvalidBooking`` listing every problem with a hold request."""
    v: list[FieldViolation] = []
    if not resource_ids:
        v.append(FieldViolation("resources", "must name at least one resource"))
    for i, r in enumerate(resource_ids):
        _check_id(v, f"resources[{i}]", r)
    if len(set(resource_ids)) != len(resource_ids):
        v.append(FieldViolation("resources", "must not repeat a resource"))
    _check_interval(v, start, end)
    if ttl <= timedelta(0):
        v.append(FieldViolation("ttl", "must be positive"))
    if v:
        raise InvalidBooking(v)


def _check_id(v: list[FieldViolation], name: str, value: str) -> None:
    if not value:
        v.append(FieldViolation(name, "must not be empty"))
    elif len(value) > MAX_ID_LENGTH:
        v.append(FieldViolation(name, f"must be at most {MAX_ID_LENGTH} characters"))
    elif _CONTROL.search(value):
        v.append(FieldViolation(name, "must not contain control characters"))


def _check_interval(v: list[FieldViolation], start: datetime, end: datetime) -> None:
    aware = True
    for name, t in (("start", start), ("end", end)):
        if t.tzinfo is None or t.utcoffset() is None:
            v.append(FieldViolation(name, "must be timezone-aware"))
            aware = False
    if aware and end <= start:
        v.append(FieldViolation("end", "must be after start"))


def _check_seats(v: list[FieldViolation], seats: Sequence[BookedSeat]) -> None:
    if not seats:
        v.append(FieldViolation("seats", "must hold at least one resource"))
    seen: set[str] = set()
    for i, seat in enumerate(seats):
        if seat.kind not in (ResourceKind.MEMBER, ResourceKind.ROOM):
            v.append(FieldViolation(f"seats[{i}].kind", f"must be member or room, not {quote(seat.kind)}"))
        if not seat.resource_ids:
            v.append(FieldViolation(f"seats[{i}].resource_ids", "must not be empty"))
        for j, r in enumerate(seat.resource_ids):
            field = f"seats[{i}].resource_ids[{j}]"
            _check_id(v, field, r)
            if r in seen:
                v.append(FieldViolation(field, f"{quote(r)} fills more than one seat"))
            seen.add(r)


def _check_person(v: list[FieldViolation], name: str, person: Person, *, required: bool) -> None:
    if not person.email:
        if required:
            v.append(FieldViolation(f"{name}.email", "must not be empty"))
    elif not _EMAIL.match(person.email) or _CONTROL.search(person.email):
        v.append(FieldViolation(f"{name}.email", f"{quote(person.email)} is not an email address"))
    if _CONTROL.search(person.name):
        v.append(FieldViolation(f"{name}.name", "must not contain control characters"))


def _check_limit(v: list[FieldViolation], name: str, limit: MemberLimit) -> None:
    for part, value in (("daily", limit.daily), ("weekly", limit.weekly)):
        if value is not None and value < 0:
            v.append(FieldViolation(f"{name}.{part}", "must not be negative"))
    if (reason := check_time_zone(limit.time_zone)) is not None:
        v.append(FieldViolation(f"{name}.time_zone", reason))
