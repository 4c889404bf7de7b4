"""``server.processes: 2``: ``convene serve`` runs two server processes on one gRPC port
(SO_REUSEPORT), each answering health; the outbox worker runs in one of them (one
invitation per booking); a cancel through either is seen by both within a second
(their busy caches kept coherent through the store); SIGTERM to the parent drains
both and exits 0. The metrics endpoint (the first process's) counts every process's calls.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.config import load_config
from tests.paths import REPO
from tests.server import booking_world
from tests.server.booking.store.helpers import SmtpSink
from tests.server.booking_world import at, create_request, key, member, rules, wait_for, write_config

database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink

OVERLAPPING = {datetime(2026, 12, 7, h, m) for h, m in ((10, 15), (11, 0), (11, 45))}


@contextmanager
def serving(config: Path) -> Iterator[tuple[subprocess.Popen[str], int, list[str]]]:
    """``convene serve`` in a child process: the process, the port it reported, its log so far."""
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--config", str(config),
                                "--address", "127.0.0.1:0"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    found = threading.Event()
    port: list[int] = []
    log: list[str] = []

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            match = re.search(r"serving on port (\d+)", line)
            if match:
                port.append(int(match[1]))
                found.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        assert found.wait(60), "the server did not report its port:\n" + "".join(log)
        yield process, port[0], log
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def _logged(log: list[str], pattern: str) -> str:
    """The first group of the one line of ``log`` matching ``pattern`` (waiting for the log to be read)."""
    assert wait_for(lambda: any(re.search(pattern, line) for line in log), timeout=5), "".join(log)
    (found,) = [m[1] for line in log if (m := re.search(pattern, line))]
    return found


def children(pid: int) -> list[int]:
    """The server processes ``pid`` spawned (not multiprocessing's resource tracker)."""
    found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [c for c in found if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _sockets(pid: int) -> set[int]:
    """The inodes of the sockets ``pid`` holds."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def _tcp(port: int, state: str) -> set[int]:
    """Inodes of the TCP sockets on local ``port`` in ``state`` (0A: listening, 01: established)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                found.add(int(fields[9]))
    return found


def _starts(stub: api_grpc.SchedulingServiceStub) -> set[datetime]:
    request = api.FindSlotsRequest(rules=rules(member("bob")), time_zone="UTC")
    request.window_start.FromDatetime(at(9))
    request.window_end.FromDatetime(at(17))
    request.now.FromDatetime(at(0, day=1))
    return {s.start.ToDatetime() for s in stub.FindSlots(request, metadata=key(), timeout=10).slots}


@contextmanager
def _channels_on_every_process(port: int, pids: list[int]) -> Iterator[dict[int, grpc.Channel]]:
    """A channel (one connection) to each process: new connections until every process has one."""
    opened: list[grpc.Channel] = []
    chosen: dict[int, grpc.Channel] = {}
    try:
        while len(chosen) < len(pids) and len(opened) < 60:
            before = _tcp(port, "01")
            channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)])
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            opened.append(channel)
            new = _tcp(port, "01") - before
            for pid in pids:
                if _sockets(pid) & new:
                    chosen.setdefault(pid, channel)
        assert len(chosen) == len(pids), "the connections all went to one process"
        yield chosen
    finally:
        for channel in opened:
            channel.close()


