"""What telemetry costs a FindSlots: panel-4w over gRPC with metrics, tracing and access logs on vs off.

Two servers run side by side in one child process (the same interpreter,
memory and CPU share, so that the comparison measures telemetry and not two
processes' luck), both serving panel-4w from a warm busy cache as a
configured server does (``scenario_grpc``'s ``*_warm_cache`` rows):

- **off**: no ``metrics`` section, no tracing, ``logging.access_log: false``: a
  call passes no interceptor of ours, and its fetch/plan/assign make no spans
  (they are children of a traced call only);
- **on**: the Prometheus endpoint (scraped every 5 s while the calls run;
  Prometheus' usual interval is 15 s or more), OpenTelemetry tracing into an
  in-memory exporter (the gRPC instrumentation plus the fetch, plan and assign
  spans), and the access log as JSON lines with trace ids, written to a file.

Both run with the garbage collector as ``convene serve`` sets it (``settle_memory``).
The client alternates between them call by call (and which goes first), so
that whatever else the machine does weighs on both alike, and reports each
one's p50 and the ratio on/off (target <= 1.05). ``BENCH_OVERHEAD_PARTS``
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
RUNS = int(os.environ.get("BENCH_OVERHEAD_RUNS", "300"))  # calls per server, after the warm-up
WARM_UP = 5
RATIO_TARGET = 1.05


def _server(telemetry: bool, log_file: str, parts: list[str]) -> tuple[Running, object]:
    directory, busy, _, bookings = panel_4w(seed=0)
    data: dict[str, object] = {
        "server": {"plaintext": True, "worker_threads": 4},
        "logging": {"format": "json", "access_log": telemetry and "log" in parts},
        "api_keys": [{"key": API_KEY, "tenant": "bench", "principal": "bench"}],
        "tenants": {"bench": {}},
    }
    provider, exporter = None, None
    if telemetry:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        if "metrics" in parts:
            data["metrics"] = {"address": "127.0.0.1:0"}
        if "tracing" in parts:
            exporter = InMemorySpanExporter()
            provider = TracerProvider()
            # Batched, as the server's OTLP export is: a span's end only queues it.
            provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
    calendars = _calendars("cache", busy, sorted({*directory.members, *directory.rooms}))
    tenant = Tenant("bench", directory, {}, calendars, MemoryBookings(bookings))
    return start_server(parse_config(data), "127.0.0.1:0", tenants={"bench": tenant},
                        tracer_provider=provider), exporter


def _serve(conn: Connection, log_file: str) -> None:
    """Child process: both servers, until told to stop."""
    from server.telemetry import tracing
    from server.telemetry.logs import configure_logging, flush_logs

    parts = os.environ.get("BENCH_OVERHEAD_PARTS", "metrics,tracing,log").split(",")
    lines = open(log_file, "a", encoding="utf-8")  # noqa: SIM115  # open until the end of the child
    configure_logging("json", logging.INFO, stream=lines)  # what ``logging.format: json`` does, to a file
    off, _ = _server(False, log_file, parts)
    on, exporter = _server(True, log_file, parts)
    settle_memory()  # as ``convene serve`` does once it serves
    conn.send({False: (off.port, None), True: (on.port, on.metrics.port if on.metrics is not None else None)})
    conn.recv()  # the calls are done
    provider = tracing.installed()
    if provider is not None:
        provider.force_flush()  # type: ignore[attr-defined]  # the SDK's: the queued spans reach the exporter
    flush_logs()  # the queued access lines reach the file
    lines.flush()
    conn.send(len(exporter.get_finished_spans()) if exporter is not None else 0)  # type: ignore[attr-defined]
    conn.recv()  # stop
    on.stop(None)
    off.stop(None)


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
        process.start()
        try:
            if not parent.poll(120):
                raise RuntimeError("the benchmark servers did not start")
            latencies = _alternate(parent.recv(), wire_request, metadata)
            parent.send("spans?")
            spans = parent.recv()
        finally:
            parent.send("stop")
            process.join(30)
            if process.is_alive():
                process.kill()
        text = Path(log_file).read_text(encoding="utf-8") if os.path.exists(log_file) else ""
        lines = sum(1 for line in text.splitlines() if '"convene.access"' in line)
    off, on = statistics.median(latencies[False]), statistics.median(latencies[True])
    calls = RUNS + WARM_UP
    return [
        _row("p50_off", off, "ms"),
        _row("p50_on", on, "ms"),
        _row("ratio", on / off, "x", f"<= {RATIO_TARGET:g}"),
        # The median of each pair's on/off (the two calls of a pair ran back to back, under the same load).
        _row("paired_ratio", statistics.median(a / b for a, b in zip(latencies[True], latencies[False], strict=True)),
             "x"),
        _row("spans_per_call_on", spans / calls, "count"),
        _row("access_lines_on", lines, "count"),
        _row("load_1m", os.getloadavg()[0], "load"),
    ]


def _alternate(ports: dict[bool, tuple[int, int | None]], request: object,
               metadata: tuple[tuple[str, str]]) -> dict[bool, list[float]]:
    """Latencies (ms) of each server, calling them in turn."""
    latencies: dict[bool, list[float]] = {False: [], True: []}
    channels = {t: grpc.insecure_channel(f"127.0.0.1:{port}") for t, (port, _) in ports.items()}
    stubs = {t: api_grpc.SchedulingServiceStub(c) for t, c in channels.items()}
    metrics_port = ports[True][1]
    scraping = threading.Event()

    def scrape() -> None:  # as Prometheus would, while the calls run
        while metrics_port is not None and not scraping.wait(5.0):
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
                reply.read()

    scraper = threading.Thread(target=scrape, daemon=True)
    try:
        for _ in range(WARM_UP):
            for telemetry in (False, True):
                stubs[telemetry].FindSlots(request, metadata=metadata, timeout=60)
        scraper.start()
        for i in range(RUNS):
            # Alternate which goes first, so neither always follows the other.
            for telemetry in ((False, True) if i % 2 == 0 else (True, False)):
                t0 = time.perf_counter()
                stubs[telemetry].FindSlots(request, metadata=metadata, timeout=60)
                latencies[telemetry].append((time.perf_counter() - t0) * 1000)
    finally:
        scraping.set()
        for channel in channels.values():
            channel.close()
    return latencies


if __name__ == "__main__":
    for row in run():
        print(row)
