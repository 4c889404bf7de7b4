"""The panel-4w scenario served end to end over gRPC on loopback.

The server runs in a child process (its own interpreter, as in production)
with the scenario's directory, busy list and bookings in memory (no calendar
I/O: ``scenario_fetch`` times that). This process calls FindSlots through the
generated stubs with an API key:

- latency: p50 / p95 of ``LATENCY_RUNS`` sequential calls after a warm-up
  (request encoding, auth, validation, solver, reply encoding, the wire);
- throughput: ``CLIENTS`` clients (threads, a channel each) calling at once
  for ``THROUGHPUT_SECONDS``;
- correctness: the starts and costs served equal ``find_slots`` in process.

It runs twice. The plain rows serve ``MemoryCalendars`` (a busy list, filtered
and converted to a ``BusyTable`` on every call); the ``*_warm_cache`` rows
read calendars the way a configured server does, through ``ProviderCalendars``
and a warm ``BusyCache`` (a source answering from memory, so only the
engine's own work is timed).
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from multiprocessing.connection import Connection

import grpc

from bench.scenarios import panel_4w
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from providers.base import CalendarProvider, CalendarRef, EventSpec
from providers.cache import BusyCache
from server.api.app import start_server
from server.calendars.busy import BusySource, MemoryCalendars, ProviderCalendars
from server.config import parse_config
from server.tenants import MemoryBookings, Tenant
from server.wire.slots import slot_request_to_proto
from solver import find_slots
from solver.domain import BusyInterval

SCENARIO = "grpc-panel-4w"
API_KEY = "bench-key-0123456789abcdef"
LATENCY_RUNS = int(os.environ.get("BENCH_GRPC_RUNS", "50"))
CLIENTS = 8
THROUGHPUT_SECONDS = float(os.environ.get("BENCH_GRPC_SECONDS", "5"))
P50_TARGET_MS = 40.0
# How the served tenant reads its calendars, and the suffix of its rows.
CALENDARS = {"memory": "", "cache": "_warm_cache"}


class _MemoryProvider(CalendarProvider):
    """A calendar source answering from the scenario's busy list, as a source read would."""

    name = "memory"

    def __init__(self, busy: Sequence[BusyInterval]) -> None:
        self._by_resource: dict[str, list[BusyInterval]] = defaultdict(list)
        for interval in busy:
            self._by_resource[interval.resource_id].append(interval)

    def busy(self, calendars: Sequence[CalendarRef], start: datetime, end: datetime) -> list[BusyInterval]:
        return [b for ref in calendars for b in self._by_resource[ref.resource_id] if b.start < end and b.end > start]

    def create_event(self, calendar: CalendarRef, event: EventSpec) -> str:
        raise NotImplementedError("the benchmark never books")

    def update_event(self, calendar: CalendarRef, event_id: str, event: EventSpec) -> str:
        raise NotImplementedError("the benchmark never books")

    def cancel_event(self, calendar: CalendarRef, event_id: str) -> None:
        raise NotImplementedError("the benchmark never books")


def _calendars(kind: str, busy: Sequence[BusyInterval], resource_ids: Sequence[str]) -> BusySource:
    if kind == "memory":
        return MemoryCalendars(busy)
    provider = _MemoryProvider(busy)
    # A TTL longer than the run: every call after the warm-up is served from the cache.
    return ProviderCalendars({r: (provider, CalendarRef(r, r)) for r in resource_ids}, BusyCache(ttl=3600))


def _serve(conn: Connection, kind: str) -> None:
    """Child process: serve the scenario until told to stop; report the port first."""
    directory, busy, _, bookings = panel_4w(seed=0)
    config = parse_config({
        "server": {"worker_threads": CLIENTS, "max_concurrent_rpcs": 4 * CLIENTS, "plaintext": True},
        "api_keys": [{"key": API_KEY, "tenant": "bench", "principal": "bench"}],
        "tenants": {"bench": {}},
    })
    calendars = _calendars(kind, busy, sorted({*directory.members, *directory.rooms}))
    tenant = Tenant("bench", directory, {}, calendars, MemoryBookings(bookings))
    running = start_server(config, "127.0.0.1:0", tenants={"bench": tenant})
    conn.send(running.port)
    conn.recv()  # any message: stop
    running.stop(None)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(metric: str, value: float, unit: str, target: str = "") -> dict[str, object]:
    row: dict[str, object] = {"scenario": SCENARIO, "metric": metric, "value": round(value, 3), "unit": unit}
    if target:
        row["target"] = target
    return row


def _throughput(target: str, request: api.FindSlotsRequest, metadata: tuple[tuple[str, str]]) -> float:
    """Calls per second with CLIENTS clients calling back to back for THROUGHPUT_SECONDS."""
    calls = [0] * CLIENTS
    window: list[float] = []  # [start, end], set once every client is connected
    ready = threading.Barrier(CLIENTS + 1, action=lambda: window.extend(
        (time.monotonic(), time.monotonic() + THROUGHPUT_SECONDS)))

    def client(i: int) -> None:
        with grpc.insecure_channel(target) as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            stub.FindSlots(request, metadata=metadata, timeout=30)  # connected before the clock starts
            ready.wait()
            while time.monotonic() < window[1]:
                stub.FindSlots(request, metadata=metadata, timeout=30)
                calls[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    ready.wait()
    for t in threads:
        t.join()
    return sum(calls) / (time.monotonic() - window[0])


def run() -> list[dict[str, object]]:
    return [row for kind, suffix in CALENDARS.items() for row in _measure(kind, suffix)]


def _measure(kind: str, suffix: str) -> list[dict[str, object]]:
    """The rows of a server whose tenant reads its calendars as ``kind`` says."""
    directory, busy, request, bookings = panel_4w(seed=0)
    expected = find_slots(directory, busy, request, bookings)
    wire_request = slot_request_to_proto(request)
    metadata = (("authorization", f"Bearer {API_KEY}"),)

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(child, kind), daemon=True)
    server.start()
    try:
        if not parent.poll(120):
            raise RuntimeError("the benchmark server did not start")
        target = f"127.0.0.1:{parent.recv()}"
        with grpc.insecure_channel(target) as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            reply = stub.FindSlots(wire_request, metadata=metadata, timeout=60)  # warm-up (fills the cache)
            served = [(s.start.ToDatetime(tzinfo=UTC), round(s.cost, 6)) for s in reply.slots]
            mismatches = served != [(s.start, round(s.cost, 6)) for s in expected.slots]
            latencies = []
            for _ in range(LATENCY_RUNS):
                t0 = time.perf_counter()
                stub.FindSlots(wire_request, metadata=metadata, timeout=60)
                latencies.append((time.perf_counter() - t0) * 1000)
        throughput = _throughput(target, wire_request, metadata)
    finally:
        parent.send("stop")
        server.join(30)
        if server.is_alive():
            server.kill()

    return [
        _row(f"p50_latency{suffix}", statistics.median(latencies), "ms", f"<= {P50_TARGET_MS:g}"),
        _row(f"p95_latency{suffix}", _percentile(latencies, 0.95), "ms"),
        _row(f"throughput_{CLIENTS}_clients{suffix}", throughput, "req/s"),
        _row(f"slots{suffix}", len(reply.slots), "count"),
        _row(f"mismatches_vs_in_process{suffix}", int(mismatches), "count", "== 0"),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
