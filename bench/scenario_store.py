"""FindSlots over gRPC for ``panel_4w`` while the booking store fills with other members' bookings.

A request reads only the bookings it depends on (``solver.needs``): those of its
own resources near the window and what its pools count. So 50,000 confirmed
bookings of *other* members of the tenant, over the last 90 days and the window,
must not slow it down:

- ``store-50k`` (SQLite) and ``store-50k-postgres`` (a fresh schema of the
  PostgreSQL at ``BENCH_POSTGRES_URL``, default 127.0.0.1:5432 database
  ``test``; skipped, saying why, where none answers): p50 of ``RUNS``
  sequential FindSlots calls to a store with the scenario's own bookings only
  (``p50 empty``) and to one with the 50,000 more (``p50 50k``), the calls to
  the two alternating, and their ``ratio``; ``mismatches``: 1 when the two
  answers differ (they must not).

Each server runs in a child process (its own interpreter, as in production)
with the scenario's calendars in memory and its bookings in its store; the
50,000 are written in plain SQL (``bench.store_fill``), not booked one by one.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import grpc
import psycopg

from bench.scenarios import panel_4w
from bench.store_fill import Filled, fill, postgres_url_works
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import start_server
from server.booking.store import open_store
from server.calendars.busy import MemoryCalendars
from server.config import parse_config
from server.tenants import Tenant
from server.wire.slots import slot_request_to_proto
from solver.domain import Booking, Directory, Member, Pool

TENANT = "bench"
API_KEY = "bench-key-0123456789abcdef"
RUNS = int(os.environ.get("BENCH_STORE_RUNS", "30"))
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
OTHERS = 250  # other members of the tenant
PER_OTHER = 200  # bookings each: 50,000 in all
HISTORY_DAYS = 90
RATIO_TARGET = 1.3


def _directory() -> tuple[Directory, list[Filled]]:
    """``panel_4w``'s directory with OTHERS more members (in a pool of their own) and its bookings as rows."""
    directory, _, _, bookings = panel_4w(seed=0)
    others = [Member(f"staff-{i:03d}", time_zone="Europe/Berlin") for i in range(OTHERS)]
    pool = Pool("staff", tuple(m.id for m in others))
    grown = Directory({**directory.members, **{m.id: m for m in others}}, dict(directory.rooms),
                      {**directory.pools, pool.id: pool})
    return grown, [_row(directory, b) for b in bookings]


def _row(directory: Directory, booking: Booking) -> Filled:
    pools = dict((member, pool) for pool, member in booking.pool_members)
    seats = tuple(("room" if r in directory.rooms else "member", (r,), pools.get(r, "")) for r in booking.resources)
    # The scenario's bookings may overlap (it never asked a store): not exclusive.
    return Filled(booking.start.astimezone(UTC), booking.end.astimezone(UTC), seats, exclusive=False)


def _others() -> list[Filled]:
    """PER_OTHER one-hour bookings of each other member, evenly over the last 90 days and the window."""
    _, _, request, _ = panel_4w(seed=0)
    first = request.window_start.astimezone(UTC) - timedelta(days=HISTORY_DAYS)  # UTC: no DST gap
    step = (request.window_end - first - timedelta(hours=1)) / PER_OTHER
    out = []
    for i in range(OTHERS):
        offset = timedelta(minutes=15 * (i % 40))
        for j in range(PER_OTHER):
            start = first + offset + j * step
            pool = "staff" if j % 2 else ""
            out.append(Filled(start, start + timedelta(hours=1), (("member", (f"staff-{i:03d}",), pool),)))
    return out


def _serve(conn: Connection, url: str) -> None:
    """Child process: serve the tenant from the store at ``url`` until told to stop; report the port first."""
    directory, _ = _directory()
    _, busy, _, _ = panel_4w(seed=0)
    config = parse_config({
        "server": {"plaintext": True},
        "api_keys": [{"key": API_KEY, "tenant": TENANT, "principal": "bench"}],
        "tenants": {TENANT: {}},
    })
    store = open_store(url)
    running = start_server(config, "127.0.0.1:0", tenants={TENANT: Tenant(TENANT, directory, {},
                                                                          MemoryCalendars(busy))}, store=store)
    conn.send(running.port)
    conn.recv()  # any message: stop
    running.stop(None)
    store.close()


