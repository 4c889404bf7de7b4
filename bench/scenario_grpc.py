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
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import threading
import time
from datetime import UTC
from multiprocessing.connection import Connection

import grpc

from bench.scenarios import panel_4w
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.app import start_server
from server.calendars import MemoryCalendars
from server.config import parse_config
from server.convert import slot_request_to_proto
from server.tenants import MemoryBookings, Tenant
from solver import find_slots

SCENARIO = "grpc-panel-4w"
API_KEY = "bench-key-0123456789abcdef"
LATENCY_RUNS = int(os.environ.get("BENCH_GRPC_RUNS", "50"))
CLIENTS = 8
THROUGHPUT_SECONDS = float(os.environ.get("BENCH_GRPC_SECONDS", "5"))
P50_TARGET_MS = 40.0


def _serve(conn: Connection) -> None:
    """Child process: serve the scenario until told to stop; report the port first."""
    directory, busy, _, bookings = panel_4w(seed=0)
    config = parse_config({
        "server": {"worker_threads": CLIENTS, "max_concurrent_rpcs": 4 * CLIENTS},
        "api_keys": [{"key": API_KEY, "tenant": "bench", "principal": "bench"}],
        "tenants": {"bench": {}},
    })
    tenant = Tenant("bench", directory, {}, MemoryCalendars(busy), MemoryBookings(bookings))
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
    directory, busy, request, bookings = panel_4w(seed=0)
    expected = find_slots(directory, busy, request, bookings)
    wire_request = slot_request_to_proto(request)
    metadata = (("authorization", f"Bearer {API_KEY}"),)

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    try:
        if not parent.poll(120):
            raise RuntimeError("the benchmark server did not start")
        target = f"127.0.0.1:{parent.recv()}"
        with grpc.insecure_channel(target) as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            reply = stub.FindSlots(wire_request, metadata=metadata, timeout=60)  # warm-up
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
        _row("p50_latency", statistics.median(latencies), "ms", f"<= {P50_TARGET_MS:g}"),
        _row("p95_latency", _percentile(latencies, 0.95), "ms"),
        _row(f"throughput_{CLIENTS}_clients", throughput, "req/s"),
        _row("slots", len(reply.slots), "count"),
        _row("mismatches_vs_in_process", int(mismatches), "count", "== 0"),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
