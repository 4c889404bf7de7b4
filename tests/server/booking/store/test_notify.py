"""Invitations by email through a real SMTP server (aiosmtpd on loopback), and the
calendar side effects, driven by the outbox worker."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from providers.base import CalendarProvider, CalendarRef, EventSpec
from server.booking.notify import (
    Invitation,
    MailError,
    Method,
    SmtpMailer,
    SmtpSettings,
    build_calendar,
    calendar_handlers,
    email_handlers,
    event_uid,
    invitation_message,
)
from server.booking.store import BookingRecord, BookingStore, OutboxWorker, Person, TaskStatus
from solver.domain import BusyInterval
from tests.server.booking.store.helpers import SmtpSink, at, booking, free_port, member, room, start_smtp

SENDER = "bookings@example.org"
BERLIN = ZoneInfo("Europe/Berlin")


def _settings(port: int, **kw) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender=SENDER, timeout=5, **kw)


def _event(calendar: icalendar.Calendar) -> icalendar.Event:
    (event,) = calendar.events
    return event


def _attendees(event: icalendar.Event) -> set[str]:
    value = event.get("attendee")
    return {str(a) for a in (value if isinstance(value, list) else [value])}


def test_invitation_and_cancellation_reach_the_customer(store: BookingStore, smtp) -> None:
    sink, port = smtp
    new = booking(member("m1"), room("r1"), start=0, minutes=45, location="HQ 4.01",
                  customers=(Person("carla@example.com", "Carla Customer"), Person("dan@example.com")))
    b = store.create("r", "h", new).booking
    worker = OutboxWorker(store, email_handlers(SmtpMailer(_settings(port))))

    assert worker.run_once() == 1

    (mail,) = sink.received
    assert mail.mail_from == SENDER and sorted(mail.rcpt_tos) == ["carla@example.com", "dan@example.com"]
    assert mail.message["Subject"] == "Invitation: Panel interview"
    assert mail.message["Message-ID"] == f"<{b.id}.send_invite@convene>"
    assert "HQ 4.01" in mail.message.get_body(("plain",)).get_content()
    method, calendar = mail.calendar()
    event = _event(calendar)
    assert method == "REQUEST" and str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == event_uid(b.id) == f"{b.id}@convene"
    assert event.decoded("SEQUENCE") == 0
    assert str(event["ORGANIZER"]) == "mailto:organizer@example.org"
    assert event["ORGANIZER"].params["CN"] == "Olga Organizer"
    assert _attendees(event) == {"mailto:m1@example.org", "mailto:carla@example.com", "mailto:dan@example.com"}
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTSTART") == at(0) and event.decoded("DTEND") == at(45)
    assert event.decoded("DTSTART").tzinfo.key == "Europe/Berlin"
    assert event.decoded("DTSTART").hour == 10  # 09:00 UTC is 10:00 in Berlin in January
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert store.get(b.id).side_effects["send_invite"].result == "sent to 2"

    store.cancel(b.id)
    assert worker.run_once() == 1

    cancel_mail = sink.received[1]
    method, calendar = cancel_mail.calendar()
    event = _event(calendar)
    assert method == "CANCEL" and str(calendar["METHOD"]) == "CANCEL"
    assert str(event["UID"]) == f"{b.id}@convene"
    assert event.decoded("SEQUENCE") == 1 and str(event["STATUS"]) == "CANCELLED"
    assert cancel_mail.message["Subject"] == "Cancelled: Panel interview"
    assert len(sink.received) == 2


def test_an_invitation_still_waiting_when_the_booking_is_cancelled_is_never_sent(store: BookingStore,
                                                                                 clock) -> None:
    # The first REQUEST failed (SMTP down); the agent cancels before the retry. The
    # customer must get the CANCEL only, not a fresh REQUEST for a cancelled meeting.
    port = free_port()
    b = store.create("r", "h", booking(member("m1"))).booking
    worker = OutboxWorker(store, email_handlers(SmtpMailer(_settings(port))))
    assert worker.run_once() == 1
    assert store.get(b.id).side_effects["send_invite"].status is TaskStatus.PENDING  # will retry

    store.cancel(b.id)
    sink = SmtpSink()
    controller = start_smtp(sink, port=port)
    try:
        clock.advance(hours=1)
        worker.run_once()
        worker.run_once()
    finally:
        controller.stop()

    assert [mail.calendar()[0] for mail in sink.received] == ["CANCEL"]
    invite = store.get(b.id).side_effects["send_invite"]
    assert (invite.status, invite.result) == (TaskStatus.DONE, "not sent: cancelled first")


class _Refusing(SmtpSink):
    """An SMTP server that refuses every message for good (5xx)."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "550 5.1.1 mailbox unavailable"


