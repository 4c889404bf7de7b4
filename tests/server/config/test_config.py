"""The YAML config: hours and durations as people write them; bad files name the field."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.api.app import start_server
from server.api.auth import ApiKeys, Unauthenticated
from server.cli.preflight import check_config
from server.config import ConfigError, load_config, parse_config, parse_day_ranges, parse_duration
from solver.domain import DayRange
from tests.paths import EXAMPLES
from tests.server.conftest import CONFIG, team_config, team_tenants

EXAMPLE = EXAMPLES / "convene.yaml"


def test_the_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    acme = config.tenants["acme"]
    maria = next(m for m in acme.members if m.id == "maria")
    hours = maria.working_hours.to_domain(maria.time_zone) if maria.working_hours else None
    assert hours is not None and hours.ranges_on(date(2026, 12, 7)) == (DayRange(540, 1050),)
    assert hours.ranges_on(date(2026, 12, 24)) == (DayRange(540, 780),)
    assert hours.ranges_on(date(2026, 12, 12)) == ()
    assert maria.calendar is not None and maria.calendar.path.is_file()
    assert {t.id for t in acme.templates} == {"discovery-call", "technical-demo"}


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", timedelta(minutes=30)), ("1h30m", timedelta(minutes=90)), ("2d", timedelta(days=2)),
    (45, timedelta(minutes=45)), ("90s", timedelta(seconds=90)),
])
def test_durations(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_day_ranges() -> None:
    assert parse_day_ranges("13:00-17:00, 09:00-12:00") == (DayRange(540, 720), DayRange(780, 1020))
    assert parse_day_ranges("") == ()
    assert parse_day_ranges("18:00-24:00") == (DayRange(1080, 1440),)
    for bad in ("9-5", "17:00-09:00", "09:60-10:00"):
        with pytest.raises(ValueError):
            parse_day_ranges(bad)


BASE = {"api_keys": [{"key": "k" * 20, "tenant": "t", "principal": "p"}],
        "tenants": {"t": {"members": [{"id": "alice"}], "pools": [], "templates": []}}}


@pytest.mark.parametrize(("change", "words"), [
    ({"members": [{"id": "alice", "time_zone": "Mars/Base"}]}, "members.0.time_zone"),
    ({"members": [{"id": "alice", "working_hours": {"weekly": {"mon-fri": "9-5"}}}]}, "weekly"),
    ({"pools": [{"id": "p", "members": ["alice", "bob"]}]}, "unknown id 'bob'"),
    ({"templates": [{"id": "x", "duration": "30m", "seats": [{"member": ["zed"]}]}]}, "unknown member 'zed'"),
    ({"templates": [{"id": "x", "duration": "0m", "seats": [{"member": ["alice"]}]}]}, "templates.0.duration"),
    ({"templates": [{"id": "x", "duration": "1h", "resolution": 7, "seats": [{"member": ["alice"]}]}]},
     "resolution"),
    ({"templates": [{"id": "x", "duration": "1h", "start_interval": 7, "seats": [{"member": ["alice"]}]}]},
     "templates.0.start_interval: Value error, must be a divisor of 1440"),
    ({"templates": [{"id": "x", "duration": "1h", "seats": [{"member": ["alice"], "pool": "p"}]}]},
     "exactly one of"),
    ({"members": [{"id": "alice", "calendar": {"kind": "carrier-pigeon"}}]}, "calendar"),
])
def test_bad_tenant_configs_name_the_field(change: dict[str, object], words: str) -> None:
    tenant: dict[str, object] = {"members": [{"id": "alice"}], "pools": [], "templates": [], **change}
    data = {**BASE, "tenants": {"t": tenant}}
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert words in str(caught.value)


def test_keys_must_name_a_tenant_and_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown tenant 'nope'"):
        parse_config({**BASE, "api_keys": [{"key": "k" * 20, "tenant": "nope", "principal": "p"}]})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_keys_may_be_stored_as_digests() -> None:
    import hashlib

    digest = hashlib.sha256(b"a-long-secret-api-key").hexdigest()
    config = parse_config({**BASE, "api_keys": [{"key_sha256": digest, "tenant": "t", "principal": "p"}]})
    keys = ApiKeys(config.api_keys)
    assert keys.authenticate([("authorization", "Bearer a-long-secret-api-key")]).principal == "p"
    with pytest.raises(Unauthenticated):
        keys.authenticate([("authorization", "Bearer a-long-secret-api-kez")])


@pytest.mark.parametrize(("template", "words"), [
    ({"seats": [{"member": []}]}, "templates.1 ('bad').seats[0].member.candidates: at least one member is required"),
    ({"seats": [{"member": ["alice", "alice"]}]}, "templates.1 ('bad').seats[0].member.candidates: lists a member"),
    ({"seats": [{"label": "l" * 101, "member": ["alice"]}]}, "templates.1 ('bad').seats[0].label: must be at most 100"),
    ({"seats": [{"pool": "engineers", "count": 4}]}, "templates.1 ('bad').seats[0].pool.count: pool 'engineers'"),
    ({"seats": [{"member": [m]} for m in ("alice", "bob", "carol", "dan", "erin", "alice", "bob")]},
     "templates.1 ('bad').seats: 7 exceeds the limit max_seats=6"),
    ({"duration": "99999d", "seats": [{"member": ["alice"]}]}, "templates.1 ('bad').duration: must be a duration"),
    ({"buffer_after": "4000d", "seats": [{"member": ["alice"]}]}, "templates.1 ('bad').buffer_after: must be"),
])
def test_a_template_whose_rules_the_api_refuses_is_refused_at_start(template: dict[str, Any], words: str,
                                                                     tmp_path: Path) -> None:
    """Not accepted at load and then refused on every call as ``template.overrides.<field>``,
    a field the caller never set: the server does not start, ``convene check-config`` says why."""
    data = copy.deepcopy(CONFIG)
    data["server"] = {"plaintext": True}
    data["tenants"]["team"]["templates"].append({"id": "bad", "duration": "30m", **template})
    config = parse_config(data)
    with pytest.raises(ConfigError) as caught:
        start_server(config, "127.0.0.1:0", tenants=team_tenants(config))
    assert f"tenants.team.{words}" in str(caught.value)
    assert [p for p in caught.value.problems if "'bad'" in p] == [p for p in caught.value.problems]
    path = tmp_path / "convene.yaml"
    path.write_text(yaml.safe_dump({**data, "database_url": f"sqlite:///{tmp_path / 'b.sqlite3'}"}))
    assert any(f"tenants.team.{words}" in p for p in check_config(path))


def test_the_valid_templates_still_start() -> None:
    config = team_config()
    start_server(config, "127.0.0.1:0", tenants=team_tenants(config)).stop(None)
