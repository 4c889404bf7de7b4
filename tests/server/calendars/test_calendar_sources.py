"""Calendar sources configured in YAML, read by the real gRPC server.

Real where we may: a Radicale CalDAV server and ICS feeds on loopback ports.
Google, Microsoft Graph and Exchange answer from loopback servers in their
documented formats (tests/providers has the per-provider detail). Each test
starts the server from a config exactly as ``convene serve`` would.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from convene.v1 import meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server
from server.config import Config, parse_config
from server.tenants import Tenant, load_tenants
from tests.providers import ews_answers as ews
from tests.providers.icsdata import calendar, event
from tests.providers.loopback import Answer, LoopbackHttp, Request
from tests.providers.radicale_server import Radicale
from tests.server.conftest import MONDAY, NOW, OPS_KEY, key
from tests.server.messages import find, member, rules

DAY = (MONDAY + timedelta(hours=9), MONDAY + timedelta(hours=17))
JSON = {"Content-Type": "application/json; charset=UTF-8"}
GOOGLE_TOKEN = "ya29.SECRET-service-account-token"
GRAPH_TOKEN = "eyJ0eXAi.SECRET-graph-token"
EWS_PASSWORD = "S3cret-exchange-pw"
EWS_PATH = "/EWS/Exchange.asmx"


def at(hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(hours=hour, minutes=minute)


def hourly(*seats: meeting_pb2.Seat) -> meeting_pb2.MeetingRules:
    """A one-hour meeting of ``seats`` starting on the hour."""
    return rules(*seats, start_interval_minutes=60)


def person(member_id: str, source: dict[str, Any]) -> dict[str, Any]:
    return {"id": member_id, "email": f"{member_id}@team.example",
            "working_hours": {"weekly": {"mon-fri": "09:00-17:00"}}, "calendar": source}


def team(tmp_path: Path, *members: dict[str, Any], timeout: float = 5.0, cache: float = 30.0) -> Config:
    return parse_config({
        "server": {"plaintext": True},
        "calendars": {"timeout_seconds": timeout, "cache_seconds": cache},
        "api_keys": [{"key": OPS_KEY, "tenant": "team", "principal": "ops@team.example"}],
        "tenants": {"team": {"members": list(members)}},
    }, base_dir=tmp_path)


@contextlib.contextmanager
def serving(config: Config) -> Iterator[tuple[api_grpc.SchedulingServiceStub, Tenant]]:
    """The server of ``config`` on a free loopback port, and its tenant (to invalidate its cache)."""
    tenants = load_tenants(config)
    server, port = create_server(config, "127.0.0.1:0", tenants=tenants, clock=lambda: NOW)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield api_grpc.SchedulingServiceStub(channel), tenants["team"]
    finally:
        server.stop(None)


def starts(reply: api.FindSlotsResponse) -> list[tuple[datetime, tuple[str, ...]]]:
    """Each slot's start and who fills its (first) seat."""
    return [(s.start.ToDatetime(tzinfo=UTC), tuple(s.seats[0].resource_ids)) for s in reply.slots]


def unavailable(reply: api.FindSlotsResponse) -> dict[str, str]:
    return {u.resource_id: u.reason for u in reply.unavailable_calendars}


def ics_feed(*events: str) -> Answer:
    return Answer(200, calendar(*events), {"Content-Type": "text/calendar"})


def busy_event(uid: str, start: datetime, end: datetime, *lines: str) -> str:
    return event(uid, f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"DTEND:{end:%Y%m%dT%H%M%SZ}", *lines)


@pytest.fixture
def http_server() -> Iterator[LoopbackHttp]:
    server = LoopbackHttp()
    yield server
    server.close()


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    server = Radicale(tmp_path_factory.mktemp("radicale"))
    yield server
    server.stop()


# --- (a) CalDAV on a real Radicale ------------------------------------------------------------


