"""Committing a batch: every scheduled item booked through the CreateBooking flow, or none.

    check_commit_fields(...)  before solving: customers, title, organizer of every item
    prior_commit(...)         an earlier call with this request_id: replay it, or the attempt to book under
    commit_batch(...)         book the items; on any refusal cancel what this call booked

The booking store books one booking per transaction and offers none that
spans several (server.store.base), so a batch is committed item by item, in
the request's order, each exactly as CreateBooking books one
(``booking.create_booking``: the chosen seats checked, the assignment
re-checked against freshly read calendars and confirmed bookings, then the
store's atomic insert, which refuses double bookings and enforces the booking
limits), and **compensated**: when an item is refused, every booking this
call made is cancelled before the error (``CommitFailed``, naming the item)
leaves. What that guarantees:

- When the call ends, either every scheduled item is booked, or no booking it
  made is still confirmed. A failure to cancel (the database went away) is
  said in the error, and the next call with the same request_id finishes the
  rollback before anything else.
- The batch is not isolated: while it commits, others may see its first
  bookings (and be refused by them) even if it is rolled back. A rolled-back
  booking's side effects normally never run (the outbox is woken only after
  the whole commit, and a cancel skips effects that have not started); if the
  worker's poll got to one first, the event is removed and the customers get
  a cancellation.
- Idempotent: each booking's request id is
  ``<request_id>/<fingerprint>.<attempt>.<count>/<item id>`` (the fingerprint
  identifies the batch's items, weights and conflict mode, not how it is run;
  ``count`` is how many items the attempt books).
  A call whose request_id has a complete attempt (all ``count`` bookings made)
  replays it instead of solving; an incomplete one (rolled back, or cut short
  by a crash) has what is left of it cancelled, and the call books afresh
  under the next attempt (calendar events the outbox had already written for
  the cancelled bookings keep their times busy until their removal runs). The same request_id with another body is
  ALREADY_EXISTS. Calls with one request_id must not overlap in time.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from convene.v1 import booking_pb2
from convene.v1 import scheduling_service_pb2 as api
from server.booking import BookingDesk, BookingRequest, booked_seats, cancel_booking, create_booking, new_booking
from server.convert_batch import BatchQuery, booking_choice
from server.convert_booking import booking_request
from server.store import BookingRecord, BookingStatus, IdempotencyConflict
from server.tenants import Tenant
from solver.batch_types import BatchResult
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, SchedulingError, UnknownResource

__all__ = ["CommitFailed", "Prior", "booking_request_id", "check_commit_fields", "commit_batch", "prior_commit"]

log = logging.getLogger("convene.server")

# Bookings of the tenant over the batch's windows read when looking for an earlier commit.
_SCAN_LIMIT = 100_000


class CommitFailed(Exception):
    """An item could not be booked; the bookings made before it were cancelled
    (``not_cancelled``: those that could not be, left to the next call's rollback)."""

    def __init__(self, index: int, item_id: str, cause: Exception, cancelled: int,
                 not_cancelled: tuple[str, ...] = ()) -> None:
        self.index = index
        self.item_id = item_id
        self.cause = cause
        self.cancelled = cancelled
        self.not_cancelled = not_cancelled
        undone = f"the {cancelled} booking(s) made before it were cancelled" if cancelled else "nothing was booked"
        if not_cancelled:
            undone += (f"; {len(not_cancelled)} could not be cancelled yet ({', '.join(not_cancelled)}): "
                       "a call with the same request_id cancels them first")
        self.undone = undone
        super().__init__(self.describe(str(cause)))

    def describe(self, cause: str) -> str:
        """The failure in words, with ``cause`` as the reason the item was refused."""
        return f"commit rolled back: items[{self.index}] ({self.item_id!r}) could not be booked: {cause}; {self.undone}"


@dataclass(frozen=True)
class Prior:
    """What earlier calls with this request_id left: a complete commit to replay
    (its bookings by item id), or the attempt number this call books under."""

    attempt: int = 0
    replay: Mapping[str, BookingRecord] | None = None


def booking_request_id(query: BatchQuery, attempt: int, count: int, item_id: str) -> str:
    return f"{query.request_id}/{query.fingerprint}.{attempt}.{count}/{item_id}"


def _parse(request_id: str, batch_id: str) -> tuple[str, int, int, str] | None:
    """(fingerprint, attempt, count, item id) of a booking request id made for ``batch_id``."""
    head, _, rest = request_id.partition("/")
    meta, _, item_id = rest.partition("/")
    parts = meta.split(".")
    if head != batch_id or len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()) or not item_id:
        return None
    return parts[0], int(parts[1]), int(parts[2]), item_id


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
    count = len(query.items)
    for i, item in enumerate(query.items):
        # The window start, to the minute, stands in for the start the solver will choose.
        start = query.batch.items[i].request.window_start.replace(second=0, microsecond=0)
        probe = _create_request(query, i, booking_request_id(query, 999, count, item.id), start)
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


