"""RFC 5545 durations (``providers.recurrence``): exact hours, nominal days, for
every occurrence; and the recurring-ical-events behaviour they correct, each
in a test that fails once the library is fixed (then the correction can go)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from providers.base import CalendarRef
from providers.ical import busy_from_ical
from providers.recurrence import RfcDuration, add_duration, exact_difference
from tests.providers.icsdata import calendar, event

NEW_YORK, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
REF = CalendarRef("ada", "ada.ics", owner="ada@example.org", time_zone="UTC")
YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))

# 20:00 New York on Sat 31 Oct 2026, the night clocks go back (02:00 EDT -> 01:00 EST),
# and 20:00 Berlin on Sat 28 Mar 2026, the night they go forward (02:00 CET -> 03:00 CEST).
AUTUMN_NY = "DTSTART;TZID=America/New_York:20261031T200000"
SPRING_BERLIN = "DTSTART;TZID=Europe/Berlin:20260328T200000"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def spans(text: str) -> list[tuple[datetime, datetime]]:
    return [(b.start, b.end) for b in busy_from_ical(text, REF, *YEAR)]


# --- Reading durations as written ------------------------------------------------------


@pytest.mark.parametrize(("text", "nominal", "exact"), [
    ("PT12H", timedelta(0), timedelta(hours=12)),
    ("PT24H", timedelta(0), timedelta(hours=24)),
    ("P1D", timedelta(days=1), timedelta(0)),
    ("P1DT12H", timedelta(days=1), timedelta(hours=12)),
    ("P2W", timedelta(weeks=2), timedelta(0)),
    ("PT36H30M15S", timedelta(0), timedelta(hours=36, minutes=30, seconds=15)),
    ("-PT1H", timedelta(0), -timedelta(hours=1)),
    ("-P1D", -timedelta(days=1), timedelta(0)),
    ("+P1W", timedelta(weeks=1), timedelta(0)),
])
def test_a_duration_keeps_its_nominal_part(text: str, nominal: timedelta, exact: timedelta):
    duration = RfcDuration.parse(text)
    assert duration == nominal + exact and duration.nominal == nominal and duration.exact == exact


def test_the_parser_keeps_durations_as_written():
    from providers.recurrence import parse_ical

    [parsed] = parse_ical(calendar(event("d", AUTUMN_NY, "DURATION:PT24H",
                                         "RDATE;VALUE=PERIOD:20261107T200000Z/P1D")))
    [vevent] = parsed.walk("VEVENT")
    assert vevent["DURATION"].dt.nominal == timedelta(0)  # plain icalendar says timedelta(days=1) either way
    assert vevent["RDATE"].dts[0].dt[1].nominal == timedelta(days=1)


# --- Adding them ---------------------------------------------------------------------


@pytest.mark.parametrize(("start", "duration", "end"), [
    # exact hours across the fall-back night: 12 real hours, 07:00 on the wall clock
    (datetime(2026, 10, 31, 20, tzinfo=NEW_YORK), RfcDuration.parse("PT12H"),
     datetime(2026, 11, 1, 7, tzinfo=NEW_YORK)),
    # a nominal day keeps the wall clock: 25 real hours that night
    (datetime(2026, 10, 31, 20, tzinfo=NEW_YORK), RfcDuration.parse("P1D"),
     datetime(2026, 11, 1, 20, tzinfo=NEW_YORK)),
    # PT24H is exact: 24 real hours end at 19:00
    (datetime(2026, 10, 31, 20, tzinfo=NEW_YORK), RfcDuration.parse("PT24H"),
     datetime(2026, 11, 1, 19, tzinfo=NEW_YORK)),
    # days first, then the exact rest (RFC 5545, 3.3.6)
    (datetime(2026, 3, 28, 20, tzinfo=BERLIN), RfcDuration.parse("P1DT12H"), datetime(2026, 3, 30, 8, tzinfo=BERLIN)),
    (datetime(2026, 3, 28, 20, tzinfo=BERLIN), RfcDuration.parse("PT12H"), datetime(2026, 3, 29, 9, tzinfo=BERLIN)),
    # a plain timedelta (a calendar built in code) counts its days as nominal
    (datetime(2026, 3, 28, 20, tzinfo=BERLIN), timedelta(days=1, hours=1), datetime(2026, 3, 29, 21, tzinfo=BERLIN)),
    (date(2026, 3, 28), RfcDuration.parse("P2D"), date(2026, 3, 30)),
    (datetime(2026, 3, 28, 20), RfcDuration.parse("PT12H"), datetime(2026, 3, 29, 8)),  # floating: wall clock
    (date(2026, 3, 28), RfcDuration.parse("PT2H"), datetime(2026, 3, 28, 2)),  # a date plus hours: floating
])
def test_add_duration_is_nominal_for_days_and_exact_for_hours(start, duration, end):
    got = add_duration(start, duration)
    assert got == end and type(got) is type(end)
    if isinstance(end, datetime) and end.tzinfo is not None:
        assert got.utcoffset() == end.utcoffset()


@pytest.mark.parametrize(("start", "end", "length"), [
    (date(2026, 3, 28), date(2026, 3, 30), timedelta(days=2)),
    (datetime(2026, 3, 28, 20, tzinfo=BERLIN), datetime(2026, 3, 29, 8, tzinfo=BERLIN), timedelta(hours=11)),
    (datetime(2026, 3, 28, 20), datetime(2026, 3, 29, 8), timedelta(hours=12)),  # floating: wall clock
    # Not comparable: a date and a date-time, or floating and aware.
    (date(2026, 3, 28), datetime(2026, 3, 29, 8), None),
    (datetime(2026, 3, 28, 8), date(2026, 3, 29), None),
    (datetime(2026, 3, 28, 8), datetime(2026, 3, 29, 8, tzinfo=BERLIN), None),
])
def test_exact_difference(start, end, length):
    assert exact_difference(start, end) == length


# --- Every occurrence ------------------------------------------------------------------


def test_pt12h_over_new_yorks_fall_back_night_is_twelve_real_hours():
    text = calendar(event("night", AUTUMN_NY, "DURATION:PT12H"))
    assert spans(text) == [(utc(2026, 11, 1, 0), utc(2026, 11, 1, 12))]  # not 13:00Z


def test_pt12h_over_berlins_spring_forward_night_is_twelve_real_hours():
    text = calendar(event("night", SPRING_BERLIN, "DURATION:PT12H"))
    assert spans(text) == [(utc(2026, 3, 28, 19), utc(2026, 3, 29, 7))]  # not 06:00Z: that hour is busy


def test_every_occurrence_of_a_duration_series_is_exact():
    text = calendar(event("shift", "DTSTART;TZID=America/New_York:20261030T200000", "DURATION:PT12H",
                          "RRULE:FREQ=DAILY;COUNT=3"))
    assert [e - s for s, e in spans(text)] == [timedelta(hours=12)] * 3
    assert [s for s, _ in spans(text)] == [utc(2026, 10, 31, 0), utc(2026, 11, 1, 0), utc(2026, 11, 2, 1)]


def test_a_daily_series_of_one_day_keeps_midnight_to_midnight():
    text = calendar(event("days", "DTSTART;TZID=America/New_York:20261031T000000", "DURATION:P1D",
                          "RRULE:FREQ=DAILY;COUNT=2"))
    assert spans(text) == [(utc(2026, 10, 31, 4), utc(2026, 11, 1, 4)), (utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))]


def test_a_dtend_series_repeats_its_exact_duration():
    # 20:00 EDT to 07:00 EST is 12 real hours; RFC 5545 (3.8.5.3): "the same exact duration" each time.
    text = calendar(event("shift", AUTUMN_NY, "DTEND;TZID=America/New_York:20261101T070000",
                          "RRULE:FREQ=DAILY;COUNT=2"))
    assert spans(text) == [(utc(2026, 11, 1, 0), utc(2026, 11, 1, 12)), (utc(2026, 11, 2, 1), utc(2026, 11, 2, 13))]


def test_an_rdate_period_with_a_duration_is_exact():
    text = calendar(event("p", "DTSTART;TZID=America/New_York:20261030T200000", "DURATION:PT1H",
                          "RDATE;VALUE=PERIOD;TZID=America/New_York:20261031T200000/PT12H"))
    assert spans(text) == [(utc(2026, 10, 31, 0), utc(2026, 10, 31, 1)), (utc(2026, 11, 1, 0), utc(2026, 11, 1, 12))]


def test_a_moved_occurrence_keeps_its_own_duration():
    series = event("s", "DTSTART;TZID=America/New_York:20261030T200000", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3")
    moved = event("s", "RECURRENCE-ID;TZID=America/New_York:20261031T200000", AUTUMN_NY, "DURATION:PT12H")
    assert [e - s for s, e in spans(calendar(series, moved))] == [timedelta(hours=1), timedelta(hours=12),
                                                                    timedelta(hours=1)]


# --- What recurring-ical-events gets wrong (report upstream; drop the correction once these fail) ---


def library_spans(text: str) -> list[tuple[datetime, datetime]]:
    events = recurring_ical_events.of(icalendar.Calendar.from_ical(text)).between(*YEAR)
    return sorted((e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC)) for e in events)


@pytest.mark.xfail(strict=True, reason="recurring-ical-events 3.8 adds DURATION on the wall clock "
                   "(PT12H over New York's fall-back night lasts 13 hours)")
def test_library_adds_duration_exactly():
    assert library_spans(calendar(event("n", AUTUMN_NY, "DURATION:PT12H"))) == [
        (utc(2026, 11, 1, 0), utc(2026, 11, 1, 12))]


@pytest.mark.xfail(strict=True, reason="recurring-ical-events 3.8 repeats a DTEND event with the wall-clock "
                   "difference, not its exact duration (RFC 5545, 3.8.5.3)")
def test_library_repeats_the_exact_duration_of_a_dtend_event():
    text = calendar(event("s", AUTUMN_NY, "DTEND;TZID=America/New_York:20261101T070000", "RRULE:FREQ=DAILY;COUNT=2"))
    assert [e - s for s, e in library_spans(text)] == [timedelta(hours=12)] * 2


@pytest.mark.xfail(strict=True, reason="recurring-ical-events 3.8 swaps an end before the start instead of "
                   "reporting the event as invalid")
def test_library_refuses_an_end_before_the_start():
    with pytest.raises(ValueError):  # any error: the point is not to read it as [end, start)
        library_spans(calendar(event("x", "DTSTART:20260304T100000Z", "DTEND:20260304T090000Z")))


def test_an_event_with_only_a_start_lasts_its_day_or_nothing():
    """RFC 5545 3.6.1: no DTEND and no DURATION is one day for a date, no time for a date-time."""
    assert spans(calendar(event("a", "DTSTART;VALUE=DATE:20261105"))) == [(utc(2026, 11, 5), utc(2026, 11, 6))]
    assert spans(calendar(event("a", "DTSTART:20261105T100000Z"))) == []


def test_a_floating_rdate_period_in_a_zoned_series_is_matched_on_the_wall_clock():
    """RDATE without TZID in a series with one: the period starts at that wall time in the series'
    zone and keeps its own length; in a floating series both are floating."""
    zoned = event("p", "DTSTART;TZID=America/New_York:20261030T200000", "DURATION:PT1H",
                  "RDATE;VALUE=PERIOD:20261031T200000/PT12H")
    assert spans(calendar(zoned)) == [(utc(2026, 10, 31, 0), utc(2026, 10, 31, 1)),
                                      (utc(2026, 11, 1, 0), utc(2026, 11, 1, 12))]
    floating = event("p", "DTSTART:20261030T200000", "DURATION:PT1H", "RDATE;VALUE=PERIOD:20261031T200000/PT12H")
    assert spans(calendar(floating)) == [(utc(2026, 10, 30, 20), utc(2026, 10, 30, 21)),
                                         (utc(2026, 10, 31, 20), utc(2026, 11, 1, 8))]


def test_rdate_periods_in_one_line_each_keep_their_zone_and_length():
    """Several periods in one RDATE, with explicit ends and with durations, in the TZID's zone."""
    text = calendar(event("p", "DTSTART;TZID=America/New_York:20261030T200000", "DURATION:PT1H",
                          "RDATE;VALUE=PERIOD;TZID=America/New_York:20261031T200000/20261101T070000,"
                          "20261102T200000/PT2H"))
    assert spans(text) == [(utc(2026, 10, 31, 0), utc(2026, 10, 31, 1)),
                           (utc(2026, 11, 1, 0), utc(2026, 11, 1, 12)),  # 20:00 EDT to 07:00 EST
                           (utc(2026, 11, 3, 1), utc(2026, 11, 3, 3))]
