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
- durations are RFC 5545's: hours, minutes and seconds exact, days and weeks
  nominal, for every occurrence (``providers.recurrence``);
- a TZID means the IANA or Windows (CLDR) zone of that name, else the
  calendar's own VTIMEZONE of it (``providers.zones``); X-WR-TIMEZONE
  likewise;
- VFREEBUSY periods block by FBTYPE: BUSY, BUSY-TENTATIVE (tentative),
  BUSY-UNAVAILABLE (out-of-office); FREE blocks nothing. They carry no details.

A calendar that cannot be read raises ``ProviderError`` (not transient): its
resource is then unavailable, never silently free. That is text that is not
iCalendar (a truncated download, an HTML login page), a TZID no rule
resolves, and a broken event: an unreadable date, a VALUE=DATE with a time,
an end before its start, a negative duration, a recurrence that cannot be
expanded. The reason names the event (its UID, else its position) and the
problem, never the event's content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
import x_wr_timezone
from icalendar.prop import vBroken, vDDDLists

from providers.base import CalendarRef, EventSpec, ProviderError
from providers.recurrence import occurrences, parse_ical
from providers.zones import UnknownZone, known_zone, resolve_zone
from solver.domain import BusyInterval, BusyKind, EventDetails

__all__ = [
    "add_event",
    "busy_from_ical",
    "event_component",
    "new_calendar",
    "parse_calendars",
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

# The properties of an event that hold its times (the ones a TZID may qualify).
_TIME_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")

# What a broken calendar makes icalendar / recurring-ical-events raise. Wide on
# purpose: any of these means "cannot be read", which must never become "free".
_PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError)
_EXPANSION_ERRORS = (*_PARSE_ERRORS, recurring_ical_events.InvalidCalendar,
                     recurring_ical_events.BadRuleStringFormat, recurring_ical_events.PeriodEndBeforeStart)

Time = date | datetime


def parse_calendars(data: str | bytes, resource_id: str) -> list[icalendar.Calendar]:
    """Every VCALENDAR in ``data`` (a file may hold several), checked and ready for expansion.

    Top-level VEVENTs outside any VCALENDAR are gathered into one. Every time
    is placed in the zone its TZID means (``providers.zones``), X-WR-TIMEZONE
    applied, every event checked. Raises ``ProviderError`` (not transient)
    when the text holds no complete VCALENDAR nor event (a truncated download
    or an HTML login page is not an empty calendar), names an unknown zone or
    holds a broken event.
    """
    try:
        components = parse_ical(data)
    except _PARSE_ERRORS as exc:
        raise ProviderError(resource_id, f"calendar data is not valid iCalendar ({_where(data, exc)})",
                            transient=False) from None
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
    return [_checked(calendar, resource_id) for calendar in calendars]


def busy_from_ical(source: str | bytes | icalendar.Calendar | Sequence[icalendar.Calendar],
                   ref: CalendarRef, start: datetime, end: datetime) -> list[BusyInterval]:
    """Blocking intervals of ``ref``'s calendar data that overlap ``[start, end)``.

    ``source`` is iCalendar text or calendars from ``parse_calendars``.
    Intervals are whole events (not clipped to the window), UTC, sorted by
    start; ``details`` are filled only when ``ref.details_allowed``.
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


# --- Checking a calendar and placing its times ---------------------------------------


class _BrokenEvent(Exception):
    """An event's problem, said without its content."""


def _checked(calendar: icalendar.Calendar, resource_id: str) -> icalendar.Calendar:
    """``calendar`` with every TZID'd time in its zone and X-WR-TIMEZONE applied, every event checked."""
    zone_of = _zone_resolver(calendar)
    for position, event in enumerate(calendar.walk("VEVENT"), 1):
        try:
            _check_event(event, zone_of)
        except _BrokenEvent as exc:
            raise ProviderError(resource_id, f"{_event_name(position)}: {exc}", transient=False) from None
        except UnknownZone as exc:
            raise ProviderError(resource_id, f"{_event_name(position)}: {exc}", transient=False) from None
    wall_zone = calendar.get("X-WR-TIMEZONE")
    if wall_zone is None:
        return calendar
    try:
        zone = zone_of(str(wall_zone))
    except UnknownZone as exc:
        raise ProviderError(resource_id, f"X-WR-TIMEZONE: {exc}", transient=False) from None
    # Google exports UTC times plus X-WR-TIMEZONE: a series then keeps its wall
    # clock in that zone. Done here, with the zone resolved as every TZID is, so
    # the library does not look the name up again on its own.
    converted: icalendar.Calendar = x_wr_timezone.to_standard(calendar, timezone=zone)
    converted.pop("X-WR-TIMEZONE", None)
    return converted


