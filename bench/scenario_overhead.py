"""What telemetry costs a FindSlots: panel-4w over gRPC with metrics, tracing and access logs on vs off.

Servers run side by side in one child process (the same interpreter, memory
and CPU share, so that the comparison measures telemetry and not two
processes' luck), all serving panel-4w from a warm busy cache as a configured
server does (``scenario_grpc``'s ``*_warm_cache`` rows):

- **off**: no ``metrics`` section, no tracing, ``logging.access_log: false``: a
  call passes no interceptor of ours, and its fetch/plan/assign make no spans
  (they are children of a traced call only);
- **on**: the Prometheus endpoint (scraped every 5 s while the calls run;
  Prometheus' usual interval is 15 s or more), OpenTelemetry tracing into an
  in-memory exporter (the gRPC instrumentation plus the fetch, plan and assign
  spans), and the access log as JSON lines with trace ids, written to a file
  (``configure_logging``, as ``logging.format: json`` does).

Every server serves one and the same tenant object (directory, busy cache,
bookings): two servers with identical copies of the data differ by a few
percent in a run, as an off/off comparison shows (where each copy landed in
memory), which would be measured as much as telemetry; and the child runs
with one malloc arena (``MALLOC_ARENA_MAX=1``): with glibc's arena per thread,
identical servers differed by up to 7% in CPU per call inside the handler,
depending on the arenas their worker threads drew (``BENCH_OVERHEAD_ARENAS``
sets another count, e.g. 8, to see it). Each side has
``BENCH_OVERHEAD_SERVERS`` servers (default 2). The client goes round all servers,
off and on interleaved (the order reversed every round), so that whatever
else the machine does weighs on both sides alike, and reports each side's p50
and the ratio on/off (target <= 1.05), the median of the rounds' on/off
ratios, and ``off_vs_off`` (the first half of the off servers against the
second: what the run's noise alone gives). The client runs on the first core and the
servers' process on the second (``BENCH_OVERHEAD_PIN=0`` lets both move). All run with the garbage collector
as ``convene serve`` sets it (``settle_memory``). ``BENCH_OVERHEAD_PARTS``
(metrics,tracing,log) turns on only some parts, to see what each costs.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
import urllib.request
from multiprocessing.connection import Connection
from pathlib import Path

import grpc

from bench.scenario_grpc import API_KEY, _calendars
from bench.scenarios import panel_4w
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import Running, settle_memory, start_server
from server.config import parse_config
from server.tenants import MemoryBookings, Tenant
from server.wire.slots import slot_request_to_proto

SCENARIO = "overhead"
RUNS = int(os.environ.get("BENCH_OVERHEAD_RUNS", "400"))  # rounds (a call to every server each), after the warm-up
SERVERS = int(os.environ.get("BENCH_OVERHEAD_SERVERS", "2"))  # per side
ARENAS = os.environ.get("BENCH_OVERHEAD_ARENAS", "1")  # MALLOC_ARENA_MAX of the servers' process
# The client on one core and the servers' process on another ("0": no pinning).
PIN = os.environ.get("BENCH_OVERHEAD_PIN", "1") != "0" and hasattr(os, "sched_setaffinity")
WARM_UP = 5
RATIO_TARGET = 1.05


def _tracer(parts: list[str]) -> tuple[object | None, object | None]:
    """The on side's provider (one for all its servers: the spans of this process go to one) and exporter."""
    if "tracing" not in parts:
        return None, None
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    # Batched, as the server's OTLP export is: a span's end only queues it.
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
    return provider, exporter


def _tenant() -> Tenant:
    directory, busy, _, bookings = panel_4w(seed=0)
    calendars = _calendars("cache", busy, sorted({*directory.members, *directory.rooms}))
    return Tenant("bench", directory, {}, calendars, MemoryBookings(bookings))


