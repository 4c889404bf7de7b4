"""FindSlots, CheckTime and GetSchedule answer the same when the server reads only the bookings
a request needs (``StoreBookings.for_request``, ``holding``) as when it reads every booking of the tenant since the
history (the full read), on random stores and requests, over the real gRPC server, on SQLite
and PostgreSQL (a fresh schema; skipped without PostgreSQL).

The directory has members in several zones with daily/weekly limits, round-robin (flexible
and strict), load-balanced (day, week, month) and priority pools, rooms and a room pool. The
bookings lie from 100 days before the window to 45 days after it, many through the pools, so
that round-robin history and load-balanced cycles reach outside the window (and some
bookings fall outside the 90 days of history).

``test_grpc_answers_as_the_in_process_api`` compares the real server with the in-process API
(``find_slots``/``check_time`` given every booking) on round-robin and load-balanced seats with
bookings after the window: the whole FindSlots and CheckTime replies must be equal.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import grpc
import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bench.store_fill import Filled, fill
from convene.v1 import schedule_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server
from server.booking.store import BookingStore, open_store
from server.config import parse_config
from server.tenants import Tenant
from server.wire.slots import (
    check_query,
    check_time_response,
    find_slots_response,
    slot_query,
    slot_request_to_proto,
)
from solver.domain import (
    Booking,
    Cycle,
    Directory,
    Distribution,
    Member,
    MemberSeat,
    Pool,
    PoolSeat,
    Room,
    RoomSeat,
    Seat,
    SlotRequest,
    WorkingHours,
)
from solver.errors import SchedulingError
from solver.needs import booking_needs, request_span, select
from solver.slots import check_time, find_slots
from solver.validate import validate_request

TENANT = "readers"
KEY = "readers-key-0123456789abcdef"
PRINCIPAL = "ops@r.example"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
HISTORY = timedelta(days=90)  # StoreBookings' default

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland")
MEMBERS = (
    Member("m0", "M0", "m0@r.example", "UTC", WorkingHours.weekdays(time(8), time(18), "UTC")),
    Member("m1", "M1", "m1@r.example", "Europe/Berlin", None, daily_limit=1),
    Member("m2", "M2", "m2@r.example", "America/New_York", None, weekly_limit=2),
    Member("m3", "M3", "m3@r.example", "Asia/Kolkata", None),
    Member("m4", "M4", "m4@r.example", "Pacific/Auckland", None, daily_limit=1, weekly_limit=2),
    Member("m5", "M5", "m5@r.example", "UTC", None),
    Member("m6", "M6", "m6@r.example", "Europe/Berlin", None, weekly_limit=3),
    Member("m7", "M7", "m7@r.example", "UTC", None),
)
ROOMS = (Room("r0", "R0", 3, "UTC"), Room("r1", "R1", 8, "UTC"), Room("r2", "R2", 4, "Europe/Berlin"))
POOLS = (
    Pool("rr", ("m0", "m1", "m2", "m3")),
    Pool("srr", ("m2", "m3", "m4", "m5"), Distribution.STRICT_ROUND_ROBIN),
    Pool("lbw", ("m3", "m4", "m5", "m6"), Distribution.LOAD_BALANCED, Cycle.WEEK),
    Pool("lbd", ("m0", "m4", "m7"), Distribution.LOAD_BALANCED, Cycle.DAY),
    Pool("lbm", ("m1", "m5", "m6", "m7"), Distribution.LOAD_BALANCED, Cycle.MONTH),
    Pool("prio", ("m5", "m6", "m7"), Distribution.PRIORITY, priorities=(("m7", 2), ("m6", 1))),
    Pool("rooms", ("r0", "r1", "r2")),
)
DIRECTORY = Directory.of(MEMBERS, ROOMS, POOLS)
MEMBER_POOLS = tuple(p for p in POOLS if p.id != "rooms")
CONFIG = parse_config({
    "server": {"plaintext": True},
    "limits": {"max_seats": 8, "max_horizon_days": 31, "max_results": 1000},
    "api_keys": [{"key": KEY, "tenant": TENANT, "principal": PRINCIPAL}],
    "tenants": {TENANT: {"members": [{"id": m.id} for m in MEMBERS]}},
})


@dataclass(frozen=True)
class FullRead:
    """Every confirmed booking of the tenant that ends after the history starts, whatever the request."""

    store: BookingStore
    tenant: str

    def confirmed(self, start: datetime, end: datetime) -> Sequence[Booking]:
        return self.store.confirmed_bookings(self.tenant, None, start - HISTORY, datetime.max.replace(tzinfo=UTC))

    def for_request(self, directory: Directory, request: SlotRequest) -> Sequence[Booking]:
        return self.confirmed(request_span(request)[0], request.window_end)

    def holding(self, resource_ids: Collection[str], start: datetime, end: datetime) -> Sequence[Booking]:
        return self.confirmed(start, end)


@dataclass
class Servers:
    url: str
    narrow: api_grpc.SchedulingServiceStub
    full: api_grpc.SchedulingServiceStub

    def clear(self) -> None:
        statements = ("DELETE FROM booking_holds", "DELETE FROM bookings")
        if self.url.startswith("sqlite:///"):
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as connection:
                for sql in statements:
                    connection.execute(sql)
            return
        with psycopg.connect(self.url) as connection:
            for sql in statements:
                connection.execute(sql)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    schema = ""
    admin: psycopg.Connection | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('reads')) / 'store.db'}"
    else:
        try:
            admin = psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3",
                                    autocommit=True)
        except psycopg.OperationalError as exc:
            pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 (database 'test'): {str(exc).strip()}")
        admin.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    store = open_store(url)
    narrow_server, narrow_port = create_server(CONFIG, "127.0.0.1:0", tenants={TENANT: Tenant(TENANT, DIRECTORY)},
                                               store=store)
    full_server, full_port = create_server(
        CONFIG, "127.0.0.1:0", tenants={TENANT: Tenant(TENANT, DIRECTORY, bookings=FullRead(store, TENANT))})
    channels = [grpc.insecure_channel(f"127.0.0.1:{port}") for port in (narrow_port, full_port)]
    narrow_server.start()
    full_server.start()
    try:
        yield Servers(url, api_grpc.SchedulingServiceStub(channels[0]), api_grpc.SchedulingServiceStub(channels[1]))
    finally:
        for channel in channels:
            channel.close()
        narrow_server.stop(None)
        full_server.stop(None)
        store.close()
        if admin is not None:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
            admin.close()


def test_the_narrow_server_reads_through_the_store(servers: Servers) -> None:
    """The comparison below means something: the narrow server's tenant reads ``for_request``
    of the store, and a booking in the window takes its start away on both servers."""
    servers.clear()
    request = SlotRequest(MONDAY + timedelta(hours=9), MONDAY + timedelta(hours=12), timedelta(hours=1), "UTC",
                          (MemberSeat(("m5",)),), start_interval=60, now=MONDAY)
    before = servers.narrow.FindSlots(slot_request_to_proto(request), metadata=_key(), timeout=30)
    fill(servers.url, TENANT, [Filled(MONDAY + timedelta(hours=10), MONDAY + timedelta(hours=11),
                                      (("member", ("m5",), ""),))])
    after = [stub.FindSlots(slot_request_to_proto(request), metadata=_key(), timeout=30)
             for stub in (servers.narrow, servers.full)]
    assert before.total_available == 3
    assert [r.total_available for r in after] == [2, 2]  # 10:00 is taken; 9:00 and 11:00 stay


def _key() -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {KEY}"),)


# --- Random instances ------------------------------------------------------------------


@st.composite
def _booking(draw: st.DrawFn, window_start: datetime, window_end: datetime) -> Filled:
    where = draw(st.sampled_from(("near", "far", "edge")))
    minutes = draw(st.sampled_from((15, 30, 60, 120)))
    if where == "edge":  # ending in the buffer before the window, or starting in the one after it
        edge = draw(st.sampled_from((window_start - timedelta(minutes=minutes), window_end)))
        start = edge + timedelta(minutes=draw(st.sampled_from((-10, -5, 0, 5, 10, 20))))
    else:
        days = draw(st.integers(-2, 10)) if where == "near" else draw(st.integers(-100, 45))
        start = window_start + timedelta(days=days, minutes=15 * draw(st.integers(0, 95)))
    seats: list[tuple[str, tuple[str, ...], str]] = []
    for member_id in draw(st.lists(st.sampled_from([m.id for m in MEMBERS]), min_size=1, max_size=3, unique=True)):
        pools = [p.id for p in MEMBER_POOLS if member_id in p.members]
        pool = draw(st.sampled_from(["", *pools, *pools]))
        seats.append(("member", (member_id,), pool))
    if draw(st.booleans()):
        seats.append(("room", (draw(st.sampled_from([r.id for r in ROOMS])),), draw(st.sampled_from(("", "rooms")))))
    return Filled(start, start + timedelta(minutes=minutes), tuple(seats), exclusive=False)


@st.composite
def _seat(draw: st.DrawFn) -> Seat:
    kind = draw(st.sampled_from(("member", "pool", "pool", "room")))
    if kind == "member":
        return MemberSeat(tuple(draw(st.lists(st.sampled_from([m.id for m in MEMBERS]), min_size=1, max_size=3,
                                              unique=True))))
    if kind == "pool":
        pool = draw(st.sampled_from(MEMBER_POOLS))
        return PoolSeat(pool.id, draw(st.integers(1, 2)))
    rooms = tuple(draw(st.lists(st.sampled_from([r.id for r in ROOMS]), max_size=2, unique=True)))
    return RoomSeat(rooms, ("rooms",) if not rooms or draw(st.booleans()) else ())


@st.composite
def _instance(draw: st.DrawFn) -> tuple[list[Filled], SlotRequest]:
    window_start = MONDAY + timedelta(days=draw(st.integers(0, 13)), hours=draw(st.sampled_from((0, 6, 12, 18))))
    window = draw(st.sampled_from((timedelta(hours=8), timedelta(days=1), timedelta(days=3))))
    pool = draw(st.sampled_from(MEMBER_POOLS))
    seats = (PoolSeat(pool.id, draw(st.integers(1, 2))), *draw(st.lists(_seat(), max_size=2)))
    request = SlotRequest(
        window_start, window_start + window, timedelta(minutes=draw(st.sampled_from((30, 60)))),
        draw(st.sampled_from(ZONES)), seats,
        optional_members=tuple(draw(st.lists(st.sampled_from(("m6", "m7")), max_size=1))),
        start_interval=30,
        buffer_before=timedelta(minutes=draw(st.sampled_from((0, 15, 30)))),
        buffer_after=timedelta(minutes=draw(st.sampled_from((0, 15)))),
        now=window_start - timedelta(days=1),
        want_alternatives=draw(st.booleans()), max_alternatives=3)
    bookings = draw(st.lists(_booking(window_start, window_start + window), max_size=40))
    return bookings, request


def _answers(stub: api_grpc.SchedulingServiceStub, request: SlotRequest) -> tuple[object, object, object]:
    try:
        slots: object = stub.FindSlots(slot_request_to_proto(request), metadata=_key(), timeout=60)
    except grpc.RpcError as exc:
        slots = (exc.code(), exc.details())
    check = api.CheckTimeRequest(rules=slot_request_to_proto(request).rules, time_zone=request.time_zone)
    check.start.FromDatetime(request.window_start + timedelta(hours=1))
    check.now.FromDatetime(request.window_start - timedelta(days=1))
    try:
        checked: object = stub.CheckTime(check, metadata=_key(), timeout=60)
    except grpc.RpcError as exc:
        checked = (exc.code(), exc.details())
    ids = sorted(needed_resources(request))
    schedule = schedule_pb2.GetScheduleRequest(resource_ids=ids, interval_minutes=60)
    schedule.window_start.FromDatetime(request.window_start)
    schedule.window_end.FromDatetime(request.window_end)
    try:
        scheduled: object = stub.GetSchedule(schedule, metadata=_key(), timeout=60)
    except grpc.RpcError as exc:
        scheduled = (exc.code(), exc.details())
    return slots, checked, scheduled


def needed_resources(request: SlotRequest) -> set[str]:
    ids = set(request.optional_members)
    for seat in request.seats:
        if isinstance(seat, MemberSeat):
            ids.update(seat.candidates)
        elif isinstance(seat, PoolSeat):
            ids.update(DIRECTORY.pools[seat.pool_id].members)
        elif isinstance(seat, RoomSeat):
            ids.update(seat.rooms)
    return ids


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instance=_instance())
def test_findslots_answers_the_same_with_the_narrow_read(servers: Servers,
                                                         instance: tuple[list[Filled], SlotRequest]) -> None:
    bookings, request = instance
    servers.clear()
    fill(servers.url, TENANT, bookings)
    narrow = _answers(servers.narrow, request)
    full = _answers(servers.full, request)
    assert narrow == full
    slots = narrow[0]
    event("schedule error" if isinstance(narrow[2], tuple) else "schedule")
    event("error" if isinstance(slots, tuple) else "available" if getattr(slots, "total_available", 0) else "none")
    for seat in request.seats:
        if isinstance(seat, PoolSeat):
            event(f"pool {seat.pool_id}")


def _as_booking(k: int, row: Filled) -> Booking:
    return Booking(f"bk_{k:04d}", row.start, row.end, tuple(r for _, ids, _ in row.seats for r in ids),
                   tuple((pool, r) for kind, ids, pool in row.seats if pool and kind == "member" for r in ids))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instance=_instance())
def test_the_selection_gives_the_solver_what_it_needs(instance: tuple[list[Filled], SlotRequest]) -> None:
    """In process, without a store: ``solver.needs.select`` of every booking since the history
    gives ``find_slots`` and ``check_time`` the answers all of them give."""
    rows, request = instance
    needs = booking_needs(DIRECTORY, request, HISTORY)
    everything = [b for b in (_as_booking(k, row) for k, row in enumerate(rows)) if b.end > needs.since]
    chosen = select(everything, needs)
    try:
        validate_request(DIRECTORY, request)
    except SchedulingError:
        return
    assert find_slots(DIRECTORY, [], request, chosen) == find_slots(DIRECTORY, [], request, everything)
    at = request.window_start + timedelta(hours=1)
    assert check_time(DIRECTORY, [], request, at, chosen) == check_time(DIRECTORY, [], request, at, everything)


# --- gRPC against the in-process API ---------------------------------------------------

ROTATING = tuple(p for p in MEMBER_POOLS if p.distribution in (
    Distribution.ROUND_ROBIN, Distribution.STRICT_ROUND_ROBIN, Distribution.LOAD_BALANCED))


@st.composite
def _rotating_instance(draw: st.DrawFn) -> tuple[list[Filled], SlotRequest]:
    """A round-robin or load-balanced pool seat (maybe beside another seat), with bookings through
    the pools from 80 days before the window (inside the server's history, so both sides see the
    same bookings) to 45 days after it: the cycles and latest bookings reach past the window."""
    bookings, request = draw(_instance())
    pool = draw(st.sampled_from(ROTATING))
    seats = (PoolSeat(pool.id, draw(st.integers(1, 2))), *request.seats[1:])
    later = draw(st.lists(_booking(request.window_end, request.window_end + timedelta(days=1)), max_size=15))
    since = request.window_start - timedelta(days=80)
    return [b for b in (*bookings, *later) if b.start >= since], replace(request, seats=seats)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instance=_rotating_instance())
def test_grpc_answers_as_the_in_process_api(servers: Servers, instance: tuple[list[Filled], SlotRequest]) -> None:
    """FindSlots and CheckTime over the real server (reading the store) give the very replies the
    in-process API gives from every booking of the store: slots, costs, seat assignments,
    alternatives and tie-breaks included."""
    rows, request = instance
    assert request.now is not None
    now = request.now
    servers.clear()
    fill(servers.url, TENANT, rows)
    everything = [_as_booking(k, row) for k, row in enumerate(rows)]
    find_request = slot_request_to_proto(request)
    check = api.CheckTimeRequest(rules=find_request.rules, time_zone=request.time_zone)
    at = request.window_start + timedelta(hours=1)
    check.start.FromDatetime(at)
    check.now.FromDatetime(now)
    try:
        validate_request(DIRECTORY, request)
    except SchedulingError:
        with pytest.raises(grpc.RpcError) as refused:
            servers.narrow.FindSlots(find_request, metadata=_key(), timeout=60)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        event("invalid")
        return
    query = slot_query(find_request, {}, now=now)
    expected = find_slots_response(find_slots(DIRECTORY, [], query.request, everything), query, (), viewer=PRINCIPAL)
    assert servers.narrow.FindSlots(find_request, metadata=_key(), timeout=60) == expected
    checked = check_query(check, {}, now=now)
    verdict = check_time(DIRECTORY, [], checked.request, at, everything)
    assert servers.narrow.CheckTime(check, metadata=_key(), timeout=60) == check_time_response(
        verdict, checked, (), viewer=PRINCIPAL)
    event("available" if expected.total_available else "none")
    event(f"check {'available' if verdict.available else 'refused'}")
    event(f"pool {request.seats[0].pool_id}")  # type: ignore[union-attr]