def _zone_resolver(calendar: icalendar.Calendar) -> Callable[[str], tzinfo]:
    """TZID -> zone for this calendar (``providers.zones``), each name resolved once.

    The calendar's VTIMEZONEs are converted only when a TZID that is no known
    zone name needs them.
    """
    resolved: dict[str, tzinfo] = {}
    local: dict[str, tzinfo] | None = None

    def zone_of(tzid: str) -> tzinfo:
        nonlocal local
        if tzid not in resolved:
            known = known_zone(tzid)
            if known is not None:
                resolved[tzid] = known
            else:
                if local is None:
                    local = _local_zones(calendar)
                resolved[tzid] = resolve_zone(tzid, local)
        return resolved[tzid]

    return zone_of


def _local_zones(calendar: icalendar.Calendar) -> dict[str, tzinfo]:
    local: dict[str, tzinfo] = {}
    for component in calendar.walk("VTIMEZONE"):
        tzid = str(component.get("TZID", ""))
        if tzid and tzid not in local:
            zone = _vtimezone_zone(component)
            if zone is not None:  # an unreadable VTIMEZONE: its TZID may still match a name
                local[tzid] = zone
    return local


def _vtimezone_zone(component: Any) -> tzinfo | None:
    # Built from this component alone (lookup_tzid=False): icalendar's own lookup
    # caches VTIMEZONEs process-wide by TZID, so a second calendar's "Customized
    # Time Zone" would get the first one's rules.
    try:
        zone: tzinfo = component.to_tz(lookup_tzid=False)
    except (*_PARSE_ERRORS, icalendar.InvalidCalendar):
        return None
    return zone


def _check_event(event: icalendar.cal.Component, zone_of: Callable[[str], tzinfo]) -> None:
    """Raises ``_BrokenEvent`` / ``UnknownZone``; places TZID'd times in their zones."""
    if "DTSTART" not in event:
        return  # no time at all: it blocks nothing (filtered before expansion)
    for name in _TIME_PROPERTIES:
        for prop in _each(event, name):
            _place(name, prop, zone_of)
    start = _value(event["DTSTART"], "DTSTART")
    if not isinstance(start, date):
        raise _BrokenEvent("DTSTART is not a date or date-time")
    if "DTEND" in event:
        end = _value(event["DTEND"], "DTEND")
        if not isinstance(end, date):
            raise _BrokenEvent("DTEND is not a date or date-time")
        if _comparable(end) < _comparable(start):
            raise _BrokenEvent("ends before it starts (DTEND before DTSTART)")
    if "DURATION" in event:
        duration = _value(event["DURATION"], "DURATION")
        if not isinstance(duration, timedelta):
            raise _BrokenEvent("DURATION is not a duration")
        if duration < timedelta(0):
            raise _BrokenEvent("has a negative DURATION")
    for rdate in _each(event, "RDATE"):
        for item in rdate.dts:
            if isinstance(item.dt, tuple):
                period_start, end_or_length = item.dt
                if isinstance(end_or_length, timedelta):
                    if end_or_length < timedelta(0):
                        raise _BrokenEvent("has an RDATE period with a negative duration")
                elif _comparable(end_or_length) < _comparable(period_start):
                    raise _BrokenEvent("has an RDATE period that ends before it starts")


def _place(name: str, prop: Any, zone_of: Callable[[str], tzinfo]) -> None:
    """Checks one time property; re-places its values in the zone its TZID means.

    icalendar reads a TZID it does not know as a floating time (which would
    silently become the owner's zone) and takes VTIMEZONEs from its
    process-wide cache by TZID; here every TZID is resolved by
    ``providers.zones`` within its own calendar.
    """
    if isinstance(prop, vBroken):
        raise _BrokenEvent(f"{name} is not a valid date or date-time")
    params = getattr(prop, "params", {})
    value_type = str(params.get("VALUE", "")).upper()
    tzid = params.get("TZID")
    zone = zone_of(str(tzid)) if tzid is not None else None
    items = prop.dts if isinstance(prop, vDDDLists) else [prop]
    for item in items:
        value = _value(item, name)
        if value_type == "DATE" and isinstance(value, datetime):
            if tzid is not None and value.time() == time():
                # icalendar turns a DATE carrying a TZID into midnight in that zone;
                # a TZID does not apply to a DATE (RFC 5545, 3.2.19): it stays a day.
                item.dt = value.date()
                continue
            raise _BrokenEvent(f"{name} has VALUE=DATE but a time")
        if value_type == "DATE-TIME" and isinstance(value, date) and not isinstance(value, datetime):
            raise _BrokenEvent(f"{name} has VALUE=DATE-TIME but no time")
        if zone is not None:
            item.dt = _in_zone(value, zone)