def _server(telemetry: bool, parts: list[str], provider: object | None, tenant: Tenant) -> Running:
    data: dict[str, object] = {
        "server": {"plaintext": True, "worker_threads": 4},
        "logging": {"format": "json", "access_log": telemetry and "log" in parts},
        "api_keys": [{"key": API_KEY, "tenant": "bench", "principal": "bench"}],
        "tenants": {"bench": {}},
    }
    if telemetry and "metrics" in parts:
        data["metrics"] = {"address": "127.0.0.1:0"}
    return start_server(parse_config(data), "127.0.0.1:0", tenants={"bench": tenant},
                        tracer_provider=provider if telemetry else None)  # type: ignore[arg-type]


def _serve(conn: Connection, log_file: str) -> None:
    """Child process: every server, until told to stop."""
    if PIN and len(_cores()) >= 2:
        os.sched_setaffinity(0, _cores()[1:2])  # the client takes the first (``_pinned_rounds``)
    from server.telemetry import tracing
    from server.telemetry.logs import configure_logging, flush_logs

    parts = os.environ.get("BENCH_OVERHEAD_PARTS", "metrics,tracing,log").split(",")
    lines = open(log_file, "a", encoding="utf-8")  # noqa: SIM115  # open until the end of the child
    configure_logging("json", logging.INFO, stream=lines)  # what ``logging.format: json`` does, to a file
    provider, exporter = _tracer(parts)
    # One tenant for all: the same directory, busy cache and bookings objects, so that where
    # each server's data landed in memory (a few percent between identical copies) is no part
    # of the comparison.
    tenant = _tenant()
    off = [_server(False, parts, None, tenant) for _ in range(SERVERS)]
    on = [_server(True, parts, provider, tenant) for _ in range(SERVERS)]
    settle_memory()  # as ``convene serve`` does once it serves
    metrics = next((s.metrics.port for s in on if s.metrics is not None), None)
    conn.send(([s.port for s in off], [s.port for s in on], metrics))
    conn.recv()  # the calls are done
    if tracing.installed() is not None:
        tracing.installed().force_flush()  # type: ignore[union-attr]  # the SDK's: the queued spans reach the exporter
    flush_logs()  # the queued access lines reach the file
    lines.flush()
    conn.send(len(exporter.get_finished_spans()) if exporter is not None else 0)  # type: ignore[attr-defined]
    conn.recv()  # stop
    for server in on + off:
        server.stop(None)


