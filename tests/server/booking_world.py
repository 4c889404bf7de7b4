"""A small team served for real: ICS calendars in a temporary folder, a booking
store (SQLite, or a fresh PostgreSQL schema), an SMTP server on a loopback port,
and the gRPC server with its outbox worker, exactly as ``convene serve`` builds it.

    def test_something(world: World) -> None:
        reply = world.stub.CreateBooking(world.create("r1", at(10), ["bob"], ["small"]), ...)

Fixtures (import them into a test module): ``database_url`` (both backends;
PostgreSQL skips with the reason when 127.0.0.1:5432 is not reachable) and
``world``. The team: alice (organizer; her calendar has "Board prep" Mon
2026-12-07 10:00-11:00 UTC), bob, carol and dan (pool ``engineers``), rooms
``small`` (2 seats) and ``large`` (8); templates ``panel``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import icalendar
import psycopg
import pytest
import yaml

from convene.v1 import booking_pb2, meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import Running, start_server
from server.booking.store import BookingStore, open_store
from server.config import Config, load_config
from tests.paths import REPO
from tests.server.booking.store.helpers import SmtpSink, free_port, start_smtp

OPS_KEY = "team-ops-key-0123456789"
ALICE_KEY = "team-alice-key-0123456789"
OTHER_KEY = "other-tenant-key-0123456789"
NOW = datetime(2026, 11, 30, tzinfo=UTC)
MONDAY = datetime(2026, 12, 7, tzinfo=UTC)
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

PENDING = (booking_pb2.SIDE_EFFECT_STATE_PENDING, booking_pb2.SIDE_EFFECT_STATE_RUNNING)


def at(hour: int, minute: int = 0, day: int = 7) -> datetime:
    """2026-12-<day> hour:minute UTC (the 7th is a Monday); minutes may run past 59."""
    return datetime(2026, 12, day, tzinfo=UTC) + timedelta(hours=hour, minutes=minute)


def key(api_key: str = OPS_KEY) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {api_key}"),)


def _calendar(*events: tuple[str, datetime, datetime, str]) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Convene tests//EN")
    calendar.add("version", "2.0")
    for uid, start, end, title in events:
        event = icalendar.Event()
        event.add("uid", uid)
        event.add("dtstamp", NOW)
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", title)
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def add_event(path: Path, uid: str, start: datetime, end: datetime, title: str) -> None:
    """Puts one more busy event into an .ics file (as another calendar client would)."""
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", NOW)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", title)
    calendar.add_component(event)
    path.write_bytes(calendar.to_ical())


def events_in(path: Path) -> list[icalendar.cal.Component]:
    return list(icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT"))


def write_config(folder: Path, database_url: str, smtp_port: int | None, **extra: Any) -> Path:
    """The team's config file in ``folder`` (calendars beside it); returns its path."""
    (folder / "calendars").mkdir(exist_ok=True)
    (folder / "calendars" / "alice.ics").write_bytes(
        _calendar(("board-prep", at(10), at(11), "Board prep")))
    for name in ("bob", "carol", "dan"):
        (folder / "calendars" / f"{name}.ics").write_bytes(_calendar())
    (folder / "calendars" / "large.ics").write_bytes(_calendar(("cleaning", at(9), at(10), "Cleaning")))
    hours = {"weekly": {"mon-fri": "09:00-17:00"}}
    members: list[dict[str, Any]] = [
        {"id": m, "name": m.title(), "email": f"{m}@team.example", "working_hours": hours,
         "calendar": {"kind": "ics", "path": f"calendars/{m}.ics"}}
        for m in ("alice", "bob", "carol", "dan")
    ]
    members.append({"id": "erin", "name": "Erin", "email": "erin@team.example", "working_hours": hours,
                    "daily_limit": 1})
    data: dict[str, Any] = {
        "server": {"plaintext": True},
        "database_url": database_url,
        "calendars": {"cache_seconds": 60},
        "outbox": {"poll_seconds": 0.05, "lease_seconds": 5, "retry_base_seconds": 0.2,
                   "retry_max_seconds": 1},
        "limits": {"max_horizon_days": 31},
        "api_keys": [
            {"key": OPS_KEY, "tenant": "team", "principal": "ops@team.example"},
            {"key": ALICE_KEY, "tenant": "team", "principal": "alice@team.example"},
            {"key": OTHER_KEY, "tenant": "other", "principal": "admin@other.example"},
        ],
        "tenants": {
            "team": {
                "members": members,
                "rooms": [{"id": "small", "name": "Small room", "capacity": 2},
                          {"id": "large", "name": "Large room", "capacity": 8,
                           "calendar": {"kind": "ics", "path": "calendars/large.ics"}}],
                "pools": [{"id": "engineers", "members": ["carol", "dan"]},
                          {"id": "rooms", "rooms": ["small", "large"]}],
                "templates": [{"id": "panel", "name": "Panel interview", "duration": "1h",
                               "seats": [{"label": "host", "member": ["alice", "bob"]},
                                         {"label": "engineer", "pool": "engineers"},
                                         {"label": "room", "room_pools": ["rooms"]}]}],
                "loops": [{"id": "onsite", "name": "Onsite loop", "max_gap": "15m",
                           "segments": [{"template": "panel", "label": "coding"},
                                        {"template": "panel", "label": "chat", "duration": "30m"}]}],
            },
            "other": {"members": [{"id": "zoe", "email": "zoe@other.example"}]},
        },
        **extra,
    }
    # Plaintext on loopback, whatever else the test puts in the server section.
    data["server"] = {"plaintext": True, **extra.get("server", {})}
    if smtp_port is not None:
        data["smtp"] = {"host": "127.0.0.1", "port": smtp_port, "starttls": False,
                        "sender": "bookings@team.example", "timeout_seconds": 5}
    path = folder / "convene.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def rules(*seats: meeting_pb2.Seat, minutes: int = 60, **fields: Any) -> meeting_pb2.MeetingRules:
    message = meeting_pb2.MeetingRules(seats=seats, **fields)
    message.duration.FromTimedelta(timedelta(minutes=minutes))
    return message