def test_a_permanent_smtp_refusal_is_given_up_not_retried(store: BookingStore, clock) -> None:
    sink = _Refusing()
    controller = start_smtp(sink)
    try:
        b = store.create("r", "h", booking(member("m1"))).booking
        worker = OutboxWorker(store, email_handlers(SmtpMailer(_settings(int(controller.port)))))
        assert worker.run_once() == 1
        clock.advance(hours=6)
        assert worker.run_once() == 0
    finally:
        controller.stop()

    invite = store.get(b.id).side_effects["send_invite"]
    assert invite.status is TaskStatus.FAILED and invite.attempts == 1
    assert "550" in (invite.last_error or "")


def test_a_utc_meeting_is_written_in_utc_without_a_vtimezone() -> None:
    invitation = Invitation(uid="x@convene", sequence=0, title="t", start=at(0), end=at(30), time_zone="UTC",
                            organizer=Person("o@example.org"), attendees=(Person("a@example.org", "A"),),
                            stamp=at(-60))

    text = build_calendar(invitation, Method.REQUEST).decode()

    assert "DTSTART:20300107T090000Z" in text and "VTIMEZONE" not in text
    assert "ATTENDEE;CN=A;CUTYPE=INDIVIDUAL;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:a@" \
           "example.org" in text.replace("\r\n ", "")
    # Stable DTSTAMP: a resend is byte-identical.
    assert build_calendar(invitation, Method.REQUEST).decode() == text


def test_dst_zone_meeting_keeps_its_wall_clock() -> None:
    start = datetime(2030, 7, 1, 14, 0, tzinfo=BERLIN)  # CEST, UTC+2
    invitation = Invitation(uid="y@convene", sequence=2, title="t", start=start, end=start + timedelta(hours=1),
                            time_zone="Europe/Berlin", organizer=Person("o@example.org"), attendees=(),
                            stamp=start)

    calendar = icalendar.Calendar.from_ical(build_calendar(invitation, Method.CANCEL))

    event = _event(calendar)
    assert "DTSTART;TZID=Europe/Berlin:20300701T140000" in calendar.to_ical().decode()
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2030, 7, 1, 12, 0, tzinfo=UTC)
    assert event.decoded("SEQUENCE") == 2


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_smtp(tmp_path: Path):
    """A real SMTP server that requires STARTTLS and AUTH (convene / right-pw)."""
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"convene", b"right-pw")
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    sink = SmtpSink()
    controller = start_smtp(sink, tls_context=context, require_starttls=True, authenticator=authenticator,
                            auth_required=True, auth_require_tls=True)
    yield sink, int(controller.port), str(cert)
    controller.stop()


def _message() -> Invitation:
    return Invitation(uid="z@convene", sequence=0, title="t", start=at(0), end=at(30), time_zone="UTC",
                      organizer=Person("o@example.org"), attendees=(), stamp=at(0))


def test_starttls_and_login(tls_smtp) -> None:
    sink, port, ca = tls_smtp
    settings = SmtpSettings(host="127.0.0.1", port=port, starttls=True, username="convene", password="right-pw",
                            sender=SENDER, ca_file=ca, timeout=5)
    message = invitation_message(_message(), Method.REQUEST, sender=Person(SENDER),
                                 recipients=[Person("c@example.com")], message_id="<1@convene>",
                                 sent_at=at(0))

    assert SmtpMailer(settings).send(message) == []

    assert len(sink.received) == 1 and sink.received[0].rcpt_tos == ["c@example.com"]


