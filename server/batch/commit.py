"""Committing a batch: every scheduled item booked through the CreateBooking checks, all in one transaction.

    check_organizers(...)   before solving: every item's organizer can send its invitation
    prior_commit(...)       an earlier call with this request_id committed: replay it
    commit_batch(...)       re-check every item, then book them all at once, or none

Each item arrives as a draft booking request (``server.wire.batch.booking_drafts``:
the item's booking as CreateBooking reads it, at its window's start), on domain
types only; the commit moves each draft to its scheduled start and seats. Each
scheduled item is checked exactly as CreateBooking checks one
(``booking.prepare_booking``: the chosen seats against the rules, the
assignment re-checked against freshly read calendars and confirmed bookings),
all before anything is booked; then the store books every item in **one
transaction** (``BookingStore.create_all``), which refuses double bookings
(the items against each other too) and enforces the booking limits. What that
guarantees:

- All or nothing, isolated: the bookings are confirmed together or not at
  all, and no other caller ever sees some of them. Side effects (calendar
  events, invitations) are enqueued in the same transaction, so a refused
  commit sends nothing. A refusal raises ``CommitFailed`` naming the item.
- Idempotent: each booking's request id is
  ``<request_id>/<fingerprint>/<item id>`` (the fingerprint identifies the
  batch's items, weights and conflict mode, not how it is run). A call whose
  request_id has bookings replays them instead of solving (there are none or
  all of them); the same request_id with another body is ALREADY_EXISTS. Two
  calls with one request_id at once book it once: when the later commit is
  refused and the earlier one stands, the later call replays it
  (``server.batch.flow``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence

from server.booking.desk import (
    BookingDesk,
    BookingRefused,
    BookingRequest,
    attendees_of,
    booked_seats,
    member_limits,
    prepare_booking,
    recheck,
    taken,
)
from server.booking.store import (
    BookingConflict,
    BookingRecord,
    CreateEntry,
    EntryRefused,
    IdempotencyConflict,
    Move,
    MoveEntry,
)
from server.tenants import Tenant
from server.wire.batch import BatchQuery, booking_request_id
from solver.batch.types import BatchResult, ScheduledItem
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, SchedulingError, UnknownResource, quote

__all__ = ["CommitFailed", "check_organizers", "commit_batch", "prior_commit"]


class CommitFailed(Exception):
    """An item could not be booked; nothing of the batch was."""

    def __init__(self, index: int, item_id: str, cause: Exception) -> None:
        self.index = index
        self.item_id = item_id
        self.cause = cause
        super().__init__(self.describe(str(cause)))

    def describe(self, cause: str) -> str:
        """The failure in words, with ``cause`` as the reason the item was refused."""
        return f"commit refused: items[{self.index}] ({quote(self.item_id)}) could not be booked: {cause}; " \
               "nothing was booked"


def _item_error(index: int, exc: SchedulingError) -> SchedulingError:
    """A CreateBooking-level problem of item ``index``, its paths under ``items[index].``."""
    if isinstance(exc, InvalidRequest):
        return InvalidRequest([FieldViolation(_item_path(index, v.field), v.description) for v in exc.violations])
    if isinstance(exc, UnknownResource):
        return UnknownResource(_item_path(index, exc.field), exc.resource_id)
    if isinstance(exc, LimitExceeded):
        return LimitExceeded(_item_path(index, exc.field), exc.limit_name, exc.limit, exc.actual)
    return exc


def _item_path(index: int, field: str) -> str:
    if field in ("request_id", "now"):
        return field  # the batch's own
    return f"items[{index}].{field}"


def check_organizers(drafts: Sequence[BookingRequest | None], tenant: Tenant) -> None:
    """Raises ``UnknownResource`` for an unknown organizer, ``InvalidRequest`` (every problem)
    for one without the email address its items' invitations need. Before any work."""
    problems: list[FieldViolation] = []
    for i, draft in enumerate(drafts):
        if draft is None:
            continue  # an item naming a booking: its invitation was sent when it was booked
        organizer = draft.organizer_id
        if not organizer:
            continue
        member = tenant.directory.members.get(organizer)
        if member is None:
            raise UnknownResource(f"items[{i}].organizer_member_id", organizer)
        if draft.customers and not member.email:
            problems.append(FieldViolation(f"items[{i}].organizer_member_id",
                                           f"member {quote(organizer)} has no email address; the invitation needs one"))
    if problems:
        raise InvalidRequest(list(dict.fromkeys(problems)))


def prior_commit(desk: BookingDesk, tenant: Tenant, query: BatchQuery) -> Mapping[str, BookingRecord] | None:
    """The bookings an earlier call with ``query.request_id`` committed, by item id; None
    when it committed nothing. Raises ``IdempotencyConflict`` when the request_id was
    used for another batch (request ids hold no "/": the prefix is the batch's own)."""
    item_ids = {item.id for item in query.batch.items}
    prefix = f"{query.request_id}/"
    made: dict[str, BookingRecord] = {}
    for record in desk.store.find_by_request_prefix(tenant.id, prefix):
        fingerprint, _, item_id = record.request_id.removeprefix(prefix).partition("/")
        if fingerprint != query.fingerprint or item_id not in item_ids:
            raise IdempotencyConflict(tenant.id, query.request_id, record.id)
        made[item_id] = record
    moved = False
    for request_id, booking_id in desk.store.find_changes_by_prefix(tenant.id, prefix):
        fingerprint, _, item_id = request_id.removeprefix(prefix).partition("/")
        if fingerprint != query.fingerprint or item_id not in item_ids:
            raise IdempotencyConflict(tenant.id, query.request_id, booking_id)
        moved = True
    if not made and not moved:
        return None
    # The bookings the batch named, as they stand now (moved by it, or kept).
    for i, record in query.records.items():
        made[query.batch.items[i].id] = desk.store.get(record.id, tenant=tenant.id)
    return made


