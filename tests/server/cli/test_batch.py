"""``convene batch`` and ``convene tune`` on the example file, and bad input named by field."""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from pathlib import Path

import pytest

from server.api.app import create_server
from server.calendars.busy import MemoryCalendars
from server.cli.batch import (
    ProgressBar,
    add_batch_commands,
    grouped_labels,
    load_batch,
    pareto_front,
    varying_kpis,
    varying_weight,
)
from server.config import parse_config
from server.tenants import MemoryBookings, Tenant
from solver.batch import BatchProgress
from tests.paths import EXAMPLES
from tests.server.booking.store.helpers import free_port

EXAMPLE = EXAMPLES / "batch" / "hiring-week.json"
TARGET_KEY = "batch-cli-target-key-0123456789"


def convene(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="convene")
    add_batch_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


def test_batch_writes_json_csv_and_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result"
    assert convene("batch", str(EXAMPLE), "--out", str(out), "--time-limit", "2", "--weights", "fairness=0") == 0
    printed = capsys.readouterr()
    assert "scheduled" in printed.out and "wrote" in printed.out
    assert "greedy" in printed.err  # the progress line
    result = json.loads(out.with_suffix(".json").read_text())
    items = json.loads(EXAMPLE.read_text())["items"]
    assert len(result["scheduled"]) + len(result["unscheduled"]) == len(items)
    assert result["kpis"]["fairness_cost"] == 0.0
    first = result["scheduled"][0]
    assert first["start"].endswith("+02:00")  # in the item's own zone (Berlin, summer)
    assert [s["label"] for s in first["seats"]] == ["hiring manager", "interviewers", "room"]
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert [r["id"] for r in rows] == [i["id"] for i in items]


def test_tune_writes_a_kpi_table_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tune"
    code = convene("tune", str(EXAMPLE), "--grid", "alternate=1,10", "earliness=0,2", "--time-limit", "0.5",
                   "--out", str(out))
    assert code == 0
    rows = list(csv.DictReader((out / "kpis.csv").open()))
    assert [r["setting"] for r in rows] == ["alternate=1 earliness=0", "alternate=1 earliness=2",
                                            "alternate=10 earliness=0", "alternate=10 earliness=2"]
    assert {"scheduled", "priority_scheduled", "alternates_used", "conflicts", "pool_load_spread",
            "mean_hours_from_window_start", "solve_time", "gap"} <= set(rows[0])
    assert (out / "kpis.md").read_text().startswith("| setting |")
    for png in ("kpis.png", "tradeoffs.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| alternate=10 earliness=2 |" in capsys.readouterr().out


def test_tune_from_a_list(tmp_path: Path) -> None:
    settings = tmp_path / "settings.txt"
    settings.write_text("fairness=0 priority=lex\nfairness=5 priority=50\n")
    assert convene("tune", str(EXAMPLE), "--list", str(settings), "--time-limit", "0.5", "--out",
                   str(tmp_path / "t")) == 0
    rows = list(csv.DictReader((tmp_path / "t" / "kpis.csv").open()))
    assert [r["setting"] for r in rows] == ["fairness=0 priority=lex", "fairness=5 priority=50"]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["items"][0].pop("window_start"), "items[0].window_start: required"),
    (lambda d: d["weights"].update(speed=1), "unknown weight(s) ['speed']"),
    (lambda d: d["items"][1]["seats"].__setitem__(0, {"member": ["zed"]}),
     "items[1].request.seats[0].candidates[0]: unknown id 'zed'"),
    (lambda d: d["items"][2].update(window_end=d["items"][2]["window_start"]),
     "items[2].request.window_end: must be after window_start"),
    (lambda d: d["defaults"].update(template="nope"), "items[0].template: unknown template 'nope'"),
    (lambda d: d["directory"]["pools"][0].update(members=["dev", "ghost"]), "pool 'interviewers': unknown id 'ghost'"),
])
def test_bad_input_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str], change, message) -> None:
    data = json.loads(EXAMPLE.read_text())
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    assert convene("batch", str(path), "--out", str(tmp_path / "r"), "--quiet") == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_weights_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert convene("batch", str(EXAMPLE), "--weights", "earliness=-1", "--quiet") == 2
    assert "--weights 'earliness=-1': must be a finite number >= 0" in capsys.readouterr().err


CONFIG = """
tenants:
  acme:
    members:
      - {id: ana, time_zone: UTC, working_hours: {weekly: {mon-fri: "09:00-17:00"}},
         calendar: {kind: ics, path: ana.ics}}
      - {id: ben, time_zone: UTC}
    rooms:
      - {id: atlas, capacity: 4}
    pools:
      - {id: panel, members: [ana, ben]}
    templates:
      - id: review
        duration: 1h
        start_interval: 60
        seats: [{member: [ana]}, {rooms: [atlas]}]
"""