def _timed(stub: api_grpc.SchedulingServiceStub, request: api.FindSlotsRequest,
           metadata: Sequence[tuple[str, str]]) -> float:
    t0 = time.perf_counter()
    stub.FindSlots(request, metadata=metadata, timeout=120)
    return (time.perf_counter() - t0) * 1000


def _slots(stub: api_grpc.SchedulingServiceStub, request: api.FindSlotsRequest,
           metadata: Sequence[tuple[str, str]]) -> list[tuple[int, float]]:
    reply = stub.FindSlots(request, metadata=metadata, timeout=120)
    return [(s.start.seconds, round(s.cost, 6)) for s in reply.slots]


def _measure(scenario: str, urls: tuple[str, str]) -> list[dict[str, object]]:
    """Two stores (``urls``): the scenario's own bookings, and those plus the 50,000; one server on
    each; calls to the two alternate, so that the machine's other load falls on both alike."""
    _, own = _directory()
    for url in urls:
        open_store(url).close()
        fill(url, TENANT, own)
    t0 = time.perf_counter()
    fill(urls[1], TENANT, _others())
    print(f"{scenario}: wrote {OTHERS * PER_OTHER:,} bookings in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    _, _, request, _ = panel_4w(seed=0)
    wire_request = slot_request_to_proto(request)
    metadata = (("authorization", f"Bearer {API_KEY}"),)
    context = multiprocessing.get_context("spawn")
    pipes = [context.Pipe() for _ in urls]
    servers = [context.Process(target=_serve, args=(child, url), daemon=True)
               for (_, child), url in zip(pipes, urls, strict=True)]
    for server in servers:
        server.start()
    try:
        channels = []
        for parent, _ in pipes:
            if not parent.poll(120):
                raise RuntimeError("the benchmark server did not start")
            channels.append(grpc.insecure_channel(f"127.0.0.1:{parent.recv()}"))
        stubs = [api_grpc.SchedulingServiceStub(c) for c in channels]
        answers = [_slots(stub, wire_request, metadata) for stub in stubs]  # and warm-up
        times: list[list[float]] = [[], []]
        for _ in range(RUNS):
            for k, stub in enumerate(stubs):
                times[k].append(_timed(stub, wire_request, metadata))
        for channel in channels:
            channel.close()
    finally:
        for parent, _ in pipes:
            parent.send("stop")
        for server in servers:
            server.join(30)
            if server.is_alive():
                server.kill()
    empty, full = (statistics.median(t) for t in times)
    return [
        {"scenario": scenario, "metric": "p50 empty", "value": round(empty, 3), "unit": "ms"},
        {"scenario": scenario, "metric": "p50 50k", "value": round(full, 3), "unit": "ms"},
        {"scenario": scenario, "metric": "ratio", "value": round(full / empty, 3), "unit": "x",
         "target": f"<= {RATIO_TARGET:g}"},
        {"scenario": scenario, "metric": "slots", "value": len(answers[1]), "unit": "count"},
        {"scenario": scenario, "metric": "mismatches", "value": int(answers[0] != answers[1]), "unit": "count",
         "target": "== 0"},
    ]


def run() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="convene-bench-store-") as folder:
        rows = _measure("store-50k", (f"sqlite:///{Path(folder) / 'empty.db'}", f"sqlite:///{Path(folder) / '50k.db'}"))
    problem = postgres_url_works(POSTGRES_URL)
    if problem:
        print(f"store-50k-postgres skipped: no PostgreSQL at {POSTGRES_URL.split('@')[-1]}: {problem}",
              file=sys.stderr)
        return rows
    schemas = [f"bench_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    separator = "&" if "?" in POSTGRES_URL else "?"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
        try:
            for schema in schemas:
                admin.execute(f'CREATE SCHEMA "{schema}"')
            urls = [f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}" for schema in schemas]
            rows += _measure("store-50k-postgres", (urls[0], urls[1]))
        finally:
            for schema in schemas:
                admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