def _span(query: BatchQuery) -> tuple[datetime, datetime]:
    return (min(item.request.window_start for item in query.batch.items),
            max(item.request.window_end for item in query.batch.items))


def prior_commit(desk: BookingDesk, tenant: Tenant, query: BatchQuery) -> Prior:
    """Looks for bookings an earlier call with ``query.request_id`` made (see the module docstring).

    An incomplete attempt's confirmed bookings are cancelled here. Raises
    ``IdempotencyConflict`` when the request_id was used for another batch.
    """
    item_ids = {item.id for item in query.items}
    attempts: dict[int, list[tuple[int, str, BookingRecord]]] = {}
    # Every booking of the batch lies inside its items' windows.
    for record in desk.store.list(tenant.id, None, *_span(query), None, limit=_SCAN_LIMIT):
        parsed = _parse(record.request_id, query.request_id)
        if parsed is None:
            continue
        fingerprint, attempt, count, item_id = parsed
        if fingerprint != query.fingerprint or item_id not in item_ids:
            raise IdempotencyConflict(tenant.id, query.request_id, record.id)
        attempts.setdefault(attempt, []).append((count, item_id, record))
    if not attempts:
        return Prior()
    last = max(attempts)
    made = attempts[last]
    if len(made) >= made[0][0]:
        return Prior(last, {item_id: record for _, item_id, record in made})
    left = [record.id for _, _, record in made if record.status is BookingStatus.CONFIRMED]
    if left:
        log.warning("batch %s: attempt %d was cut short; cancelling its %d booking(s)", query.request_id, last,
                    len(left))
        for booking_id in left:
            cancel_booking(desk, tenant, booking_id)
    return Prior(last + 1)


def commit_batch(desk: BookingDesk, tenant: Tenant, query: BatchQuery, result: BatchResult, *, attempt: int,
                 viewer: str, now: datetime) -> dict[str, str]:
    """Books every scheduled item (see the module docstring); returns item id -> booking id.

    Raises ``CommitFailed`` after rolling back, or the error of an item's
    request (``InvalidRequest``...) before anything is booked.
    """
    order = [i for i, item in enumerate(query.items) if item.id in result.scheduled]
    requests: list[tuple[int, BookingRequest]] = []
    for i in order:
        item = query.items[i]
        scheduled = result.scheduled[item.id]
        proto = _create_request(query, i, booking_request_id(query, attempt, len(order), item.id), scheduled.start,
                                booking_choice(scheduled))
        try:
            booking, _ = booking_request(proto, tenant.templates, now=now)
            # Who sits where, the organizer and the invitation: checked for all before anything is booked.
            new_booking(tenant, booking, booked_seats(tenant.directory, booking.meeting, booking.choices))
        except SchedulingError as exc:
            raise _item_error(i, exc) from exc
        requests.append((i, booking))
    # The outbox is woken once the whole batch stands, not per booking.
    quiet = dataclasses.replace(desk, wake_outbox=lambda: None)
    booked: dict[str, str] = {}
    made: list[str] = []
    for i, booking in requests:
        item_id = query.items[i].id
        try:
            created = create_booking(quiet, tenant, booking, viewer=viewer)
        except Exception as exc:
            not_cancelled = _roll_back(desk, tenant, made, query.request_id)
            raise CommitFailed(i, item_id, exc, len(made) - len(not_cancelled), not_cancelled) from exc
        booked[item_id] = created.booking.id
        if not created.replayed:
            made.append(created.booking.id)
    desk.wake_outbox()
    return booked


def _roll_back(desk: BookingDesk, tenant: Tenant, made: list[str], batch_id: str) -> tuple[str, ...]:
    """Cancels ``made`` (newest first); returns those that could not be cancelled."""
    failed = []
    for booking_id in reversed(made):
        try:
            cancel_booking(desk, tenant, booking_id)
        except Exception:
            log.exception("batch %s: cannot cancel booking %s while rolling back", batch_id, booking_id)
            failed.append(booking_id)
    return tuple(failed)