def test_members_on_a_real_caldav_server_get_the_expected_slots(tmp_path: Path, radicale: Radicale) -> None:
    ada_url = radicale.make_calendar("ada/work")
    cy_url = radicale.make_calendar("cy/work")
    berlin = "Europe/Berlin"
    radicale.put(ada_url, "review", calendar(busy_event("review", at(10), at(11))))
    radicale.put(ada_url, "standup", calendar(event(  # 13:00 Berlin = 12:00 UTC in December
        "standup", f"DTSTART;TZID={berlin}:20261201T130000", f"DTEND;TZID={berlin}:20261201T140000",
        "RRULE:FREQ=DAILY;COUNT=10")))
    radicale.put(ada_url, "lunch", calendar(busy_event("lunch", at(15), at(16), "TRANSP:TRANSPARENT")))
    radicale.put(ada_url, "gone", calendar(busy_event("gone", at(16), at(17), "STATUS:CANCELLED")))
    radicale.put(cy_url, "interview", calendar(busy_event("interview", at(14), at(15))))
    password = tmp_path / "dav-password.txt"
    password.write_text("S3cret-dav-password\n")
    account = {"kind": "caldav", "username": "convene", "password_file": password.name}
    config = team(tmp_path, person("ada", {**account, "url": ada_url}), person("cy", {**account, "url": cy_url}))

    with serving(config) as (stub, tenant):
        reply = stub.FindSlots(find(hourly(member("ada"), member("cy")), *DAY), metadata=key(), timeout=10)
        # One account, one provider: both calendars share its connection.
        providers = {id(provider) for provider, _ in tenant.calendars.calendars.values()}  # type: ignore[attr-defined]
    assert unavailable(reply) == {}
    assert [s for s, _ in starts(reply)] == [at(9), at(11), at(13), at(15), at(16)]
    assert len(providers) == 1


# --- (b) A source that never answers ----------------------------------------------------------


def _hanging(release: threading.Event) -> Any:
    def answer(request: Request) -> Answer:
        release.wait(10)
        return Answer(503)
    return answer


@pytest.mark.parametrize("kind", ["ics", "graph"])
def test_a_hanging_source_leaves_its_member_unavailable_and_the_call_on_time(
        tmp_path: Path, http_server: LoopbackHttp, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    release = threading.Event()
    monkeypatch.setenv("GRAPH_TOKEN", GRAPH_TOKEN)
    source: dict[str, Any]
    if kind == "ics":
        http_server.route("GET", "/feeds/TOKEN-in-path-42/cal.ics", _hanging(release))
        source = {"kind": "ics", "url": f"{http_server.url}/feeds/TOKEN-in-path-42/cal.ics"}
    else:
        http_server.route("POST", "/v1.0/users/hung@contoso.com/calendar/getSchedule", _hanging(release))
        source = {"kind": "graph", "mailbox": "hung@contoso.com", "token_env": "GRAPH_TOKEN", "free_busy_only": True,
                  "base_url": f"{http_server.url}/v1.0/"}
    steady = tmp_path / "steady.ics"
    steady.write_text(calendar(busy_event("busy", at(12), at(13))))
    config = team(tmp_path, person("hung", source), person("steady", {"kind": "ics", "path": "steady.ics"}),
                  timeout=0.4)
    try:
        with serving(config) as (stub, _):
            began = time.monotonic()
            reply = stub.FindSlots(find(hourly(member("hung", "steady")), *DAY), metadata=key(),
                                   timeout=1.5)
            elapsed = time.monotonic() - began
    finally:
        release.set()
    assert elapsed < 1.5
    assert http_server.requests, "the source was asked"
    assert list(unavailable(reply)) == ["hung"]
    assert "timeout" in unavailable(reply)["hung"]
    # Never offered as free: the alternate fills every slot, around the alternate's own meeting.
    assert starts(reply) == [(at(h), ("steady",)) for h in (9, 10, 11, 13, 14, 15, 16)]
    wire = reply.SerializeToString()
    assert b"TOKEN-in-path-42" not in wire and GRAPH_TOKEN.encode() not in wire


# --- (c) The busy cache -----------------------------------------------------------------------


def test_a_warm_cache_asks_no_source_and_invalidate_makes_the_next_call_read_again(
        tmp_path: Path, http_server: LoopbackHttp) -> None:
    path = "/ada.ics"
    http_server.route("GET", path, ics_feed(busy_event("review", at(10), at(11))))
    config = team(tmp_path, person("ada", {"kind": "ics", "url": http_server.url + path}), cache=60)
    request = find(hourly(member("ada")), *DAY)

    def reads() -> int:
        return sum(1 for r in http_server.requests if r.path == path)

    with serving(config) as (stub, tenant):
        first = stub.FindSlots(request, metadata=key(), timeout=10)
        assert reads() == 1 and at(10) not in [s for s, _ in starts(first)]

        # The calendar changes at the source; a warm cache does not ask, so it is not seen yet.
        http_server.route("GET", path, ics_feed(busy_event("review", at(10), at(11)),
                                                busy_event("booked", at(14), at(15))))
        second = stub.FindSlots(request, metadata=key(), timeout=10)
        narrower = stub.FindSlots(find(hourly(member("ada")), at(12), at(17)), metadata=key(), timeout=10)
        assert reads() == 1
        assert starts(second) == starts(first) and at(14) in [s for s, _ in starts(narrower)]

        tenant.calendars.invalidate(["ada"])
        third = stub.FindSlots(request, metadata=key(), timeout=10)
        assert reads() == 2
        assert [s for s, _ in starts(third)] == [at(9), at(11), at(12), at(13), at(15), at(16)]

        # A fresh read (the booking's re-check) asks the source even with a warm cache.
        fresh = tenant.calendars.busy(["ada"], *DAY, fresh=True)
        assert reads() == 3 and {(b.start, b.end) for b in fresh.busy} == {(at(10), at(11)), (at(14), at(15))}
        stub.FindSlots(request, metadata=key(), timeout=10)
        assert reads() == 3  # and the fresh read refilled the cache


# --- (d) Refusals from Google, Microsoft Graph and Exchange -----------------------------------


_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_KEY = _KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
KEY_TEXT = PRIVATE_KEY.splitlines()[5]  # a line of the key's body: must appear nowhere


def google_account(tmp_path: Path, server: LoopbackHttp) -> Path:
    """A service-account key file whose token endpoint is the loopback server."""
    server.route("POST", "/token", Answer(200, json.dumps({"access_token": GOOGLE_TOKEN, "expires_in": 3600,
                                                           "token_type": "Bearer"}), JSON))
    path = tmp_path / "google-key.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "convene-test", "private_key_id": "key-1",
        "private_key": PRIVATE_KEY, "client_email": "convene@convene-test.iam.gserviceaccount.com",
        "client_id": "1234567890", "token_uri": f"{server.url}/token"}))
    return path


