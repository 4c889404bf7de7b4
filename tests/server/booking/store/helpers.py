"""Small factories and a real SMTP sink for the store tests."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import icalendar
from aiosmtpd.controller import Controller

from server.booking.store import BookedSeat, NewBooking, Person, ResourceKind

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday
TENANT = "acme"


def at(minutes: float) -> datetime:
    """T0 plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)


def member(*ids: str, pool: str = "") -> BookedSeat:
    return BookedSeat(ResourceKind.MEMBER, ids, pool)


def room(room_id: str) -> BookedSeat:
    return BookedSeat(ResourceKind.ROOM, (room_id,))


def booking(*seats: BookedSeat, start: float = 0, minutes: float = 60, **kw: Any) -> NewBooking:
    """A booking of ``seats`` from T0+start for ``minutes``."""
    base = NewBooking(
        tenant=TENANT, start=at(start), end=at(start + minutes), time_zone="Europe/Berlin",
        seats=seats or (member("m1"),), title="Panel interview",
        organizer=Person("organizer@example.org", "Olga Organizer"),
        customers=(Person("carla@example.com", "Carla Customer"),),
        attendees=(Person("m1@example.org", "Max Member"),))
    return replace(base, **kw)


class FakeClock:
    """A settable clock for the store (holds expire, tasks fall due)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **kw: float) -> None:
        with self._lock:
            self.now += timedelta(**kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def calendar(self) -> tuple[str, icalendar.Calendar]:
        """The text/calendar part: its method parameter and the parsed calendar."""
        for part in self.message.walk():
            if part.get_content_type() == "text/calendar":
                return str(part.get_param("method")), icalendar.Calendar.from_ical(part.get_content())
        raise AssertionError("no text/calendar part")


@dataclass
class SmtpSink:
    """aiosmtpd handler keeping every message it accepts."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def start_smtp(sink: SmtpSink, port: int | None = None, **smtp_parameters: Any) -> Controller:
    controller = Controller(sink, hostname="127.0.0.1", port=port or free_port(), **smtp_parameters)
    controller.start()
    return controller
