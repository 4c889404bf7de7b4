"""Readable terminal output of bookings (``convene book | cancel | bookings``, the demo)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from google.protobuf import timestamp_pb2

from convene.v1 import booking_pb2
from server.cli.render.slots import table

__all__ = ["booking_report", "bookings_report", "side_effects_table"]

_STATUS = {booking_pb2.BOOKING_STATUS_CONFIRMED: "confirmed", booking_pb2.BOOKING_STATUS_CANCELLED: "cancelled"}
_KIND = {
    booking_pb2.SIDE_EFFECT_KIND_CREATE_EVENT: "calendar event",
    booking_pb2.SIDE_EFFECT_KIND_SEND_INVITE: "invitation email",
    booking_pb2.SIDE_EFFECT_KIND_CANCEL_EVENT: "remove calendar event",
    booking_pb2.SIDE_EFFECT_KIND_SEND_CANCEL: "cancellation email",
}
_STATE = {
    booking_pb2.SIDE_EFFECT_STATE_PENDING: "pending",
    booking_pb2.SIDE_EFFECT_STATE_RUNNING: "running",
    booking_pb2.SIDE_EFFECT_STATE_DONE: "done",
    booking_pb2.SIDE_EFFECT_STATE_FAILED: "failed",
    booking_pb2.SIDE_EFFECT_STATE_SKIPPED: "skipped",
}


def _local(ts: timestamp_pb2.Timestamp, zone: ZoneInfo) -> datetime:
    instant: datetime = ts.ToDatetime(tzinfo=UTC)
    return instant.astimezone(zone)


def _person(person: booking_pb2.Person) -> str:
    return f"{person.name} <{person.email}>" if person.name else person.email


def side_effects_table(booking: booking_pb2.Booking) -> str:
    """One row per side effect: what, its state, attempts, and its result or last error."""
    rows = []
    for effect in booking.side_effects:
        outcome = effect.result
        if effect.last_error and effect.state != booking_pb2.SIDE_EFFECT_STATE_DONE:
            outcome = f"last error: {effect.last_error}"
        rows.append([_KIND.get(effect.kind, "?"), _STATE.get(effect.state, "?"), str(effect.attempts), outcome])
    return table(["Side effect", "State", "Attempts", "Result"], rows)


def booking_report(booking: booking_pb2.Booking, time_zone: str = "") -> str:
    """A booking: when, who sits where, who is told, and where its side effects stand.
    Times in ``time_zone`` (default: the booking's own)."""
    zone_name = time_zone or booking.time_zone or "UTC"
    zone = ZoneInfo(zone_name)
    start, end = _local(booking.start, zone), _local(booking.end, zone)
    out = [f"Booking {booking.id}: {_STATUS.get(booking.status, '?')} (request id {booking.request_id})",
           f"{booking.title}",
           f"{start:%a %d %b %Y %H:%M}-{end:%H:%M} ({zone_name})",
           table(["Seat", "Who"], [[s.label or f"seat {i + 1}", ", ".join(s.resource_ids)]
                                   for i, s in enumerate(booking.seats)])]
    if booking.location:
        out.append(f"Location: {booking.location}")
    if booking.organizer.email:
        out.append(f"Organizer: {_person(booking.organizer)}")
    if booking.customers:
        out.append("Customers: " + ", ".join(_person(p) for p in booking.customers))
    if booking.allow_conflicts:
        out.append("Booked with conflicts allowed (schedule anyway).")
    if booking.side_effects:
        out += ["", side_effects_table(booking)]
    return "\n".join(out)


def bookings_report(bookings: Sequence[booking_pb2.Booking], time_zone: str) -> str:
    """A ListBookings page as a table, times in ``time_zone``."""
    if not bookings:
        return "No bookings."
    zone = ZoneInfo(time_zone)
    rows = [[f"{_local(b.start, zone):%a %d %b %Y %H:%M}", f"{_local(b.end, zone):%H:%M}",
             _STATUS.get(b.status, "?"), b.title, ", ".join(r for s in b.seats for r in s.resource_ids), b.id]
            for b in bookings]
    return table([f"Start ({time_zone})", "End", "Status", "Title", "Resources", "Id"], rows)