def google_source(tmp_path: Path, server: LoopbackHttp, calendar_id: str) -> dict[str, Any]:
    return {"kind": "google", "calendar_id": calendar_id, "credentials_file": str(google_account(tmp_path, server)),
            "free_busy_only": True, "endpoint": f"{server.url}/calendar/v3/"}


def google_error(status: int, reason: str) -> Answer:
    body = {"error": {"code": status, "message": f"{reason} for {GOOGLE_TOKEN}",
                      "errors": [{"domain": "global", "reason": reason, "message": reason}]}}
    return Answer(status, json.dumps(body), {**JSON, "Retry-After": "30"})


def test_one_google_account_reads_its_members_in_one_batch(tmp_path: Path, http_server: LoopbackHttp) -> None:
    def freebusy(request: Request) -> Answer:
        assert request.headers["authorization"] == f"Bearer {GOOGLE_TOKEN}"
        asked = [item["id"] for item in json.loads(request.body)["items"]]
        busy = {"ada@team.example": [{"start": "2026-12-07T10:00:00Z", "end": "2026-12-07T11:00:00Z"}],
                "bo@team.example": [{"start": "2026-12-07T13:00:00Z", "end": "2026-12-07T14:30:00Z"}]}
        return Answer(200, json.dumps({"kind": "calendar#freeBusy",
                                       "calendars": {c: {"busy": busy.get(c, [])} for c in asked}}), JSON)

    http_server.route("POST", "/calendar/v3/freeBusy", freebusy)
    config = team(tmp_path, person("ada", google_source(tmp_path, http_server, "ada@team.example")),
                  person("bo", google_source(tmp_path, http_server, "bo@team.example")))
    with serving(config) as (stub, _):
        reply = stub.FindSlots(find(hourly(member("ada"), member("bo")), *DAY), metadata=key(), timeout=10)
    assert unavailable(reply) == {}
    assert [s for s, _ in starts(reply)] == [at(9), at(11), at(12), at(15), at(16)]
    assert [r.path for r in http_server.requests if r.path.endswith("freeBusy")] == ["/calendar/v3/freeBusy"]


def graph_source(server: LoopbackHttp) -> dict[str, Any]:
    return {"kind": "graph", "mailbox": "ada@contoso.com", "token_env": "GRAPH_TOKEN", "free_busy_only": True,
            "base_url": f"{server.url}/v1.0/"}


def graph_error(status: int, code: str) -> Answer:
    body = {"error": {"code": code, "message": f"{code}: token {GRAPH_TOKEN} rejected"}}
    return Answer(status, json.dumps(body), {**JSON, "Retry-After": "30"})


