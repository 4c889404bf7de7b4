"""iCalendar (RFC 5545) to busy intervals, and bookings to iCalendar.

Written once, used by every source that hands us iCalendar text: ICS files
and feeds (``providers.ics``) and CalDAV (``providers.caldav_source``).

Which events block (SCHEDULING.md, "Who is free"), checked per occurrence so
a cancelled or transparent RECURRENCE-ID override frees just that one:

- ``STATUS:CANCELLED`` and ``TRANSP:TRANSPARENT`` block nothing;
- the calendar owner's ``PARTSTAT=DECLINED`` blocks nothing (when the owner
  is known: ``CalendarRef.owner`` matches an ATTENDEE's address);
- Outlook's ``X-MICROSOFT-CDO-BUSYSTATUS`` (or, without it,
  ``X-MICROSOFT-CDO-INTENDEDSTATUS``) decides the kind when present: ``OOF``
  is out-of-office, ``TENTATIVE`` tentative, ``BUSY`` busy, ``FREE`` and
  ``WORKINGELSEWHERE`` block nothing (working elsewhere is a location, not a
  meeting; Graph and Google treat it alike);
- otherwise ``STATUS:TENTATIVE`` or the owner's ``PARTSTAT=TENTATIVE`` is
  tentative, anything else busy;
- a DATE-TIME start with neither end nor duration lasts zero time and blocks
  nothing; a DATE start without an end lasts one day (RFC 5545, 3.6.1);
- a VEVENT without DTSTART has no time at all and blocks nothing;
- DATE values (all-day) and floating times are read in the owner's zone
  (``CalendarRef.time_zone``);
- VFREEBUSY periods block by FBTYPE: BUSY, BUSY-TENTATIVE (tentative),
  BUSY-UNAVAILABLE (out-of-office); FREE blocks nothing. They carry no details.

A calendar that cannot be parsed or expanded (broken dates, a malformed
RRULE, a truncated download) raises ``ProviderError``: its resource is then
unavailable, never silently free.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events

from providers.base import CalendarRef, EventSpec, ProviderError
from solver.domain import BusyInterval, BusyKind, EventDetails

__all__ = [
    "add_event",
    "busy_from_ical",
    "event_component",
    "parse_calendars",
    "remove_event",
]

# Floating times and dates are placed in the owner's zone only after
# expansion, so the library is asked for a window widened by more than any
# UTC offset (+14:00 / -12:00) and the result is trimmed exactly.
_QUERY_MARGIN = timedelta(days=2)

_MICROSOFT_KIND: dict[str, BusyKind | None] = {
    "BUSY": BusyKind.BUSY,
    "TENTATIVE": BusyKind.TENTATIVE,
    "OOF": BusyKind.OUT_OF_OFFICE,
    "FREE": None,
    "WORKINGELSEWHERE": None,
}

_FBTYPE_KIND: dict[str, BusyKind | None] = {
    "BUSY": BusyKind.BUSY,
    "BUSY-TENTATIVE": BusyKind.TENTATIVE,
    "BUSY-UNAVAILABLE": BusyKind.OUT_OF_OFFICE,
    "FREE": None,
}

_LOOSE_COMPONENTS = ("VEVENT", "VFREEBUSY", "VTIMEZONE")

# What a broken calendar makes icalendar / recurring-ical-events raise. Wide on
# purpose: any of these means "cannot be read", which must never become "free".
_PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError)


def parse_calendars(data: str | bytes, resource_id: str) -> list[icalendar.Calendar]:
    """Every VCALENDAR in ``data`` (a file may hold several), ready for expansion.

    Top-level VEVENTs outside any VCALENDAR are gathered into one. Raises
    ``ProviderError`` (not transient) when the text holds no complete
    VCALENDAR nor event: a truncated download or an HTML login page is not an empty calendar.
    """
    try:
        components = icalendar.Calendar.from_ical(data, multiple=True)
    except _PARSE_ERRORS as exc:
        raise ProviderError(resource_id, f"calendar data is not valid iCalendar ({_short(exc)})",
                            transient=False) from exc
    # Bare top-level events (no VCALENDAR around them) are read as one calendar:
    # hand-written files do that, and their times are as clear as in a calendar.
    loose = [c for c in components if c.name in _LOOSE_COMPONENTS]
    calendars = [c for c in components if isinstance(c, icalendar.Calendar)]
    if loose:
        wrapper = new_calendar()
        for component in loose:
            wrapper.add_component(component)
        calendars.append(wrapper)
    if not calendars:
        raise ProviderError(resource_id, "calendar data holds no complete VCALENDAR or VEVENT", transient=False)
    return calendars


def busy_from_ical(source: str | bytes | icalendar.Calendar | Sequence[icalendar.Calendar],
                   ref: CalendarRef, start: datetime, end: datetime) -> list[BusyInterval]:
    """Blocking intervals of ``ref``'s calendar data that overlap ``[start, end)``.

    ``source`` is iCalendar text or already parsed calendars. Intervals are
    whole events (not clipped to the window), UTC, sorted by start; ``details``
    are filled only when ``ref.details_allowed``.
    """
    _check_window(start, end)
    zone = owner_zone(ref)
    if isinstance(source, str | bytes):
        calendars = parse_calendars(source, ref.resource_id)
    elif isinstance(source, icalendar.Calendar):
        calendars = [source]
    else:
        calendars = list(source)
    owner = _address(ref.owner)
    busy: list[BusyInterval] = []
    for calendar in calendars:
        busy.extend(_event_busy(calendar, ref, zone, owner, start, end))
        busy.extend(_freebusy_busy(calendar, ref, zone, start, end))
    busy.sort(key=lambda b: (b.start, b.end))
    return busy


def owner_zone(ref: CalendarRef) -> ZoneInfo:
    """The zone all-day events and floating times of ``ref`` are read in."""
    try:
        return ZoneInfo(ref.time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProviderError(ref.resource_id, f"time_zone: unknown time zone {ref.time_zone!r}",
                            transient=False) from exc


def _event_busy(calendar: icalendar.Calendar, ref: CalendarRef, zone: ZoneInfo, owner: str,
                start: datetime, end: datetime) -> Iterable[BusyInterval]:
    try:
        query = recurring_ical_events.of(_timed_events_only(calendar))
        occurrences = query.between(start - _QUERY_MARGIN, end + _QUERY_MARGIN)
    except (*_PARSE_ERRORS, recurring_ical_events.InvalidCalendar,
            recurring_ical_events.BadRuleStringFormat, recurring_ical_events.PeriodEndBeforeStart) as exc:
        raise ProviderError(ref.resource_id, f"calendar cannot be expanded ({_short(exc)})",
                            transient=False) from exc
    for event in occurrences:
        kind = blocking_kind(event, owner)
        if kind is None:
            continue
        try:
            event_start = to_utc(event["DTSTART"].dt, zone)
            event_end = to_utc(event["DTEND"].dt, zone) if "DTEND" in event else event_start
        except _PARSE_ERRORS as exc:
            raise ProviderError(ref.resource_id, f"event has unreadable times ({_short(exc)})",
                                transient=False) from exc
        if event_start < end and event_end > start and event_end > event_start:
            details = _details(event) if ref.details_allowed else None
            yield BusyInterval(ref.resource_id, event_start, event_end, kind, ref.owner, details)


def _freebusy_busy(calendar: icalendar.Calendar, ref: CalendarRef, zone: ZoneInfo,
                   start: datetime, end: datetime) -> Iterable[BusyInterval]:
    for component in calendar.walk("VFREEBUSY"):
        periods = component.get("FREEBUSY", [])
        for period in periods if isinstance(periods, list) else [periods]:
            kind = _FBTYPE_KIND.get(str(period.params.get("FBTYPE", "BUSY")).upper(), BusyKind.BUSY)
            if kind is None:
                continue
            try:
                period_start, end_or_length = period.dt
                busy_start = to_utc(period_start, zone)
                busy_end = (busy_start + end_or_length if isinstance(end_or_length, timedelta)
                            else to_utc(end_or_length, zone))
            except _PARSE_ERRORS as exc:
                raise ProviderError(ref.resource_id, f"free/busy period is unreadable ({_short(exc)})",
                                    transient=False) from exc
            if busy_start < end and busy_end > start and busy_end > busy_start:
                yield BusyInterval(ref.resource_id, busy_start, busy_end, kind, ref.owner, None)


def blocking_kind(event: icalendar.cal.Component, owner: str) -> BusyKind | None:
    """How one event occurrence blocks its calendar's owner; None when it doesn't."""
    status = str(event.get("STATUS", "")).upper()
    if status == "CANCELLED" or str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
        return None
    partstat = _owner_partstat(event, owner)
    if partstat == "DECLINED":
        return None
    microsoft = str(event.get("X-MICROSOFT-CDO-BUSYSTATUS")
                    or event.get("X-MICROSOFT-CDO-INTENDEDSTATUS") or "").upper()
    if microsoft in _MICROSOFT_KIND:
        return _MICROSOFT_KIND[microsoft]
    if status == "TENTATIVE" or partstat == "TENTATIVE":
        return BusyKind.TENTATIVE
    return BusyKind.BUSY


def to_utc(value: date | datetime, zone: ZoneInfo) -> datetime:
    """An iCalendar DATE or DATE-TIME as a UTC instant; dates and floating times in ``zone``."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), zone).astimezone(UTC)
    raise TypeError(f"expected a date or date-time, got {type(value).__name__}")


