"""The ``calendar:`` config of every source kind: what it builds, what it shares, and how it fails.

No network here: providers are built, not asked (tests/server/calendars/test_calendar_sources.py
reads through them).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from providers.base import ProviderError
from providers.caldav_source import CalDavProvider
from providers.exchange import ExchangeProvider
from providers.google import GoogleProvider
from providers.graph import GraphProvider
from providers.ics import IcsProvider
from server.calendars.busy import MemoryCalendars
from server.calendars.sources import CalendarSources
from server.cli.commands import main
from server.config import ConfigError, load_config, parse_config
from server.tenants import load_tenants
from tests.server.conftest import MONDAY

SECRET = "hunter2-SECRET-value"


def write_config(tmp_path: Path, *calendars: dict[str, Any]) -> Path:
    """A config file in ``tmp_path`` with one member per calendar (m0, m1, ...)."""
    members = [{"id": f"m{i}", "email": f"m{i}@team.example", "time_zone": "Europe/Berlin", "calendar": c}
               for i, c in enumerate(calendars)]
    path = tmp_path / "convene.yaml"
    path.write_text(yaml.safe_dump({"tenants": {"team": {"members": members}}}))
    return path


def secret_file(tmp_path: Path, name: str = "secret.txt", text: str = SECRET + "\n") -> Path:
    path = tmp_path / "secrets" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def google_user_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "google.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "id.apps", "client_secret": SECRET,
                                "refresh_token": "REFRESH-" + SECRET}))
    return path


def test_every_kind_builds_its_provider_and_calendar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file(tmp_path)
    google_user_file(tmp_path)
    monkeypatch.setenv("EWS_PASSWORD", SECRET)
    config = load_config(write_config(
        tmp_path,
        {"kind": "ics", "path": "calendars/m0.ics"},
        {"kind": "ics", "url": "webcal://feeds.example.org/m1.ics", "details": False},
        {"kind": "caldav", "url": "https://dav.example.org/m2/work/", "username": "m2",
         "password_file": "secrets/secret.txt", "owner": "boss@team.example"},
        {"kind": "google", "calendar_id": "m3@team.example", "credentials_file": "secrets/google.json",
         "free_busy_only": True},
        {"kind": "graph", "mailbox": "m4@contoso.com", "calendar": "AAMkAD=", "tenant_id": "contoso",
         "client_id": "app", "client_secret_file": "secrets/secret.txt"},
        {"kind": "exchange", "url": "https://mail.example.org/EWS/Exchange.asmx", "email": "m5@example.org",
         "username": "svc", "password_env": "EWS_PASSWORD", "free_busy_only": True},
    ))
    calendars = load_tenants(config)["team"].calendars.calendars  # type: ignore[attr-defined]
    kinds = {m: type(provider) for m, (provider, _) in calendars.items()}
    assert kinds == {"m0": IcsProvider, "m1": IcsProvider, "m2": CalDavProvider, "m3": GoogleProvider,
                     "m4": GraphProvider, "m5": ExchangeProvider}
    refs = {m: (ref.calendar_id, ref.owner, ref.time_zone, ref.details_allowed) for m, (_, ref) in calendars.items()}
    assert refs == {
        "m0": (str(tmp_path / "calendars/m0.ics"), "m0@team.example", "Europe/Berlin", True),
        "m1": ("webcal://feeds.example.org/m1.ics", "m1@team.example", "Europe/Berlin", False),
        "m2": ("https://dav.example.org/m2/work/", "boss@team.example", "Europe/Berlin", True),
        "m3": ("m3@team.example", "m3@team.example", "Europe/Berlin", False),
        "m4": ("m4@contoso.com/AAMkAD=", "m4@team.example", "Europe/Berlin", True),
        "m5": ("m5@example.org", "m5@team.example", "Europe/Berlin", False),
    }
    assert calendars["m0"][0] is calendars["m1"][0], "every ICS calendar shares one reader"
    # The secret went into the provider, never into its repr.
    assert SECRET not in repr(calendars["m2"][0]) and SECRET not in repr(calendars["m4"][0])


def test_calendars_of_one_account_share_one_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAV_PASSWORD", SECRET)
    monkeypatch.setenv("GRAPH_TOKEN", SECRET)
    google = google_user_file(tmp_path)
    account = {"kind": "caldav", "username": "convene", "password_env": "DAV_PASSWORD"}
    config = parse_config({"tenants": {"team": {"members": [
        {"id": "a", "calendar": {**account, "url": "https://dav.example.org/a/work/"}},
        {"id": "b", "calendar": {**account, "url": "https://DAV.example.org/b/home/"}},
        {"id": "c", "calendar": {**account, "url": "https://dav.example.org/c/", "username": "other"}},
        {"id": "d", "calendar": {**account, "url": "https://dav.example.org/d/", "free_busy_only": True}},
        {"id": "g1", "calendar": {"kind": "google", "calendar_id": "g1@x.org", "credentials_file": str(google)}},
        {"id": "g2", "calendar": {"kind": "google", "calendar_id": "g2@x.org", "credentials_file": str(google)}},
        {"id": "g3", "calendar": {"kind": "google", "calendar_id": "g3@x.org", "credentials_file": str(google),
                                  "subject": "admin@x.org"}},
        {"id": "o1", "calendar": {"kind": "graph", "mailbox": "o1@x.org", "token_env": "GRAPH_TOKEN"}},
        {"id": "o2", "calendar": {"kind": "graph", "mailbox": "o2@x.org", "token_env": "GRAPH_TOKEN"}},
    ]}}})
    calendars = load_tenants(config)["team"].calendars.calendars  # type: ignore[attr-defined]
    provider = {m: id(p) for m, (p, _) in calendars.items()}
    assert provider["a"] == provider["b"], "same server and account (host case does not matter)"
    assert len({provider["a"], provider["c"], provider["d"]}) == 3, "another user, or free/busy-only access"
    assert provider["g1"] == provider["g2"] != provider["g3"]
    assert provider["o1"] == provider["o2"]


@pytest.mark.parametrize(("calendar", "expected"), [
    ({"kind": "caldav", "url": "https://dav.example.org/a/", "username": "a", "password_file": "nope.txt"},
     ["calendar.caldav.password_file", "cannot read", "nope.txt"]),
    ({"kind": "caldav", "url": "https://dav.example.org/a/", "username": "a", "password_env": "CONVENE_UNSET_VAR"},
     ["calendar.caldav.password_env", "environment variable CONVENE_UNSET_VAR is not set"]),
    ({"kind": "caldav", "url": "https://dav.example.org/a/", "username": "a"},
     ["calendar.caldav", "give exactly one of password_file, password_env"]),
    ({"kind": "caldav", "url": "https://dav.example.org/a/", "password_file": "secrets/secret.txt"},
     ["username: required with a password"]),
    ({"kind": "caldav", "url": "https://p42-caldav.icloud.com/123/calendars/home/", "username": "a@icloud.com",
      "password_file": "secrets/secret.txt", "free_busy_only": True},
     ["free_busy_only: iCloud does not share free/busy"]),
    ({"kind": "caldav", "url": f"https://a:{SECRET}@dav.example.org/a/"},
     ["calendar.caldav.url", "not in the URL"]),
    ({"kind": "caldav", "url": "https://dav.example.org/a/", "username": "a", "password": SECRET},
     ["calendar.caldav", "password: secrets are not written in the config; use password_file or password_env"]),
    ({"kind": "caldav", "url": "dav.example.org/a/"}, ["calendar.caldav.url", "must be an http:// or https:// URL"]),
    ({"kind": "google", "calendar_id": "a@x.org", "credentials_file": "secrets/not-json.json"},
     ["calendar.google.credentials_file", "not-json.json is not JSON"]),
    ({"kind": "google", "calendar_id": "a@x.org", "credentials_file": "secrets/missing.json"},
     ["calendar.google.credentials_file", "missing.json (no such file)"]),
    ({"kind": "google", "calendar_id": "a@x.org", "credentials_file": "secrets/google.json", "token": SECRET},
     ["token: secrets are not written in the config; use credentials_file"]),
    ({"kind": "graph", "mailbox": "a@x.org"},
     ["calendar.graph", "give exactly one of client_secret_file, client_secret_env, token_env"]),
    ({"kind": "graph", "mailbox": "a@x.org", "client_secret_file": "secrets/secret.txt"},
     ["tenant_id, client_id: required with a client secret"]),
    ({"kind": "graph", "mailbox": "a@x.org", "calendar": "AAMk=", "token_env": "PATH", "free_busy_only": True},
     ["calendar: free/busy (getSchedule) covers only the mailbox's default calendar"]),
    ({"kind": "graph", "mailbox": "a@x.org", "client_secret": SECRET, "tenant_id": "t", "client_id": "c"},
     ["client_secret: secrets are not written in the config; use client_secret_file or client_secret_env"]),
    ({"kind": "exchange", "url": "https://mail.example.org/EWS/Exchange.asmx", "email": "a@x.org",
      "username": "svc", "password_file": "secrets/empty.txt"},
     ["calendar.exchange.password_file", "empty.txt is empty"]),
    ({"kind": "exchange", "url": "https://mail.example.org/EWS/Exchange.asmx", "email": "a@x.org",
      "username": "svc", "password_file": "secrets/secret.txt", "auth_type": "kerberos"},
     ["calendar.exchange.auth_type"]),
    ({"kind": "ics", "path": "a.ics", "url": "https://x.org/a.ics"}, ["calendar.ics", "give exactly one of path, url"]),
    ({"kind": "ics", "url": f"ftp://x.org/{SECRET}/a.ics"}, ["calendar.ics.url", "http://, https:// or webcal://"]),
    ({"kind": "carrier-pigeon"}, ["calendar", "'ics', 'caldav', 'google', 'graph', 'exchange'"]),
])
def test_a_bad_calendar_fails_at_start_naming_the_field_and_never_the_secret(
        tmp_path: Path, calendar: dict[str, Any], expected: list[str]) -> None:
    secret_file(tmp_path)
    secret_file(tmp_path, "empty.txt", "")
    secret_file(tmp_path, "not-json.json", f"private_key: {SECRET}")
    google_user_file(tmp_path)
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, calendar))
    message = str(error.value)
    for part in expected:
        assert part in message
    assert message.count("\n") == 1, "one problem, one line"
    assert "tenants.team.members.0.calendar" in message
    assert "hunter2" not in message and "SECRET" not in message


def test_convene_serve_reports_a_missing_password_file_and_exits(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, {"kind": "exchange", "url": "https://mail.example.org/EWS/Exchange.asmx",
                                   "email": "a@x.org", "username": "svc", "password_file": "ews-password.txt"})
    assert main(["serve", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "calendar.exchange.password_file" in err and str(tmp_path / "ews-password.txt") in err


def test_a_secret_gone_between_config_and_start_is_a_config_error(tmp_path: Path) -> None:
    secret = secret_file(tmp_path)
    config = load_config(write_config(tmp_path, {"kind": "caldav", "url": "https://dav.example.org/a/",
                                                 "username": "a", "password_file": "secrets/secret.txt"}))
    secret.unlink()
    with pytest.raises(ConfigError, match=r"calendar of 'm0': password_file: cannot read .*secret.txt"):
        load_tenants(config)


def test_graph_sets_up_msal_at_the_first_token_not_at_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """msal asks the identity platform about its authority when set up: at start that would make an
    unreachable platform a crash; at the first request it is one unavailable calendar."""
    import providers.graph

    calls: list[tuple[Any, ...]] = []

    def fake_msal(*args: Any, **kwargs: Any) -> Any:
        calls.append((*args, kwargs))
        if len(calls) == 1:
            raise ConnectionError(f"cannot reach https://login.example/{args[2]}")
        return lambda: "TOKEN"

    monkeypatch.setattr(providers.graph, "msal_token_provider", fake_msal)
    secret_file(tmp_path)
    config = load_config(write_config(tmp_path, {
        "kind": "graph", "mailbox": "a@contoso.com", "tenant_id": "contoso", "client_id": "app",
        "client_secret_file": "secrets/secret.txt", "authority_host": "https://login.example"}))
    provider, _ = load_tenants(config)["team"].calendars.calendars["m0"]  # type: ignore[attr-defined]
    assert calls == []
    token = provider._token  # the provider's token source
    with pytest.raises(ProviderError) as error:
        token()
    assert "cannot reach the Microsoft identity platform (ConnectionError)" in error.value.reason
    assert SECRET not in str(error.value) and error.value.transient
    assert token() == "TOKEN" and token() == "TOKEN"  # set up again after the failure, then kept
    assert calls[-1] == ("contoso", "app", SECRET, {"authority_host": "https://login.example"})
    assert len(calls) == 2


def test_sources_refuse_a_non_positive_timeout() -> None:
    with pytest.raises(ValueError, match="timeout"):
        CalendarSources(0)


def test_memory_calendars_take_fresh_and_invalidate() -> None:
    calendars = MemoryCalendars(unreadable={"a": "broken"})
    calendars.invalidate(["a"])
    fetched = calendars.busy(["a"], MONDAY, MONDAY + timedelta(hours=1), fresh=True)
    assert [u.resource_id for u in fetched.unavailable] == ["a"]
