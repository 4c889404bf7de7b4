"""The call's deadline bounds the solver: the call ends on time and the server stops working."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import grpc

from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server
from server.calendars.busy import MemoryCalendars
from server.tenants import Tenant
from solver import BusyInterval, Directory, Member, Pool
from tests.server.conftest import MONDAY, NOW, key, team_config
from tests.server.messages import find, member, pool, rules

SLACK = 0.5  # seconds beyond the deadline a loaded CI machine may need to deliver the end of the call


def crowded_team(n: int = 40, days: int = 7) -> tuple[Directory, list[BusyInterval]]:
    """Four pools of ten with ragged calendars: solving every 5-minute start of a week takes seconds."""
    rng = random.Random(0)
    members = [Member(f"m{i}") for i in range(n)]
    pools = [Pool(f"p{k}", tuple(f"m{i}" for i in range(k * n // 4, (k + 1) * n // 4))) for k in range(4)]
    busy = []
    for m in members:
        t = MONDAY
        while t < MONDAY + timedelta(days=days):
            t += timedelta(minutes=rng.randrange(30, 300))
            busy.append(BusyInterval(m.id, t, t + timedelta(minutes=rng.choice([30, 60, 90]))))
            t += timedelta(minutes=90)
    return Directory.of(members, [], pools), busy


def test_a_short_deadline_ends_the_call_on_time_and_frees_the_server() -> None:
    directory, busy = crowded_team()
    config = team_config(worker_threads=1)
    config = config.model_copy(update={"limits": config.limits.model_copy(update={"max_horizon_days": 8})})
    server, port = create_server(config, "127.0.0.1:0", clock=lambda: NOW,
                                 tenants={"team": Tenant("team", directory, {}, MemoryCalendars(busy))})
    server.start()
    big = find(rules(*(pool(f"p{k}", 2) for k in range(4)), member(*(f"m{i}" for i in range(0, 40, 3))),
                     start_interval_minutes=5), end=MONDAY + timedelta(days=7))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            started = time.monotonic()
            try:
                reply = stub.FindSlots(big, metadata=key(), timeout=0.05)
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            else:
                assert reply.partial, "a reply within 50 ms of a seconds-long solve must be flagged partial"
            assert time.monotonic() - started < 0.05 + SLACK

            # One worker thread: this small call is served only once the big solve has stopped.
            started = time.monotonic()
            small = stub.FindSlots(find(rules(member("m1")), end=MONDAY + timedelta(days=1)), metadata=key(),
                                   timeout=10)
            assert small.slots and not small.partial
            assert time.monotonic() - started < 1.0, "the deadline-bound solve kept the worker busy"
    finally:
        server.stop(None)


def test_a_generous_deadline_gives_the_complete_answer() -> None:
    directory, busy = crowded_team(n=8, days=1)
    config = team_config()
    server, port = create_server(config, "127.0.0.1:0", clock=lambda: NOW,
                                 tenants={"team": Tenant("team", directory, {}, MemoryCalendars(busy))})
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = api_grpc.SchedulingServiceStub(channel).FindSlots(
                find(rules(pool("p0"), pool("p1"))), metadata=key(), timeout=30)
    finally:
        server.stop(None)
    assert reply.slots and not reply.partial
