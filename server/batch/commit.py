"""Committing a batch: every scheduled item booked through the CreateBooking checks, all in one transaction.

    check_commit_fields(...)  before solving: customers, title, organizer of every item
    prior_commit(...)         an earlier call with this request_id committed: replay it
    commit_batch(...)         re-check every item, then book them all at once, or none

Each scheduled item is checked exactly as CreateBooking checks one
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
  (``batch_service``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from convene.v1 import booking_pb2
from convene.v1 import scheduling_service_pb2 as api
from server.booking.desk import BookingDesk, BookingRefused, prepare_booking, taken
from server.booking.store import BookingConflict, BookingRecord, CreateEntry, EntryRefused, IdempotencyConflict
from server.tenants import Tenant
from server.wire.batch import BatchQuery, booking_choice
from server.wire.booking import booking_request
from solver.batch.types import BatchResult
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, SchedulingError, UnknownResource

__all__ = ["CommitFailed", "booking_request_id", "check_commit_fields", "commit_batch", "prior_commit"]


class CommitFailed(Exception):
    """An item could not be booked; nothing of the batch was."""

    def __init__(self, index: int, item_id: str, cause: Exception) -> None:
        self.index = index
        self.item_id = item_id
        self.cause = cause
        super().__init__(self.describe(str(cause)))

    def describe(self, cause: str) -> str:
        """The failure in words, with ``cause`` as the reason the item was refused."""
        return f"commit refused: items[{self.index}] ({self.item_id!r}) could not be booked: {cause}; " \
               "nothing was booked"


def booking_request_id(query: BatchQuery, item_id: str) -> str:
    return f"{query.request_id}/{query.fingerprint}/{item_id}"


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


def _create_request(query: BatchQuery, index: int, request_id: str, start: datetime,
                    choices: list[booking_pb2.SeatChoice] | None = None) -> api.CreateBookingRequest:
    """Item ``index`` as the CreateBooking request that books it at ``start``."""
    item = query.items[index]
    request = api.CreateBookingRequest(
        request_id=request_id, time_zone=item.time_zone, seats=choices or [], customers=item.customers,
        title=item.title, organizer_member_id=item.organizer_member_id, allow_conflicts=query.batch.allow_conflicts,
        description=item.description, location=item.location)
    which = item.WhichOneof("meeting")
    if which == "rules":
        request.rules.CopyFrom(item.rules)
    elif which == "template":
        request.template.CopyFrom(item.template)
    request.start.FromDatetime(start.astimezone(UTC))
    if query.now_given:
        request.now.FromDatetime(query.now.astimezone(UTC))
    return request


def check_commit_fields(query: BatchQuery, tenant: Tenant, *, now: datetime) -> None:
    """Raises ``InvalidRequest`` (every problem) / ``UnknownResource`` for item fields only a
    commit uses: customers, title, description, location, organizer. Before any work."""
    problems: list[FieldViolation] = []
    for i, item in enumerate(query.items):
        # The window start, to the minute, stands in for the start the solver will choose.
        start = query.batch.items[i].request.window_start.replace(second=0, microsecond=0)
        probe = _create_request(query, i, booking_request_id(query, item.id), start)
        try:
            booking_request(probe, tenant.templates, now=now)
        except InvalidRequest as exc:
            problems.extend(FieldViolation(_item_path(i, v.field), v.description) for v in exc.violations)
        except SchedulingError as exc:
            raise _item_error(i, exc) from exc
        organizer = item.organizer_member_id
        if organizer:
            member = tenant.directory.members.get(organizer)
            if member is None:
                raise UnknownResource(f"items[{i}].organizer_member_id", organizer)
            if item.customers and not member.email:
                problems.append(FieldViolation(f"items[{i}].organizer_member_id",
                                               f"member {organizer!r} has no email address; the invitation "
                                               "needs one"))
    if problems:
        raise InvalidRequest(list(dict.fromkeys(problems)))


def prior_commit(desk: BookingDesk, tenant: Tenant, query: BatchQuery) -> Mapping[str, BookingRecord] | None:
    """The bookings an earlier call with ``query.request_id`` committed, by item id; None
    when it committed nothing. Raises ``IdempotencyConflict`` when the request_id was
    used for another batch (request ids hold no "/": the prefix is the batch's own)."""
    item_ids = {item.id for item in query.items}
    made: dict[str, BookingRecord] = {}
    for record in desk.store.find_by_request_prefix(tenant.id, f"{query.request_id}/"):
        fingerprint, _, item_id = record.request_id.removeprefix(f"{query.request_id}/").partition("/")
        if fingerprint != query.fingerprint or item_id not in item_ids:
            raise IdempotencyConflict(tenant.id, query.request_id, record.id)
        made[item_id] = record
    return made or None


def commit_batch(desk: BookingDesk, tenant: Tenant, query: BatchQuery, result: BatchResult, *,
                 viewer: str, now: datetime) -> dict[str, str]:
    """Books every scheduled item in one transaction (see the module docstring); returns
    item id -> booking id.

    Raises ``CommitFailed`` (an item refused at the re-check or by the store: nothing
    was booked), or the error of an item's request (``InvalidRequest``...).
    """
    order = [i for i, item in enumerate(query.items) if item.id in result.scheduled]
    entries: list[CreateEntry] = []
    for i in order:
        item = query.items[i]
        scheduled = result.scheduled[item.id]
        proto = _create_request(query, i, booking_request_id(query, item.id), scheduled.start,
                                booking_choice(scheduled))
        try:
            booking, _ = booking_request(proto, tenant.templates, now=now)
            entries.append(prepare_booking(desk, tenant, booking, viewer=viewer))
        except BookingRefused as exc:
            raise CommitFailed(i, item.id, exc) from exc
        except SchedulingError as exc:
            raise _item_error(i, exc) from exc
    try:
        created = desk.store.create_all(entries)
    except EntryRefused as exc:
        i = order[exc.index]
        cause: Exception = taken(exc.cause) if isinstance(exc.cause, BookingConflict) else exc.cause
        raise CommitFailed(i, query.items[i].id, cause) from exc
    if any(not c.replayed for c in created):
        tenant.calendars.invalidate({r for e in entries for r in e.booking.resource_ids})
        desk.wake_outbox()
    return {query.items[i].id: c.booking.id for i, c in zip(order, created, strict=True)}
