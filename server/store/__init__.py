"""Bookings: reserve resources with no chance of double booking, and run the
side effects (calendar event, invitation email) through an outbox.

Start with ``open_store(url)`` (``server.store.factory``) for a ``BookingStore``
(``server.store.base``, whose docstring states every guarantee), and an
``OutboxWorker`` (``server.store.outbox``) with handlers from ``server.notify``.
"""

from server.store.base import BookingStore
from server.store.errors import (
    BookingConflict,
    BookingNotFound,
    EntryRefused,
    IdempotencyConflict,
    InvalidBooking,
    LimitReached,
    StoreError,
    StoreUnavailable,
)
from server.store.factory import open_store
from server.store.model import (
    BookedSeat,
    BookingRecord,
    BookingStatus,
    CreateEntry,
    CreateResult,
    Hold,
    HoldConflict,
    MemberLimit,
    NewBooking,
    OutboxTask,
    Person,
    ResourceKind,
    SideEffect,
    TaskKind,
    TaskStatus,
)
from server.store.outbox import Backoff, Handler, OutboxWorker, PermanentTaskError, Skipped
from server.store.source import StoreBookings

__all__ = [
    "Backoff",
    "BookedSeat",
    "BookingConflict",
    "BookingNotFound",
    "BookingRecord",
    "BookingStatus",
    "BookingStore",
    "CreateEntry",
    "CreateResult",
    "EntryRefused",
    "Handler",
    "Hold",
    "HoldConflict",
    "IdempotencyConflict",
    "InvalidBooking",
    "LimitReached",
    "MemberLimit",
    "NewBooking",
    "OutboxTask",
    "OutboxWorker",
    "PermanentTaskError",
    "Person",
    "ResourceKind",
    "SideEffect",
    "Skipped",
    "StoreBookings",
    "StoreError",
    "StoreUnavailable",
    "TaskKind",
    "TaskStatus",
    "open_store",
]
