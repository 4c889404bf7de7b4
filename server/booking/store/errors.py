"""Errors the booking store raises. The server maps them to gRPC status codes.

    StoreError
    ├── InvalidBooking       one FieldViolation per problem             -> INVALID_ARGUMENT
    ├── BookingNotFound      an unknown booking id                      -> NOT_FOUND
    ├── IdempotencyConflict  a request id reused with another body      -> ALREADY_EXISTS
    ├── BookingConflict      a resource is held by another booking/hold -> ABORTED (conflicts in details)
    ├── LimitReached         a member's daily/weekly limit is reached   -> FAILED_PRECONDITION
    ├── StaleVersion         a change named an etag that is not the booking's version -> ABORTED
    ├── BookingCancelled     a change of a cancelled booking            -> FAILED_PRECONDITION
    ├── EntryRefused         create_all: which booking was refused, and why (one of the above)
    └── StoreUnavailable     the database cannot be reached or set up   -> UNAVAILABLE

Messages never contain credentials: URLs are shown without their password.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from server.booking.store.model import HoldConflict
from solver.errors import FieldViolation, quote

__all__ = [
    "BookingCancelled",
    "BookingConflict",
    "BookingNotFound",
    "EntryRefused",
    "IdempotencyConflict",
    "InvalidBooking",
    "LimitReached",
    "StaleVersion",
    "StoreError",
    "StoreUnavailable",
]


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class InvalidBooking(StoreError):
    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = list(violations)
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in self.violations))


class BookingNotFound(StoreError):
    def __init__(self, booking_id: str) -> None:
        self.booking_id = booking_id
        super().__init__(f"booking_id: no booking {quote(booking_id)}")


class IdempotencyConflict(StoreError):
    """The request id was first used with a different body."""

    def __init__(self, tenant: str, request_id: str, booking_id: str) -> None:
        self.tenant = tenant
        self.request_id = request_id
        self.booking_id = booking_id
        super().__init__(f"request_id: {quote(request_id)} was already used with a different body "
                         f"(booking {booking_id})")


class BookingConflict(StoreError):
    """Resources of the new booking are held by others for overlapping time.

    ``conflicts`` is empty only when the database refused the booking (the
    exclusion constraint) and the holder was gone again when we looked.
    """

    def __init__(self, conflicts: Sequence[HoldConflict]) -> None:
        self.conflicts = tuple(conflicts)
        if self.conflicts:
            listed = ", ".join(f"{c.resource_id} [{c.start.isoformat()}, {c.end.isoformat()}) "
                               f"by {c.kind} {c.other_id}" for c in self.conflicts)
            super().__init__(f"resources already held: {listed}")
        else:
            super().__init__("resources already held (refused by the database)")


class LimitReached(StoreError):
    """A member already has ``count`` confirmed bookings in the day/week of the meeting."""

    def __init__(self, resource_id: str, period: str, limit: int, count: int,
                 period_start: datetime, period_end: datetime) -> None:
        self.resource_id = resource_id
        self.period = period  # "daily" or "weekly"
        self.limit = limit
        self.count = count
        self.period_start = period_start
        self.period_end = period_end
        super().__init__(f"{resource_id}: {period} limit {limit} reached ({count} bookings in "
                         f"[{period_start.isoformat()}, {period_end.isoformat()}))")


class StaleVersion(StoreError):
    """The caller changed the booking from version ``expected``; it is at ``actual`` now
    (someone else changed it meanwhile): read it again and decide again."""

    def __init__(self, booking_id: str, expected: int, actual: int) -> None:
        self.booking_id = booking_id
        self.expected = expected
        self.actual = actual
        super().__init__(f"etag: booking {quote(booking_id)} is at version {actual}, not {expected} "
                         "(it changed since it was read: read it again)")


class BookingCancelled(StoreError):
    """A cancelled booking cannot be rescheduled or updated."""

    def __init__(self, booking_id: str) -> None:
        self.booking_id = booking_id
        super().__init__(f"booking_id: booking {quote(booking_id)} is cancelled and cannot be changed")


class EntryRefused(StoreError):
    """``create_all`` booked nothing because ``entries[index]`` was refused with ``cause``
    (``InvalidBooking``, ``IdempotencyConflict``, ``BookingConflict`` or ``LimitReached``;
    for a move also ``BookingNotFound``, ``BookingCancelled`` or ``StaleVersion``). The
    index counts the entries, then the moves: move j is ``len(entries) + j``."""

    def __init__(self, index: int, cause: StoreError) -> None:
        self.index = index
        self.cause = cause
        super().__init__(f"entries[{index}]: {cause}")


class StoreUnavailable(StoreError):
    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")
