"""Busy-cache coherence between servers on one booking store: what one server's booking,
cancel or calendar write changes, the other's busy cache forgets at once (PostgreSQL:
LISTEN/NOTIFY; SQLite: the change table read before each calendar read), long before
the cache's TTL (60 s here).

Two servers in one test process, each with its own tenants and busy cache, on one
database; only the first runs an outbox worker (as the primary of ``server.processes``
does), so that the second learns of the calendar writes only by the announcements.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Collection, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from convene.v1 import meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from server.booking.store import open_store
from server.booking.store.changes import PostgresChanges, SqliteChanges, open_changes
from server.booking.store.sqlite import SqliteBookingStore
from tests.server import booking_world
from tests.server.booking.store.helpers import SmtpSink
from tests.server.booking_world import World, at, close_world, create_request, key, member, room, rules, serve_world

database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink

OVERLAPPING = {datetime(2026, 12, 7, h, m) for h, m in ((10, 15), (11, 0), (11, 45))}


@pytest.fixture
def pair(tmp_path: Path, database_url: str, smtp_sink: tuple[SmtpSink, int]) -> Iterator[tuple[World, World]]:
    sink, port = smtp_sink
    first = serve_world(tmp_path, database_url, sink, port)
    second = serve_world(tmp_path, database_url, sink, port)  # the same folder: the same calendar files
    assert second.running.outbox is not None
    second.running.outbox.stop()  # side effects (bob's calendar event) are the first server's
    try:
        yield first, second
    finally:
        close_world(second)
        close_world(first)


def _starts(world: World, seat: meeting_pb2.Seat) -> set[datetime]:
    request = api.FindSlotsRequest(rules=rules(seat), time_zone="UTC")
    request.window_start.FromDatetime(at(9))
    request.window_end.FromDatetime(at(17))
    request.now.FromDatetime(at(0, day=1))
    return {s.start.ToDatetime() for s in world.stub.FindSlots(request, metadata=key(), timeout=10).slots}


def _within(seconds: float, world: World, seat: meeting_pb2.Seat, offered: bool) -> float:
    """How long until the world offers (or no longer offers) the overlapping starts; fails past ``seconds``."""
    began = time.monotonic()
    while True:
        found = _starts(world, seat)
        if (found >= OVERLAPPING) if offered else not OVERLAPPING & found:
            return time.monotonic() - began
        assert time.monotonic() - began < seconds, f"still {'not ' if offered else ''}offered: {sorted(found)}"
        time.sleep(0.02)


def test_a_booking_through_one_server_is_no_longer_offered_by_the_other_within_a_second(
        pair: tuple[World, World]) -> None:
    first, second = pair
    for seat in (member("bob"), room("small")):
        assert _starts(second, seat) >= OVERLAPPING  # the second's cache holds bob's free calendar
    first.stub.CreateBooking(create_request("c1", at(11), [["bob"], ["small"]]), metadata=key(), timeout=10)
    for seat in (member("bob"), room("small")):
        assert _within(1.0, second, seat, offered=False) < 1.0


def test_a_cancel_through_one_server_is_offered_again_by_the_other_within_a_second(
        pair: tuple[World, World]) -> None:
    first, second = pair
    booking = first.stub.CreateBooking(create_request("c1", at(11), [["bob"], ["small"]]), metadata=key(),
                                       timeout=10).booking
    first.settled(booking.id)  # the first server's worker wrote the event into bob's calendar file
    assert not OVERLAPPING & _starts(second, member("bob"))  # the second caches bob's calendar with the event

    first.stub.CancelBooking(api.CancelBookingRequest(booking_id=booking.id), metadata=key(), timeout=10)
    first.settled(booking.id)  # the event is gone from bob's file; the second's cached read still has it
    assert _within(1.0, second, member("bob"), offered=True) < 1.0  # fails when only the TTL (60 s) forgets
    assert _starts(second, room("small")) >= OVERLAPPING


class _Heard:
    def __init__(self) -> None:
        self.notes: list[tuple[str | None, list[str] | None]] = []
        self.event = threading.Event()

    def __call__(self, tenant: str | None, resource_ids: Collection[str] | None) -> None:
        self.notes.append((tenant, None if resource_ids is None else sorted(resource_ids)))
        self.event.set()


def test_announcements_reach_the_other_process_only_and_long_lists_arrive_whole(database_url: str) -> None:
    store = open_store(database_url)
    heard_here, heard_there = _Heard(), _Heard()
    here, there = open_changes(store, heard_here), open_changes(store, heard_there)
    try:
        many = [f"resource-{i:05d}-{'x' * 20}" for i in range(600)]  # over one NOTIFY payload
        here.announce("team", ["bob", "small"])
        here.announce("team", many)
        deadline = time.monotonic() + 2
        while len({r for _, ids in heard_there.notes for r in ids or ()}) < 602 and time.monotonic() < deadline:
            there.catch_up()
            time.sleep(0.01)
        assert heard_there.notes[0] == ("team", ["bob", "small"])
        assert sorted(r for _, ids in heard_there.notes[1:] for r in ids or ()) == sorted(many)
        here.catch_up()
        time.sleep(0.2)
        here.catch_up()
        assert heard_here.notes == []  # a process forgot before it announced: it does not hear itself
    finally:
        here.close()
        there.close()
        store.close()


def test_a_sqlite_reader_that_fell_behind_the_kept_rows_forgets_everything(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    assert isinstance(store, SqliteBookingStore)
    heard = _Heard()
    writer = SqliteChanges(store.path, _Heard(), keep=3, prune_every=5)
    reader = SqliteChanges(store.path, heard)
    try:
        writer.announce("team", ["bob"])
        reader.catch_up()
        assert heard.notes == [("team", ["bob"])]
        for i in range(10):  # rows 2..11; at 5 and 10 the writer keeps only the newest 3
            writer.announce("team", [f"r{i}"])
        reader.catch_up()
        assert heard.notes[1:] == [(None, None)]  # rows 2..7 are gone: every cached read is forgotten
        writer.announce("team", ["carol"])
        reader.catch_up()
        assert heard.notes[2:] == [("team", ["carol"])]
    finally:
        writer.close()
        reader.close()
        store.close()


@pytest.mark.postgres
def test_a_listener_that_lost_its_connection_listens_again_and_forgets_everything(pg_admin: Any) -> None:
    schema = f"tb_{uuid.uuid4().hex[:12]}"
    pg_admin.execute(f'CREATE SCHEMA "{schema}"')
    store = open_store(f"{booking_world.PG_URL}?options=-csearch_path%3D{schema}")
    heard = _Heard()
    listening = open_changes(store, heard)
    talking = open_changes(store, _Heard())
    try:
        assert isinstance(listening, PostgresChanges)
        pg_admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE query = %s AND backend_type = 'client backend'",
                         (f'LISTEN "{listening.channel}"',))
        assert heard.event.wait(5), "the listener did not come back"
        assert heard.notes[0] == (None, None)
        heard.event.clear()
        talking.announce("team", ["bob"])
        assert heard.event.wait(2)
        assert heard.notes[1:] == [("team", ["bob"])]
    finally:
        listening.close()
        talking.close()
        store.close()
        pg_admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