def test_the_password_never_shows(tls_smtp, store: BookingStore, caplog) -> None:
    sink, port, ca = tls_smtp
    settings = SmtpSettings(host="127.0.0.1", port=port, starttls=True, username="convene",
                            password="wrong-S3CRET", sender=SENDER, ca_file=ca, timeout=5)
    b = store.create("r", "h", booking()).booking
    caplog.set_level(logging.DEBUG)

    OutboxWorker(store, email_handlers(SmtpMailer(settings))).run_once()

    effect = store.get(b.id).side_effects["send_invite"]
    assert effect.status is TaskStatus.PENDING and effect.attempts == 1  # retried later, not given up
    assert "login as 'convene' refused (535)" in effect.last_error
    assert "S3CRET" not in effect.last_error
    assert "S3CRET" not in caplog.text and "login as 'convene' refused" in caplog.text
    assert "S3CRET" not in repr(settings)
    assert sink.received == []


def test_no_starttls_when_the_server_requires_it_is_an_error(tls_smtp) -> None:
    _, port, _ = tls_smtp
    message = invitation_message(_message(), Method.REQUEST, sender=Person(SENDER),
                                 recipients=[Person("c@example.com")], message_id="<1@convene>", sent_at=at(0))

    with pytest.raises(MailError, match="530"):
        SmtpMailer(_settings(port)).send(message)


def test_unreachable_server_is_a_retryable_error() -> None:
    message = invitation_message(_message(), Method.REQUEST, sender=Person(SENDER),
                                 recipients=[Person("c@example.com")], message_id="<1@convene>", sent_at=at(0))

    with pytest.raises(MailError) as err:
        SmtpMailer(_settings(free_port())).send(message)

    assert not err.value.permanent and "127.0.0.1" in str(err.value)


def test_bad_smtp_settings_name_the_fields() -> None:
    with pytest.raises(ValueError) as err:
        SmtpSettings(host="", port=70000, sender="nobody", password="hunter2", timeout=0)

    for name in ("smtp.host", "smtp.port", "smtp.sender", "smtp.timeout", "smtp.username"):
        assert name in str(err.value)
    assert "hunter2" not in str(err.value)


class MemoryCalendar(CalendarProvider):
    """A calendar provider keeping events in a dict (this test checks the handlers, not a source)."""

    name = "memory"

    def __init__(self) -> None:
        self.events: dict[str, EventSpec] = {}
        self.cancelled: list[str] = []

    def busy(self, calendars: Sequence[CalendarRef], start: dt.datetime, end: dt.datetime) -> list[BusyInterval]:
        return []

    def create_event(self, calendar: CalendarRef, event: EventSpec) -> str:
        event_id = f"{calendar.calendar_id}/{event.uid}"
        self.events[event_id] = event  # by uid: a repeat replaces
        return event_id

    def update_event(self, calendar: CalendarRef, event_id: str, event: EventSpec) -> str:
        self.events[event_id] = event
        return event_id

    def cancel_event(self, calendar: CalendarRef, event_id: str) -> None:
        self.events.pop(event_id, None)
        self.cancelled.append(event_id)


def test_calendar_event_is_created_and_cancelled_by_its_uid(store: BookingStore) -> None:
    provider = MemoryCalendar()
    seen: list[BookingRecord] = []

    def resolve(b: BookingRecord) -> tuple[CalendarProvider, CalendarRef]:
        seen.append(b)
        return provider, CalendarRef("organizer", "cal-organizer", b.organizer.email)

    worker = OutboxWorker(store, calendar_handlers(resolve))
    b = store.create("r", "h", booking(member("m1"), room("r1"))).booking

    worker.run_once()

    event_id = f"cal-organizer/{b.id}@convene"
    spec = provider.events[event_id]
    assert (spec.uid, spec.start, spec.end, spec.time_zone) == (f"{b.id}@convene", b.start, b.end, "Europe/Berlin")
    assert spec.organizer_email == "organizer@example.org"
    assert spec.attendee_emails == ("m1@example.org", "carla@example.com")
    assert spec.customer_emails == ("carla@example.com",)  # Convene invites them (Graph leaves them out)
    assert store.get(b.id).side_effects["create_event"].result == event_id

    store.cancel(b.id)
    worker.run_once()

    assert provider.cancelled == [event_id] and provider.events == {}
    assert store.get(b.id).side_effects["cancel_event"].status is TaskStatus.DONE
