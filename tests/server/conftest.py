"""Real gRPC servers on free loopback ports, and the stubs to call them.

``team`` is a small in-memory tenant whose busy intervals the tests know by
heart; ``server`` serves it (and a second tenant, for isolation) through
``create_server`` exactly as ``convene serve`` would, on 127.0.0.1:0.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import grpc
import pytest

from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server
from server.calendars.busy import MemoryCalendars
from server.config import Config, parse_config
from server.tenants import Tenant
from solver import (
    BusyInterval,
    BusyKind,
    Directory,
    EventDetails,
    Member,
    Pool,
    Room,
    WorkingHours,
)

OPS_KEY = "team-ops-key-0123456789"
ALICE_KEY = "team-alice-key-0123456789"
OTHER_KEY = "other-tenant-key-0123456789"
NOW = datetime(2026, 11, 30, tzinfo=UTC)
MONDAY = datetime(2026, 12, 7, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


HOURS = WorkingHours.weekdays(time(9), time(17), "UTC")
TEAM = Directory.of(
    [
        Member("alice", "Alice", "alice@team.example", "UTC", HOURS),
        Member("bob", "Bob", "bob@team.example", "UTC", HOURS),
        Member("carol", "Carol", "carol@team.example", "Europe/Berlin",
               WorkingHours.weekdays(time(9), time(17), "Europe/Berlin")),
        Member("dan", "Dan", "dan@team.example", "UTC", HOURS),
        Member("erin", "Erin", "erin@team.example", "UTC", HOURS),
    ],
    [Room("small", "Small", 2, "UTC"), Room("large", "Large", 8, "UTC")],
    [Pool("engineers", ("carol", "dan", "erin")), Pool("rooms", ("small", "large"))],
)
# Alice owns her calendar; the others' calendars are owned by themselves.
TEAM_BUSY = (
    BusyInterval("alice", utc(2026, 12, 7, 10), utc(2026, 12, 7, 11), BusyKind.BUSY, "alice@team.example",
                 EventDetails("Board prep", "evt-1", "Room 5")),
    BusyInterval("alice", utc(2026, 12, 7, 14), utc(2026, 12, 7, 14, 30), BusyKind.TENTATIVE,
                 "alice@team.example", EventDetails("Maybe lunch talk", "evt-2", "")),
    BusyInterval("bob", utc(2026, 12, 7, 9), utc(2026, 12, 7, 12), BusyKind.OUT_OF_OFFICE, "bob@team.example",
                 EventDetails("Dentist", "evt-3", "Downtown")),
    BusyInterval("dan", utc(2026, 12, 7, 13), utc(2026, 12, 7, 15), BusyKind.BUSY, "dan@team.example",
                 EventDetails("Interview", "evt-4", "")),
    BusyInterval("large", utc(2026, 12, 7, 9), utc(2026, 12, 7, 10), BusyKind.BUSY, ""),
)
OTHER = Directory.of([Member("zoe", "Zoe", "zoe@other.example", "UTC", HOURS)])

CONFIG = {
    "limits": {"max_seats": 6, "max_horizon_days": 31, "max_results": 500},
    "api_keys": [
        {"key": OPS_KEY, "tenant": "team", "principal": "ops@team.example"},
        {"key": ALICE_KEY, "tenant": "team", "principal": "alice@team.example"},
        {"key": OTHER_KEY, "tenant": "other", "principal": "admin@other.example"},
    ],
    "tenants": {
        "team": {
            "members": [{"id": m} for m in ("alice", "bob", "carol", "dan", "erin")],
            "rooms": [{"id": "small", "capacity": 2}, {"id": "large", "capacity": 8}],
            "pools": [{"id": "engineers", "members": ["carol", "dan", "erin"]},
                      {"id": "rooms", "rooms": ["small", "large"]}],
            "templates": [{
                "id": "interview", "name": "Interview", "duration": "1h", "start_interval": 30,
                "seats": [{"label": "host", "member": ["alice", "bob"]},
                          {"label": "engineer", "pool": "engineers"},
                          {"label": "room", "room_pools": ["rooms"]}],
            }],
        },
        "other": {"members": [{"id": "zoe"}]},
    },
}


def team_config(**server: object) -> Config:
    """The test config (its tenants' directories are replaced by ``team_tenants``), served in
    plaintext on loopback unless ``server`` says otherwise."""
    data = dict(CONFIG)
    data["server"] = {"plaintext": True, **server}
    return parse_config(data)


def team_tenants(config: Config) -> dict[str, Tenant]:
    """The in-memory tenants: "team" with TEAM_BUSY and the config's templates, and "other"."""
    templates = {t.id: t for t in config.tenants["team"].templates}
    return {"team": Tenant("team", TEAM, templates, MemoryCalendars(TEAM_BUSY)), "other": Tenant("other", OTHER)}


@dataclass
class Served:
    """A running server and a stub connected to it."""

    server: grpc.Server
    port: int
    channel: grpc.Channel
    stub: api_grpc.SchedulingServiceStub

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextmanager
def serve(config: Config, tenants: dict[str, Tenant], now: datetime = NOW) -> Iterator[Served]:
    """``tenants`` served by ``config`` on a loopback port with the clock at ``now``, and a stub."""
    server, port = create_server(config, "127.0.0.1:0", tenants=tenants, clock=lambda: now)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Served(server, port, channel, api_grpc.SchedulingServiceStub(channel))
    finally:
        channel.close()
        server.stop(None)


@pytest.fixture(scope="package")
def served() -> Iterator[Served]:
    config = team_config()
    with serve(config, team_tenants(config)) as running:
        yield running


def key(api_key: str = OPS_KEY) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {api_key}"),)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
