"""Plain data of the booking store.

A *booking* holds resources (members and rooms) for its meeting ``[start, end)``.
The store keeps one *hold* row per held resource; a hold is what the database
compares when it refuses a double booking:

- a hold covers the meeting itself, ``[start, end)`` (buffers excluded), the
  same interval ``solver.domain.Booking`` carries back to the solver;
- a new booking's own buffers are checked against existing holds, exactly as
  the solver checks a new meeting's buffers against confirmed bookings
  (SCHEDULING.md, "Who is free", rule 3);
- a hold is *exclusive* for rooms always, and for members unless the booking
  was made with ``allow_member_conflicts`` ("schedule anyway"); only confirmed
  exclusive holds take part in the database-level guarantee.

Every instant is timezone-aware; the store returns UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from solver.domain import Booking

__all__ = [
    "BookedSeat",
    "BookingRecord",
    "BookingStatus",
    "CreateResult",
    "Edit",
    "Hold",
    "HoldConflict",
    "MemberLimit",
    "Move",
    "NewBooking",
    "OutboxTask",
    "Person",
    "ResourceKind",
    "SideEffect",
    "TaskKind",
    "TaskStatus",
]


class BookingStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class ResourceKind(StrEnum):
    MEMBER = "member"
    ROOM = "room"


class TaskKind(StrEnum):
    """The side effects of a booking, run by the outbox worker after commit."""

    CREATE_EVENT = "create_event"  # put the meeting on the organizer's calendar
    SEND_INVITE = "send_invite"  # email the customers an iCalendar METHOD:REQUEST
    CANCEL_EVENT = "cancel_event"  # remove the meeting from the organizer's calendar
    SEND_CANCEL = "send_cancel"  # email the customers an iCalendar METHOD:CANCEL
    UPDATE_EVENT = "update_event"  # move or change the organizer's calendar event in place
    SEND_UPDATE = "send_update"  # email the customers the same UID with a higher SEQUENCE (METHOD:REQUEST)
    SEND_DROPPED = "send_dropped"  # email the people a change dropped a METHOD:CANCEL


class TaskStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (``next_attempt_at``)
    RUNNING = "running"  # claimed by a worker until its lease ends
    DONE = "done"
    FAILED = "failed"  # a handler said retrying cannot help
    SKIPPED = "skipped"  # never needed (cancelled before it started, or nobody to tell)


@dataclass(frozen=True)
class Person:
    """Someone on an invitation: an email address and an optional display name."""

    email: str
    name: str = ""


@dataclass(frozen=True)
class BookedSeat:
    """One seat of the booked meeting and who fills it.

    ``resource_ids`` has one id for a member or room seat and ``count`` ids for
    a pool seat; ``pool_id`` names the pool they were drawn from, if any.
    ``kind`` decides exclusivity: a room seat is never double-booked.
    """

    kind: ResourceKind
    resource_ids: tuple[str, ...]
    pool_id: str = ""
    label: str = ""


@dataclass(frozen=True)
class NewBooking:
    """What a caller asks the store to book.

    ``hold_id`` names the caller's own short hold on these resources (see
    ``BookingStore.hold``); it does not count as a conflict and is released
    when the booking commits.
    """

    tenant: str
    start: datetime
    end: datetime
    time_zone: str
    seats: tuple[BookedSeat, ...]
    title: str = ""
    organizer: Person = Person("")
    customers: tuple[Person, ...] = ()
    attendees: tuple[Person, ...] = ()  # panel members and optional members, for the invitation
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    description: str = ""
    location: str = ""
    hold_id: str = ""
    meeting: str = ""  # the meeting's rules as the API took them (opaque here), so a reschedule can re-plan

    @property
    def resource_ids(self) -> tuple[str, ...]:
        return tuple(r for s in self.seats for r in s.resource_ids)


@dataclass(frozen=True)
class MemberLimit:
    """A member's booking limits, counted on the member's local calendar
    (a day; a Monday-to-Sunday week) by the meeting's start. None: no limit."""

    daily: int | None = None
    weekly: int | None = None
    time_zone: str = "UTC"


@dataclass(frozen=True)
class SideEffect:
    """The state of one side effect of a booking (one outbox task)."""

    kind: str
    status: TaskStatus
    attempts: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None = None
    result: str = ""  # what the handler returned, e.g. the calendar's event id
    updated_at: datetime | None = None

    def __str__(self) -> str:
        if self.status in (TaskStatus.DONE, TaskStatus.SKIPPED) and not self.last_error:
            return str(self.status)
        parts = [f"attempts={self.attempts}"]
        if self.last_error:
            parts.append(f"last_error={self.last_error}")
        return f"{self.status}({', '.join(parts)})"


