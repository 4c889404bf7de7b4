"""``convene batch`` and ``convene tune`` through the ``convene`` entry point, from the
repository root as a user types them: no API key (they run in this process on a config)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from server.cli import main
from tests.paths import REPO


@pytest.fixture(autouse=True)
def at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("CONVENE_API_KEY", raising=False)


def test_batch_on_a_self_contained_file_needs_no_api_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hiring"
    assert main(["batch", "examples/batch/hiring-week.json", "--out", str(out), "--time-limit", "1", "--quiet"]) == 0
    assert "scheduled" in capsys.readouterr().out
    result = json.loads(out.with_suffix(".json").read_text())
    assert len(result["scheduled"]) + len(result["unscheduled"]) == 14


def test_batch_on_the_demo_directory_reads_its_calendars(tmp_path: Path) -> None:
    out = tmp_path / "acme"
    code = main(["batch", "--config", "examples/convene.yaml", "examples/batch/acme-demos.json", "--out", str(out),
                 "--quiet"])
    assert code == 0
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["status"] == "OPTIMAL" and result["unscheduled"] == []
    starts = {s["id"]: datetime.fromisoformat(s["start"]) for s in result["scheduled"]}
    assert len(starts) == 10 and all(s.year == 2026 and s.month == 12 for s in starts.values())
    # Every demo seats dana: never two at once, each one's 15-minute buffer before kept clear.
    demos = sorted((datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]))
                   for s in result["scheduled"] if s["id"].startswith("demo-"))
    assert len(demos) == 5
    assert all(later[0] - earlier[1] >= timedelta(minutes=15) for earlier, later in itertools.pairwise(demos))


def test_tune_needs_no_api_key(tmp_path: Path) -> None:
    out = tmp_path / "tune"
    code = main(["tune", "examples/batch/hiring-week.json", "--grid", "fairness=0,1", "--time-limit", "0.3",
                 "--out", str(out)])
    assert code == 0
    assert (out / "kpis.csv").read_text().count("\n") == 3  # header + 2 settings


def test_the_client_commands_still_need_an_api_key() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["slots", "--config", "examples/convene.yaml", "--template", "discovery-call", "--zone", "UTC",
              "--from", "2026-12-07"])
    assert exited.value.code == 2