def _scheduled_booking(draft: BookingRequest, scheduled: ScheduledItem) -> BookingRequest:
    """The draft moved to the solver's start and seats. Its body hash covers both, so a
    retry that schedules the item elsewhere is another body (refused, as CreateBooking's)."""
    start = scheduled.start
    choices = tuple(tuple(fill.resource_ids) for fill in scheduled.assignment.seats)
    meeting = dataclasses.replace(draft.meeting, window_start=start,
                                  window_end=start + (draft.meeting.window_end - draft.meeting.window_start))
    body = hashlib.sha256(f"{draft.body_hash}|{start.isoformat()}|{choices!r}".encode()).hexdigest()
    return dataclasses.replace(draft, body_hash=body, meeting=meeting, start=start, choices=choices)


def _move_entry(desk: BookingDesk, tenant: Tenant, query: BatchQuery, index: int, placed: ScheduledItem,
                moving: Sequence[BookingRecord], *, viewer: str) -> MoveEntry:
    """The reschedule of item ``index``'s booking to where the batch placed it, re-checked as
    RescheduleBooking checks a move (fresh calendars, confirmed bookings; the bookings that move
    with it are no obstacle where they are now)."""
    record = query.records[index]
    item = query.batch.items[index]
    choices = tuple(tuple(fill.resource_ids) for fill in placed.assignment.seats)
    seats = booked_seats(tenant.directory, item.request, choices)
    recheck(tenant, item.request, placed.start, seats, allow_conflicts=query.batch.allow_conflicts,
            limits=desk.limits, viewer=viewer, deadline=None, moving=moving, store=desk.store)
    move = Move(placed.start, placed.end, seats, attendees_of(tenant.directory, seats, item.request.optional_members),
                query.batch.allow_conflicts)
    body = hashlib.sha256(f"{query.fingerprint}|{placed.start.isoformat()}|{choices!r}".encode()).hexdigest()
    return MoveEntry(record.id, tenant.id, booking_request_id(query, item.id), body, record.version, move,
                     member_limits(tenant.directory, seats))


def commit_batch(desk: BookingDesk, tenant: Tenant, query: BatchQuery, drafts: Sequence[BookingRequest | None],
                 result: BatchResult, *, viewer: str) -> dict[str, str]:
    """Books every scheduled new item and moves every moved booking in one transaction (see
    the module docstring); returns item id -> booking id (an item naming a booking: that
    booking). ``drafts[i]`` is item i's booking request (``booking_drafts``; None for an
    item naming a booking).

    Raises ``CommitFailed`` (an item refused at the re-check or by the store, or a movable
    booking the batch found no start for: nothing was booked or moved), or the error of an
    item's request (``InvalidRequest``...).
    """
    items = query.batch.items
    moved: list[int] = []
    for i in sorted(query.records):
        placed = result.scheduled.get(items[i].id)
        if placed is None:
            # Its time was offered to the others: it cannot simply stay where it is.
            raise CommitFailed(i, items[i].id, BookingRefused(
                "the batch found no start for this movable booking (widen its window, or pin it)"))
        if placed.moved:
            moved.append(i)
    moving = [query.records[i] for i in moved]
    order = [i for i, item in enumerate(items) if item.id in result.scheduled and i not in query.records]
    entries: list[CreateEntry] = []
    moves: list[MoveEntry] = []
    for i in [*moved, *order]:
        try:
            if i in query.records:
                moves.append(_move_entry(desk, tenant, query, i, result.scheduled[items[i].id], moving, viewer=viewer))
                continue
            draft = drafts[i]
            assert draft is not None
            booking = _scheduled_booking(draft, result.scheduled[items[i].id])
            entries.append(prepare_booking(desk, tenant, booking, viewer=viewer, moving=moving))
        except BookingRefused as exc:
            raise CommitFailed(i, items[i].id, exc) from exc
        except SchedulingError as exc:
            raise _item_error(i, exc) from exc
    try:
        done = desk.store.create_all(entries, moves)
    except EntryRefused as exc:
        i = order[exc.index] if exc.index < len(order) else moved[exc.index - len(order)]
        cause: Exception = taken(exc.cause) if isinstance(exc.cause, BookingConflict) else exc.cause
        raise CommitFailed(i, items[i].id, cause) from exc
    if any(not c.replayed for c in done):
        tenant.calendars.invalidate({*(r for e in entries for r in e.booking.resource_ids),
                                     *(r for m in moves for r in m.move.resource_ids),
                                     *(r for record in moving for r in record.resource_ids)})
        desk.wake_outbox()
    booked = {items[i].id: c.booking.id for i, c in zip(order, done[:len(entries)], strict=True)}
    booked.update((items[i].id, record.id) for i, record in query.records.items())
    return booked
