"""iCalendar invitations (RFC 5545 / iTIP RFC 5546) built with ``icalendar``.

A booking is one VEVENT whose UID never changes: METHOD:REQUEST announces it
(SEQUENCE 0), METHOD:CANCEL withdraws it with the same UID and a higher
SEQUENCE, so the customer's calendar removes the event it added. Start and end
are written in the booking's time zone (``DTSTART;TZID=...``) with the matching
VTIMEZONE; a UTC booking is written in UTC (``...Z``) and needs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress

from server.booking.store.model import Person

__all__ = ["PRODID", "Invitation", "Method", "build_calendar"]

PRODID = "-//Convene//Booking//EN"


class Method(StrEnum):
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


@dataclass(frozen=True)
class Invitation:
    """One meeting as an invitation describes it. ``stamp`` is DTSTAMP: when this
    version of the meeting was made (kept stable, so a resend is byte-identical)."""

    uid: str
    sequence: int
    title: str
    start: datetime
    end: datetime
    time_zone: str
    organizer: Person
    attendees: tuple[Person, ...]
    stamp: datetime
    description: str = ""
    location: str = ""


def build_calendar(invitation: Invitation, method: Method) -> bytes:
    """The VCALENDAR (with METHOD) announcing or cancelling ``invitation``."""
    zone = ZoneInfo(invitation.time_zone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method.value)

    event = Event()
    event.add("uid", invitation.uid)
    event.add("sequence", invitation.sequence)
    event.add("dtstamp", invitation.stamp.astimezone(UTC))
    event.add("dtstart", invitation.start.astimezone(zone))
    event.add("dtend", invitation.end.astimezone(zone))
    event.add("summary", invitation.title)
    if invitation.description:
        event.add("description", invitation.description)
    if invitation.location:
        event.add("location", invitation.location)
    event.add("status", "CANCELLED" if method is Method.CANCEL else "CONFIRMED")
    if invitation.organizer.email:
        event.add("organizer", _address(invitation.organizer))
    for person in invitation.attendees:
        attendee = _address(person)
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["CUTYPE"] = "INDIVIDUAL"
        if method is Method.REQUEST:
            attendee.params["PARTSTAT"] = "NEEDS-ACTION"
            attendee.params["RSVP"] = "TRUE"
        event.add("attendee", attendee)
    calendar.add_component(event)

    # Only the years around the meeting: a VTIMEZONE for 1970-2038 would be kilobytes.
    first = date(invitation.start.astimezone(zone).year - 1, 1, 1)
    last = date(invitation.end.astimezone(zone).year + 2, 1, 1)
    calendar.add_missing_timezones(first_date=first, last_date=last)
    return bytes(calendar.to_ical())


def _address(person: Person) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    if person.name:
        address.params["CN"] = person.name
    return address
