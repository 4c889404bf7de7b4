"""Isolation: a healthy tenant's FindSlots while another tenant's requests name a trickling feed.

The server runs in a child process with the demo's config (examples/convene.yaml:
tenant "acme" reads its ICS files) plus a tenant "noisy" whose three members'
calendars are one feed on a loopback HTTP server that trickles a byte a
second. This process asks:

- ``healthy p50``: FindSlots of acme (the technical demo over a week, as the demo
  asks it), ``RUNS`` calls one after another (0.1 s apart, so they span several
  noisy rounds below), nothing else running, before and after the noise: the
  baseline. The busy cache is off, so every call reads acme's calendar files;
- ``healthy p50 under bad feed``: the same calls while 50 requests of "noisy" name
  the trickling feed at once, each with a 2 s deadline, every client sending its
  next one when its 2 s are up (so 50 are always in flight or just answered);
- ``ratio``: the second over the first (target <= 1.5);
- ``failed or changed``: healthy calls that failed or whose answer (the starts, who
  sits in each seat) differed from the baseline's (target == 0).

Also reported: what the noisy requests got (``noisy answered`` and how many named
the feed "circuit open", so the breaker's share is visible).
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import yaml

from convene.v1 import meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import start_server
from server.config import parse_config

SCENARIO = "isolation"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ACME_KEY = "acme-ops-3f9c2a7d41b8e605"
NOISY_KEY = "noisy-tenant-key-0123456789"
RUNS = int(os.environ.get("BENCH_ISOLATION_RUNS", "60"))
PAUSE = 0.1  # seconds between healthy calls: RUNS of them span several noisy rounds
NOISY = 50
NOISY_DEADLINE = 2.0
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 30, 8, tzinfo=NEW_YORK)
WEEK = datetime(2026, 12, 7, tzinfo=NEW_YORK)


def _serve(conn: Connection, folder: str, feed_url: str) -> None:
    """Child process: the demo config plus the noisy tenant, until told to stop."""
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "convene.yaml").read_text())
    data["database_url"] = f"sqlite:///{Path(folder) / 'bookings.sqlite3'}"
    # No busy cache: every healthy request reads its calendars while the noisy ones run.
    data["calendars"] = {**data.get("calendars", {}), "cache_seconds": 0}
    data["api_keys"].append({"key": NOISY_KEY, "tenant": "noisy", "principal": "ops@noisy.example"})
    data["tenants"]["noisy"] = {"members": [
        {"id": f"n{i}", "time_zone": "UTC", "calendar": {"kind": "ics", "url": feed_url}} for i in range(3)]}
    running = start_server(parse_config(data, base_dir=EXAMPLES), "127.0.0.1:0")
    conn.send(running.port)
    conn.recv()  # any message: stop
    running.stop(None)


class _TricklingFeed:
    """A loopback HTTP server whose every answer is a calendar sent one byte a second."""

    def __init__(self) -> None:
        from tests.providers.loopback import Answer, LoopbackHttp

        self.http = LoopbackHttp()
        body = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nEND:VCALENDAR\r\n")
        self.http.route("GET", "/noisy.ics", Answer(200, body, trickle=1.0))
        self.url = f"{self.http.url}/noisy.ics"


def _healthy() -> api.FindSlotsRequest:
    request = api.FindSlotsRequest(template=meeting_pb2.TemplateRef(template_id="technical-demo"),
                                   time_zone="America/New_York", page_size=50, order=api.ORDER_BEST_FIRST)
    request.window_start.FromDatetime(WEEK)
    request.window_end.FromDatetime(WEEK + timedelta(days=5))
    request.now.FromDatetime(NOW)
    return request


def _noisy() -> api.FindSlotsRequest:
    request = api.FindSlotsRequest(rules=meeting_pb2.MeetingRules(
        seats=[meeting_pb2.Seat(member=meeting_pb2.MemberSeat(candidates=[f"n{i}"])) for i in range(3)],
        start_interval_minutes=30), time_zone="UTC", page_size=10)
    request.rules.duration.FromTimedelta(timedelta(minutes=30))
    request.window_start.FromDatetime(WEEK)
    request.window_end.FromDatetime(WEEK + timedelta(days=1))
    request.now.FromDatetime(NOW)
    return request


def _answer(reply: api.FindSlotsResponse) -> tuple[object, ...]:
    return (tuple(reply.unavailable_calendars),
            tuple((s.start.seconds, tuple(tuple(f.resource_ids) for f in s.seats)) for s in reply.slots))


def _latencies(stub: api_grpc.SchedulingServiceStub, expected: tuple[object, ...] | None
               ) -> tuple[list[float], int, tuple[object, ...]]:
    """``RUNS`` healthy calls: their latencies (ms), how many failed or changed, the last answer."""
    metadata = (("authorization", f"Bearer {ACME_KEY}"),)
    samples: list[float] = []
    bad = 0
    answer: tuple[object, ...] = ()
    for _ in range(RUNS):
        began = time.perf_counter()
        try:
            reply = stub.FindSlots(_healthy(), metadata=metadata, timeout=5)
        except grpc.RpcError:
            bad += 1
            continue
        samples.append((time.perf_counter() - began) * 1000)
        answer = _answer(reply)
        if expected is not None and answer != expected:
            bad += 1
        time.sleep(PAUSE)
    return samples, bad, answer


class _Noise:
    """``NOISY`` clients, each sending a noisy request every ``NOISY_DEADLINE`` seconds until stopped."""

    def __init__(self, target: str) -> None:
        self.stop = threading.Event()
        self.answered = 0
        self.circuit_open = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._channel = grpc.insecure_channel(target)
        self._stub = api_grpc.SchedulingServiceStub(self._channel)
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(NOISY)]

    def __enter__(self) -> _Noise:
        for thread in self._threads:
            thread.start()
        time.sleep(NOISY_DEADLINE / 2)  # every client has a request in flight
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(NOISY_DEADLINE + 5)
        self._channel.close()

    def _client(self) -> None:
        metadata = (("authorization", f"Bearer {NOISY_KEY}"),)
        while not self.stop.is_set():
            began = time.monotonic()
            try:
                reply = self._stub.FindSlots(_noisy(), metadata=metadata, timeout=NOISY_DEADLINE)
                with self._lock:
                    self.answered += 1
                    self.circuit_open += any("circuit open" in u.reason for u in reply.unavailable_calendars)
            except grpc.RpcError:
                with self._lock:
                    self.errors += 1
            self.stop.wait(max(0.0, began + NOISY_DEADLINE - time.monotonic()))


def _row(metric: str, value: float, unit: str, target: str = "") -> dict[str, object]:
    row: dict[str, object] = {"scenario": SCENARIO, "metric": metric, "value": round(value, 3), "unit": unit}
    if target:
        row["target"] = target
    return row


def run() -> list[dict[str, object]]:
    feed = _TricklingFeed()
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    with tempfile.TemporaryDirectory(prefix="convene-isolation-") as folder:
        server = context.Process(target=_serve, args=(child, folder, feed.url), daemon=True)
        server.start()
        try:
            if not parent.poll(120):
                raise RuntimeError("the benchmark server did not start")
            target = f"127.0.0.1:{parent.recv()}"
            with grpc.insecure_channel(target) as channel:
                stub = api_grpc.SchedulingServiceStub(channel)
                _latencies(stub, None)  # warm-up: connections, parsed calendar files
                alone, failed_alone, expected = _latencies(stub, None)
                with _Noise(target) as noise:
                    loaded, failed, _ = _latencies(stub, expected)
                # The baseline again after the noise: the machine is shared, its load drifts.
                after, failed_after, _ = _latencies(stub, expected)
        finally:
            parent.send("stop")
            server.join(30)
            if server.is_alive():
                server.kill()
            feed.http.close()
    healthy, under = statistics.median(alone + after), statistics.median(loaded)
    return [
        _row("healthy p50", healthy, "ms"),
        _row("healthy p50 under bad feed", under, "ms"),
        _row("ratio", under / healthy, "x", "<= 1.5"),
        _row("failed or changed", failed + failed_alone + failed_after, "count", "== 0"),
        _row("noisy answered", noise.answered, "count"),
        _row("noisy named circuit open", noise.circuit_open, "count"),
        _row("noisy failed", noise.errors, "count"),
    ]


if __name__ == "__main__":
    for result_row in run():
        print(result_row)