def exchange_source(server: LoopbackHttp) -> dict[str, Any]:
    return {"kind": "exchange", "url": f"{server.url}{EWS_PATH}", "email": "ada@contoso.com",
            "username": "svc-convene", "password_env": "EWS_PASSWORD", "auth_type": "basic",
            "free_busy_only": True}


@pytest.mark.parametrize(("kind", "status", "expected"), [
    ("google", 401, "HTTP 401 (not authorized)"),
    ("google", 429, "HTTP 429"),
    ("graph", 401, "HTTP 401 (not authorized) InvalidAuthenticationToken"),
    ("graph", 429, "HTTP 429 TooManyRequests"),
    ("exchange", 401, "not authorized"),
])
def test_a_refusing_source_makes_its_member_unavailable_without_any_credential_in_the_reply(
        tmp_path: Path, http_server: LoopbackHttp, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, kind: str, status: int, expected: str) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GRAPH_TOKEN", GRAPH_TOKEN)
    monkeypatch.setenv("EWS_PASSWORD", EWS_PASSWORD)
    source: dict[str, Any]
    if kind == "google":
        http_server.route("POST", "/calendar/v3/freeBusy",
                          google_error(status, "authError" if status == 401 else "rateLimitExceeded"))
        source = google_source(tmp_path, http_server, "ada@team.example")
    elif kind == "graph":
        http_server.route("POST", "/v1.0/users/ada@contoso.com/calendar/getSchedule",
                          graph_error(status, "InvalidAuthenticationToken" if status == 401 else "TooManyRequests"))
        source = graph_source(http_server)
    else:
        http_server.route("POST", EWS_PATH, Answer(status, "Unauthorized"))
        source = exchange_source(http_server)
    steady = tmp_path / "steady.ics"
    steady.write_text(calendar())
    config = team(tmp_path, person("ada", source), person("steady", {"kind": "ics", "path": str(steady)}))

    with serving(config) as (stub, _):
        began = time.monotonic()
        reply = stub.FindSlots(find(hourly(member("ada", "steady")), *DAY), metadata=key(), timeout=10)
        elapsed = time.monotonic() - began
    assert elapsed < 3, "a refusal is not waited out (Retry-After 30 s is beyond the source's time)"
    assert list(unavailable(reply)) == ["ada"] and expected in unavailable(reply)["ada"]
    assert {fill for _, fill in starts(reply)} == {("steady",)} and len(reply.slots) == 8

    # The source did get the credential, and it went nowhere else.
    sent = [r.headers.get("authorization", "") for r in http_server.requests if r.path != "/token"]
    basic = base64.b64encode(f"svc-convene:{EWS_PASSWORD}".encode()).decode()
    credential = {"google": f"Bearer {GOOGLE_TOKEN}", "graph": f"Bearer {GRAPH_TOKEN}", "exchange": f"Basic {basic}"}
    assert credential[kind] in sent
    wire = reply.SerializeToString()
    for secret in (GOOGLE_TOKEN, GRAPH_TOKEN, EWS_PASSWORD, basic, KEY_TEXT, "SECRET", "S3cret"):
        assert secret.encode() not in wire
    # Logs: the fakes echo the token in their error bodies (real services do not), so the
    # log is checked for what only the client held: the credential headers and the key.
    for secret in (f"Bearer {GOOGLE_TOKEN}", f"Bearer {GRAPH_TOKEN}", EWS_PASSWORD, basic, KEY_TEXT):
        assert secret not in caplog.text


def test_an_exchange_member_is_read_through_ews_free_busy(
        tmp_path: Path, http_server: LoopbackHttp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EWS_PASSWORD", EWS_PASSWORD)

    def ews_server(request: Request) -> Answer:
        if ews.operation(request) == "GetServerTimeZones":
            return ews.soap(ews.SERVER_TIME_ZONES)
        return ews.soap(ews.user_availability(ews.free_busy_view(
            ("2026-12-07T10:00:00", "2026-12-07T11:00:00", "Busy"),
            ("2026-12-07T13:00:00", "2026-12-07T14:00:00", "OOF"),
            ("2026-12-07T15:00:00", "2026-12-07T16:00:00", "Free"))))

    http_server.route("POST", EWS_PATH, ews_server)
    with serving(team(tmp_path, person("ada", exchange_source(http_server)))) as (stub, _):
        reply = stub.FindSlots(find(hourly(member("ada")), *DAY), metadata=key(), timeout=10)
    assert unavailable(reply) == {}
    assert [s for s, _ in starts(reply)] == [at(9), at(11), at(12), at(14), at(15), at(16)]
