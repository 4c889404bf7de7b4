"""``convene check-config``: every problem in one run, calendars read; nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from server.cli import main
from server.config import ConfigError, parse_config
from server.config import extras as extras_module
from tests.paths import EXAMPLES


def write(folder: Path, data: dict) -> Path:
    path = folder / "convene.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def broken(folder: Path) -> Path:
    """A bad zone, an unknown pool member and a missing calendar file, all in one tenant."""
    (folder / "calendars").mkdir()
    shutil.copy(EXAMPLES / "calendars" / "maria.ics", folder / "calendars" / "ana.ics")
    return write(folder, {
        "server": {"plaintext": True},
        "database_url": f"sqlite:///{folder / 'var' / 'bookings.sqlite3'}",
        "tenants": {"acme": {
            "members": [{"id": "ana", "time_zone": "Mars/Olympus",
                         "calendar": {"kind": "ics", "path": "calendars/ana.ics"}},
                        {"id": "ben", "calendar": {"kind": "ics", "path": "calendars/ben.ics"}}],
            "pools": [{"id": "engineers", "members": ["ana", "zed"]}],
        }},
    })


def test_every_problem_is_listed_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = broken(tmp_path)
    assert main(["check-config", str(config)]) == 1
    err = capsys.readouterr().err
    problems = [line.strip() for line in err.splitlines() if line.startswith("  ")]
    assert len(problems) == 3, err
    assert any("members.0.time_zone" in p and "'Mars/Olympus' is not an IANA time zone" in p for p in problems)
    assert any("pool 'engineers': unknown id 'zed'" in p for p in problems)
    assert any("members.1.calendar" in p and "ben.ics" in p and "cannot be read now" in p for p in problems)
    assert f"{config}: 3 problems" in err
    assert not (tmp_path / "var").exists(), "checking must not create the database"


def test_a_good_config_is_ok_and_serve_says_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    assert main(["check-config", str(tmp_path / "examples" / "convene.yaml")]) == 0
    assert "convene.yaml: ok" in capsys.readouterr().out
    assert not (tmp_path / "var").exists()


def test_what_serve_refuses_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path, {"database_url": "postgresql://convene:pw-secret@127.0.0.1:1/db?connect_timeout=2",
                              "tenants": {"t": {}}})
    assert main(["check-config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "server.tls: the gRPC port needs a tls section" in err
    assert "database_url:" in err and "127.0.0.1:1" in err and "pw-secret" not in err


def test_a_config_needing_a_missing_extra_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(extras_module.EXTRAS, "google", ("convene_no_such_module",))
    calendar = {"kind": "google", "calendar_id": "a@x.org", "credentials_file": "google.json"}
    with pytest.raises(ConfigError, match=r"calendar kind google needs Convene's \[google\] extra.*"
                                          r"pip install 'convene\[google\]'"):
        parse_config({"tenants": {"t": {"members": [{"id": "a", "calendar": calendar}]}}})
    monkeypatch.setitem(extras_module.EXTRAS, "dask", ("convene_no_such_module",))
    with pytest.raises(ConfigError, match=r"batch.schedulers needs Convene's \[dask\] extra"):
        parse_config({"batch": {"schedulers": ["tcp://127.0.0.1:8786"]}})


def test_serve_warns_at_start_of_each_calendar_it_cannot_read(tmp_path: Path) -> None:
    import re
    import signal
    import subprocess
    import sys
    import time

    from tests.paths import REPO

    (tmp_path / "calendars").mkdir()
    config = write(tmp_path, {
        "server": {"plaintext": True}, "database_url": f"sqlite:///{tmp_path / 'b.sqlite3'}",
        "tenants": {"acme": {"members": [{"id": "ben", "calendar": {"kind": "ics", "path": "calendars/ben.ics"}}]}},
    })
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--config", str(config),
                                "--address", "127.0.0.1:0"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        seen, deadline = "", time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            seen += line
            if not line or "cannot be read now" in line:
                break
        assert re.search(r"WARNING .*calendar of acme/ben cannot be read now .*ben\.ics", seen), seen
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
