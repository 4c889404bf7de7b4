"""Proto <-> domain for bookings, as pure functions.

In: a CreateBookingRequest becomes a ``BookingRequest`` (server.booking.desk). Its
meeting goes through exactly the conversion CheckTime uses (``convert.check_query``:
rules inline or a template with overrides, the window being the meeting at
``start``), so rule errors carry the same field paths. Wire-level problems
(a missing request id, a customer without an address, a start between minutes)
are collected with the meeting's and raised together as ``InvalidRequest``.

Out: store records become ``convene.v1.Booking``; side-effect states map 1:1
(a task this server skipped on purpose, no SMTP configured or no calendar to
write to, is ``SIDE_EFFECT_STATE_SKIPPED`` with the reason as its result).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.protobuf import json_format, timestamp_pb2

from convene.v1 import booking_pb2, meeting_pb2, slots_pb2
from convene.v1 import scheduling_service_pb2 as api
from server.booking.changes import MovePlan, Replacement, RescheduleRequest, meeting_of_seats
from server.booking.desk import DEFAULT_TITLE, MAX_HOLD, BookingRefused, BookingRequest
from server.booking.store import (
    BookingRecord,
    BookingStatus,
    Edit,
    Hold,
    Person,
    ResourceKind,
    SideEffect,
    TaskKind,
    TaskStatus,
)
from server.calendars.busy import Unavailable
from server.wire import bounds, paging
from server.wire import slots as convert
from solver.domain import BusyKind, Conflict, SlotRequest
from solver.errors import FieldViolation, InvalidRequest, quote

__all__ = [
    "DEFAULT_HOLD",
    "UPDATABLE",
    "HoldQuery",
    "ListQuery",
    "body_hash",
    "booking_request",
    "booking_to_proto",
    "conflict_details",
    "hold_query",
    "hold_to_proto",
    "list_query",
    "meeting_of",
    "next_page_token",
    "page_key",
    "reschedule_request",
    "reschedule_response",
    "update_request",
]

MAX_ID = 200
MAX_TEXT = 500
MAX_DESCRIPTION = 10_000
MAX_CUSTOMERS = 50
DEFAULT_HOLD = timedelta(minutes=5)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_NEWLINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_STATUSES = {BookingStatus.CONFIRMED: booking_pb2.BOOKING_STATUS_CONFIRMED,
             BookingStatus.CANCELLED: booking_pb2.BOOKING_STATUS_CANCELLED}
_STATUS_FILTERS = {booking_pb2.BOOKING_STATUS_UNSPECIFIED: None,
                   booking_pb2.BOOKING_STATUS_CONFIRMED: BookingStatus.CONFIRMED,
                   booking_pb2.BOOKING_STATUS_CANCELLED: BookingStatus.CANCELLED}
_KINDS = {TaskKind.CREATE_EVENT.value: booking_pb2.SIDE_EFFECT_KIND_CREATE_EVENT,
          TaskKind.SEND_INVITE.value: booking_pb2.SIDE_EFFECT_KIND_SEND_INVITE,
          TaskKind.CANCEL_EVENT.value: booking_pb2.SIDE_EFFECT_KIND_CANCEL_EVENT,
          TaskKind.SEND_CANCEL.value: booking_pb2.SIDE_EFFECT_KIND_SEND_CANCEL,
          TaskKind.UPDATE_EVENT.value: booking_pb2.SIDE_EFFECT_KIND_UPDATE_EVENT,
          TaskKind.SEND_UPDATE.value: booking_pb2.SIDE_EFFECT_KIND_SEND_UPDATE,
          TaskKind.SEND_DROPPED.value: booking_pb2.SIDE_EFFECT_KIND_SEND_DROPPED}
_STATES = {TaskStatus.PENDING: booking_pb2.SIDE_EFFECT_STATE_PENDING,
           TaskStatus.RUNNING: booking_pb2.SIDE_EFFECT_STATE_RUNNING,
           TaskStatus.DONE: booking_pb2.SIDE_EFFECT_STATE_DONE,
           TaskStatus.FAILED: booking_pb2.SIDE_EFFECT_STATE_FAILED,
           TaskStatus.SKIPPED: booking_pb2.SIDE_EFFECT_STATE_SKIPPED}
_CONFLICT_KINDS = {
    BusyKind.BUSY: slots_pb2.CONFLICT_KIND_BUSY,
    BusyKind.TENTATIVE: slots_pb2.CONFLICT_KIND_TENTATIVE,
    BusyKind.OUT_OF_OFFICE: slots_pb2.CONFLICT_KIND_OUT_OF_OFFICE,
    BusyKind.BOOKING: slots_pb2.CONFLICT_KIND_BOOKING,
    BusyKind.OUTSIDE_HOURS: slots_pb2.CONFLICT_KIND_OUTSIDE_HOURS,
}


# --- CreateBooking in ------------------------------------------------------------------


def body_hash(request: api.CreateBookingRequest) -> str:
    """SHA-256 (hex) of the request without its ``request_id``, deterministically serialized:
    the same body always hashes the same, whatever the client library."""
    body = api.CreateBookingRequest()
    body.CopyFrom(request)
    body.ClearField("request_id")
    return hashlib.sha256(body.SerializeToString(deterministic=True)).hexdigest()


def _check_text(problems: list[FieldViolation], path: str, text: str, limit: int, *,
                newlines: bool = False) -> None:
    if len(text) > limit:
        problems.append(FieldViolation(path, f"must be at most {limit} characters"))
    if (_CONTROL_BUT_NEWLINES if newlines else _CONTROL).search(text):
        problems.append(FieldViolation(path, "must not contain control characters"))


def _customers(problems: list[FieldViolation], customers: Sequence[booking_pb2.Person]) -> tuple[Person, ...]:
    if len(customers) > MAX_CUSTOMERS:
        problems.append(FieldViolation("customers", f"at most {MAX_CUSTOMERS} customers"))
    people = []
    for i, c in enumerate(customers):
        if not c.email:
            problems.append(FieldViolation(f"customers[{i}].email", "is required (the invitation goes there)"))
        elif not _EMAIL.match(c.email) or _CONTROL.search(c.email) or len(c.email) > MAX_TEXT:
            problems.append(FieldViolation(f"customers[{i}].email", f"{quote(c.email)} is not an email address"))
        _check_text(problems, f"customers[{i}].name", c.name, MAX_TEXT)
        people.append(Person(c.email, c.name))
    return tuple(people)


def _check_query(request: api.CreateBookingRequest,
                 templates: Mapping[str, meeting_pb2.Template], now: datetime) -> tuple[convert.Query,
                                                                                      meeting_pb2.MeetingRules]:
    """The meeting at ``start`` exactly as CheckTime reads it (same rules, same field paths),
    and its effective rules."""
    check = api.CheckTimeRequest(time_zone=request.time_zone)
    which = request.WhichOneof("meeting")
    if which == "rules":
        check.rules.CopyFrom(request.rules)
    elif which == "template":
        check.template.CopyFrom(request.template)
    for name in ("start", "now"):
        if request.HasField(name):
            getattr(check, name).CopyFrom(getattr(request, name))
    query = convert.check_query(check, templates, now=now)
    rules = request.rules if which == "rules" else convert.merge_overrides(
        templates[request.template.template_id].rules, request.template.overrides)
    if request.customers and not rules.HasField("customers"):
        # Room capacity counts the customers actually invited (FindSlots assumed 1 unless told).
        query = dataclasses.replace(query, request=dataclasses.replace(query.request,
                                                                       customers=len(request.customers)))
    return query, rules


def booking_request(request: api.CreateBookingRequest, templates: Mapping[str, meeting_pb2.Template], *,
                    now: datetime) -> tuple[BookingRequest, convert.Query]:
    """The request in domain terms and its meeting's query (for its field paths).

    Raises ``InvalidRequest`` with every wire-level problem, and the meeting's
    own (``convert.check_query``: ``UnknownResource`` for an unknown template).
    """
    problems: list[FieldViolation] = []
    if not request.request_id:
        problems.append(FieldViolation("request_id", "is required: an id of your choice that makes retries safe"))
    else:
        _check_text(problems, "request_id", request.request_id, MAX_ID)
    customers = _customers(problems, request.customers)
    _check_text(problems, "title", request.title, MAX_TEXT)
    _check_text(problems, "location", request.location, MAX_TEXT)
    _check_text(problems, "description", request.description, MAX_DESCRIPTION, newlines=True)
    _check_text(problems, "hold_id", request.hold_id, MAX_ID)
    for i, seat in enumerate(request.seats):
        if not seat.resource_ids:
            problems.append(FieldViolation(f"seats[{i}].resource_ids", "must name who fills the seat"))
    try:
        query, rules = _check_query(request, templates, now)
    except InvalidRequest as exc:
        raise InvalidRequest([*exc.violations, *problems]) from exc
    if problems:
        raise InvalidRequest(problems)
    assert query.start is not None
    title = request.title
    if not title and request.WhichOneof("meeting") == "template":
        template = templates.get(request.template.template_id)
        title = template.name if template is not None else ""
    domain = BookingRequest(
        request_id=request.request_id,
        body_hash=body_hash(request),
        meeting=query.request,
        start=query.start,
        choices=tuple(tuple(seat.resource_ids) for seat in request.seats),
        customers=customers,
        title=title or DEFAULT_TITLE,
        organizer_id=request.organizer_member_id,
        allow_conflicts=request.allow_conflicts,
        hold_id=request.hold_id,
        description=request.description,
        location=request.location,
        meeting_rules=json_format.MessageToJson(rules, indent=None, sort_keys=True),
    )
    return domain, query


# --- RescheduleBooking and UpdateBooking in ----------------------------------------------

# The fields UpdateBooking changes (update_mask paths).
UPDATABLE = ("title", "description", "location", "customers")


def _version(problems: list[FieldViolation], etag: str) -> int | None:
    if not etag:
        return None
    if not etag.isascii() or not etag.isdigit() or len(etag) > 18 or int(etag) < 1:
        problems.append(FieldViolation("etag", f"{quote(etag)} is not an etag of a booking (copy Booking.etag)"))
        return None
    return int(etag)


def meeting_of(record: BookingRecord, start: datetime, now: datetime) -> SlotRequest:
    """The booking's meeting (its rules as booked) at ``start``."""
    if not record.meeting:
        return meeting_of_seats(record, start, now)
    rules = json_format.Parse(record.meeting, meeting_pb2.MeetingRules())
    check = api.CheckTimeRequest(rules=rules, time_zone=record.time_zone)
    check.start.CopyFrom(_timestamp(start))
    query = convert.check_query(check, {}, now=now)
    meeting = query.request
    if record.customers and not rules.HasField("customers"):
        meeting = dataclasses.replace(meeting, customers=len(record.customers))
    return meeting