def test_two_processes_share_the_port_run_the_outbox_once_stay_coherent_and_drain_on_sigterm(
        tmp_path: Path, database_url: str, smtp_sink: tuple[SmtpSink, int]) -> None:
    sink, smtp_port = smtp_sink
    config = write_config(tmp_path, database_url, smtp_port, metrics={"address": "127.0.0.1:0"},
                          server={"processes": 2, "grace_seconds": 2, "http_address": "127.0.0.1:0"})
    assert load_config(config).server.process_count() == 2
    with serving(config) as (process, port, log):
        pids = children(process.pid)
        assert len(pids) == 2
        listening = _tcp(port, "0A")
        for pid in pids:  # each child listens on the port itself
            assert _sockets(pid) & listening, f"process {pid} does not listen on {port}"
        assert not _sockets(process.pid) & listening  # the parent only reserves it
        # The children's lines may come after the parent's "serving on port" (each writes in batches).
        assert wait_for(lambda: sum("runs the outbox worker" in line for line in log) == 1, timeout=5), "".join(log)
        # The HTTP server and the metrics endpoint: the first process's, on ports of their own.
        http_url = _logged(log, r"the console on (\S+) \(the first")
        with urllib.request.urlopen(http_url, timeout=10) as page:
            assert page.status == 200
        metrics = _logged(log, r"metrics on port (\d+)")
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=10) as page:
            assert b"convene_outbox_backlog" in page.read()

        primary = int(next(re.search(r"pid (\d+)\) runs the outbox", line)[1]  # type: ignore[index]
                           for line in log if "runs the outbox worker" in line))
        with _channels_on_every_process(port, pids) as channels:
            stubs = {pid: api_grpc.SchedulingServiceStub(c) for pid, c in channels.items()}
            booked = [stub.CreateBooking(create_request(f"p{i}", at(11 + 2 * i), [["bob"]]), metadata=key(),
                                         timeout=10).booking for i, stub in enumerate(stubs.values())]
            # Each invitation goes out once, whichever process took the booking.
            assert wait_for(lambda: len(sink.received) >= len(booked), timeout=15)
            time.sleep(1.0)  # twenty polls of a worker: nothing more goes out
            assert len(sink.received) == len(booked)

            bob = tmp_path / "calendars" / "bob.ics"
            first = f"{booked[0].id}@convene"
            assert wait_for(lambda: first in {str(e["UID"]) for e in booking_world.events_in(bob)})
            for stub in stubs.values():  # every process now caches bob's calendar with the event in it
                assert not OVERLAPPING & _starts(stub)
            # Through the primary, which also removes the event: the other hears of both only by announcements.
            stubs[primary].CancelBooking(api.CancelBookingRequest(booking_id=booked[0].id), metadata=key(),
                                         timeout=10)
            assert wait_for(lambda: first not in {str(e["UID"]) for e in booking_world.events_in(bob)})
            for stub in stubs.values():
                assert wait_for(lambda s=stub: _starts(s) >= OVERLAPPING, timeout=1.0)  # type: ignore[misc]

            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        for pid in pids:
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
        assert any("shutting down 2 processes" in line for line in log)