def _in_zone(value: object, zone: tzinfo) -> object:
    """``value``'s wall-clock times in ``zone`` (periods: both ends)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone)
    if isinstance(value, tuple):
        return tuple(_in_zone(part, zone) for part in value)
    return value


def _value(prop: Any, name: str) -> Any:
    try:
        return prop.dt
    except (*_PARSE_ERRORS, icalendar.InvalidCalendar):
        raise _BrokenEvent(f"{name} is not a valid value") from None


def _each(event: icalendar.cal.Component, name: str) -> list[Any]:
    values = event.get(name)
    if values is None:
        return []
    return list(values) if isinstance(values, list) else [values]


def _comparable(value: Time) -> datetime:
    """For ordering the times of one event: dates at midnight, floating times as if UTC."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _event_name(position: int | None = None) -> str:
    """How a reason names an event: by its place among the calendar's events (the calendar's owner
    finds it there), never by anything of its own. A reason reaches every caller whose request needs
    the calendar, and the event's id, like its title, is for its owner only (SCHEDULING.md,
    Conflicts; Failure isolation: the reason "never the calendar's content")."""
    return f"event #{position}" if position else "an event"


# --- Expanding and reading ---------------------------------------------------------------


def _event_busy(calendar: icalendar.Calendar, ref: CalendarRef, zone: ZoneInfo, owner: str,
                start: datetime, end: datetime) -> Iterable[BusyInterval]:
    timed = _timed_events_only(calendar)
    try:
        expanded = occurrences(timed, start - _QUERY_MARGIN, end + _QUERY_MARGIN)
    except _EXPANSION_ERRORS as exc:
        raise _expansion_error(timed, ref, start, end, exc) from exc
    for event in expanded:
        kind = blocking_kind(event, owner)
        if kind is None:
            continue
        try:
            event_start = to_utc(event["DTSTART"].dt, zone)
            event_end = to_utc(event["DTEND"].dt, zone) if "DTEND" in event else event_start
        except _PARSE_ERRORS as exc:
            raise ProviderError(ref.resource_id, f"{_event_name()}: unreadable times "
                                f"({type(exc).__name__})", transient=False) from exc
        if event_start < end and event_end > start and event_end > event_start:
            details = _details(event) if ref.details_allowed else None
            yield BusyInterval(ref.resource_id, event_start, event_end, kind, ref.owner, details)


def _expansion_error(calendar: icalendar.Calendar, ref: CalendarRef, start: datetime, end: datetime,
                     exc: BaseException) -> ProviderError:
    """The error of a calendar the library could not expand, naming the event that breaks it.

    Only on this failing path is each series expanded alone, to find it.
    """
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    uids = list(dict.fromkeys(str(e.get("UID", "")) for e in events))
    for uid in uids:
        alone = new_calendar()
        alone.subcomponents = [c for c in calendar.subcomponents
                               if c.name != "VEVENT" or str(c.get("UID", "")) == uid]
        try:
            occurrences(alone, start - _QUERY_MARGIN, end + _QUERY_MARGIN)
        except _EXPANSION_ERRORS as alone_exc:
            position = next(i for i, e in enumerate(events, 1) if str(e.get("UID", "")) == uid)
            name = _event_name(position)
            return ProviderError(ref.resource_id, f"{name}: its recurrence cannot be expanded "
                                 f"({type(alone_exc).__name__})", transient=False)
    return ProviderError(ref.resource_id, f"calendar cannot be expanded ({type(exc).__name__})", transient=False)


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
                raise ProviderError(ref.resource_id, f"free/busy period is unreadable ({type(exc).__name__})",
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


def _where(data: str | bytes, exc: BaseException) -> str:
    """``parse error at line N`` for the first content line of ``data`` that does not parse (never
    the parser's message: it quotes the content)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    logical, first = "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t") and logical:
            logical += line[1:]  # a folded continuation (RFC 5545 3.1)
            continue
        if logical and not _parses(logical):
            return f"parse error at line {first}"
        logical, first = line, number
    if logical and not _parses(logical):
        return f"parse error at line {first}"
    return f"parse error ({type(exc).__name__})"


def _parses(line: str) -> bool:
    try:
        icalendar.parser.Contentline(line).parts()  # type: ignore[no-untyped-call]
    except _PARSE_ERRORS:
        return False
    return True


# --- Writing bookings ---------------------------------------------------------


def event_component(event: EventSpec, *, sequence: int = 0, in_utc: bool = False) -> icalendar.Event:
    """The VEVENT of a booking: opaque, confirmed, times in ``event.time_zone`` (``in_utc``: in UTC,
    which needs no VTIMEZONE)."""
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
    times_in: tzinfo = UTC if in_utc else zone
    vevent = icalendar.Event()
    vevent.add("UID", event.uid)
    vevent.add("DTSTAMP", datetime.now(UTC))
    vevent.add("DTSTART", event.start.astimezone(times_in))
    vevent.add("DTEND", event.end.astimezone(times_in))
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
    calendar.subcomponents = [c for c in calendar.subcomponents
                              if not (c.name == "VEVENT" and str(c.get("UID")) == event.uid)]
    calendar.add_component(event_component(event, sequence=sequence))
    calendar.add_missing_timezones()
    return calendar


def _x_name(key: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in key.upper()).strip("-")
    return cleaned or "EXTRA"
