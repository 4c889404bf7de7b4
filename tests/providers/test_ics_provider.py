"""``IcsProvider``: files, folders and feeds (a real HTTP server on loopback), and bookings."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from providers.base import CalendarRef, EventSpec, ProviderError
from providers.deadline import reading_until
from providers.ics import IcsProvider
from solver.domain import BusyKind
from tests.paths import EXAMPLES
from tests.providers.icsdata import calendar, event
from tests.providers.loopback import Answer, LoopbackHttp, Request

WINDOW = (datetime(2024, 3, 4, tzinfo=UTC), datetime(2024, 3, 5, tzinfo=UTC))
MEETING = calendar(event("m1", "DTSTART:20240304T090000Z", "DTEND:20240304T100000Z"))
LUNCH = calendar(event("l1", "DTSTART:20240304T120000Z", "DTEND:20240304T130000Z", "STATUS:TENTATIVE"))


def ref(source: str | Path, resource: str = "ada", **kw) -> CalendarRef:
    return CalendarRef(resource, str(source), owner="ada@example.org", **kw)


def wait_until(condition: Callable[[], bool], seconds: float = 2.0) -> bool:
    stop = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > stop:
            return False
        time.sleep(0.02)
    return True


def ids(busy) -> list[str]:
    return [b.details.event_id for b in busy if b.details]


# --- Files and folders ------------------------------------------------------------


def test_reads_a_file(tmp_path: Path):
    (tmp_path / "ada.ics").write_text(MEETING)
    [busy] = IcsProvider().busy([ref(tmp_path / "ada.ics")], *WINDOW)
    assert (busy.resource_id, busy.start.hour, busy.kind) == ("ada", 9, BusyKind.BUSY)


def test_reads_every_ics_file_of_a_folder_and_nothing_else(tmp_path: Path):
    (tmp_path / "a.ics").write_text(MEETING)
    (tmp_path / "b.ics").write_text(LUNCH)
    (tmp_path / "notes.txt").write_text("not a calendar")
    busy = IcsProvider().busy([ref(tmp_path)], *WINDOW)
    assert ids(busy) == ["m1", "l1"]
    assert [b.kind for b in busy] == [BusyKind.BUSY, BusyKind.TENTATIVE]


def test_many_calendars_in_one_call_keep_their_resources(tmp_path: Path):
    (tmp_path / "a.ics").write_text(MEETING)
    (tmp_path / "b.ics").write_text(LUNCH)
    busy = IcsProvider().busy([ref(tmp_path / "a.ics", "ada"), ref(tmp_path / "b.ics", "bob")], *WINDOW)
    assert [(b.resource_id, b.start.hour) for b in busy] == [("ada", 9), ("bob", 12)]


def test_missing_file_is_an_error_not_a_free_calendar(tmp_path: Path):
    with pytest.raises(ProviderError, match="not found") as error:
        IcsProvider().busy([ref(tmp_path / "nope.ics")], *WINDOW)
    assert error.value.resource_id == "ada" and not error.value.transient


def test_a_changed_file_is_read_again(tmp_path: Path):
    path = tmp_path / "ada.ics"
    path.write_text(MEETING)
    provider = IcsProvider()
    assert ids(provider.busy([ref(path)], *WINDOW)) == ["m1"]
    path.write_text(LUNCH)
    later = path.stat().st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(later, later))
    assert ids(provider.busy([ref(path)], *WINDOW)) == ["l1"]


def test_an_unchanged_file_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "ada.ics"
    path.write_text(MEETING)
    parses: list[int] = []
    original = icalendar.Calendar.from_ical

    def counting(*args, **kwargs):
        parses.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(icalendar.Calendar, "from_ical", counting)
    provider = IcsProvider()
    for _ in range(3):
        assert ids(provider.busy([ref(path)], *WINDOW)) == ["m1"]
    assert len(parses) == 1


# --- Feeds over HTTP -------------------------------------------------------------------


def test_reads_a_feed_and_revalidates_it_with_its_etag(http_server: LoopbackHttp):
    def feed(request: Request) -> Answer:
        if request.headers.get("if-none-match") == '"v1"':
            return Answer(304)
        return Answer(200, MEETING, {"Content-Type": "text/calendar", "ETag": '"v1"'})

    http_server.route("GET", "/ada.ics", feed)
    provider = IcsProvider(timeout=5)
    for _ in range(2):
        assert ids(provider.busy([ref(f"{http_server.url}/ada.ics")], *WINDOW)) == ["m1"]
    assert [r.headers.get("if-none-match") for r in http_server.requests] == [None, '"v1"']


def test_webcal_scheme_is_fetched_over_https_url_is_kept_out_of_errors():
    provider = IcsProvider(timeout=2)
    with pytest.raises(ProviderError) as error:
        provider.busy([ref("webcal://127.0.0.1:1/private-s3cr3t/basic.ics")], *WINDOW)
    assert "https://127.0.0.1:1/" in str(error.value)
    assert "s3cr3t" not in str(error.value) and error.value.transient


@pytest.mark.parametrize(("answer", "transient", "retry_after", "words"), [
    (Answer(401, "no"), False, None, "HTTP 401"),
    (Answer(403, "no"), False, None, "HTTP 403"),
    (Answer(404, "no"), False, None, "HTTP 404"),
    (Answer(429, "slow down", {"Retry-After": "7"}), True, 7.0, "HTTP 429"),
    (Answer(503, "busy", {"Retry-After": "2"}), True, 2.0, "HTTP 503"),
    (Answer(500, "oops"), True, None, "HTTP 500"),
    (Answer(200, "<html>Sign in</html>", {"Content-Type": "text/html"}), False, None, "not valid iCalendar"),
])
def test_feed_errors_map_to_provider_errors(http_server: LoopbackHttp, answer: Answer, transient: bool,
                                            retry_after: float | None, words: str):
    http_server.route("GET", "/private-token123/ada.ics", answer)
    url = f"http://user:hunter2@127.0.0.1:{http_server.port}/private-token123/ada.ics"
    with pytest.raises(ProviderError, match=words) as error:
        IcsProvider(timeout=5).busy([ref(url)], *WINDOW)
    assert (error.value.transient, error.value.retry_after) == (transient, retry_after)
    assert "hunter2" not in str(error.value) and "token123" not in str(error.value)


def test_password_in_the_feed_url_is_sent_as_basic_auth(http_server: LoopbackHttp):
    http_server.route("GET", "/ada.ics", Answer(200, MEETING))
    url = f"http://ada%40example.org:p%3Ass@127.0.0.1:{http_server.port}/ada.ics"
    assert ids(IcsProvider().busy([ref(url)], *WINDOW)) == ["m1"]
    assert http_server.requests[0].headers["authorization"] == "Basic YWRhQGV4YW1wbGUub3JnOnA6c3M="


def test_a_hanging_feed_times_out(http_server: LoopbackHttp):
    http_server.route("GET", "/slow.ics", Answer(200, MEETING, delay=2.0))
    started = datetime.now(UTC)
    with pytest.raises(ProviderError, match="timeout") as error:
        IcsProvider(timeout=0.3).busy([ref(f"{http_server.url}/slow.ics")], *WINDOW)
    assert error.value.transient
    assert datetime.now(UTC) - started < timedelta(seconds=1.5)


def test_a_trickling_feed_is_given_up_at_its_total_deadline_and_its_connection_closed(http_server: LoopbackHttp):
    # A byte every 0.1 s: no socket operation ever waits long, only the whole read does.
    http_server.route("GET", "/trickle.ics", Answer(200, MEETING, trickle=0.1))
    began = time.monotonic()
    with pytest.raises(ProviderError) as error:
        IcsProvider(timeout=0.5).busy([ref(f"{http_server.url}/trickle.ics")], *WINDOW)
    took = time.monotonic() - began
    assert 0.45 < took < 0.8
    assert error.value.transient
    assert error.value.reason == f"GET http://127.0.0.1:{http_server.port}/…: timeout (no complete answer within 0.5 s)"
    # The read was cancelled, not left running: the server's next byte finds the connection closed.
    assert wait_until(lambda: http_server.hung_up == 1)


def test_the_read_deadline_cuts_the_feed_timeout(http_server: LoopbackHttp):
    http_server.route("GET", "/slow.ics", Answer(200, MEETING, delay=2.0))
    began = time.monotonic()
    with reading_until(began + 0.3), pytest.raises(ProviderError, match=r"within 0\.3 s"):
        IcsProvider(timeout=10).busy([ref(f"{http_server.url}/slow.ics")], *WINDOW)
    assert time.monotonic() - began < 0.6


def test_feed_url_is_read_only(http_server: LoopbackHttp):
    spec = EventSpec("u1", "Panel", *WINDOW)
    with pytest.raises(ProviderError, match="read-only"):
        IcsProvider().create_event(ref(f"{http_server.url}/ada.ics"), spec)


# --- Bookings -------------------------------------------------------------------------


def booking(uid: str = "booking-1@convene", hour: int = 14, title: str = "Panel interview") -> EventSpec:
    start = datetime(2024, 3, 4, hour, tzinfo=UTC)
    return EventSpec(uid, title, start, start + timedelta(hours=1), time_zone="Europe/Berlin",
                     organizer_email="ada@example.org", attendee_emails=("bob@example.org",),
                     location="Room 4", extra={"booking_id": "b-1"})


def test_create_event_adds_a_blocking_event_and_keeps_the_others(tmp_path: Path):
    path = tmp_path / "ada.ics"
    path.write_text(MEETING)
    provider = IcsProvider()
    assert provider.create_event(ref(path), booking()) == "booking-1@convene"
    busy = provider.busy([ref(path)], *WINDOW)
    assert [(b.details.event_id if b.details else "", b.start.hour) for b in busy] == [
        ("m1", 9), ("booking-1@convene", 14)]
    [vevent] = [c for c in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
                if c["UID"] == "booking-1@convene"]
    assert vevent["DTSTART"].dt == datetime(2024, 3, 4, 14, tzinfo=UTC)  # in UTC: no VTIMEZONE needed
    assert vevent["X-CONVENE-BOOKING-ID"] == "b-1"
    assert list(path.parent.glob(".*.tmp")) == []


def test_create_event_is_idempotent_by_uid(tmp_path: Path):
    path = tmp_path / "ada.ics"
    provider = IcsProvider()
    provider.create_event(ref(path), booking(hour=14))
    provider.create_event(ref(path), booking(hour=15, title="Moved"))
    vevents = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    assert [(str(v["SUMMARY"]), v["DTSTART"].dt.hour, v["SEQUENCE"]) for v in vevents] == [("Moved", 15, 1)]


def booking_vevents(path: Path, uid: str = "booking-1@convene") -> list[icalendar.Event]:
    return [c for c in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT") if c["UID"] == uid]


def test_update_event_moves_the_one_vevent_in_place_with_a_higher_sequence(tmp_path: Path):
    path = tmp_path / "ada.ics"
    path.write_text(calendar(event("m1", "DTSTART:20240304T090000Z", "DTEND:20240304T100000Z"),
                             event("l1", "DTSTART:20240304T120000Z", "DTEND:20240304T130000Z")))
    provider = IcsProvider()
    event_id = provider.create_event(ref(path), booking(hour=14))
    [before] = booking_vevents(path)
    moved = replace(booking(hour=16, title="Moved"), location="", sequence=1)
    assert provider.update_event(ref(path), event_id, moved) == event_id
    [after] = booking_vevents(path)
    assert after["DTSTART"].dt == datetime(2024, 3, 4, 16, tzinfo=UTC)
    assert after["DTEND"].dt == datetime(2024, 3, 4, 17, tzinfo=UTC)
    assert str(after["SUMMARY"]) == "Moved" and "LOCATION" not in after
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert [(b.details.event_id if b.details else "", b.start.hour) for b in provider.busy([ref(path)], *WINDOW)] == [
        ("m1", 9), ("l1", 12), ("booking-1@convene", 16)]


def test_update_event_writes_at_least_the_bookings_sequence_and_in_a_folder_its_own_file(tmp_path: Path):
    provider = IcsProvider()
    event_id = provider.create_event(ref(tmp_path), booking(hour=9))
    provider.update_event(ref(tmp_path), event_id, replace(booking(hour=11), sequence=3))
    [file] = tmp_path.glob("*.ics")
    [vevent] = booking_vevents(file)
    assert (vevent["DTSTART"].dt.hour, int(vevent["SEQUENCE"])) == (11, 3)
    provider.update_event(ref(tmp_path), event_id, replace(booking(hour=12), sequence=3))  # a repeat: still higher
    [vevent] = booking_vevents(file)
    assert (vevent["DTSTART"].dt.hour, int(vevent["SEQUENCE"])) == (12, 4)


def test_update_event_of_another_id_is_refused_naming_it(tmp_path: Path):
    with pytest.raises(ProviderError, match="event_id") as error:
        IcsProvider().update_event(ref(tmp_path / "ada.ics"), "someone-else", booking())
    assert not error.value.transient


def test_cancel_event_removes_it_and_is_idempotent(tmp_path: Path):
    path = tmp_path / "ada.ics"
    path.write_text(MEETING)
    provider = IcsProvider()
    provider.create_event(ref(path), booking())
    provider.cancel_event(ref(path), "booking-1@convene")
    provider.cancel_event(ref(path), "booking-1@convene")
    provider.cancel_event(ref(tmp_path / "never.ics"), "booking-1@convene")
    assert ids(provider.busy([ref(path)], *WINDOW)) == ["m1"]


def test_folder_calendar_holds_one_booking_per_file(tmp_path: Path):
    provider = IcsProvider()
    provider.create_event(ref(tmp_path), booking("a/b c"))
    provider.create_event(ref(tmp_path), booking("second", hour=16))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_b_c.ics", "second.ics"]
    assert ids(provider.busy([ref(tmp_path)], *WINDOW)) == ["a/b c", "second"]
    provider.cancel_event(ref(tmp_path), "a/b c")
    assert ids(provider.busy([ref(tmp_path)], *WINDOW)) == ["second"]


def test_concurrent_bookings_into_one_file_are_all_kept(tmp_path: Path):
    path = tmp_path / "ada.ics"
    provider = IcsProvider()
    threads = [threading.Thread(target=provider.create_event, args=(ref(path), booking(f"b{i}", hour=i % 20)))
               for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    uids = {str(v["UID"]) for v in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")}
    assert uids == {f"b{i}" for i in range(16)}


def test_bad_event_is_refused_with_the_field_named(tmp_path: Path):
    spec = EventSpec("u", "x", WINDOW[1], WINDOW[0])
    with pytest.raises(ProviderError, match="end"):
        IcsProvider().create_event(ref(tmp_path / "ada.ics"), spec)
    with pytest.raises(ProviderError, match="folder"):
        IcsProvider().create_event(ref(tmp_path / "no" / "such" / "ada.ics"), booking())


# --- The organizer's file keeps every line that is not the booking's -----------------------

USERS_FILE = (  # as a calendar app might write it: its own order, folding, a VTIMEZONE, an alarm with a UID
    b"BEGIN:VCALENDAR\r\nPRODID:-//Some App//EN\r\nVERSION:2.0\r\nX-WR-CALNAME:Ada\r\n"
    b"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    b"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
    b"END:VTIMEZONE\r\n"
    b"BEGIN:VEVENT\r\nSUMMARY:A very long summary that a calendar app folded onto a second line, as RFC\r\n"
    b"  5545 allows\r\nDTSTART;TZID=Europe/Berlin:20240304T090000\r\nDURATION:PT24H\r\nUID:m1\r\n"
    b"DTSTAMP:20240101T000000Z\r\nBEGIN:VALARM\r\nUID:booking-1@convene\r\nACTION:DISPLAY\r\n"
    b"TRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\n"
    b"END:VCALENDAR\r\n"
)


def test_a_booking_touches_only_its_own_lines_and_cancelling_restores_the_file(tmp_path: Path):
    path = tmp_path / "ada.ics"
    path.write_bytes(USERS_FILE)
    provider = IcsProvider()
    provider.create_event(ref(path), booking())
    written = path.read_bytes()
    start, end = written.rindex(b"BEGIN:VEVENT\r\n"), written.rindex(b"END:VEVENT\r\n") + 12  # the new one
    assert written[:start] + written[end:] == USERS_FILE  # every other byte where it was
    assert b"\n" not in written[start:end].replace(b"\r\n", b"")  # in the file's own line breaks
    assert ids(provider.busy([ref(path)], *WINDOW)) == ["m1", "booking-1@convene"]
    provider.create_event(ref(path), booking(hour=15, title="Moved"))  # a change replaces it in place
    moved = path.read_bytes()
    assert moved.count(b"UID:booking-1@convene") == 2 and b"SEQUENCE:1" in moved  # (one is the alarm's)
    provider.cancel_event(ref(path), "booking-1@convene")
    assert path.read_bytes() == USERS_FILE


def test_the_file_keeps_its_line_breaks_and_a_missing_last_one(tmp_path: Path):
    path = tmp_path / "ada.ics"
    original = MEETING.replace("\r\n", "\n").encode().rstrip(b"\n")  # LF only, no final line break
    path.write_bytes(original)
    provider = IcsProvider()
    provider.create_event(ref(path), booking())
    assert b"\r" not in path.read_bytes() and path.read_bytes().endswith(b"END:VCALENDAR")
    provider.cancel_event(ref(path), "booking-1@convene")
    assert path.read_bytes() == original


def test_events_without_a_vcalendar_get_the_booking_after_them(tmp_path: Path):
    path = tmp_path / "ada.ics"
    loose = b"BEGIN:VEVENT\r\nUID:m1\r\nDTSTART:20240304T090000Z\r\nDTEND:20240304T100000Z\r\nEND:VEVENT\r\n"
    path.write_bytes(loose)
    provider = IcsProvider()
    provider.create_event(ref(path), booking())
    assert path.read_bytes().startswith(loose)
    assert ids(provider.busy([ref(path)], *WINDOW)) == ["m1", "booking-1@convene"]
    provider.cancel_event(ref(path), "booking-1@convene")
    assert path.read_bytes() == loose


@pytest.mark.parametrize(("content", "words"), [
    (MEETING + MEETING, "holds 2 VCALENDARs"),
    ("<html>not a calendar</html>", "not an iCalendar file"),
])
def test_a_file_that_is_no_single_calendar_is_not_written(tmp_path: Path, content: str, words: str):
    path = tmp_path / "ada.ics"
    path.write_bytes(content.encode())
    with pytest.raises(ProviderError, match=words) as error:
        IcsProvider().create_event(ref(path), booking())
    assert not error.value.transient and path.read_bytes() == content.encode()


def test_booking_into_an_example_calendar_and_cancelling_leaves_it_as_it_was(tmp_path: Path):
    original = (EXAMPLES / "calendars" / "maria.ics").read_bytes()
    path = tmp_path / "maria.ics"
    path.write_bytes(original)
    provider = IcsProvider()
    provider.create_event(ref(path), booking())
    assert path.read_bytes() != original
    provider.cancel_event(ref(path), "booking-1@convene")
    assert path.read_bytes() == original


def test_an_unparsable_feed_is_named_by_line_without_quoting_it(http_server: LoopbackHttp):
    page = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n<p>Board meeting: merger with Initech</p>\r\nEND:VCALENDAR\r\n"
    http_server.route("GET", "/page.ics", Answer(200, page))
    with pytest.raises(ProviderError) as error:
        IcsProvider().busy([ref(f"{http_server.url}/page.ics")], *WINDOW)
    assert error.value.reason == "calendar data is not valid iCalendar (parse error at line 3)"
    assert not error.value.transient
