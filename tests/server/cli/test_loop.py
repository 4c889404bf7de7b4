"""``convene loop`` against the real server: the table (a row per option, a column per
segment with its start and people), ``--json``, a loop template with overrides, and a
usage error naming what is missing."""

from __future__ import annotations

import json

import pytest

from server.cli.commands import main
from tests.server import booking_world
from tests.server.booking_world import OPS_KEY, World

database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
WINDOW = ["--zone", "UTC", "--now", "2026-11-30T00:00", "--from", "2026-12-07T09:00", "--to", "2026-12-07T17:00"]


def _client(world: World, *argv: str) -> list[str]:
    return ["loop", "--target", f"127.0.0.1:{world.running.port}", "--api-key", OPS_KEY, *argv]


@sqlite_only
def test_loop_prints_a_row_per_option_and_a_column_per_segment(world: World,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_client(world, "--segment", "panel=coding", "--segment", "panel=chat:30m", "--max-gap", "15m",
                        "--limit", "2", *WINDOW)) == 0
    out = capsys.readouterr().out
    header, _rule, first, second = out.splitlines()[:4]
    assert header.split()[:6] == ["#", "Start", "(UTC)", "End", "coding", "chat"]
    # The panel needs the large room (three people: the small one seats two), cleaned until 10:00;
    # alice is busy 10-11, so bob hosts coding and alice the chat after it: one column each.
    assert first.startswith("1  Mon 07 Dec 10:00  11:30")
    assert "10:00 bob; carol; large" in first and "11:00 alice; dan; large" in first
    assert second.startswith("2  Mon 07 Dec 10:15")
    assert "2 of " in out and "first starts with an option shown" in out

    assert main(_client(world, "--loop", "onsite", "--min-gap", "10m", "--limit", "1", "--json", *WINDOW)) == 0
    reply = json.loads(capsys.readouterr().out)
    (option,) = reply["options"]
    assert [s["label"] for s in option["segments"]] == ["coding", "chat"] and option["gap_minutes"] >= 10


@sqlite_only
def test_loop_without_segments_is_a_usage_error(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(_client(world, *WINDOW))
    assert exited.value.code == 2
    assert "name a --loop template, or give --segment" in capsys.readouterr().err