@dataclass(frozen=True)
class BookingRecord:
    """A stored booking, confirmed or cancelled, with the state of its side effects.

    ``sequence`` is the iCalendar SEQUENCE: 0 when booked, raised on cancel.
    """

    id: str
    tenant: str
    request_id: str
    body_hash: str
    status: BookingStatus
    start: datetime
    end: datetime
    time_zone: str
    seats: tuple[BookedSeat, ...]
    title: str
    organizer: Person
    customers: tuple[Person, ...]
    attendees: tuple[Person, ...]
    buffer_before: timedelta
    buffer_after: timedelta
    description: str
    location: str
    allow_member_conflicts: bool
    sequence: int
    created_at: datetime
    cancelled_at: datetime | None = None
    updated_at: datetime | None = None  # the last reschedule or update (the invitation's DTSTAMP)
    version: int = 1  # the etag: raised by every change
    side_effects: dict[str, SideEffect] = field(default_factory=dict)
    meeting: str = ""  # NewBooking.meeting, kept as booked ("" for bookings made before it was kept)

    @property
    def resource_ids(self) -> tuple[str, ...]:
        return tuple(r for s in self.seats for r in s.resource_ids)

    def as_solver_booking(self) -> Booking:
        """The solver's view: the meeting interval, every held resource and the
        members drawn from member pools."""
        pool_members = tuple(
            (s.pool_id, r) for s in self.seats if s.pool_id and s.kind == ResourceKind.MEMBER
            for r in s.resource_ids
        )
        return Booking(self.id, self.start, self.end, self.resource_ids, pool_members)


@dataclass(frozen=True)
class CreateEntry:
    """One booking of ``BookingStore.create_all``: the arguments ``create`` takes."""

    request_id: str
    body_hash: str
    booking: NewBooking
    allow_member_conflicts: bool = False
    limits: Mapping[str, MemberLimit] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateResult:
    """``replayed`` is True when the request id had been seen with the same body:
    ``booking`` is then the first result, unchanged."""

    booking: BookingRecord
    replayed: bool = False
    changed_seats: tuple[int, ...] = ()  # a reschedule's: the seats whose resources it changed


@dataclass(frozen=True)
class Move:
    """What ``BookingStore.reschedule`` moves a confirmed booking to: a new meeting
    ``[start, end)`` and who sits where, with the invitation's attendees for them."""

    start: datetime
    end: datetime
    seats: tuple[BookedSeat, ...]
    attendees: tuple[Person, ...]
    allow_member_conflicts: bool = False

    @property
    def resource_ids(self) -> tuple[str, ...]:
        return tuple(r for s in self.seats for r in s.resource_ids)


@dataclass(frozen=True)
class MoveEntry:
    """One reschedule of ``BookingStore.create_all``: the arguments ``reschedule`` takes."""

    booking_id: str
    tenant: str
    request_id: str
    body_hash: str
    version: int
    move: Move
    limits: Mapping[str, MemberLimit] = field(default_factory=dict)


@dataclass(frozen=True)
class Edit:
    """What ``BookingStore.update`` changes; None leaves a field as it is."""

    title: str | None = None
    description: str | None = None
    location: str | None = None
    customers: tuple[Person, ...] | None = None


@dataclass(frozen=True)
class Hold:
    """A short reservation of resources for ``[start, end)`` until ``expires_at``."""

    id: str
    resource_ids: tuple[str, ...]
    start: datetime
    end: datetime
    expires_at: datetime
    tenant: str = ""


@dataclass(frozen=True)
class HoldConflict:
    """Something already holding ``resource_id`` for ``[start, end)``: a confirmed
    booking (``kind == "booking"``) or another caller's unexpired hold (``"hold"``)."""

    resource_id: str
    start: datetime
    end: datetime
    other_id: str
    kind: str = "booking"


@dataclass(frozen=True)
class OutboxTask:
    """One claimed side effect, handed to a handler with a snapshot of its booking.

    ``attempt`` counts from 1. ``claim_token`` identifies this claim: completing
    a task whose lease was taken over by another worker changes nothing.
    """

    id: int
    booking_id: str
    kind: str
    attempt: int
    claim_token: str
    booking: BookingRecord
    detail: str = ""  # kind-specific JSON; send_dropped: [{"email": ..., "name": ...}] of the dropped people
