"""``GoogleProvider`` at the HTTP layer: a loopback server answering in the
Calendar API v3's documented JSON (freebusy.query, events.list/insert/update/delete)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import google.oauth2.credentials
import pytest

from providers.base import CalendarRef, EventSpec, ProviderError
from providers.fetch import fetch_busy
from providers.google import GoogleProvider, google_event_id, load_credentials
from solver.domain import BusyKind, EventDetails
from tests.providers.loopback import Answer, LoopbackHttp, Request

TOKEN = "ya29.TOPSECRET-token"
WINDOW = (datetime(2024, 3, 4, tzinfo=UTC), datetime(2024, 3, 9, tzinfo=UTC))
JSON = {"Content-Type": "application/json; charset=UTF-8"}
BASE = "/calendar/v3"


def provider(server: LoopbackHttp, timeout: float = 5) -> GoogleProvider:
    credentials = google.oauth2.credentials.Credentials(token=TOKEN)
    return GoogleProvider(credentials, endpoint=f"{server.url}{BASE}/", timeout=timeout)


def ok(body: dict) -> Answer:
    return Answer(200, json.dumps(body), JSON)


def google_error(status: int, reason: str, headers: dict[str, str] | None = None) -> Answer:
    body = {"error": {"code": status, "message": reason, "errors": [{"domain": "global", "reason": reason,
                                                                     "message": reason}]}}
    return Answer(status, json.dumps(body), {**JSON, **(headers or {})})


def fb_ref(name: str) -> CalendarRef:
    return CalendarRef(name, f"{name}@example.org", owner=f"{name}@example.org", details_allowed=False)


# --- freebusy.query ------------------------------------------------------------------


def test_freebusy_reads_periods_and_per_calendar_errors(http_server: LoopbackHttp):
    http_server.route("POST", f"{BASE}/freeBusy", ok({
        "kind": "calendar#freeBusy", "timeMin": "2024-03-04T00:00:00.000Z", "timeMax": "2024-03-09T00:00:00.000Z",
        "calendars": {
            "ada@example.org": {"busy": [{"start": "2024-03-04T09:00:00Z", "end": "2024-03-04T10:00:00Z"},
                                         {"start": "2024-03-05T10:00:00+01:00", "end": "2024-03-05T11:30:00+01:00"}]},
            "bob@example.org": {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []},
            "carl@example.org": {"errors": [{"domain": "global", "reason": "backendError"}], "busy": []},
        }}))
    busy, errors = provider(http_server).busy_each([fb_ref("ada"), fb_ref("bob"), fb_ref("carl"), fb_ref("dora")],
                                                   *WINDOW)
    assert [(b.resource_id, b.start, b.end, b.kind, b.details) for b in busy] == [
        ("ada", datetime(2024, 3, 4, 9, tzinfo=UTC), datetime(2024, 3, 4, 10, tzinfo=UTC), BusyKind.BUSY, None),
        ("ada", datetime(2024, 3, 5, 9, tzinfo=UTC), datetime(2024, 3, 5, 10, 30, tzinfo=UTC), BusyKind.BUSY, None),
    ]
    assert {k: (e.transient, e.reason) for k, e in errors.items()} == {
        "bob": (False, "freebusy: notFound"), "carl": (True, "freebusy: backendError"),
        "dora": (True, "freebusy: calendar missing from answer")}
    [request] = http_server.requests
    body = json.loads(request.body)
    assert body["timeMin"] == "2024-03-04T00:00:00Z" and body["calendarExpansionMax"] == 50
    assert [i["id"] for i in body["items"]] == [f"{n}@example.org" for n in ("ada", "bob", "carl", "dora")]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_many_free_busy_calendars_go_fifty_per_request(http_server: LoopbackHttp):
    def answer(request: Request) -> Answer:
        ids = [i["id"] for i in json.loads(request.body)["items"]]
        return ok({"calendars": {i: {"busy": [{"start": "2024-03-04T09:00:00Z", "end": "2024-03-04T09:30:00Z"}]}
                                 for i in ids}})

    http_server.route("POST", f"{BASE}/freeBusy", answer)
    refs = [fb_ref(f"m{i}") for i in range(120)]
    result = fetch_busy([(provider(http_server), refs)], *WINDOW, deadline=time.monotonic() + 10,
                        per_source_timeout=10)
    assert result.failures == {} and len(result.busy) == 120
    assert sorted(len(json.loads(r.body)["items"]) for r in http_server.requests) == [20, 50, 50]


def test_a_calendar_read_only_in_part_gives_no_intervals(http_server: LoopbackHttp):
    """Its first period was readable, its second not: the calendar fails whole, else it would look free."""
    http_server.route("POST", f"{BASE}/freeBusy", ok({"calendars": {
        "ada@example.org": {"busy": [{"start": "2024-03-04T09:00:00Z", "end": "2024-03-04T10:00:00Z"},
                                     {"start": "not a time", "end": "2024-03-04T12:00:00Z"}]},
        "bob@example.org": {"busy": [{"start": "2024-03-04T09:00:00Z", "end": "2024-03-04T10:00:00Z"}]}}}))
    busy, errors = provider(http_server).busy_each([fb_ref("ada"), fb_ref("bob")], *WINDOW)
    assert [b.resource_id for b in busy] == ["bob"]
    assert {k: (e.reason, e.transient) for k, e in errors.items()} == {
        "ada": ("freebusy: unreadable busy period", False)}


# --- events.list ---------------------------------------------------------------------


def event(event_id: str, start: str, end: str, **fields) -> dict:
    key = "date" if len(start) == 10 else "dateTime"
    return {"id": event_id, "summary": f"title {event_id}", "start": {key: start}, "end": {key: end}, **fields}


PAGE_1 = {"kind": "calendar#events", "nextPageToken": "page-2", "items": [
    event("plain", "2024-03-04T09:00:00-05:00", "2024-03-04T10:00:00-05:00", location="Room 1"),
    event("allday", "2024-03-05", "2024-03-06"),
    event("gone", "2024-03-04T11:00:00Z", "2024-03-04T12:00:00Z", status="cancelled"),
    event("free", "2024-03-04T11:00:00Z", "2024-03-04T12:00:00Z", transparency="transparent"),
    event("wfh", "2024-03-06", "2024-03-07", eventType="workingLocation"),
]}
PAGE_2 = {"kind": "calendar#events", "items": [
    event("ooo", "2024-03-07T00:00:00Z", "2024-03-08T00:00:00Z", eventType="outOfOffice"),
    event("declined", "2024-03-04T15:00:00Z", "2024-03-04T16:00:00Z",
          attendees=[{"email": "ada@example.org", "self": True, "responseStatus": "declined"}]),
    event("maybe", "2024-03-04T16:00:00Z", "2024-03-04T17:00:00Z",
          attendees=[{"email": "ADA@example.org", "responseStatus": "tentative"}]),
    event("bob-declined", "2024-03-04T17:00:00Z", "2024-03-04T18:00:00Z",
          attendees=[{"email": "ada@example.org", "self": True, "responseStatus": "accepted"},
                     {"email": "bob@example.org", "responseStatus": "declined"}]),
]}


def test_events_list_pages_and_maps_google_event_fields(http_server: LoopbackHttp):
    def answer(request: Request) -> Answer:
        return ok(PAGE_2 if parse_qs(request.query).get("pageToken") == ["page-2"] else PAGE_1)

    http_server.route("GET", f"{BASE}/calendars/ada@example.org/events", answer)
    ada = CalendarRef("ada", "ada@example.org", owner="ada@example.org", time_zone="America/New_York")
    busy = provider(http_server).busy([ada], *WINDOW)
    got = [(b.details.event_id if b.details else "", b.start, b.end, b.kind) for b in busy]
    utc = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
    assert got == [
        ("plain", utc(2024, 3, 4, 14), utc(2024, 3, 4, 15), BusyKind.BUSY),
        ("allday", utc(2024, 3, 5, 5), utc(2024, 3, 6, 5), BusyKind.BUSY),  # New York midnights
        ("ooo", utc(2024, 3, 7), utc(2024, 3, 8), BusyKind.OUT_OF_OFFICE),
        ("maybe", utc(2024, 3, 4, 16), utc(2024, 3, 4, 17), BusyKind.TENTATIVE),
        ("bob-declined", utc(2024, 3, 4, 17), utc(2024, 3, 4, 18), BusyKind.BUSY),
    ]
    assert busy[0].details == EventDetails("title plain", "plain", "Room 1")
    first, second = (parse_qs(r.query) for r in http_server.requests)
    assert first["singleEvents"] == ["true"] and first["timeMin"] == ["2024-03-04T00:00:00Z"]
    assert "pageToken" not in first and second["pageToken"] == ["page-2"]


# --- Errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "transient", "retry_after"), [
    (google_error(401, "authError"), False, None),
    (google_error(403, "forbidden"), False, None),
    (google_error(403, "rateLimitExceeded", {"Retry-After": "4"}), True, 4.0),
    (google_error(429, "rateLimitExceeded", {"Retry-After": "7"}), True, 7.0),
    (google_error(503, "backendError", {"Retry-After": "2"}), True, 2.0),
    (google_error(500, "backendError"), True, None),
    (google_error(404, "notFound"), False, None),
])
def test_http_errors_map_to_provider_errors(http_server: LoopbackHttp, caplog: pytest.LogCaptureFixture,
                                            answer: Answer, transient: bool, retry_after: float | None):
    caplog.set_level(logging.DEBUG)
    http_server.route("GET", f"{BASE}/calendars/ada@example.org/events", answer)
    http_server.route("POST", f"{BASE}/freeBusy", answer)
    for ref in (CalendarRef("ada", "ada@example.org"), fb_ref("ada")):
        with pytest.raises(ProviderError) as error:
            provider(http_server).busy([ref], *WINDOW)
        assert (error.value.resource_id, error.value.transient, error.value.retry_after) == (
            "ada", transient, retry_after)
        assert TOKEN not in str(error.value) and TOKEN not in repr(error.value)
    assert TOKEN not in caplog.text


def test_a_hanging_api_times_out(http_server: LoopbackHttp):
    http_server.route("POST", f"{BASE}/freeBusy", Answer(200, "{}", JSON, delay=2))
    began = time.monotonic()
    with pytest.raises(ProviderError, match="timed out") as error:
        provider(http_server, timeout=0.3).busy([fb_ref("ada")], *WINDOW)
    assert error.value.transient and time.monotonic() - began < 1.5


def test_garbage_instead_of_json_is_an_error(http_server: LoopbackHttp):
    http_server.route("GET", f"{BASE}/calendars/ada@example.org/events",
                      ok({"items": [{"id": "x", "start": {"dateTime": "soon"}, "end": {"dateTime": "later"}}]}))
    with pytest.raises(ProviderError, match="unreadable"):
        provider(http_server).busy([CalendarRef("ada", "ada@example.org")], *WINDOW)


# --- Bookings ---------------------------------------------------------------------------


SPEC = EventSpec("booking-7@convene", "Panel interview", datetime(2024, 3, 12, 15, tzinfo=UTC),
                 datetime(2024, 3, 12, 16, tzinfo=UTC), time_zone="Europe/Berlin",
                 attendee_emails=("jane@example.org",), extra={"booking_id": "7"})
ADA = CalendarRef("ada", "ada@example.org")


def test_create_event_inserts_with_a_stable_id_and_a_retry_updates(http_server: LoopbackHttp):
    event_id = google_event_id(SPEC.uid)
    http_server.route("POST", f"{BASE}/calendars/ada@example.org/events",
                      [ok({"id": event_id, "status": "confirmed"}), google_error(409, "duplicate")])
    http_server.route("PUT", f"{BASE}/calendars/ada@example.org/events/{event_id}", ok({"id": event_id}))
    google = provider(http_server)
    assert google.create_event(ADA, SPEC) == event_id
    assert google.create_event(ADA, SPEC) == event_id
    insert, _retry, update = http_server.requests
    body = json.loads(insert.body)
    assert body["id"] == event_id and body["iCalUID"] == SPEC.uid
    assert body["start"] == {"dateTime": "2024-03-12T15:00:00Z", "timeZone": "Europe/Berlin"}
    assert body["attendees"] == [{"email": "jane@example.org"}]
    assert body["extendedProperties"] == {"private": {"booking_id": "7"}}
    assert parse_qs(insert.query)["sendUpdates"] == ["none"]
    assert update.method == "PUT" and json.loads(update.body) == body
    assert set(event_id) <= set("0123456789abcdefghijklmnopqrstuv") and 5 <= len(event_id) <= 1024


def test_update_event_patches_the_same_event_in_place(http_server: LoopbackHttp):
    event_id = google_event_id(SPEC.uid)
    path = f"{BASE}/calendars/ada@example.org/events/{event_id}"
    http_server.route("PATCH", path, [ok({"id": event_id, "sequence": 1}), google_error(500, "backendError")])
    moved = replace(SPEC, start=datetime(2024, 3, 13, 9, tzinfo=UTC), end=datetime(2024, 3, 13, 10, tzinfo=UTC),
                    title="Panel (moved)", location="", attendee_emails=("jane@example.org", "kim@example.org"),
                    sequence=1)
    google = provider(http_server)
    assert google.update_event(ADA, event_id, moved) == event_id
    [patch] = http_server.requests
    assert (patch.method, patch.path) == ("PATCH", path)
    assert parse_qs(patch.query)["sendUpdates"] == ["none"]
    body = json.loads(patch.body)
    assert body["start"] == {"dateTime": "2024-03-13T09:00:00Z", "timeZone": "Europe/Berlin"}
    assert body["end"] == {"dateTime": "2024-03-13T10:00:00Z", "timeZone": "Europe/Berlin"}
    assert body["summary"] == "Panel (moved)" and body["status"] == "confirmed"
    assert body["location"] == "" and body["description"] == ""  # cleared, not left as they were
    assert body["attendees"] == [{"email": "jane@example.org"}, {"email": "kim@example.org"}]
    assert "id" not in body and "iCalUID" not in body  # the same event: its identity is not sent again
    with pytest.raises(ProviderError) as error:
        google.update_event(ADA, event_id, moved)
    assert error.value.transient


def test_update_event_of_a_purged_event_inserts_it_again_under_the_same_id(http_server: LoopbackHttp):
    event_id = google_event_id(SPEC.uid)
    http_server.route("PATCH", f"{BASE}/calendars/ada@example.org/events/{event_id}", google_error(404, "notFound"))
    http_server.route("POST", f"{BASE}/calendars/ada@example.org/events", ok({"id": event_id}))
    assert provider(http_server).update_event(ADA, event_id, SPEC) == event_id
    assert [r.method for r in http_server.requests] == ["PATCH", "POST"]
    assert json.loads(http_server.requests[1].body)["id"] == event_id


def test_cancel_event_deletes_and_a_missing_event_is_fine(http_server: LoopbackHttp):
    path = f"{BASE}/calendars/ada@example.org/events/abc123"
    http_server.route("DELETE", path, [Answer(204), google_error(410, "deleted"), google_error(500, "backendError")])
    google = provider(http_server)
    google.cancel_event(ADA, "abc123")
    google.cancel_event(ADA, "abc123")
    with pytest.raises(ProviderError) as error:
        google.cancel_event(ADA, "abc123")
    assert error.value.transient


# --- Credentials --------------------------------------------------------------------------


def test_load_authorized_user_credentials(tmp_path: Path):
    path = tmp_path / "user.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "id", "client_secret": "SECRET-xyz",
                                "refresh_token": "REFRESH-xyz"}))
    creds = load_credentials(path)
    assert isinstance(creds, google.oauth2.credentials.Credentials) and creds.refresh_token == "REFRESH-xyz"


@pytest.mark.parametrize("content", [
    '{"type": "service_account", "client_email": "x@y", "private_key": "SECRET-key"}',
    '{"type": "something", "client_secret": "SECRET-xyz"}',
    "not json SECRET-xyz",
])
def test_bad_credentials_file_names_the_field_and_not_the_secret(tmp_path: Path, content: str):
    path = tmp_path / "creds.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="credentials_file") as error:
        load_credentials(path)
    assert "SECRET" not in str(error.value)
    with pytest.raises(ValueError, match="credentials_file"):
        load_credentials(tmp_path / "missing.json")


# --- Zones ------------------------------------------------------------------------------------


def test_a_time_without_offset_is_read_in_its_zone_and_an_unknown_zone_is_named(http_server: LoopbackHttp):
    def answer(request: Request) -> Answer:
        zone = "Mars/Olympus" if "bob" in request.path else "Europe/Berlin"
        item = {"id": "z", "status": "confirmed", "summary": "z",
                "start": {"dateTime": "2024-03-04T09:00:00", "timeZone": zone},
                "end": {"dateTime": "2024-03-04T10:00:00", "timeZone": zone}}
        return ok({"items": [item]})

    for name in ("ada", "bob"):
        http_server.route("GET", f"{BASE}/calendars/{name}@example.org/events", answer)
    [busy] = provider(http_server).busy([CalendarRef("ada", "ada@example.org", time_zone="Asia/Tokyo")], *WINDOW)
    assert (busy.start, busy.end) == (datetime(2024, 3, 4, 8, tzinfo=UTC), datetime(2024, 3, 4, 9, tzinfo=UTC))
    with pytest.raises(ProviderError, match=r"events\.list: unknown time zone 'Mars/Olympus'") as error:
        provider(http_server).busy([CalendarRef("bob", "bob@example.org")], *WINDOW)
    assert not error.value.transient