def reschedule_body_hash(request: api.RescheduleBookingRequest) -> str:
    body = api.RescheduleBookingRequest()
    body.CopyFrom(request)
    body.ClearField("request_id")
    return hashlib.sha256(body.SerializeToString(deterministic=True)).hexdigest()


def reschedule_problems(request: api.RescheduleBookingRequest, *, now: datetime) -> list[FieldViolation]:
    """Every wire-level problem of a RescheduleBooking, the booking id's too: checked before
    the booking is looked up (an unknown booking with a bad start is INVALID_ARGUMENT)."""
    problems = [] if request.booking_id else [FieldViolation("booking_id", "is required")]
    return problems + _reschedule_fields(request, None, now)[0]


def _reschedule_fields(request: api.RescheduleBookingRequest, default_start: datetime | None, now: datetime
                       ) -> tuple[list[FieldViolation], int | None, datetime | None, Replacement | None, datetime]:
    problems: list[FieldViolation] = []
    if not request.request_id and not request.validate_only:
        problems.append(FieldViolation("request_id", "is required: an id of your choice that makes retries safe"))
    else:
        _check_text(problems, "request_id", request.request_id, MAX_ID)
    version = _version(problems, request.etag)
    start = default_start
    if request.HasField("start"):
        start = _instant(problems, "start", request.start)
        if request.start.seconds % 60 or request.start.nanos:
            problems.append(FieldViolation("start", "must be a whole minute"))
    for i, seat in enumerate(request.seats):
        if not seat.resource_ids:
            problems.append(FieldViolation(f"seats[{i}].resource_ids", "must name who fills the seat"))
    replacement = None
    if request.HasField("replacement"):
        r = request.replacement
        _check_text(problems, "replacement.replaced_id", r.replaced_id, MAX_ID)
        _check_text(problems, "replacement.resource_id", r.resource_id, MAX_ID)
        if request.seats:
            problems.append(FieldViolation("replacement", "name the seats or a replacement, not both"))
        replacement = Replacement(r.seat_index, r.replaced_id, r.resource_id)
    instant_now = _instant(problems, "now", request.now) if request.HasField("now") else now
    return problems, version, start, replacement, instant_now


