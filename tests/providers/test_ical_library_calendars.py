"""Every test calendar shipped with icalendar and recurring-ical-events, read by
``busy_from_ical`` and checked against recurring-ical-events' own expansion.

The reference below is deliberately plain: expand with the library, drop what
cannot block (cancelled, transparent, zero length, Outlook "free"), compare
(start, end, uid) as a multiset. A calendar the libraries themselves cannot
read must make ``busy_from_ical`` raise ``ProviderError``, never return "free".

``REFUSED`` lists the calendars the libraries read but the rules of "Who is
free" refuse, each with the words of its reason: the libraries swap an end
before its start, and guess a TZID they cannot resolve (a vendor prefix
stripped, or a floating time in some zone).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events

from providers.base import CalendarRef, ProviderError
from providers.ical import busy_from_ical
from solver.domain import BusyKind

FOLDERS = (("recurring_ical_events", "test/calendars"), ("icalendar", "tests/calendars"),
           ("icalendar", "tests/events"))


def library_calendars() -> list[Path]:
    files: list[Path] = []
    for package, folder in FOLDERS:
        root = importlib.resources.files(package).joinpath(folder)
        files.extend(Path(str(p)) for p in root.iterdir() if p.name.endswith(".ics"))
    return sorted(files, key=lambda p: (p.parent.name, p.name))


# Some library calendars use vendor-prefixed TZIDs on purpose; icalendar warns as it guesses them.
pytestmark = pytest.mark.filterwarnings("ignore::icalendar.error.GloballyUniqueTZIDGuessed")

CALENDARS = library_calendars()
REFUSED = {
    "end_before_start_event.ics": "ends before it starts",
    "issue_132_swapped_start_and_end.ics": "ends before it starts",
    "issue_313_globally_unique_tzid.ics": "unknown time zone '/freeassociation.sourceforge.net/Europe/Berlin'",
    "issue_466_convert_tzid_with_slash.ics": "unknown time zone '/Europe/Stockholm'",
    "issue_526_calendar_with_different_events.ics": "unknown time zone 'Western/Central Europe'",
    "issue_526_calendar_with_event_subset.ics": "unknown time zone 'Western/Central Europe'",
    "issue_526_calendar_with_events.ics": "unknown time zone 'Western/Central Europe'",
    "issue_526_calendar_with_shuffeled_events.ics": "unknown time zone 'Western/Central Europe'",
    "issue_722_missing_VTIMEZONE_custom.ics": "unknown time zone 'CUSTOM_tzid'",
}
REF = CalendarRef("r1", "lib", owner="", time_zone="UTC")


def as_utc(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return datetime.combine(value, time(), UTC)


@functools.cache
def window_for(data: bytes) -> tuple[datetime, datetime]:
    """From a day before the first DTSTART to 400 days after it or a month past the last (at most 10 years)."""
    starts: list[datetime] = []
    try:
        for calendar in icalendar.Calendar.from_ical(data, multiple=True):
            for event in calendar.walk("VEVENT"):
                try:
                    starts.append(as_utc(event["DTSTART"].dt))
                except Exception:
                    continue
    except Exception:
        pass
    if not starts:
        return datetime(2019, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC)
    first, last = min(starts), max(starts)
    return first - timedelta(days=1), min(max(first + timedelta(days=400), last + timedelta(days=30)),
                                          first + timedelta(days=3650))


def reference(data: bytes, start: datetime, end: datetime) -> Counter[tuple[datetime, datetime, str, str]]:
    expected: Counter[tuple[datetime, datetime, str, str]] = Counter()
    components = icalendar.Calendar.from_ical(data, multiple=True)
    calendars = [c for c in components if c.name == "VCALENDAR"]
    loose = [c for c in components if c.name in ("VEVENT", "VFREEBUSY", "VTIMEZONE")]
    if loose:  # bare events outside a VCALENDAR are read as one calendar
        calendars.append(icalendar.Calendar())
        calendars[-1].subcomponents = loose
    if not calendars:
        raise ValueError("no complete VCALENDAR")
    for calendar in calendars:
        calendar.subcomponents = [c for c in calendar.subcomponents if c.name != "VEVENT" or "DTSTART" in c]
        for event in recurring_ical_events.of(calendar).between(start - timedelta(days=2),
                                                                 end + timedelta(days=2)):
            if str(event.get("STATUS", "")).upper() == "CANCELLED":
                continue
            if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
                continue
            if str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper() in ("FREE", "WORKINGELSEWHERE"):
                continue
            s, e = as_utc(event["DTSTART"].dt), as_utc(event["DTEND"].dt)
            kind = "tentative" if str(event.get("STATUS", "")).upper() == "TENTATIVE" else "busy"
            if s < end and e > start and e > s:
                expected[(s, e, str(event.get("UID", "")), kind)] += 1
    return expected


def test_the_libraries_ship_test_calendars():
    assert len(CALENDARS) > 150
    assert set(REFUSED) <= {p.name for p in CALENDARS}


@pytest.mark.parametrize("path", CALENDARS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_library_calendar_matches_recurring_ical_events(path: Path) -> None:
    data = path.read_bytes()
    start, end = window_for(data)
    if path.name in REFUSED:
        with pytest.raises(ProviderError, match=re.escape(REFUSED[path.name])) as refused:
            busy_from_ical(data, REF, start, end)
        assert refused.value.transient is False
        return
    try:
        expected = reference(data, start, end)
    except Exception:
        with pytest.raises(ProviderError) as refused:
            busy_from_ical(data, REF, start, end)
        assert refused.value.transient is False
        return
    busy = busy_from_ical(data, REF, start, end)
    from_events = Counter((b.start, b.end, b.details.event_id, "tentative" if b.kind == BusyKind.TENTATIVE
                           else "busy") for b in busy if b.details is not None)
    assert from_events == expected
    assert all(b.start.tzinfo is UTC and b.end.tzinfo is UTC and b.end > b.start for b in busy)
    assert [b.start for b in busy] == sorted(b.start for b in busy)


def test_most_library_calendars_are_readable() -> None:
    """Guards the test above against passing because everything is refused."""
    readable = 0
    for path in CALENDARS:
        data = path.read_bytes()
        try:
            start, _ = window_for(data)
            busy_from_ical(data, REF, start, start + timedelta(days=8))
            readable += 1
        except ProviderError:
            pass
    assert readable >= 0.8 * len(CALENDARS)


def test_library_calendars_yield_real_intervals() -> None:
    """And against passing because nothing is ever found."""
    total = sum(len(busy_from_ical(p.read_bytes(), REF, *window_for(p.read_bytes())))
                for p in CALENDARS if p.name in ("event_10_times.ics", "rdate.ics", "issue_48_dst.ics"))
    assert total > 100