def member(*candidates: str) -> meeting_pb2.Seat:
    return meeting_pb2.Seat(member=meeting_pb2.MemberSeat(candidates=candidates))


def room(*rooms: str, pools: Sequence[str] = ()) -> meeting_pb2.Seat:
    return meeting_pb2.Seat(room=meeting_pb2.RoomSeat(room_ids=rooms, pool_ids=pools))


def create_request(request_id: str, start: datetime, choices: Sequence[Sequence[str]],
                   meeting: meeting_pb2.MeetingRules | meeting_pb2.TemplateRef | None = None,
                   customers: Sequence[tuple[str, str]] = (("Carla Customer", "carla@customer.example"),),
                   **fields: Any) -> api.CreateBookingRequest:
    """A CreateBooking request; by default a 1 h meeting with one member seat per choice
    (rooms by id: ``small``/``large``)."""
    if meeting is None:
        meeting = rules(*(room(*c) if c[0] in ("small", "large") else member(*c) for c in choices))
    which = "template" if isinstance(meeting, meeting_pb2.TemplateRef) else "rules"
    request = api.CreateBookingRequest(
        request_id=request_id, time_zone=fields.pop("time_zone", "Europe/Berlin"), **{which: meeting},
        seats=[booking_pb2.SeatChoice(resource_ids=c) for c in choices],
        customers=[booking_pb2.Person(name=n, email=e) for n, e in customers],
        title=fields.pop("title", "Panel interview"), **fields)
    request.start.FromDatetime(start)
    request.now.FromDatetime(NOW)
    return request


@dataclass
class World:
    """A running server over the team, its folder, database, mail sink and a stub."""

    folder: Path
    config: Config
    database_url: str
    running: Running
    store: BookingStore  # a second handle on the same database, for looking in from the test
    sink: SmtpSink
    channel: grpc.Channel
    stub: api_grpc.SchedulingServiceStub

    def calendar(self, name: str) -> Path:
        return self.folder / "calendars" / f"{name}.ics"

    def settled(self, booking_id: str, timeout: float = 10.0) -> booking_pb2.Booking:
        """The booking once no side effect is pending or running (the outbox worker is done)."""
        deadline = time.monotonic() + timeout
        while True:
            booking: booking_pb2.Booking = self.stub.GetBooking(api.GetBookingRequest(booking_id=booking_id),
                                                                metadata=key(), timeout=5).booking
            if all(e.state not in PENDING for e in booking.side_effects) or time.monotonic() > deadline:
                return booking
            time.sleep(0.05)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --- Fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_admin() -> Iterator[psycopg.Connection]:
    try:
        connection = psycopg.connect(PG_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 (database 'test'): {str(exc).strip()}")
    connection.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
    yield connection
    connection.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bookings.sqlite3'}"
        return
    admin: psycopg.Connection = request.getfixturevalue("pg_admin")
    schema = f"tb_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def smtp_sink() -> Iterator[tuple[SmtpSink, int]]:
    sink = SmtpSink()
    controller = start_smtp(sink)
    yield sink, int(controller.port)
    controller.stop()


def serve_world(folder: Path, database_url: str, sink: SmtpSink, smtp_port: int | None,
                store: BookingStore | None = None, **extra: Any) -> World:
    config = load_config(write_config(folder, database_url, smtp_port, **extra))
    running = start_server(config, "127.0.0.1:0", clock=lambda: NOW, store=store)
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    return World(folder, config, database_url, running, open_store(database_url), sink, channel,
                 api_grpc.SchedulingServiceStub(channel))


@pytest.fixture
def world(tmp_path: Path, database_url: str, smtp_sink: tuple[SmtpSink, int]) -> Iterator[World]:
    sink, port = smtp_sink
    served = serve_world(tmp_path, database_url, sink, port)
    try:
        yield served
    finally:
        close_world(served)


def close_world(world: World) -> None:
    world.channel.close()
    world.running.stop(None)
    world.store.close()


def free_loopback_port() -> int:
    return free_port()


@contextmanager
def convene_serve(config: Path, database_url: str, *, entry: Sequence[str] = ("-m", "server.cli")
                  ) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``convene serve`` in a child process (``entry``: the module that runs the CLI, e.g. a
    wrapper that kills it at a chosen moment): the process and the port it reported."""
    process = subprocess.Popen(
        [sys.executable, *entry, "serve", "--config", str(config), "--database", database_url,
         "--address", "127.0.0.1:0"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    found = threading.Event()
    port: list[int] = []
    log: list[str] = []

    def drain() -> None:  # keep reading, or the child blocks on a full pipe
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            match = re.search(r"serving on port (\d+)", line)
            if match:
                port.append(int(match[1]))
                found.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        assert found.wait(30), "the server did not report its port:\n" + "".join(log)
        yield process, port[0]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