def reschedule_request(request: api.RescheduleBookingRequest, record: BookingRecord, *,
                       now: datetime) -> tuple[RescheduleRequest, SlotRequest]:
    """The request in domain terms and the booking's meeting at its new start; raises
    ``InvalidRequest`` with every wire-level problem."""
    problems, version, start, replacement, instant_now = _reschedule_fields(request, record.start, now)
    if problems:
        raise InvalidRequest(problems)
    assert start is not None
    meeting = meeting_of(record, start, instant_now)
    domain = RescheduleRequest(
        booking_id=record.id, request_id=request.request_id, body_hash=reschedule_body_hash(request),
        start=start, version=version,
        choices=tuple(tuple(seat.resource_ids) for seat in request.seats) if request.seats else None,
        replace=replacement, allow_conflicts=request.allow_conflicts)
    return domain, meeting


def update_request(request: api.UpdateBookingRequest) -> tuple[int | None, Edit]:
    """The etag's version and the edit of an UpdateBooking; raises ``InvalidRequest``
    (an unknown mask path names ``update_mask``)."""
    problems: list[FieldViolation] = []
    version = _version(problems, request.etag)
    paths = list(request.update_mask.paths)
    for path in paths:
        if path not in UPDATABLE:
            problems.append(FieldViolation("update_mask", f"{quote(path)} cannot be updated (only "
                                                          f"{', '.join(UPDATABLE)})"))
    booking = request.booking
    if not paths:
        paths = [name for name in UPDATABLE if getattr(booking, name)]
        if not paths:
            problems.append(FieldViolation("update_mask", "name the fields to change"))
    _check_text(problems, "booking.title", booking.title, MAX_TEXT)
    _check_text(problems, "booking.location", booking.location, MAX_TEXT)
    _check_text(problems, "booking.description", booking.description, MAX_DESCRIPTION, newlines=True)
    customer_problems: list[FieldViolation] = []
    customers = _customers(customer_problems, booking.customers)
    problems.extend(dataclasses.replace(v, field=f"booking.{v.field}") for v in customer_problems)
    if problems:
        raise InvalidRequest(problems)
    chosen = set(paths)
    edit = Edit(title=(booking.title or DEFAULT_TITLE) if "title" in chosen else None,
                description=booking.description if "description" in chosen else None,
                location=booking.location if "location" in chosen else None,
                customers=customers if "customers" in chosen else None)
    return version, edit


