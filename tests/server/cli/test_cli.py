"""``convene slots`` / ``convene check`` against a running server."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC

import pytest

from server.cli import main
from tests.paths import REPO
from tests.server.conftest import OPS_KEY, Served, key
from tests.server.messages import find, member, rules

MEETING = ["--seat", "host=member:alice,bob", "--seat", "member:dan", "--duration", "1h",
           "--zone", "UTC", "--now", "2026-11-30T00:00"]


def test_slots_json_from_a_subprocess_equals_the_stub_reply(served: Served) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "slots", "--target", served.target, "--api-key", OPS_KEY,
         *MEETING, "--from", "2026-12-07", "--to", "2026-12-07", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    direct = served.stub.FindSlots(find(rules(member("alice", "bob"), member("dan"))), metadata=key())
    assert [s["start"] for s in printed["slots"]] == [
        s.start.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for s in direct.slots]
    assert printed["slots"][0]["seats"][0]["label"] == "host"
    assert printed["total_available"] == direct.total_available


def test_slots_prints_a_table(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["slots", "--target", served.target, "--api-key", OPS_KEY, *MEETING,
                 "--from", "2026-12-07T09:00", "--to", "2026-12-07T13:00", "--limit", "3"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["#", "Start", "(UTC)", "End", "host", "seat", "2", "Cost"]
    # 09:00 is free for Alice and Dan; 09:15 runs into Alice's 10:00 event while Bob is out.
    assert lines[2].split() == ["1", "Mon", "07", "Dec", "09:00", "10:00", "alice", "dan", "0"]
    assert "Next page: --page-token" in out


def test_check_prints_the_verdict(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--target", served.target, "--api-key", OPS_KEY, *MEETING, "--start", "2026-12-07T11:00"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("Available.")
    assert "alice" in out and "dan" in out


def test_a_failed_call_prints_the_code_and_the_fields(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["slots", "--target", served.target, "--api-key", OPS_KEY, "--seat", "member:mallory",
                 "--duration", "1h", "--zone", "UTC", "--from", "2026-12-07"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("NOT_FOUND")
    assert "rules.seats[0].member.candidates[0]" in err


def test_bad_arguments_are_usage_errors(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--seat", "chair:x", "--duration", "1h", "--zone", "UTC", "--from", "2026-12-07"],
                 ["--seat", "member:alice", "--duration", "1h", "--zone", "Nowhere", "--from", "2026-12-07"],
                 ["--seat", "member:alice", "--duration", "1h", "--zone", "UTC", "--from", "7 Dec"]):
        with pytest.raises(SystemExit) as exit_:
            main(["slots", "--target", served.target, "--api-key", OPS_KEY, *argv])
        assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--seat 'chair:x'" in err and "Nowhere" in err and "'7 Dec'" in err