def _owner_partstat(event: icalendar.cal.Component, owner: str) -> str:
    if not owner:
        return ""
    attendees = event.get("ATTENDEE", [])
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        if _address(str(attendee)) == owner:
            params = getattr(attendee, "params", {})
            return str(params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return ""


def _timed_events_only(calendar: icalendar.Calendar) -> icalendar.Calendar:
    """A shallow copy of ``calendar`` without VEVENTs that lack DTSTART (they have no time).

    Other components (VTIMEZONE, VTODO, ...) are kept; the caller's calendar is not modified.
    """
    if all("DTSTART" in c for c in calendar.subcomponents if c.name == "VEVENT"):
        return calendar
    copy = icalendar.Calendar()
    for name, value in calendar.property_items(recursive=False, sorted=False):
        if name not in ("BEGIN", "END"):
            copy.add(name, value, encode=False)
    copy.subcomponents = [c for c in calendar.subcomponents if c.name != "VEVENT" or "DTSTART" in c]
    return copy


def _details(event: icalendar.cal.Component) -> EventDetails:
    return EventDetails(title=str(event.get("SUMMARY", "")), event_id=str(event.get("UID", "")),
                        location=str(event.get("LOCATION", "")))


def _address(value: str) -> str:
    value = value.strip().lower()
    return value[len("mailto:"):] if value.startswith("mailto:") else value


def _check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start/end: the busy window must be timezone-aware")
    if end <= start:
        raise ValueError("end: the busy window must end after it starts")


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."


# --- Writing bookings ---------------------------------------------------------


def event_component(event: EventSpec, *, sequence: int = 0) -> icalendar.Event:
    """The VEVENT of a booking: opaque, confirmed, times in ``event.time_zone``."""
    try:
        zone = ZoneInfo(event.time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"time_zone: unknown time zone {event.time_zone!r}") from exc
    if event.start.tzinfo is None or event.end.tzinfo is None:
        raise ValueError("start/end: event times must be timezone-aware")
    if event.end <= event.start:
        raise ValueError("end: the event must end after it starts")
    if not event.uid:
        raise ValueError("uid: a booking event needs a uid")
    vevent = icalendar.Event()
    vevent.add("UID", event.uid)
    vevent.add("DTSTAMP", datetime.now(UTC))
    vevent.add("DTSTART", event.start.astimezone(zone))
    vevent.add("DTEND", event.end.astimezone(zone))
    vevent.add("SUMMARY", event.title)
    vevent.add("SEQUENCE", sequence)
    vevent.add("STATUS", "CONFIRMED")
    vevent.add("TRANSP", "OPAQUE")
    if event.location:
        vevent.add("LOCATION", event.location)
    if event.description:
        vevent.add("DESCRIPTION", event.description)
    if event.organizer_email:
        vevent.add("ORGANIZER", icalendar.vCalAddress(f"mailto:{event.organizer_email}"))
    for email in event.attendee_emails:
        attendee = icalendar.vCalAddress(f"mailto:{email}")
        attendee.params["PARTSTAT"] = "NEEDS-ACTION"
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        vevent.add("ATTENDEE", attendee)
    for key, value in sorted(event.extra.items()):
        vevent.add(f"X-CONVENE-{_x_name(key)}", value)
    return vevent


def new_calendar() -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Convene//Convene scheduling engine//EN")
    calendar.add("VERSION", "2.0")
    return calendar


def add_event(calendar: icalendar.Calendar, event: EventSpec) -> icalendar.Calendar:
    """``calendar`` with ``event`` in it, replacing any VEVENT of the same UID (so a retry
    never duplicates); the SEQUENCE goes up when a previous version existed."""
    previous = [c for c in calendar.subcomponents if c.name == "VEVENT" and str(c.get("UID")) == event.uid]
    sequence = max((int(c.get("SEQUENCE", 0)) for c in previous), default=-1) + 1
    remove_event(calendar, event.uid)
    calendar.add_component(event_component(event, sequence=sequence))
    calendar.add_missing_timezones()
    return calendar


def remove_event(calendar: icalendar.Calendar, uid: str) -> bool:
    """Removes every VEVENT with ``uid`` (the series and its overrides); True if any was there."""
    before = len(calendar.subcomponents)
    calendar.subcomponents = [c for c in calendar.subcomponents
                              if not (c.name == "VEVENT" and str(c.get("UID")) == uid)]
    return len(calendar.subcomponents) != before


def _x_name(key: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in key.upper()).strip("-")
    return cleaned or "EXTRA"