# --- ListBookings and HoldSlot in ---------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    resource_id: str | None
    start: datetime | None
    end: datetime | None
    status: BookingStatus | None


def _instant(problems: list[FieldViolation], path: str, ts: timestamp_pb2.Timestamp) -> datetime:
    moment = bounds.instant(ts)
    if moment is None:
        problems.append(FieldViolation(path, bounds.BAD_INSTANT))
        return datetime(1970, 1, 1, tzinfo=UTC)
    return moment


def list_query(request: api.ListBookingsRequest) -> ListQuery:
    """The filters of a ListBookings request; raises ``InvalidRequest``."""
    problems: list[FieldViolation] = []
    start = _instant(problems, "window_start", request.window_start) if request.HasField("window_start") else None
    end = _instant(problems, "window_end", request.window_end) if request.HasField("window_end") else None
    if start is not None and end is not None and end <= start:
        problems.append(FieldViolation("window_end", "must be after window_start"))
    if request.status not in _STATUS_FILTERS:
        problems.append(FieldViolation("status", f"unknown value {request.status}"))
    if problems:
        raise InvalidRequest(problems)
    return ListQuery(request.resource_id or None, start, end, _STATUS_FILTERS[request.status])


def page_key(token: str, request_fingerprint: str) -> tuple[datetime, str] | None:
    """The (start, id) a ListBookings page token says the page comes after; raises InvalidPageToken."""
    key = paging.decode_key(token, request_fingerprint, 2)
    if key is None:
        return None
    try:
        start = datetime.fromisoformat(key[0])
    except ValueError as exc:
        raise paging.InvalidPageToken("is not a token this server issued") from exc
    if start.tzinfo is None:
        raise paging.InvalidPageToken("is not a token this server issued")
    return start, key[1]