def _cores() -> list[int]:
    """The cores this process may run on, in order (the pinning needs two)."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _row(metric: str, value: float, unit: str, target: str = "") -> dict[str, object]:
    row: dict[str, object] = {"scenario": SCENARIO, "metric": metric, "value": round(value, 4), "unit": unit}
    if target:
        row["target"] = target
    return row


def run() -> list[dict[str, object]]:
    _, _, request, _ = panel_4w(seed=0)
    wire_request = slot_request_to_proto(request)
    metadata = (("authorization", f"Bearer {API_KEY}"),)
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        log_file = str(Path(folder) / "access.jsonl")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, log_file), daemon=True)
        # One malloc arena for the child's threads (read by glibc at start-up, so set for the
        # spawned child only): with one arena per thread, which arena a server's worker threads
        # drew made identical servers differ by up to 7% in CPU per call (off_vs_off), more than
        # the telemetry measured. The child inherits the variable; this process restores it.
        before = os.environ.get("MALLOC_ARENA_MAX")
        os.environ["MALLOC_ARENA_MAX"] = ARENAS
        try:
            process.start()
        finally:
            if before is None:
                del os.environ["MALLOC_ARENA_MAX"]
            else:
                os.environ["MALLOC_ARENA_MAX"] = before
        try:
            if not parent.poll(120):
                raise RuntimeError("the benchmark servers did not start")
            off_ports, on_ports, metrics_port = parent.recv()
            rounds = _pinned_rounds(off_ports, on_ports, metrics_port, wire_request, metadata)
            parent.send("spans?")
            spans = parent.recv()
        finally:
            parent.send("stop")
            process.join(30)
            if process.is_alive():
                process.kill()
        text = Path(log_file).read_text(encoding="utf-8") if os.path.exists(log_file) else ""
        lines = sum(1 for line in text.splitlines() if '"convene.access"' in line)
    off = [ms for r in rounds for ms in r[False]]
    on = [ms for r in rounds for ms in r[True]]
    half = SERVERS // 2
    first, second = [r[False][:half] for r in rounds], [r[False][half:] for r in rounds]
    calls = (RUNS + WARM_UP) * SERVERS
    return [
        _row("p50_off", statistics.median(off), "ms"),
        _row("p50_on", statistics.median(on), "ms"),
        _row("ratio", statistics.median(on) / statistics.median(off), "x", f"<= {RATIO_TARGET:g}"),
        # The median over rounds of on/off (a round's calls ran back to back, under the same load).
        _row("paired_ratio", statistics.median(statistics.fmean(r[True]) / statistics.fmean(r[False])
                                               for r in rounds), "x"),
        # Noise alone: off servers against off servers, in the same run.
        _row("off_vs_off", statistics.median(ms for f in first for ms in f)
             / statistics.median(ms for s in second for ms in s), "x") if half else
        _row("off_vs_off", 1.0, "x"),
        _row("servers_per_side", SERVERS, "count"),
        _row("pinned", float(PIN and len(_cores()) >= 2), "bool"),
        _row("spans_per_call_on", spans / calls, "count"),
        _row("access_lines_on", lines, "count"),
        _row("load_1m", os.getloadavg()[0], "load"),
    ]


def _pinned_rounds(off_ports: list[int], on_ports: list[int], metrics_port: int | None, request: object,
                   metadata: tuple[tuple[str, str]]) -> list[dict[bool, list[float]]]:
    """``_rounds`` with this process (the client) on the first core while the servers' process has
    the second: client and servers then never trade places on the cores (with both free to move,
    identical off servers differed by up to 14% on a loaded host, pinned by 2%)."""
    cores = _cores()
    if not PIN or len(cores) < 2:
        return _rounds(off_ports, on_ports, metrics_port, request, metadata)
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores[:1])
    try:
        return _rounds(off_ports, on_ports, metrics_port, request, metadata)
    finally:
        os.sched_setaffinity(0, before)


def _rounds(off_ports: list[int], on_ports: list[int], metrics_port: int | None, request: object,
            metadata: tuple[tuple[str, str]]) -> list[dict[bool, list[float]]]:
    """Per round, the latencies (ms) of each side's servers, in server order."""
    servers = [(telemetry, n, port) for n in range(len(off_ports))
               for telemetry, port in ((False, off_ports[n]), (True, on_ports[n]))]
    channels = {(t, n): grpc.insecure_channel(f"127.0.0.1:{port}") for t, n, port in servers}
    stubs = {key: api_grpc.SchedulingServiceStub(c) for key, c in channels.items()}
    scraping = threading.Event()

    def scrape() -> None:  # as Prometheus would, while the calls run
        while metrics_port is not None and not scraping.wait(5.0):
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
                reply.read()

    scraper = threading.Thread(target=scrape, daemon=True)
    rounds: list[dict[bool, list[float]]] = []
    try:
        for _ in range(WARM_UP):
            for stub in stubs.values():
                stub.FindSlots(request, metadata=metadata, timeout=60)
        scraper.start()
        for i in range(RUNS):
            # Reversed every other round, so that neither side always follows the other.
            order = servers if i % 2 == 0 else servers[::-1]
            took: dict[tuple[bool, int], float] = {}
            for telemetry, n, _ in order:
                t0 = time.perf_counter()
                stubs[(telemetry, n)].FindSlots(request, metadata=metadata, timeout=60)
                took[(telemetry, n)] = (time.perf_counter() - t0) * 1000
            rounds.append({t: [took[(t, n)] for n in range(len(off_ports))] for t in (False, True)})
    finally:
        scraping.set()
        for channel in channels.values():
            channel.close()
    return rounds


if __name__ == "__main__":
    for row in run():
        print(row)
