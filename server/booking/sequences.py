"""Booking a sequence (an interview loop): every segment, or none, in one transaction.

    request id booked before? replay those bookings, or refuse another body
    -> the option's shape (solver.sequences.option_violations: order, gaps, span,
       no member in two segments, no resource at overlapping times)
    -> each segment exactly as CreateBooking books a meeting (``desk.prepare_booking``:
       its seats against its rules, re-checked against FRESH calendars and the
       confirmed bookings); a refusal names the segment
    -> ``store.create_all``: one transaction, the segments against each other and
       every other booking (a double booking or a limit refuses all of them)
    -> forget cached busy data -> wake the outbox

Each segment is a booking of its own (request id ``<request_id>/segment-<k>``,
the whole request's body hash), so the customer gets one invitation per segment
and each segment's calendar event goes through the outbox like any booking's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.booking.desk import BookingDesk, BookingRefused, BookingRequest, prepare_booking, taken
from server.booking.store import BookingConflict, BookingRecord, BookingStore, EntryRefused, IdempotencyConflict
from server.tenants import Tenant
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, SchedulingError, UnknownResource
from solver.sequences import SequenceRequest, option_violations

__all__ = ["SEGMENT_SUFFIX", "SequenceBooked", "SequenceBooking", "book_sequence"]

SEGMENT_SUFFIX = "/segment-"


@dataclass(frozen=True)
class SequenceBooking:
    """BookSequence in domain terms: the sequence, the chosen start and seats per listed
    segment, and per segment the booking request CreateBooking would take for it."""

    request_id: str
    body_hash: str
    request: SequenceRequest
    starts: tuple[datetime, ...]
    choices: tuple[tuple[tuple[str, ...], ...], ...]  # per segment, per seat: the resource ids
    bookings: tuple[BookingRequest, ...]


@dataclass(frozen=True)
class SequenceBooked:
    """One record per segment (listed order); ``replayed`` when the request id had booked them."""

    records: tuple[BookingRecord, ...]
    replayed: bool


def book_sequence(desk: BookingDesk, tenant: Tenant, booking: SequenceBooking, *, viewer: str,
                  deadline: float | None = None) -> SequenceBooked:
    """Books every segment of ``booking`` or none (see the module docstring).

    Raises ``IdempotencyConflict``, ``InvalidRequest`` / ``UnknownResource`` (paths
    ``segments[k]...``), ``BookingRefused`` naming the segment, and the store's errors.
    """
    prior = _prior(desk.store, tenant.id, booking)
    if prior is not None:
        return prior
    problems = option_violations(tenant.directory, booking.request, booking.starts,
                                 [[r for seat in seats for r in seat] for seats in booking.choices])
    if problems:
        raise InvalidRequest(problems)
    entries = []
    for k, segment in enumerate(booking.bookings):
        try:
            entries.append(prepare_booking(desk, tenant, segment, viewer=viewer, deadline=deadline))
        except BookingRefused as exc:
            raise _refused(booking, k, exc) from exc
        except SchedulingError as exc:
            raise _in_segment(exc, k) from exc
    try:
        created = desk.store.create_all(entries)
    except EntryRefused as exc:
        # A twin of this request may have committed meanwhile, its bookings now in the way.
        prior = _prior(desk.store, tenant.id, booking)
        if prior is not None:
            return prior
        if isinstance(exc.cause, BookingConflict):
            raise _refused(booking, exc.index, taken(exc.cause)) from exc
        raise exc.cause from exc
    if any(not c.replayed for c in created):
        tenant.calendars.invalidate({r for e in entries for r in e.booking.resource_ids})
        desk.wake_outbox()
    return SequenceBooked(tuple(c.booking for c in created), all(c.replayed for c in created))


def _prior(store: BookingStore, tenant: str, booking: SequenceBooking) -> SequenceBooked | None:
    """The segments this request id booked before (listed order), or None; ``IdempotencyConflict``
    when it booked them with another body."""
    records = store.find_by_request_prefix(tenant, f"{booking.request_id}{SEGMENT_SUFFIX}")
    if not records:
        return None
    by_index: dict[int, BookingRecord] = {}
    for record in records:
        suffix = record.request_id.removeprefix(f"{booking.request_id}{SEGMENT_SUFFIX}")
        if record.body_hash != booking.body_hash or not suffix.isdigit():
            raise IdempotencyConflict(tenant, booking.request_id, record.id)
        by_index[int(suffix)] = record
    return SequenceBooked(tuple(by_index[k] for k in sorted(by_index)), True)


def _refused(booking: SequenceBooking, k: int, exc: BookingRefused) -> BookingRefused:
    label = booking.request.segments[k].label if k < len(booking.request.segments) else ""
    name = f"segments[{k}]" + (f" ({label})" if label else "")
    return BookingRefused(f"{name}: {exc.reason}; no segment was booked", exc.conflicts, exc.unavailable)


def _path(k: int, field: str) -> str:
    """A CreateBooking path of segment k as a BookSequence path: its seats and start are the segment's."""
    head = field.split(".", 1)[0].split("[", 1)[0]
    return f"segments[{k}].{field}" if head in ("seats", "start") else field


def _in_segment(exc: SchedulingError, k: int) -> SchedulingError:
    if isinstance(exc, InvalidRequest):
        return InvalidRequest([FieldViolation(_path(k, v.field), v.description) for v in exc.violations])
    if isinstance(exc, UnknownResource):
        return UnknownResource(_path(k, exc.field), exc.resource_id)
    if isinstance(exc, LimitExceeded):
        return LimitExceeded(_path(k, exc.field), exc.limit_name, exc.limit, exc.actual)
    return exc