def next_page_token(last: BookingRecord, request_fingerprint: str) -> str:
    """The token of the page after ``last`` (bookings come by start, then id)."""
    return paging.encode_key((last.start.astimezone(UTC).isoformat(), last.id), request_fingerprint)


@dataclass(frozen=True)
class HoldQuery:
    resource_ids: tuple[str, ...]
    start: datetime
    end: datetime
    ttl: timedelta


def hold_query(request: api.HoldSlotRequest) -> HoldQuery:
    """A HoldSlot request's resources, interval and time to live; raises ``InvalidRequest``."""
    problems: list[FieldViolation] = []
    if not request.resource_ids:
        problems.append(FieldViolation("resource_ids", "name at least one member or room"))
    if len(set(request.resource_ids)) != len(request.resource_ids):
        problems.append(FieldViolation("resource_ids", "must not repeat an id"))
    instants = []
    for name in ("start", "end"):
        if not request.HasField(name):
            problems.append(FieldViolation(name, "is required"))
            instants.append(datetime(1970, 1, 1, tzinfo=UTC))
        else:
            instants.append(_instant(problems, name, getattr(request, name)))
    start, end = instants
    if request.HasField("start") and request.HasField("end") and end <= start:
        problems.append(FieldViolation("end", "must be after start"))
    ttl = bounds.span(request.ttl) if request.HasField("ttl") else DEFAULT_HOLD
    if ttl is None or not timedelta(0) < ttl <= MAX_HOLD:
        problems.append(FieldViolation("ttl", f"must be positive and at most {MAX_HOLD.total_seconds() / 60:g} "
                                              "minutes"))
    if problems or ttl is None:
        raise InvalidRequest(problems)
    return HoldQuery(tuple(request.resource_ids), start, end, ttl)


# --- Out -----------------------------------------------------------------------------------


