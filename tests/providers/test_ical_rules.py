"""``busy_from_ical``: one hand-written calendar per rule of "Who is free"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from providers.base import CalendarRef, ProviderError
from providers.ical import busy_from_ical
from solver.domain import BusyKind, EventDetails
from tests.providers.icsdata import calendar, event

OWNER = "ada@example.org"
REF = CalendarRef("ada", "ada.ics", owner=OWNER, time_zone="Europe/Berlin")
MARCH = (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def spans(text: str, ref: CalendarRef = REF, window: tuple[datetime, datetime] = MARCH):
    return [(b.start, b.end) for b in busy_from_ical(text, ref, *window)]


def kinds(text: str, ref: CalendarRef = REF) -> dict[str, BusyKind]:
    return {b.details.event_id: b.kind for b in busy_from_ical(text, ref, *MARCH) if b.details}


ONE_HOUR = ("DTSTART:20240304T090000Z", "DTEND:20240304T100000Z")


# --- Which events block -------------------------------------------------------


def test_opaque_blocks_and_transparent_does_not():
    text = calendar(event("opaque", *ONE_HOUR, "TRANSP:OPAQUE"), event("free", *ONE_HOUR, "TRANSP:TRANSPARENT"))
    assert kinds(text) == {"opaque": BusyKind.BUSY}


def test_cancelled_event_blocks_nothing_confirmed_does():
    text = calendar(event("gone", *ONE_HOUR, "STATUS:CANCELLED"), event("on", *ONE_HOUR, "STATUS:CONFIRMED"))
    assert kinds(text) == {"on": BusyKind.BUSY}


def test_tentative_status_is_tentative():
    text = calendar(event("maybe", *ONE_HOUR, "STATUS:TENTATIVE"))
    assert kinds(text) == {"maybe": BusyKind.TENTATIVE}


@pytest.mark.parametrize(("status", "kind"), [
    ("OOF", BusyKind.OUT_OF_OFFICE), ("TENTATIVE", BusyKind.TENTATIVE), ("BUSY", BusyKind.BUSY),
    ("FREE", None), ("WORKINGELSEWHERE", None),
])
def test_outlook_busy_status_decides_the_kind(status: str, kind: BusyKind | None):
    text = calendar(event("ms", *ONE_HOUR, f"X-MICROSOFT-CDO-BUSYSTATUS:{status}"))
    assert kinds(text) == ({"ms": kind} if kind else {})


def test_outlook_intended_status_is_used_without_busy_status():
    text = calendar(event("ms", *ONE_HOUR, "X-MICROSOFT-CDO-INTENDEDSTATUS:OOF"))
    assert kinds(text) == {"ms": BusyKind.OUT_OF_OFFICE}


def test_owner_declined_blocks_nothing_but_someone_elses_decline_does():
    mine = event("declined-by-me", *ONE_HOUR, "ORGANIZER:mailto:bob@example.org",
                 "ATTENDEE;PARTSTAT=DECLINED:MAILTO:Ada@Example.org",
                 "ATTENDEE;PARTSTAT=ACCEPTED:mailto:carl@example.org")
    theirs = event("declined-by-carl", *ONE_HOUR, "ORGANIZER:mailto:bob@example.org",
                   "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.org",
                   "ATTENDEE;PARTSTAT=DECLINED:mailto:carl@example.org")
    assert kinds(calendar(mine, theirs)) == {"declined-by-carl": BusyKind.BUSY}


def test_owner_tentative_reply_is_tentative_and_unanswered_is_busy():
    text = calendar(event("t", *ONE_HOUR, "ATTENDEE;PARTSTAT=TENTATIVE:mailto:ada@example.org"),
                    event("n", *ONE_HOUR, "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:ada@example.org"))
    assert kinds(text) == {"t": BusyKind.TENTATIVE, "n": BusyKind.BUSY}


def test_declines_count_only_when_the_owner_is_known():
    text = calendar(event("d", *ONE_HOUR, "ATTENDEE;PARTSTAT=DECLINED:mailto:ada@example.org"))
    assert kinds(text, CalendarRef("ada", "ada.ics", owner="")) == {"d": BusyKind.BUSY}


# --- Start without end, all-day, floating ------------------------------------


def test_date_time_start_without_end_blocks_nothing():
    assert spans(calendar(event("point", "DTSTART:20240304T090000Z"))) == []


def test_explicit_zero_length_event_blocks_nothing():
    assert spans(calendar(event("zero", "DTSTART:20240304T090000Z", "DTEND:20240304T090000Z"))) == []


def test_date_start_without_end_blocks_that_day_in_the_owners_zone():
    text = calendar(event("day", "DTSTART;VALUE=DATE:20240304"))
    assert spans(text) == [(utc(2024, 3, 3, 23), utc(2024, 3, 4, 23))]  # Berlin is UTC+1 in March


def test_all_day_event_blocks_its_days_in_the_owners_zone():
    text = calendar(event("trip", "DTSTART;VALUE=DATE:20240304", "DTEND;VALUE=DATE:20240306"))
    ny = CalendarRef("ny", "ny.ics", time_zone="America/New_York")
    assert spans(text, ny) == [(utc(2024, 3, 4, 5), utc(2024, 3, 6, 5))]


def test_all_day_event_across_a_dst_change_keeps_local_midnights():
    text = calendar(event("weekend", "DTSTART;VALUE=DATE:20240309", "DTEND;VALUE=DATE:20240311"))
    ny = CalendarRef("ny", "ny.ics", time_zone="America/New_York")
    assert spans(text, ny) == [(utc(2024, 3, 9, 5), utc(2024, 3, 11, 4))]  # 47 real hours


def test_duration_sets_the_end():
    text = calendar(event("d", "DTSTART:20240304T090000Z", "DURATION:PT45M"))
    assert spans(text) == [(utc(2024, 3, 4, 9), utc(2024, 3, 4, 9, 45))]


def test_floating_times_are_in_the_owners_zone():
    text = calendar(event("f", "DTSTART:20240304T090000", "DTEND:20240304T100000"))
    assert spans(text) == [(utc(2024, 3, 4, 8), utc(2024, 3, 4, 9))]
    tokyo = CalendarRef("t", "t.ics", time_zone="Asia/Tokyo")
    assert spans(text, tokyo) == [(utc(2024, 3, 4, 0), utc(2024, 3, 4, 1))]


def test_tzid_times_are_converted_to_utc():
    text = calendar(event("z", "DTSTART;TZID=America/New_York:20240304T090000",
                          "DTEND;TZID=America/New_York:20240304T100000"))
    assert spans(text) == [(utc(2024, 3, 4, 14), utc(2024, 3, 4, 15))]


def test_x_wr_timezone_makes_utc_series_follow_the_calendars_wall_clock():
    # Google exports UTC times plus X-WR-TIMEZONE; the series keeps 09:00 Berlin time across DST.
    text = calendar(event("w", "DTSTART:20240325T080000Z", "DTEND:20240325T090000Z", "RRULE:FREQ=WEEKLY;COUNT=2"),
                    header="X-WR-TIMEZONE:Europe/Berlin")
    assert spans(text, window=(utc(2024, 3, 1), utc(2024, 4, 30))) == [
        (utc(2024, 3, 25, 8), utc(2024, 3, 25, 9)), (utc(2024, 4, 1, 7), utc(2024, 4, 1, 8))]


def test_event_without_dtstart_blocks_nothing_and_does_not_hide_others():
    text = calendar(event("no-time", "DURATION:PT1H"), event("timed", *ONE_HOUR))
    assert kinds(text) == {"timed": BusyKind.BUSY}


# --- Recurrence --------------------------------------------------------------


def test_rrule_exdate_rdate_and_moved_and_cancelled_overrides():
    series = event("weekly", "DTSTART;TZID=Europe/Berlin:20240304T100000",
                   "DTEND;TZID=Europe/Berlin:20240304T110000",
                   "RRULE:FREQ=WEEKLY;COUNT=4",
                   "EXDATE;TZID=Europe/Berlin:20240311T100000",
                   "RDATE;TZID=Europe/Berlin:20240313T150000")
    moved = event("weekly", "RECURRENCE-ID;TZID=Europe/Berlin:20240318T100000",
                  "DTSTART;TZID=Europe/Berlin:20240319T120000", "DTEND;TZID=Europe/Berlin:20240319T130000")
    cancelled = event("weekly", "RECURRENCE-ID;TZID=Europe/Berlin:20240325T100000",
                      "DTSTART;TZID=Europe/Berlin:20240325T100000", "DTEND;TZID=Europe/Berlin:20240325T110000",
                      "STATUS:CANCELLED")
    assert spans(calendar(series, moved, cancelled)) == [
        (utc(2024, 3, 4, 9), utc(2024, 3, 4, 10)),      # the first
        (utc(2024, 3, 13, 14), utc(2024, 3, 13, 15)),   # the RDATE (the 11th is excluded)
        (utc(2024, 3, 19, 11), utc(2024, 3, 19, 12)),   # the 18th moved to the 19th
        # the 25th (after Berlin's DST change) is cancelled
    ]


def test_transparent_override_frees_one_occurrence():
    series = event("daily", "DTSTART:20240304T090000Z", "DTEND:20240304T100000Z", "RRULE:FREQ=DAILY;COUNT=3")
    free = event("daily", "RECURRENCE-ID:20240305T090000Z", "DTSTART:20240305T090000Z",
                 "DTEND:20240305T100000Z", "TRANSP:TRANSPARENT")
    assert [s for s, _ in spans(calendar(series, free))] == [utc(2024, 3, 4, 9), utc(2024, 3, 6, 9)]


def test_infinite_rrule_is_expanded_only_inside_the_window():
    text = calendar(event("forever", "DTSTART:20200106T090000Z", "DTEND:20200106T100000Z",
                          "RRULE:FREQ=WEEKLY;BYDAY=MO"))
    assert [s for s, _ in spans(text)] == [utc(2024, 3, d, 9) for d in (4, 11, 18, 25)]


@pytest.mark.parametrize(("zone", "before", "after"), [
    ("America/New_York", [14, 14, 14, 13, 13], "2024-03-10"),  # EST -> EDT on Sunday 10 March
    ("Europe/Berlin", [8, 8, 8, 7, 7], "2024-03-31"),           # CET -> CEST on Sunday 31 March
])
def test_daily_meeting_through_a_dst_week_keeps_its_wall_clock(zone: str, before: list[int], after: str):
    first = datetime.fromisoformat(after) - timedelta(days=3)
    text = calendar(event("standup", f"DTSTART;TZID={zone}:{first:%Y%m%d}T090000",
                          f"DTEND;TZID={zone}:{first:%Y%m%d}T093000", "RRULE:FREQ=DAILY;COUNT=5"))
    got = spans(text, window=(utc(2024, 3, 1), utc(2024, 4, 10)))
    assert [s.hour for s, _ in got] == before
    assert all(e - s == timedelta(minutes=30) for s, e in got)
    assert [s.day for s, _ in got] == [(first + timedelta(days=i)).day for i in range(5)]


def test_fall_back_week_new_york():
    text = calendar(event("late", "DTSTART;TZID=America/New_York:20241102T230000",
                          "DTEND;TZID=America/New_York:20241103T020000"))
    # 23:00 EDT to 02:00 EST spans four real hours (01:00-02:00 happens twice).
    assert spans(text, window=(utc(2024, 11, 1), utc(2024, 11, 5))) == [(utc(2024, 11, 3, 3), utc(2024, 11, 3, 7))]


def test_a_wall_clock_time_of_the_repeated_hour_is_its_first_instant():
    # RFC 5545 (3.3.5): a local time that occurs twice means the first (EDT); 01:30 EDT to 02:30 EST is 2 hours.
    text = calendar(event("fold", "DTSTART;TZID=America/New_York:20241103T013000",
                          "DTEND;TZID=America/New_York:20241103T023000"))
    assert spans(text, window=(utc(2024, 11, 1), utc(2024, 11, 5))) == [(utc(2024, 11, 3, 5, 30),
                                                                         utc(2024, 11, 3, 7, 30))]


# --- Window, output, details -------------------------------------------------


def test_events_touching_the_window_edges_are_outside_it():
    text = calendar(event("before", "DTSTART:20240304T080000Z", "DTEND:20240304T090000Z"),
                    event("inside", "DTSTART:20240304T085959Z", "DTEND:20240304T090001Z"),
                    event("after", "DTSTART:20240304T100000Z", "DTEND:20240304T110000Z"))
    got = busy_from_ical(text, REF, utc(2024, 3, 4, 9), utc(2024, 3, 4, 10))
    assert [b.details.event_id for b in got if b.details] == ["inside"]


def test_intervals_are_utc_whole_events_and_sorted():
    text = calendar(event("b", "DTSTART;TZID=Asia/Kolkata:20240304T170000", "DTEND;TZID=Asia/Kolkata:20240304T183000"),
                    event("a", "DTSTART:20240304T060000Z", "DTEND:20240304T120000Z"))
    got = busy_from_ical(text, REF, utc(2024, 3, 4, 11), utc(2024, 3, 4, 12))
    assert [(b.start, b.end) for b in got] == [(utc(2024, 3, 4, 6), utc(2024, 3, 4, 12)),
                                                (utc(2024, 3, 4, 11, 30), utc(2024, 3, 4, 13))]
    assert all(b.start.tzinfo is UTC and b.resource_id == "ada" and b.owner == OWNER for b in got)


def test_details_only_when_allowed():
    text = calendar(event("secret", *ONE_HOUR, "LOCATION:Room 4", summary="Salary review"))
    [shown] = busy_from_ical(text, REF, *MARCH)
    assert shown.details == EventDetails(title="Salary review", event_id="secret", location="Room 4")
    hidden = CalendarRef("ada", "ada.ics", owner=OWNER, details_allowed=False)
    [busy] = busy_from_ical(text, hidden, *MARCH)
    assert busy.details is None and (busy.start, busy.end) == (utc(2024, 3, 4, 9), utc(2024, 3, 4, 10))


def test_vfreebusy_periods_block_by_fbtype_without_details():
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VFREEBUSY\r\n"
            "DTSTART:20240304T000000Z\r\nDTEND:20240305T000000Z\r\n"
            "FREEBUSY:20240304T090000Z/PT1H\r\n"
            "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240304T110000Z/20240304T113000Z\r\n"
            "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240304T130000Z/PT2H\r\n"
            "FREEBUSY;FBTYPE=FREE:20240304T160000Z/PT1H\r\n"
            "END:VFREEBUSY\r\nEND:VCALENDAR\r\n")
    got = busy_from_ical(text, REF, *MARCH)
    assert [(b.start.hour, b.end - b.start, b.kind, b.details) for b in got] == [
        (9, timedelta(hours=1), BusyKind.BUSY, None),
        (11, timedelta(minutes=30), BusyKind.TENTATIVE, None),
        (13, timedelta(hours=2), BusyKind.OUT_OF_OFFICE, None),
    ]


# --- Failing safe ---------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "<html><body>Please sign in</body></html>",
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20240304T090000Z\r\n",  # truncated download
    "",
    calendar(event("bad", "DTSTART:2024-03-04 09:00", "DTEND:20240304T100000Z")),
    calendar(event("bad", *ONE_HOUR, "RRULE:FREQ=SOMETIMES")),
])
def test_unreadable_calendar_raises_instead_of_looking_free(text: str):
    with pytest.raises(ProviderError) as error:
        busy_from_ical(text, REF, *MARCH)
    assert error.value.resource_id == "ada" and not error.value.transient


def test_unknown_owner_zone_names_the_field():
    with pytest.raises(ProviderError, match="time_zone"):
        busy_from_ical(calendar(event("x", *ONE_HOUR)), CalendarRef("r", "c", time_zone="Mars/Olympus"), *MARCH)


def test_naive_or_empty_window_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        busy_from_ical(calendar(), REF, datetime(2024, 3, 1), datetime(2024, 3, 2))
    with pytest.raises(ValueError, match="end"):
        busy_from_ical(calendar(), REF, MARCH[1], MARCH[0])


# --- The edges of the window in far-off zones -------------------------------------------

KIRITIMATI = CalendarRef("ada", "ada.ics", owner=OWNER, time_zone="Pacific/Kiritimati")  # UTC+14
NIUE = CalendarRef("ada", "ada.ics", owner=OWNER, time_zone="Pacific/Niue")  # UTC-11


@pytest.mark.parametrize(("ref", "lines", "window", "expected"), [
    # 9 March in Kiritimati is 8 March 10:00Z to 9 March 10:00Z: a window on 8 March (UTC) meets it.
    (KIRITIMATI, ("DTSTART;VALUE=DATE:20240309", "DTEND;VALUE=DATE:20240310"),
     (utc(2024, 3, 8, 9), utc(2024, 3, 8, 11)), [(utc(2024, 3, 8, 10), utc(2024, 3, 9, 10))]),
    # 7 March in Niue is 7 March 11:00Z to 8 March 11:00Z: a window on 8 March (UTC) meets it.
    (NIUE, ("DTSTART;VALUE=DATE:20240307", "DTEND;VALUE=DATE:20240308"),
     (utc(2024, 3, 8, 10), utc(2024, 3, 8, 12)), [(utc(2024, 3, 7, 11), utc(2024, 3, 8, 11))]),
    # Floating times are the owner's wall clock: 9 March 08:00 in Kiritimati is 8 March 18:00Z.
    (KIRITIMATI, ("DTSTART:20240309T080000", "DTEND:20240309T090000"),
     (utc(2024, 3, 8, 17), utc(2024, 3, 8, 19)), [(utc(2024, 3, 8, 18), utc(2024, 3, 8, 19))]),
    # 7 March 20:00 in Niue is 8 March 07:00Z.
    (NIUE, ("DTSTART:20240307T200000", "DTEND:20240307T210000"),
     (utc(2024, 3, 8, 6), utc(2024, 3, 8, 8)), [(utc(2024, 3, 8, 7), utc(2024, 3, 8, 8))]),
], ids=["all-day +14", "all-day -11", "floating +14", "floating -11"])
def test_events_whose_local_date_lies_outside_the_utc_window_still_block(ref, lines, window, expected):
    assert spans(calendar(event("edge", *lines)), ref, window) == expected


# --- Time zones: resolved, never guessed ------------------------------------------------

NEW_YORKER = CalendarRef("ny", "ny.ics", time_zone="America/New_York")


def berlin_nine(tzid: str, *extra: str) -> str:
    """A 09:00-10:00 meeting on Mon 4 March 2024 (08:00Z in Berlin) in ``tzid``."""
    return calendar(event("berlin", f"DTSTART;TZID={tzid}:20240304T090000", f"DTEND;TZID={tzid}:20240304T100000"),
                    *extra)


@pytest.mark.parametrize("tzid", [
    "Europe/Berlin",
    "W. Europe Standard Time",   # Windows name, through CLDR's mapping
    "europe/berlin",             # unique when case is ignored
    " Europe/Berlin",
])
def test_a_tzid_resolves_to_its_zone_not_the_owners(tzid: str):
    assert spans(berlin_nine(f'"{tzid}"' if tzid.startswith(" ") else tzid), NEW_YORKER) == [
        (utc(2024, 3, 4, 8), utc(2024, 3, 4, 9))]


@pytest.mark.parametrize("tzid", [
    '"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"',  # a Windows display name
    "Garbage/Zone",
    "/freeassociation.sourceforge.net/Europe/Berlin",  # a vendor prefix without its VTIMEZONE
    "localtime",  # the host's own zone file is no zone name
])
def test_an_unknown_tzid_makes_the_calendar_unreadable_naming_it(tzid: str):
    with pytest.raises(ProviderError) as error:
        busy_from_ical(berlin_nine(tzid), NEW_YORKER, *MARCH)
    assert f"unknown time zone {tzid.strip(chr(34))!r}" in error.value.reason
    assert error.value.reason.startswith("event #1: ") and not error.value.transient
    assert "'berlin'" not in error.value.reason  # the event's id is its owner's: named by its place


def custom_zone(offset: str) -> str:
    return ("BEGIN:VTIMEZONE\nTZID:Customized Time Zone\nBEGIN:STANDARD\nDTSTART:16010101T000000\n"
            f"TZOFFSETFROM:{offset}\nTZOFFSETTO:{offset}\nEND:STANDARD\nEND:VTIMEZONE")


def test_each_calendar_has_its_own_vtimezone_of_a_name():
    # Outlook names every custom zone "Customized Time Zone": the second calendar's
    # must not get the first's rules (icalendar caches them process-wide by TZID).
    tzid = '"Customized Time Zone"'
    plus_five = calendar(event("a", f"DTSTART;TZID={tzid}:20240304T090000", f"DTEND;TZID={tzid}:20240304T100000"),
                         header=custom_zone("+0500"))
    minus_three = calendar(event("b", f"DTSTART;TZID={tzid}:20240304T090000", f"DTEND;TZID={tzid}:20240304T100000"),
                           header=custom_zone("-0300"))
    assert spans(plus_five) == [(utc(2024, 3, 4, 4), utc(2024, 3, 4, 5))]
    assert spans(minus_three) == [(utc(2024, 3, 4, 12), utc(2024, 3, 4, 13))]


def test_a_known_zone_name_wins_over_a_damaged_vtimezone_of_that_name():
    # Radicale stores icalendar's America/New_York VTIMEZONE with one value per RDATE
    # list: read literally, New York would keep EST (UTC-5) all summer.
    damaged = ("BEGIN:VTIMEZONE\nTZID:America/New_York\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
               "TZOFFSETFROM:-0500\nTZOFFSETTO:-0500\nEND:STANDARD\nEND:VTIMEZONE")
    text = calendar(event("summer", "DTSTART;TZID=America/New_York:20240704T090000",
                          "DTEND;TZID=America/New_York:20240704T100000"), header=damaged)
    assert spans(text, window=(utc(2024, 7, 1), utc(2024, 8, 1))) == [(utc(2024, 7, 4, 13), utc(2024, 7, 4, 14))]


def test_x_wr_timezone_is_resolved_like_a_tzid():
    series = event("w", "DTSTART:20240325T080000Z", "DTEND:20240325T090000Z", "RRULE:FREQ=WEEKLY;COUNT=2")
    windows = calendar(series, header="X-WR-TIMEZONE:W. Europe Standard Time")
    assert [s for s, _ in spans(windows, window=(utc(2024, 3, 1), utc(2024, 4, 30)))] == [
        utc(2024, 3, 25, 8), utc(2024, 4, 1, 7)]
    with pytest.raises(ProviderError, match="X-WR-TIMEZONE: unknown time zone 'Mars/Olympus'"):
        busy_from_ical(calendar(series, header="X-WR-TIMEZONE:Mars/Olympus"), REF, *MARCH)


# --- Broken events: unreadable, named, never quoted ---------------------------------------

SECRET = "SUMMARY:Salary review with Jane"


@pytest.mark.parametrize(("lines", "problem"), [
    (("DTSTART:20240304T100000Z", "DTEND:20240304T090000Z"), "ends before it starts"),
    (("DTSTART;VALUE=DATE:20240305", "DTEND;VALUE=DATE:20240304"), "ends before it starts"),
    (("DTSTART:20240304T100000Z", "DURATION:-PT1H"), "negative DURATION"),
    (("DTSTART;VALUE=DATE:20240304T090000Z", "DTEND;VALUE=DATE:20240305"), "DTSTART has VALUE=DATE but a time"),
    (("DTSTART:20240304T090000Z", "DTEND:2024-03-04 10:00"), "DTEND is not a valid date or date-time"),
    (("DTSTART:20240304T090000Z", "DURATION:one hour"), "DURATION is not a valid"),
    (("DTSTART:20240304T090000Z", "DURATION:PT1H", "EXDATE:tomorrow"), "EXDATE is not a valid"),
    (("DTSTART:20240304T090000Z", "DURATION:PT1H", "RDATE;VALUE=PERIOD:20240305T100000Z/20240305T090000Z"),
     "RDATE period that ends before it starts"),
    (("DTSTART:20240304T090000Z", "DURATION:PT1H", "RRULE:FREQ=SOMETIMES"), "recurrence cannot be expanded"),
])
def test_a_broken_event_makes_the_calendar_unreadable_naming_event_and_problem(lines: tuple[str, ...],
                                                                                problem: str):
    text = calendar(event("fine", *ONE_HOUR), event("broken-1", *lines, SECRET))
    with pytest.raises(ProviderError) as error:
        busy_from_ical(text, REF, *MARCH)
    assert error.value.reason.startswith("event #2: ") and problem in error.value.reason
    assert "Salary" not in error.value.reason and "2024" not in error.value.reason  # no content
    assert "broken-1" not in error.value.reason  # nor its id: it reaches callers who do not own it
    assert not error.value.transient


def test_a_broken_event_without_uid_is_named_by_its_position_too():
    text = calendar(event("fine", *ONE_HOUR)).replace(
        "END:VCALENDAR", "BEGIN:VEVENT\r\nDTSTART:20240304T100000Z\r\nDTEND:20240304T090000Z\r\nEND:VEVENT\r\n"
        "END:VCALENDAR")
    with pytest.raises(ProviderError, match=r"event #2: ends before it starts"):
        busy_from_ical(text, REF, *MARCH)


def test_a_broken_override_breaks_the_calendar_too():
    series = event("s", "DTSTART:20240304T090000Z", "DTEND:20240304T100000Z", "RRULE:FREQ=DAILY;COUNT=3")
    override = event("s", "RECURRENCE-ID:20240305T090000Z", "DTSTART:20240305T120000Z", "DTEND:20240305T110000Z")
    with pytest.raises(ProviderError, match="event #2: ends before it starts"):  # the override
        busy_from_ical(calendar(series, override), REF, *MARCH)


def test_a_date_with_a_tzid_is_still_a_day():
    # RFC 5545 (3.2.19): a TZID does not apply to a DATE; icalendar would make it midnight in that zone.
    text = calendar(event("day", "DTSTART;TZID=Asia/Tokyo;VALUE=DATE:20240304",
                          "DTEND;TZID=Asia/Tokyo;VALUE=DATE:20240305"))
    assert spans(text, NEW_YORKER) == [(utc(2024, 3, 4, 5), utc(2024, 3, 5, 5))]  # New York's 4 March


def test_text_that_is_not_icalendar_is_refused_without_quoting_it():
    with pytest.raises(ProviderError) as error:
        busy_from_ical("BEGIN:VCALENDAR\r\nSUMMARY Salary review\r\nEND:VCALENDAR\r\n", REF, *MARCH)
    assert "Salary" not in error.value.reason