ANA_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Convene tests//EN
BEGIN:VEVENT
UID:ana-standup
DTSTAMP:20260101T000000Z
DTSTART:20260302T090000Z
DTEND:20260302T100000Z
SUMMARY:Standup
END:VEVENT
END:VCALENDAR
"""


def test_batch_with_the_servers_config_and_its_calendars(tmp_path: Path) -> None:
    """Directory, templates and calendars (an .ics file) from --config; the batch file only lists items."""
    (tmp_path / "convene.yaml").write_text(CONFIG)
    (tmp_path / "ana.ics").write_text(ANA_ICS)
    batch = {"defaults": {"template": "review", "time_zone": "UTC"},
             "items": [{"id": "r1", "window_start": "2026-03-02T09:00", "window_end": "2026-03-02T11:00"},
                       {"id": "r2", "priority": 2, "window_start": "2026-03-02T09:00",
                        "window_end": "2026-03-02T12:00"}]}
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(batch))
    out = tmp_path / "result"
    assert convene("batch", str(path), "--config", str(tmp_path / "convene.yaml"), "--out", str(out), "--quiet") == 0
    result = json.loads(out.with_suffix(".json").read_text())
    # ana's standup (09:00-10:00, from her calendar) leaves 10:00 and 11:00; r2 (priority 2) may take
    # either, r1 only 10:00: both fit, and nothing starts at 09:00.
    starts = {s["id"]: s["start"] for s in result["scheduled"]}
    assert starts == {"r1": "2026-03-02T10:00:00+00:00", "r2": "2026-03-02T11:00:00+00:00"}


# --- Deterministic mode, failures and exit codes ---------------------------------------------------


def test_a_work_limit_and_seed_give_the_same_schedule_twice(tmp_path: Path) -> None:
    runs = []
    for n in range(2):
        out = tmp_path / f"run{n}"
        assert convene("batch", str(EXAMPLE), "--out", str(out), "--work-limit", "0.3", "--seed", "4",
                       "--time-limit", "60", "--quiet") == 0
        data = json.loads(out.with_suffix(".json").read_text())
        runs.append([(s["id"], s["start"], s["seats"]) for s in data["scheduled"]])
    assert runs[0] and runs[0] == runs[1]


def test_an_incomplete_result_is_written_and_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "result"
    assert convene("batch", str(EXAMPLE), "--out", str(out), "--time-limit", "0.00001", "--quiet") == 4
    printed = capsys.readouterr()
    assert "INCOMPLETE part" in printed.out and "being planned" in printed.out
    assert "incomplete:" in printed.err and "Traceback" not in printed.err
    assert json.loads(out.with_suffix(".json").read_text())["incomplete_parts"]


def test_an_unreachable_scheduler_is_one_line_and_exits_3(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    code = convene("batch", str(EXAMPLE), "--out", str(tmp_path / "r"), "--time-limit", "1", "--quiet",
                   "--scheduler", f"tcp://127.0.0.1:{port}")
    assert code == 3
    err = capsys.readouterr().err
    assert err.startswith("cannot solve: the Dask scheduler") and err.count("\n") == 1


@pytest.mark.parametrize("command", ["batch", "tune"])
def test_an_unwritable_out_is_refused_before_solving(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     command: str) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    extra = ["--grid", "alternate=1,10"] if command == "tune" else ["--quiet"]
    began = time.monotonic()
    assert convene(command, str(EXAMPLE), "--out", str(blocked / "sub" / "result"), "--time-limit", "30",
                   *extra) == 2
    assert time.monotonic() - began < 10  # nothing was solved
    err = capsys.readouterr().err
    assert "cannot be written (checked before solving)" in err and "Traceback" not in err


@pytest.mark.parametrize(("content", "message"), [(None, "cannot read"), ("[{oops", "not valid JSON"),
                                                  ("[1, 2]", "a JSON list of objects")])
def test_tune_with_a_missing_or_broken_list_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     content: str | None, message: str | None) -> None:
    listed = tmp_path / "settings.json"
    if content is not None:
        listed.write_text(content)
    assert convene("tune", str(EXAMPLE), "--list", str(listed), "--out", str(tmp_path / "t")) == 2
    err = capsys.readouterr().err
    assert f"--list {listed}" in err and "Traceback" not in err
    if message:
        assert message in err


# --- tune's plots ------------------------------------------------------------------------------


def test_tune_plots_drop_constant_kpis_colour_by_the_varying_weight_and_mark_the_front() -> None:
    rows = [{"setting": f"s{n}", "scheduled": 14, "priority_scheduled": 20, "alternates_used": a,
             "conflicts": 0, "pool_load_spread": p, "mean_hours_from_window_start": h}
            for n, (a, p, h) in enumerate([(3, 2, 5.0), (1, 2, 9.0), (3, 2, 5.0), (4, 1, 6.0)])]
    assert varying_kpis(rows) == ["alternates_used", "pool_load_spread", "mean_hours_from_window_start"]
    settings: list[dict[str, float | None]] = [{"alternate": 1, "earliness": e} for e in (0, 0.1, 0.2, 0.3)]
    assert varying_weight(settings) == "earliness"
    assert varying_weight([{"alternate": 1}, {"alternate": 1}]) is None
    points = [(r["mean_hours_from_window_start"], r["alternates_used"]) for r in rows]
    assert pareto_front(points) == {0, 1, 2}  # (6, 4) is beaten by (5, 3)
    labels = grouped_labels(rows, "mean_hours_from_window_start", "alternates_used")
    assert labels[(5.0, 3)] == "s0 (+1 same)" and len(labels) == 3  # identical outcomes: one label


def test_the_progress_bar_ticks_between_improvements_and_shows_the_figures() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, 14, 10.0, force_terminal=True, width=110)
    bar(BatchProgress(objective=1234.5, best_bound=1200.0, gap=0.028, scheduled=13, elapsed=0.2, source="greedy",
                      parts_done=0, parts_total=2))
    time.sleep(0.8)  # no report: the bar still moves with the clock
    bar.close()
    shown = stream.getvalue()
    assert "obj 1,234.50" in shown and "bound 1,200.00" in shown and "gap 2.8%" in shown
    assert "13/14 scheduled" in shown and "parts 0/2" in shown and "of 10s" in shown and "done" in shown
    assert shown.count("\r") + shown.count("\x1b[") > 3  # redrawn in place, several times


# --- convene batch --target: the server solves -----------------------------------------------------


def test_batch_with_a_target_solves_on_the_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loaded = load_batch(EXAMPLE)
    config = parse_config({"server": {"plaintext": True},
                           "api_keys": [{"key": TARGET_KEY, "tenant": "hiring", "principal": "ops@example.com"}],
                           "tenants": {"hiring": {}}, "batch": {"max_items": 50}})
    tenant = Tenant("hiring", loaded.tenant.directory, loaded.tenant.templates, MemoryCalendars(loaded.busy),
                    MemoryBookings(loaded.bookings))
    server, port = create_server(config, "127.0.0.1:0", tenants={"hiring": tenant})
    server.start()
    try:
        out = tmp_path / "served"
        assert convene("batch", str(EXAMPLE), "--target", f"127.0.0.1:{port}", "--api-key", TARGET_KEY,
                       "--out", str(out), "--work-limit", "0.3", "--time-limit", "30", "--quiet") == 0
        printed = capsys.readouterr().out
        reply = json.loads(out.with_suffix(".json").read_text())
        local = convene("batch", str(EXAMPLE), "--out", str(tmp_path / "local"), "--work-limit", "0.3",
                        "--time-limit", "30", "--quiet")
        assert local == 0
        in_process = json.loads((tmp_path / "local.json").read_text())
        scheduled = [i["id"] for i in reply["items"] if "scheduled" in i]
        assert scheduled == [s["id"] for s in in_process["scheduled"]]
        assert f"scheduled {len(scheduled)} of {len(reply['items'])}" in printed
        assert convene("batch", str(EXAMPLE), "--target", f"127.0.0.1:{port}", "--api-key", "wrong-key-0123456789",
                       "--out", str(out), "--quiet") == 1
        assert capsys.readouterr().err.startswith("UNAUTHENTICATED")
    finally:
        server.stop(None)
    assert convene("batch", str(EXAMPLE), "--commit", "--out", str(out), "--quiet") == 2
    assert "--commit: books on a server" in capsys.readouterr().err


@pytest.mark.parametrize(("item", "message"), [
    ({"id": "x", "booking_id": "bk-1", "duration": "1h"}, "items[0].duration: an item naming a booking takes"),
    ({"id": "x", "movable": True, "window_start": "2026-06-01", "window_end": "2026-06-02"},
     "items[0].movable: names no booking"),
    ({"id": "x", "booking_id": "bk-1", "movable": True, "window_start": "2026-06-01"},
     "items[0].window_end: give both"),
    ({"id": "x", "template": "panel-interview", "window_end": "2026-06-02"}, "items[0].window_start: required"),
])
def test_items_naming_bookings_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           item: dict[str, object], message: str) -> None:
    spec = json.loads(EXAMPLE.read_text())
    spec["items"] = [item]
    path = tmp_path / "named.json"
    path.write_text(json.dumps(spec))
    assert convene("batch", str(path), "--out", str(tmp_path / "out"), "--quiet") == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
