"""``convene serve --http-address``: the demo config served as a subprocess with its HTTP
listener moved to a free port; a JSON (Connect) FindSlots there answers as gRPC does."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2

from convene.v1 import meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.cli.commands import main
from tests.paths import REPO
from tests.server.api.connect_client import unary

DEMO_KEY = "acme-ops-3f9c2a7d41b8e605"  # examples/convene.yaml's
MONDAY = datetime(2026, 12, 7, tzinfo=UTC)


def _request() -> api.FindSlotsRequest:
    request = api.FindSlotsRequest(
        rules=meeting_pb2.MeetingRules(seats=[meeting_pb2.Seat(member=meeting_pb2.MemberSeat(candidates=[m]))
                                              for m in ("maria", "james")],
                                       duration=duration_pb2.Duration(seconds=1800), start_interval_minutes=30),
        time_zone="America/New_York", page_size=50)
    request.window_start.FromDatetime(MONDAY)
    request.window_end.FromDatetime(datetime(2026, 12, 12, tzinfo=UTC))
    request.now.FromDatetime(datetime(2026, 11, 30, tzinfo=UTC))
    return request


def _reported(process: subprocess.Popen[str]) -> tuple[int, int, list[str]]:
    """The gRPC port and the HTTP port the server logs, and the lines read."""
    assert process.stderr is not None
    lines: list[str] = []
    grpc_port = http_port = 0
    deadline = time.monotonic() + 60
    while not (grpc_port and http_port) and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if found := re.search(r"serving on port (\d+)", line):
            grpc_port = int(found[1])
        if found := re.search(r"the console on https?://[^:]+:(\d+)/", line):
            http_port = int(found[1])
    return grpc_port, http_port, lines


def test_http_address_moves_the_http_listener(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'bookings.sqlite3'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--config", str(REPO / "examples" / "convene.yaml"),
         "--address", "127.0.0.1:0", "--http-address", "127.0.0.1:0", "--database", database],
        cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        grpc_port, http_port, lines = _reported(process)
        assert grpc_port and http_port, "".join(lines)
        assert http_port != 8080  # the config's, overridden
        over_http = unary(http_port, "FindSlots", _request(), api.FindSlotsResponse, DEMO_KEY)
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            over_grpc = api_grpc.SchedulingServiceStub(channel).FindSlots(
                _request(), metadata=(("authorization", f"Bearer {DEMO_KEY}"),), timeout=30)
        assert over_http.slots and over_http == over_grpc
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("address", ["8080", "localhost:http", "host:99999", "a b:80"])
def test_a_bad_http_address_is_a_usage_error(address: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--config", str(REPO / "examples" / "convene.yaml"), "--http-address", address])
    assert stopped.value.code == 2
    assert "--http-address" in capsys.readouterr().err