def _timestamp(instant: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(instant.astimezone(UTC))
    return ts


def _person(person: Person) -> booking_pb2.Person:
    return booking_pb2.Person(name=person.name, email=person.email)


def _side_effect(effect: SideEffect) -> booking_pb2.SideEffect:
    message = booking_pb2.SideEffect(
        kind=_KINDS.get(effect.kind, booking_pb2.SIDE_EFFECT_KIND_UNSPECIFIED),
        state=_STATES[effect.status],
        attempts=effect.attempts, last_error=effect.last_error, result=effect.result)
    if effect.next_attempt_at is not None:
        message.next_attempt_time.CopyFrom(_timestamp(effect.next_attempt_at))
    if effect.updated_at is not None:
        message.update_time.CopyFrom(_timestamp(effect.updated_at))
    return message


def booking_to_proto(record: BookingRecord) -> booking_pb2.Booking:
    """A stored booking with its side effects (in the order they were enqueued)."""
    message = booking_pb2.Booking(
        id=record.id,
        status=_STATUSES[record.status],
        start=_timestamp(record.start),
        end=_timestamp(record.end),
        time_zone=record.time_zone,
        seats=[booking_pb2.BookedSeat(
            label=s.label, resource_ids=s.resource_ids, pool_id=s.pool_id,
            kind=booking_pb2.RESOURCE_KIND_ROOM if s.kind is ResourceKind.ROOM else booking_pb2.RESOURCE_KIND_MEMBER)
            for s in record.seats],
        title=record.title,
        description=record.description,
        location=record.location,
        organizer=_person(record.organizer),
        customers=[_person(p) for p in record.customers],
        attendees=[_person(p) for p in record.attendees],
        allow_conflicts=record.allow_member_conflicts,
        sequence=record.sequence,
        request_id=record.request_id,
        create_time=_timestamp(record.created_at),
        side_effects=[_side_effect(e) for e in record.side_effects.values()],
        etag=str(record.version),
    )
    if record.updated_at is not None:
        message.update_time.CopyFrom(_timestamp(record.updated_at))
    message.buffer_before.FromTimedelta(record.buffer_before)
    message.buffer_after.FromTimedelta(record.buffer_after)
    if record.cancelled_at is not None:
        message.cancel_time.CopyFrom(_timestamp(record.cancelled_at))
    return message


def reschedule_response(booking: BookingRecord, plan: MovePlan | None, *, replayed: bool = False,
                        preview: bool = False, changed_seats: Sequence[int] = ()) -> api.RescheduleBookingResponse:
    """The reply of a RescheduleBooking: the booking (a preview: as it would be) and the plan's
    findings (a replay: ``changed_seats`` as the first time)."""
    if preview and plan is not None:
        booking = dataclasses.replace(booking, start=plan.start, end=plan.end, seats=plan.seats)
    message = api.RescheduleBookingResponse(booking=booking_to_proto(booking), replayed=replayed)
    if plan is not None:
        message.changed_seats.extend(plan.changed_seats)
        message.conflicts.extend(_conflict(c) for c in plan.conflicts)
        message.available = plan.refused is None
        message.reason = plan.refused.reason if plan.refused is not None else ""
        message.unavailable_calendars.extend(_unavailable(u) for u in plan.unavailable)
    else:
        message.changed_seats.extend(changed_seats)
        message.available = True
    return message


def hold_to_proto(hold: Hold) -> booking_pb2.Hold:
    return booking_pb2.Hold(id=hold.id, resource_ids=hold.resource_ids, start=_timestamp(hold.start),
                            end=_timestamp(hold.end), expire_time=_timestamp(hold.expires_at))


def _conflict(conflict: Conflict) -> slots_pb2.Conflict:
    message = slots_pb2.Conflict(resource_id=conflict.resource_id, start=_timestamp(conflict.start),
                                 end=_timestamp(conflict.end),
                                 kind=_CONFLICT_KINDS.get(conflict.kind, slots_pb2.CONFLICT_KIND_BUSY))
    # server.booking.desk passed every conflict through privacy.visible_details: what is left may be shown.
    if conflict.details is not None:
        details = conflict.details
        message.details.CopyFrom(slots_pb2.EventDetails(title=details.title, event_id=details.event_id,
                                                        location=details.location))
    return message


def conflict_details(refused: BookingRefused) -> booking_pb2.BookingConflictDetails:
    """The error detail of a refusal (its conflicts already hold only the details the caller may see)."""
    return booking_pb2.BookingConflictDetails(
        reason=refused.reason,
        conflicts=[_conflict(c) for c in refused.conflicts],
        unavailable_calendars=[_unavailable(u) for u in refused.unavailable])


def _unavailable(u: Unavailable) -> slots_pb2.UnavailableCalendar:
    return slots_pb2.UnavailableCalendar(resource_id=u.resource_id, reason=u.reason)
