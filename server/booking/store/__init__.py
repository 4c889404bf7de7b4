"""Bookings: reserve resources with no chance of double booking, and run the
side effects (calendar event, invitation email) through an outbox.

Start with ``open_store(url)`` (``server.booking.store.factory``) for a ``BookingStore``
(``server.booking.store.base``, whose docstring states every guarantee), and an
``OutboxWorker`` (``server.booking.store.outbox``) with handlers from ``server.booking.notify``.
"""

from server.booking.store.base import BookingStore
from server.booking.store.errors import (
    BookingCancelled,
    BookingConflict,
    BookingNotFound,
    EntryRefused,
    IdempotencyConflict,
    InvalidBooking,
    LimitReached,
    StaleVersion,
    StoreError,
    StoreUnavailable,
)
from server.booking.store.factory import open_store
from server.booking.store.model import (
    BookedSeat,
    BookingRecord,
    BookingStatus,
    CreateEntry,
    CreateResult,
    Edit,
    Hold,
    HoldConflict,
    MemberLimit,
    Move,
    MoveEntry,
    NewBooking,
    OutboxTask,
    Person,
    ResourceKind,
    SideEffect,
    TaskKind,
    TaskStatus,
)
from server.booking.store.outbox import Backoff, Handler, OutboxWorker, PermanentTaskError, Skipped
from server.booking.store.postgres import PoolSettings
from server.booking.store.source import StoreBookings

__all__ = [
    "Backoff",
    "BookedSeat",
    "BookingCancelled",
    "BookingConflict",
    "BookingNotFound",
    "BookingRecord",
    "BookingStatus",
    "BookingStore",
    "CreateEntry",
    "CreateResult",
    "Edit",
    "EntryRefused",
    "Handler",
    "Hold",
    "HoldConflict",
    "IdempotencyConflict",
    "InvalidBooking",
    "LimitReached",
    "MemberLimit",
    "Move",
    "MoveEntry",
    "NewBooking",
    "OutboxTask",
    "OutboxWorker",
    "PermanentTaskError",
    "Person",
    "PoolSettings",
    "ResourceKind",
    "SideEffect",
    "Skipped",
    "StaleVersion",
    "StoreBookings",
    "StoreError",
    "StoreUnavailable",
    "TaskKind",
    "TaskStatus",
    "open_store",
]
