"""The demo directory (examples/): `make demo`, and the CLI running in-process on its config."""

from __future__ import annotations

import json
import re

import pytest

from server.cli import demo
from server.cli.commands import main
from tests.paths import EXAMPLES

EXAMPLE = str(EXAMPLES / "convene.yaml")
OPS_KEY = "acme-ops-3f9c2a7d41b8e605"
MARIA_KEY = "acme-maria-8d21c4f0e97b3a56"
GLOBEX_KEY = "globex-demo-5b7e0c19a4d2f863"


def test_the_demo_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main() == 0
    out = capsys.readouterr().out
    assert "8 of " in out  # the technical demo's first page
    assert re.search(r"The agent's console: http://127\.0\.0\.1:\d+/\?template=technical-demo", out)
    technical = out.split("== Discovery call")[0]
    assert "account executive  sales engineer  solutions architect  room" in technical
    check = out.split("== CheckTime")[1]
    assert "Available." in check and "james" in check  # Maria is on a call: her alternate sits
    blocked = out.split("== CheckTime")[2]
    assert "Not available" in blocked and "dana" in blocked
    assert "Architecture guild" not in out  # the ops key does not own Dana's calendar
    assert out.rstrip().endswith("Server stopped.")


def _check_json(api_key: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    # Wed 2026-12-09 14:00 New York: Maria has her pipeline review, James is onsite at Hooli.
    code = main(["check", "--config", EXAMPLE, "--api-key", api_key, "--template", "technical-demo",
                 "--zone", "America/New_York", "--start", "2026-12-09T14:00", "--now", "2026-11-30T08:00",
                 "--json"])
    assert code == 0
    reply: dict[str, object] = json.loads(capsys.readouterr().out)
    return reply


def test_event_details_from_ics_reach_only_their_owner(capsys: pytest.CaptureFixture[str]) -> None:
    as_maria = _check_json(MARIA_KEY, capsys)
    as_ops = _check_json(OPS_KEY, capsys)
    assert as_maria["available"] is False and as_ops["available"] is False
    maria_conflicts = [c for c in as_maria["slot"]["conflicts"] if c["resource_id"] == "maria"]  # type: ignore[index]
    assert [c["details"]["title"] for c in maria_conflicts] == ["Pipeline review"]
    ops_conflicts = [c for c in as_ops["slot"]["conflicts"] if c["resource_id"] == "maria"]  # type: ignore[index]
    assert [c["start"] for c in ops_conflicts] == [c["start"] for c in maria_conflicts]
    assert all("details" not in c for c in as_ops["slot"]["conflicts"])  # type: ignore[index]


def test_the_second_tenant_sees_only_its_own_directory(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["slots", "--config", EXAMPLE, "--api-key", GLOBEX_KEY, "--seat", "member:maria",
                 "--duration", "30m", "--zone", "Asia/Tokyo", "--from", "2026-12-07"])
    assert code == 1
    assert capsys.readouterr().err.startswith("NOT_FOUND")
    code = main(["slots", "--config", EXAMPLE, "--api-key", GLOBEX_KEY, "--template", "intro-call",
                 "--zone", "Asia/Tokyo", "--from", "2026-12-07", "--to", "2026-12-07", "--limit", "3",
                 "--now", "2026-11-30T00:00"])
    assert code == 0
    assert "kim" in capsys.readouterr().out
