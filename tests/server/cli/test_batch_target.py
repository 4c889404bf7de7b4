"""``convene batch --target --commit`` and ``convene tune --target`` end to end: the demo
served by ``convene serve`` as a subprocess (on a copy of examples/, SQLite), the CLI
run as another process; the bookings it makes read back over gRPC."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from tests.paths import REPO
from tests.server.cli.test_serve import DEMO_KEY, _reported

BATCH = "examples/batch/acme-demos.json"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A copy of examples/ served (the organizer's calendar writes land in the copy), and its gRPC port."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "examples", root / "examples")
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--config", str(root / "examples" / "convene.yaml"),
         "--address", "127.0.0.1:0", "--http-address", "127.0.0.1:0",
         "--database", f"sqlite:///{root / 'bookings.sqlite3'}"],
        cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        port, _, lines = _reported(process)
        assert port, "".join(lines)
        yield root, port
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def cli(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.cli", *argv], cwd=root, capture_output=True, text=True,
                          timeout=180, env={"PATH": "/usr/bin:/bin", "CONVENE_API_KEY": DEMO_KEY,
                                            "PYTHONPATH": str(REPO), "HOME": str(root)})


def listed(port: int) -> dict[str, str]:
    """request id -> booking id of every confirmed booking, over gRPC."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = api_grpc.SchedulingServiceStub(channel).ListBookings(
            api.ListBookingsRequest(page_size=1000), metadata=(("authorization", f"Bearer {DEMO_KEY}"),), timeout=30)
    return {b.request_id: b.id for b in reply.bookings}


def test_batch_commit_on_the_server_books_once_and_a_retry_replays(demo: tuple[Path, int]) -> None:
    root, port = demo
    before = listed(port)
    argv = ("batch", "--config", "examples/convene.yaml", BATCH, "--target", f"127.0.0.1:{port}",
            "--work-limit", "0.5", "--time-limit", "60", "--quiet")
    first = cli(root, *argv, "--commit", "--request-id", "ops-week-50", "--out", "first")
    assert first.returncode == 0, first.stderr
    assert "committed" in first.stdout and "replayed" not in first.stdout
    result = json.loads((root / "first.json").read_text())
    booked = {i["id"]: i["booking_id"] for i in result["items"] if "scheduled" in i}
    assert result["committed"] and len(booked) >= 5 and all(booked.values())
    now = listed(port)
    made = {request: booking for request, booking in now.items() if request not in before}
    assert sorted(made.values()) == sorted(booked.values())  # every scheduled item booked, nothing else

    again = cli(root, *argv, "--commit", "--request-id", "ops-week-50", "--out", "again")
    assert again.returncode == 0, again.stderr
    assert "committed (replayed)" in again.stdout
    replay = json.loads((root / "again.json").read_text())
    assert {i["id"]: i["booking_id"] for i in replay["items"] if "scheduled" in i} == booked
    assert listed(port) == now  # booked once

    # Without --request-id a commit is refused before anything is sent.
    refused = cli(root, *argv, "--commit", "--out", "refused")
    assert refused.returncode == 2 and "--request-id" in refused.stderr and "Traceback" not in refused.stderr
    assert listed(port) == now


def test_tune_on_the_server_runs_every_setting_there(demo: tuple[Path, int]) -> None:
    root, port = demo
    done = cli(root, "tune", "--config", "examples/convene.yaml", BATCH, "--target", f"127.0.0.1:{port}",
               "--grid", "earliness=0,5", "--work-limit", "0.3", "--time-limit", "60", "--out", "tuned")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((root / "tuned" / "kpis.csv").open()))
    assert [r["setting"] for r in rows] == ["earliness=0", "earliness=5"]
    assert all(int(r["scheduled"]) > 0 and r["status"] in ("OPTIMAL", "FEASIBLE") for r in rows)
    # An unreachable target: one line per failure and a non-zero exit, no traceback.
    gone = cli(root, "tune", "--config", "examples/convene.yaml", BATCH, "--target", "127.0.0.1:9",
               "--grid", "earliness=0,5", "--time-limit", "5", "--out", "gone")
    assert gone.returncode == 3, gone.stderr
    assert "UNAVAILABLE" in gone.stderr and "Traceback" not in gone.stderr


def test_a_file_naming_bookings_re_plans_them_on_the_server(demo: tuple[Path, int]) -> None:
    """After a commit: a file pinning one booking, letting another move inside its window,
    and adding a new item. The pinned one keeps its time; the commit books the new one."""
    root, port = demo
    base = cli(root, "batch", "--config", "examples/convene.yaml", BATCH, "--target", f"127.0.0.1:{port}",
               "--work-limit", "0.5", "--time-limit", "60", "--quiet", "--commit", "--request-id", "ops-base",
               "--out", "base")
    assert base.returncode == 0, base.stderr
    placed = {i["id"]: i for i in json.loads((root / "base.json").read_text())["items"] if "booking_id" in i}
    spec = json.loads((REPO / BATCH).read_text())
    by_id = {item["id"]: item for item in spec["items"]}
    pinned, movable = sorted(placed)[:2]
    new = dict(by_id["call-stark"], id="call-new-lead")
    spec["items"] = [
        {"id": "keep", "booking_id": placed[pinned]["booking_id"]},
        {"id": "may-move", "booking_id": placed[movable]["booking_id"], "movable": True,
         "window_start": by_id[movable]["window_start"], "window_end": by_id[movable]["window_end"],
         **({"time_zone": by_id[movable]["time_zone"]} if "time_zone" in by_id[movable] else {})},
        new,
    ]
    (root / "plan.json").write_text(json.dumps(spec))
    before = listed(port)
    done = cli(root, "batch", "--config", "examples/convene.yaml", "plan.json", "--target", f"127.0.0.1:{port}",
               "--work-limit", "0.5", "--time-limit", "60", "--quiet", "--commit", "--request-id", "ops-replan",
               "--out", "replanned")
    assert done.returncode == 0, done.stderr
    result = {i["id"]: i for i in json.loads((root / "replanned.json").read_text())["items"]}
    assert list(result) == ["keep", "may-move", "call-new-lead"]
    assert result["keep"]["scheduled"]["start"] == placed[pinned]["scheduled"]["start"]
    assert not result["keep"]["scheduled"].get("moved", False)
    assert result["keep"]["booking_id"] == placed[pinned]["booking_id"]
    assert "scheduled" in result["may-move"] and result["may-move"]["booking_id"] == placed[movable]["booking_id"]
    assert result["call-new-lead"]["booking_id"] not in {p["booking_id"] for p in placed.values()}
    after = listed(port)
    # One new booking; the moved one rescheduled in place (same id), not booked twice.
    assert set(after.values()) - set(before.values()) == {result["call-new-lead"]["booking_id"]}
    assert set(before.values()) <= set(after.values())

    # In process there is no booking to name: refused, naming the item.
    local = cli(root, "batch", "--config", "examples/convene.yaml", "plan.json", "--out", "local", "--quiet")
    assert local.returncode == 2 and "items[0].booking_id" in local.stderr and "--target" in local.stderr
