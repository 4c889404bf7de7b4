"""The side effects of changing a booking (SCHEDULING.md, "Changing a booking"), handler by
handler, on booking snapshots built here as a store would hand them to the outbox worker:
update_event moves the organizer's event in place (a real .ics file behind a real busy
cache), send_update and send_dropped reach a real SMTP server (aiosmtpd on loopback) and
their iCalendar parts are read back with icalendar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from providers.base import CalendarRef
from providers.cache import BusyCache
from providers.graph import GraphProvider
from providers.ics import IcsProvider
from server.booking.notify import NotYet
from server.booking.side_effects import EMAIL_DISABLED, booking_handlers
from server.booking.store import (
    BookedSeat,
    BookingRecord,
    BookingStatus,
    Handler,
    OutboxTask,
    PermanentTaskError,
    Person,
    ResourceKind,
    SideEffect,
    Skipped,
    TaskKind,
    TaskStatus,
)
from server.calendars.busy import ProviderCalendars
from server.config import SmtpConfig
from server.tenants import Tenant
from solver.domain import Directory, Member
from tests.server.booking.store.helpers import Received, SmtpSink, start_smtp

BOOKED_AT = datetime(2026, 11, 30, 8, tzinfo=UTC)
MOVED_AT = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
START = datetime(2026, 12, 7, 10, tzinfo=UTC)
BOARD_PREP = (datetime(2026, 12, 7, 8, tzinfo=UTC), datetime(2026, 12, 7, 9, tzinfo=UTC))
NEW_START = datetime(2026, 12, 8, 13, tzinfo=UTC)
WEEK = (datetime(2026, 12, 7, tzinfo=UTC), datetime(2026, 12, 14, tzinfo=UTC))
ALICE = Person("alice@team.example", "Alice")
BOB = Person("bob@team.example", "Bob")
CAROL = Person("carol@team.example", "Carol")
CARLA = Person("carla@customer.example", "Carla Customer")


def done(kind: TaskKind, result: str = "") -> SideEffect:
    return SideEffect(kind.value, TaskStatus.DONE, attempts=1, result=result)


def snapshot(**changes: object) -> BookingRecord:
    """Booking bk_1 as booked: alice (organizer) and bob on the panel, Carla the customer."""
    record = BookingRecord(
        id="bk_1", tenant="team", request_id="r1", body_hash="h", status=BookingStatus.CONFIRMED,
        start=START, end=START + timedelta(hours=1), time_zone="Europe/Berlin",
        seats=(BookedSeat(ResourceKind.MEMBER, ("alice",)), BookedSeat(ResourceKind.MEMBER, ("bob",))),
        title="Panel interview", organizer=ALICE, customers=(CARLA,), attendees=(ALICE, BOB),
        buffer_before=timedelta(0), buffer_after=timedelta(0), description="", location="Room 4",
        allow_member_conflicts=False, sequence=0, created_at=BOOKED_AT)
    return replace(record, **changes)  # type: ignore[arg-type]


def moved(**changes: object) -> BookingRecord:
    """bk_1 after a reschedule that replaced bob by carol: a day later, SEQUENCE 1, version 2."""
    change: dict[str, object] = {
        "start": NEW_START, "end": NEW_START + timedelta(hours=1), "attendees": (ALICE, CAROL),
        "seats": (BookedSeat(ResourceKind.MEMBER, ("alice",)), BookedSeat(ResourceKind.MEMBER, ("carol",))),
        "sequence": 1, "version": 2, "updated_at": MOVED_AT}
    return snapshot(**{**change, **changes})


def task(kind: TaskKind, booking: BookingRecord, detail: object = "") -> OutboxTask:
    text = detail if isinstance(detail, str) else json.dumps(detail)
    return OutboxTask(id=7, booking_id=booking.id, kind=kind.value, attempt=1, claim_token="t", booking=booking,
                      detail=text)


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    sink = SmtpSink()
    controller = start_smtp(sink)
    yield sink, int(controller.port)
    controller.stop()


@pytest.fixture
def organizer_file(tmp_path: Path) -> Path:
    path = tmp_path / "alice.ics"
    path.write_bytes(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Convene tests//EN\r\nBEGIN:VEVENT\r\n"
                     b"UID:board-prep\r\nDTSTAMP:20261130T000000Z\r\nDTSTART:20261207T080000Z\r\n"
                     b"DTEND:20261207T090000Z\r\nSUMMARY:Board prep\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    return path


def team(calendar_file: Path | None = None, *, writable: bool = True) -> tuple[dict[str, Tenant], ProviderCalendars]:
    """The tenant: alice with her .ics file (read through a cache that outlives the test), bob, carol."""
    members = [Member(n, n.title(), f"{n}@team.example") for n in ("alice", "bob", "carol")]
    calendars = {} if calendar_file is None else {
        "alice": (IcsProvider(), CalendarRef("alice", str(calendar_file), "alice@team.example", writable=writable))}
    busy = ProviderCalendars(calendars, BusyCache(ttl=3600))
    return {"team": Tenant("team", Directory.of(members), calendars=busy)}, busy


def mailing(port: int) -> dict[str, Handler]:
    config = SmtpConfig(host="127.0.0.1", port=port, starttls=False, sender="bookings@team.example",
                        timeout_seconds=5)
    return booking_handlers(team()[0], config)


def vevent_of(mail: Received) -> tuple[str, icalendar.Calendar, icalendar.Event]:
    method, calendar = mail.calendar()
    (event,) = calendar.walk("VEVENT")
    return method, calendar, event


def attendees(event: icalendar.Event) -> set[str]:
    found = event.get("ATTENDEE")
    return {str(a) for a in (found if isinstance(found, list) else [found])}


# --- send_update ------------------------------------------------------------------------------


def test_the_customer_gets_the_same_uid_with_a_higher_sequence_at_the_new_time(smtp: tuple[SmtpSink, int]) -> None:
    sink, port = smtp
    handlers = mailing(port)
    assert handlers["send_invite"](task(TaskKind.SEND_INVITE, snapshot())) == "sent to 1"
    after = moved(side_effects={"send_invite": done(TaskKind.SEND_INVITE, "sent to 1")})
    assert handlers["send_update"](task(TaskKind.SEND_UPDATE, after)) == "sent to 1"

    invite, update = sink.received
    assert update.rcpt_tos == ["carla@customer.example"]
    first_method, _, first = vevent_of(invite)
    method, calendar, event = vevent_of(update)
    assert first_method == method == "REQUEST" and str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == str(first["UID"]) == "bk_1@convene"
    assert event.decoded("SEQUENCE") == 1 > first.decoded("SEQUENCE") == 0
    assert event.decoded("DTSTART") == NEW_START and event.decoded("DTEND") == NEW_START + timedelta(hours=1)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTSTAMP") == MOVED_AT and first.decoded("DTSTAMP") == BOOKED_AT
    assert str(event["STATUS"]) == "CONFIRMED"
    assert attendees(event) == {"mailto:alice@team.example", "mailto:carol@team.example",
                                "mailto:carla@customer.example"}  # bob is off the panel
    assert update.message["Subject"] == "Updated: Panel interview"
    assert "has changed" in update.message.get_body(("plain",)).get_content()
    assert update.message["Message-ID"] == "<bk_1.send_update.1@convene>" != invite.message["Message-ID"]


def test_message_ids_are_stable_per_booking_kind_and_sequence(smtp: tuple[SmtpSink, int]) -> None:
    sink, port = smtp
    handlers = mailing(port)
    after = moved(side_effects={"send_invite": done(TaskKind.SEND_INVITE)})
    handlers["send_update"](task(TaskKind.SEND_UPDATE, after))
    handlers["send_update"](task(TaskKind.SEND_UPDATE, after))  # the outbox's repeat: the same message
    handlers["send_update"](task(TaskKind.SEND_UPDATE, replace(after, sequence=2, updated_at=MOVED_AT
                                                               + timedelta(hours=1))))  # the next change
    ids = [m.message["Message-ID"] for m in sink.received]
    assert ids == ["<bk_1.send_update.1@convene>", "<bk_1.send_update.1@convene>", "<bk_1.send_update.2@convene>"]
    assert sink.received[0].calendar()[1].to_ical() == sink.received[1].calendar()[1].to_ical()
    assert vevent_of(sink.received[2])[2].decoded("SEQUENCE") == 2


def test_send_update_waits_for_the_invitation_and_is_skipped_when_it_cannot_help(
        smtp: tuple[SmtpSink, int]) -> None:
    sink, port = smtp
    handlers = mailing(port)
    for waiting in (TaskStatus.PENDING, TaskStatus.RUNNING):
        invite = SideEffect("send_invite", waiting, attempts=1, last_error="SMTP down")
        with pytest.raises(NotYet, match="send_invite"):  # an ordinary failure: retried with backoff
            handlers["send_update"](task(TaskKind.SEND_UPDATE, moved(side_effects={"send_invite": invite})))
    cancelled = moved(status=BookingStatus.CANCELLED, cancelled_at=MOVED_AT + timedelta(hours=2), sequence=2)
    result = handlers["send_update"](task(TaskKind.SEND_UPDATE, cancelled))
    assert isinstance(result, Skipped) and "cancelled" in result.reason
    result = handlers["send_update"](task(TaskKind.SEND_UPDATE, moved(customers=())))
    assert result == Skipped("no customers to tell")
    assert sink.received == []


# --- send_dropped -----------------------------------------------------------------------------


def test_the_dropped_member_gets_a_cancel_naming_only_them(smtp: tuple[SmtpSink, int]) -> None:
    sink, port = smtp
    handlers = mailing(port)
    # carol is in the detail too, but back on the booking: she is not told she was dropped.
    detail = [{"email": "bob@team.example", "name": "Bob"}, {"email": "carol@team.example", "name": "Carol"}]
    assert handlers["send_dropped"](task(TaskKind.SEND_DROPPED, moved(), detail)) == "sent to 1"

    (mail,) = sink.received
    assert mail.rcpt_tos == ["bob@team.example"]
    method, calendar, event = vevent_of(mail)
    assert method == "CANCEL" and str(calendar["METHOD"]) == "CANCEL"
    assert str(event["UID"]) == "bk_1@convene" and event.decoded("SEQUENCE") == 1
    assert str(event["STATUS"]) == "CANCELLED"
    assert attendees(event) == {"mailto:bob@team.example"}
    assert event["ATTENDEE"].params["CN"] == "Bob"
    assert str(event["ORGANIZER"]) == "mailto:alice@team.example"
    assert event.decoded("DTSTAMP") == MOVED_AT
    assert mail.message["Message-ID"] == "<bk_1.send_dropped.1@convene>"
    assert mail.message["Subject"] == "Removed: Panel interview"


def test_send_dropped_with_nobody_to_tell_is_skipped_and_a_bad_detail_fails_for_good(
        smtp: tuple[SmtpSink, int]) -> None:
    sink, port = smtp
    handlers = mailing(port)
    assert handlers["send_dropped"](task(TaskKind.SEND_DROPPED, moved(), [])) == Skipped("nobody was dropped")
    back = [{"email": "Carol@Team.example", "name": "Carol"}]  # back on the booking (any case)
    assert handlers["send_dropped"](task(TaskKind.SEND_DROPPED, moved(), back)) == Skipped("nobody was dropped")
    for bad in ("{not json", '{"email": "bob@team.example"}', '[{"name": "Bob"}]'):
        with pytest.raises(PermanentTaskError, match="detail"):
            handlers["send_dropped"](task(TaskKind.SEND_DROPPED, moved(), bad))
    assert sink.received == []


def test_with_an_outlook_organizer_the_dropped_members_are_left_to_outlook(smtp: tuple[SmtpSink, int]) -> None:
    # Outlook mails the attendees of the event a PATCH changed (the panel) a cancellation itself:
    # Convene tells only the dropped customers, so nobody gets two.
    sink, port = smtp
    outlook = GraphProvider(lambda: "token", base_url="http://127.0.0.1:9/v1.0/")
    tenants, _ = team()
    tenants["team"] = replace(tenants["team"], calendars=ProviderCalendars(
        {"alice": (outlook, CalendarRef("alice", "alice@team.example", "alice@team.example"))}))
    config = SmtpConfig(host="127.0.0.1", port=port, starttls=False, sender="bookings@team.example")
    handlers = booking_handlers(tenants, config)
    detail = [{"email": "bob@team.example", "name": "Bob"}, {"email": "dora@customer.example", "name": "Dora"}]
    assert handlers["send_dropped"](task(TaskKind.SEND_DROPPED, moved(), detail)) == "sent to 1"
    (mail,) = sink.received
    assert mail.rcpt_tos == ["dora@customer.example"]
    assert attendees(vevent_of(mail)[2]) == {"mailto:dora@customer.example"}
    result = handlers["send_dropped"](task(TaskKind.SEND_DROPPED, moved(), detail[:1]))
    assert isinstance(result, Skipped) and "tells the dropped people itself" in result.reason
    assert len(sink.received) == 1


def test_without_smtp_both_mails_are_skipped_as_the_invitation_is() -> None:
    handlers = booking_handlers(team()[0], None)
    after = moved(side_effects={"send_invite": done(TaskKind.SEND_INVITE)})
    assert handlers["send_invite"](task(TaskKind.SEND_INVITE, snapshot())) == EMAIL_DISABLED
    assert handlers["send_update"](task(TaskKind.SEND_UPDATE, after)) == EMAIL_DISABLED
    assert handlers["send_dropped"](task(TaskKind.SEND_DROPPED, after, [{"email": "bob@team.example"}])) \
        == EMAIL_DISABLED


# --- update_event -----------------------------------------------------------------------------


def booking_vevents(path: Path) -> list[icalendar.Event]:
    return [e for e in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
            if str(e["UID"]) == "bk_1@convene"]


def test_update_event_moves_the_organizers_event_in_place_and_the_busy_cache_sees_it(organizer_file: Path) -> None:
    tenants, busy = team(organizer_file)
    handlers = booking_handlers(tenants, None)
    event_id = handlers["create_event"](task(TaskKind.CREATE_EVENT, snapshot()))
    assert event_id == "bk_1@convene"
    [created] = booking_vevents(organizer_file)
    assert [(b.start, b.end) for b in busy.busy(["alice"], *WEEK).busy] == [  # read: now in the cache
        BOARD_PREP, (START, START + timedelta(hours=1))]

    after = moved(side_effects={"create_event": done(TaskKind.CREATE_EVENT, str(event_id))})
    assert handlers["update_event"](task(TaskKind.UPDATE_EVENT, after)) == event_id

    [updated] = booking_vevents(organizer_file)  # one VEVENT of the booking's UID, at the new time
    assert updated.decoded("DTSTART") == NEW_START and updated.decoded("DTEND") == NEW_START + timedelta(hours=1)
    assert updated.decoded("SEQUENCE") > created.decoded("SEQUENCE")
    assert "mailto:carol@team.example" in attendees(updated) and "mailto:bob@team.example" not in attendees(updated)
    assert "board-prep" in [str(e["UID"]) for e in icalendar.Calendar.from_ical(
        organizer_file.read_bytes()).walk("VEVENT")]
    # The cache forgot alice: her next read finds the event where it is now, not where it was.
    assert [(b.start, b.end) for b in busy.busy(["alice"], *WEEK).busy] == [
        BOARD_PREP, (NEW_START, NEW_START + timedelta(hours=1))]


def test_update_event_is_retried_while_create_event_has_not_run(organizer_file: Path) -> None:
    handlers = booking_handlers(team(organizer_file)[0], None)
    for waiting in (TaskStatus.PENDING, TaskStatus.RUNNING):
        created = SideEffect("create_event", waiting, attempts=1, last_error="calendar unreachable")
        with pytest.raises(NotYet, match="create_event") as error:
            handlers["update_event"](task(TaskKind.UPDATE_EVENT, moved(side_effects={"create_event": created})))
        assert not isinstance(error.value, PermanentTaskError)  # retried with backoff, not given up
    assert booking_vevents(organizer_file) == []  # nothing written before the event exists


@pytest.mark.parametrize(("created", "words"), [
    (SideEffect("create_event", TaskStatus.SKIPPED, result="the organizer has no calendar"), "no event was made"),
    (SideEffect("create_event", TaskStatus.FAILED, attempts=3, last_error="HTTP 403"), "create_event failed"),
    (None, "no event was made"),
])
def test_update_event_is_skipped_when_no_event_was_made(organizer_file: Path, created: SideEffect | None,
                                                        words: str) -> None:
    handlers = booking_handlers(team(organizer_file)[0], None)
    effects = {} if created is None else {"create_event": created}
    result = handlers["update_event"](task(TaskKind.UPDATE_EVENT, moved(side_effects=effects)))
    assert isinstance(result, Skipped) and words in result.reason
    assert booking_vevents(organizer_file) == []


def test_update_event_of_a_cancelled_booking_is_skipped_and_writes_nothing(organizer_file: Path) -> None:
    handlers = booking_handlers(team(organizer_file)[0], None)
    event_id = str(handlers["create_event"](task(TaskKind.CREATE_EVENT, snapshot())))
    before = organizer_file.read_bytes()
    cancelled = moved(status=BookingStatus.CANCELLED, cancelled_at=MOVED_AT, sequence=2,
                      side_effects={"create_event": done(TaskKind.CREATE_EVENT, event_id)})
    result = handlers["update_event"](task(TaskKind.UPDATE_EVENT, cancelled))
    assert isinstance(result, Skipped) and "cancelled" in result.reason
    assert organizer_file.read_bytes() == before


def test_update_event_is_skipped_when_the_organizers_calendar_is_gone_or_read_only(organizer_file: Path) -> None:
    after = moved(side_effects={"create_event": done(TaskKind.CREATE_EVENT, "bk_1@convene")})
    result = booking_handlers(team(None)[0], None)["update_event"](task(TaskKind.UPDATE_EVENT, after))
    assert result == Skipped("the organizer has no calendar any more")
    result = booking_handlers(team(organizer_file, writable=False)[0], None)["update_event"](
        task(TaskKind.UPDATE_EVENT, after))
    assert isinstance(result, Skipped) and "read only" in result.reason
    assert booking_vevents(organizer_file) == []