def _scrape(port: int) -> tuple[list[str], list[Sample]]:
    """The metric families' names and every sample of the endpoint on ``port``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
        families = list(text_string_to_metric_families(page.read().decode()))
    return [f.name for f in families], [sample for family in families for sample in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    """The one sample ``name`` whose labels include ``labels`` (0 when there is none)."""
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else 0.0


def _metrics_dir(pid: int) -> str:
    environ = dict(item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
    return environ["PROMETHEUS_MULTIPROC_DIR"]


def test_the_metrics_count_the_calls_of_every_process(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url, None, database_pool={"min_size": 3},
                          metrics={"address": "127.0.0.1:0"}, server={"processes": 2, "grace_seconds": 2})
    with serving(config) as (process, port, log):
        pids = children(process.pid)
        assert "PROMETHEUS_MULTIPROC_DIR" not in Path(f"/proc/{process.pid}/environ").read_text()
        directory = {_metrics_dir(pid) for pid in pids}
        assert len(directory) == 1 and Path(*directory).is_dir()
        metrics = int(_logged(log, r"metrics on port (\d+)"))
        calls = 0
        with _channels_on_every_process(port, pids) as channels:
            for channel in channels.values():  # each process serves three
                for _ in range(3):
                    assert _starts(api_grpc.SchedulingServiceStub(channel)) >= OVERLAPPING
                    calls += 1
        families, samples = _scrape(metrics)
        assert _value(samples, "convene_rpc_handled_total", method="FindSlots", code="OK") == calls == 6
        assert _value(samples, "convene_rpc_duration_seconds_count", method="FindSlots") == calls
        assert _value(samples, "convene_rpc_duration_seconds_bucket", method="FindSlots", le="+Inf") == calls
        # Every process read bob's calendar once (a miss), then found it in its own cache.
        assert _value(samples, "convene_busy_cache_misses_total", source="ics") == len(pids)
        assert _value(samples, "convene_busy_cache_hits_total", source="ics") == calls - len(pids)
        # The store's figures once, not once per process; no series split by pid.
        assert families.count("convene_outbox_backlog") == families.count("convene_store_pool_connections") == 1
        assert not [s for s in samples if "pid" in s.labels]
        if database_url.startswith("postgresql"):  # two pools of 3 (each process writes its own every second)
            assert wait_for(lambda: _value(_scrape(metrics)[1], "convene_store_pool_connections", state="size") == 6,
                            timeout=5), _scrape(metrics)[1]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    assert not Path(*directory).exists()


def test_processes_default_to_the_cores_and_one_is_the_single_process(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "sqlite:///x.db", None))
    assert config.server.processes is None
    assert config.server.process_count() == len(os.sched_getaffinity(0))
    one = load_config(write_config(tmp_path, "sqlite:///x.db", None, server={"processes": 1}))
    assert one.server.process_count() == 1
    with pytest.raises(Exception, match="processes"):
        load_config(write_config(tmp_path, "sqlite:///x.db", None, server={"processes": 0}))


class _SlowFeed(BaseHTTPRequestHandler):
    """An empty ICS feed that takes ``delay`` seconds to answer: a FindSlots is in flight meanwhile."""

    delay = 2.0

    def do_GET(self) -> None:
        time.sleep(self.delay)
        body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Convene tests//EN\r\nEND:VCALENDAR\r\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_feed() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowFeed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slow.ics"
    server.shutdown()
    server.server_close()


def _slow_config(tmp_path: Path, feed: str) -> Path:
    config = tmp_path / "convene.yaml"
    config.write_text(yaml.safe_dump({
        "server": {"plaintext": True, "processes": 2, "grace_seconds": 5},
        "database_url": f"sqlite:///{tmp_path / 'bookings.sqlite3'}",
        "api_keys": [{"key": booking_world.OPS_KEY, "tenant": "team", "principal": "ops"}],
        "tenants": {"team": {"members": [{"id": "bob", "working_hours": {"weekly": {"mon-fri": "09:00-17:00"}},
                                          "calendar": {"kind": "ics", "url": feed}}]}},
    }))
    return config


def test_sigterm_lets_every_process_finish_its_calls_in_flight(tmp_path: Path, slow_feed: str) -> None:
    with serving(_slow_config(tmp_path, slow_feed)) as (process, port, log):
        pids = children(process.pid)
        with _channels_on_every_process(port, pids) as channels:
            replies: dict[int, set[datetime] | BaseException] = {}

            def find(pid: int, channel: grpc.Channel) -> None:
                try:
                    replies[pid] = _starts(api_grpc.SchedulingServiceStub(channel))
                except grpc.RpcError as exc:
                    replies[pid] = exc

            calls = [threading.Thread(target=find, args=item) for item in channels.items()]
            for call in calls:
                call.start()
            time.sleep(0.7)  # both calls wait on the feed (2 s)
            process.send_signal(signal.SIGTERM)
            for call in calls:
                call.join(15)
            assert process.wait(timeout=20) == 0
        assert set(replies) == set(pids)
        for pid, reply in replies.items():  # each process answered its call in full, after the signal
            assert isinstance(reply, set) and reply >= OVERLAPPING, (pid, reply)
        assert any("shutting down 2 processes" in line for line in log)


def test_a_process_that_dies_stops_the_serve_with_status_1(tmp_path: Path, slow_feed: str) -> None:
    with serving(_slow_config(tmp_path, slow_feed)) as (process, _, log):
        first, second = children(process.pid)
        os.kill(second, signal.SIGKILL)
        assert process.wait(timeout=20) == 1
        assert wait_for(lambda: not Path(f"/proc/{first}").exists(), timeout=5)
        assert any("exited on its own" in line for line in log)
