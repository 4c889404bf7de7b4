"""``GraphProvider`` at the HTTP layer: a loopback server answering in Microsoft
Graph's documented JSON (getSchedule, calendarView with @odata.nextLink, events)."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
import requests

from providers.base import CalendarRef, EventSpec, ProviderError
from providers.graph import GraphProvider, msal_token_provider
from solver.domain import BusyKind, EventDetails
from tests.providers.loopback import Answer, LoopbackHttp, Request

TOKEN = "eyJ0eXAiOiJKV1Qi.SECRET-graph-token"
WINDOW = (datetime(2024, 3, 4, tzinfo=UTC), datetime(2024, 3, 9, tzinfo=UTC))
JSON = {"Content-Type": "application/json"}


def utc(*parts: int) -> datetime:
    year, month, day, *rest = parts
    return datetime(year, month, day, *rest, tzinfo=UTC)


def provider(server: LoopbackHttp, timeout: float = 5, **kw) -> GraphProvider:
    return GraphProvider(lambda: TOKEN, base_url=f"{server.url}/v1.0/", timeout=timeout, **kw)


def ok(body: dict, status: int = 200) -> Answer:
    return Answer(status, json.dumps(body), JSON)


def graph_error(status: int, code: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps({"error": {"code": code, "message": f"{code} happened"}}),
                  {**JSON, **(headers or {})})


def when(text: str) -> dict[str, str]:
    return {"dateTime": text, "timeZone": "UTC"}


def schedule_ref(name: str) -> CalendarRef:
    return CalendarRef(name, f"{name}@contoso.com", owner=f"{name}@contoso.com", details_allowed=False)


# --- getSchedule ------------------------------------------------------------------------


def test_get_schedule_reads_items_and_per_mailbox_errors(http_server: LoopbackHttp):
    http_server.route("POST", "/v1.0/users/ada@contoso.com/calendar/getSchedule", ok({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)",
        "value": [
            {"scheduleId": "ada@contoso.com", "availabilityView": "0022", "scheduleItems": [
                {"isPrivate": False, "status": "busy", "start": when("2024-03-04T09:00:00.0000000"),
                 "end": when("2024-03-04T10:00:00.0000000")},
                {"isPrivate": False, "status": "Tentative", "start": when("2024-03-04T11:00:00.0000000"),
                 "end": when("2024-03-04T11:30:00.0000000")},
                {"status": "oof", "start": when("2024-03-05T00:00:00.0000000"),
                 "end": when("2024-03-06T00:00:00.0000000")},
                {"status": "free", "start": when("2024-03-04T12:00:00.0000000"),
                 "end": when("2024-03-04T13:00:00.0000000")},
                {"status": "workingElsewhere", "start": when("2024-03-07T00:00:00.0000000"),
                 "end": when("2024-03-08T00:00:00.0000000")}],
             "workingHours": {}},
            {"scheduleId": "bob@contoso.com", "availabilityView": "",
             "error": {"message": "The user is outside of your organization.", "responseCode": "ErrorMailboxNotFound"}},
        ]}))
    busy, errors = provider(http_server).busy_each([schedule_ref("ada"), schedule_ref("bob"),
                                                    schedule_ref("carl")], *WINDOW)
    assert [(b.resource_id, b.start, b.end, b.kind, b.details) for b in busy] == [
        ("ada", utc(2024, 3, 4, 9), utc(2024, 3, 4, 10), BusyKind.BUSY, None),
        ("ada", utc(2024, 3, 4, 11), utc(2024, 3, 4, 11, 30), BusyKind.TENTATIVE, None),
        ("ada", utc(2024, 3, 5), utc(2024, 3, 6), BusyKind.OUT_OF_OFFICE, None),
    ]
    assert {k: (e.reason, e.transient) for k, e in errors.items()} == {
        "bob": ("getSchedule: ErrorMailboxNotFound", False),
        "carl": ("getSchedule: mailbox missing from answer", True)}
    [request] = http_server.requests
    body = json.loads(request.body)
    assert body["schedules"] == ["ada@contoso.com", "bob@contoso.com", "carl@contoso.com"]
    assert body["startTime"] == {"dateTime": "2024-03-04T00:00:00", "timeZone": "UTC"}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["prefer"] == 'outlook.timezone="UTC"'


def test_long_windows_are_asked_in_pieces_under_42_days(http_server: LoopbackHttp):
    def answer(request: Request) -> Answer:
        body = json.loads(request.body)
        item = {"status": "busy", "start": when("2024-03-20T09:00:00"), "end": when("2024-03-20T10:00:00")}
        return ok({"value": [{"scheduleId": s, "scheduleItems": [item]} for s in body["schedules"]]})

    http_server.route("POST", "/v1.0/users/room@contoso.com/calendar/getSchedule", answer)
    graph = provider(http_server, schedule_mailbox="room@contoso.com")
    busy = graph.busy([schedule_ref("ada")], utc(2024, 3, 1), utc(2024, 6, 1))
    spans = [(json.loads(r.body)["startTime"]["dateTime"], json.loads(r.body)["endTime"]["dateTime"])
             for r in http_server.requests]
    assert len(spans) == 3 and spans[0][0] == "2024-03-01T00:00:00" and spans[-1][1] == "2024-06-01T00:00:00"
    assert all(datetime.fromisoformat(e) - datetime.fromisoformat(s) < timedelta(days=42) for s, e in spans)
    assert len(busy) == 1  # the same item from every piece counts once


# --- calendarView --------------------------------------------------------------------------


def view_event(event_id: str, start: str, end: str, **fields) -> dict:
    return {"id": event_id, "subject": f"subject {event_id}", "start": when(start), "end": when(end),
            "showAs": "busy", "isCancelled": False, "isAllDay": False,
            "responseStatus": {"response": "accepted", "time": "0001-01-01T00:00:00Z"}, **fields}


def test_calendar_view_follows_next_links_and_maps_fields(http_server: LoopbackHttp):
    page_2 = f"{http_server.url}/v1.0/users/ada@contoso.com/calendars/cal-2/calendarView?$skip=3"

    def answer(request: Request) -> Answer:
        if "$skip" in parse_qs(request.query):
            return ok({"value": [
                view_event("ooo", "2024-03-07T00:00:00.0000000", "2024-03-08T00:00:00.0000000", showAs="oof"),
                view_event("maybe", "2024-03-04T16:00:00.0000000", "2024-03-04T17:00:00.0000000",
                           responseStatus={"response": "tentativelyAccepted"}),
                view_event("no", "2024-03-04T17:00:00.0000000", "2024-03-04T18:00:00.0000000",
                           responseStatus={"response": "declined"}),
            ]})
        return ok({"@odata.nextLink": page_2, "value": [
            view_event("plain", "2024-03-04T09:00:00.0000000", "2024-03-04T10:00:00.0000000",
                       location={"displayName": "Room 1"}),
            view_event("allday", "2024-03-05T00:00:00.0000000", "2024-03-06T00:00:00.0000000", isAllDay=True),
            view_event("gone", "2024-03-04T11:00:00.0000000", "2024-03-04T12:00:00.0000000", isCancelled=True),
            view_event("free", "2024-03-04T12:00:00.0000000", "2024-03-04T13:00:00.0000000", showAs="free"),
        ]})

    http_server.route("GET", "/v1.0/users/ada@contoso.com/calendars/cal-2/calendarView", answer)
    ada = CalendarRef("ada", "ada@contoso.com/cal-2", owner="ada@contoso.com", time_zone="Asia/Tokyo")
    busy = provider(http_server).busy([ada], *WINDOW)
    assert [(b.details.event_id if b.details else "", b.start, b.end, b.kind) for b in busy] == [
        ("plain", utc(2024, 3, 4, 9), utc(2024, 3, 4, 10), BusyKind.BUSY),
        ("allday", utc(2024, 3, 4, 15), utc(2024, 3, 5, 15), BusyKind.BUSY),  # the 5th in Tokyo
        ("ooo", utc(2024, 3, 7), utc(2024, 3, 8), BusyKind.OUT_OF_OFFICE),
        ("maybe", utc(2024, 3, 4, 16), utc(2024, 3, 4, 17), BusyKind.TENTATIVE),
    ]
    assert busy[0].details == EventDetails("subject plain", "plain", "Room 1")
    first = parse_qs(http_server.requests[0].query)
    assert first["startDateTime"] == ["2024-03-04T00:00:00Z"] and first["endDateTime"] == ["2024-03-09T00:00:00Z"]


def test_next_link_to_another_host_is_not_followed(http_server: LoopbackHttp):
    http_server.route("GET", "/v1.0/users/ada@contoso.com/calendar/calendarView",
                      ok({"value": [], "@odata.nextLink": "https://evil.example/steal"}))
    with pytest.raises(ProviderError, match="another host"):
        provider(http_server).busy([CalendarRef("ada", "ada@contoso.com")], *WINDOW)
    assert len(http_server.requests) == 1


# --- Errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "transient", "retry_after"), [
    (graph_error(401, "InvalidAuthenticationToken"), False, None),
    (graph_error(403, "ErrorAccessDenied"), False, None),
    (graph_error(429, "TooManyRequests", {"Retry-After": "9"}), True, 9.0),
    (graph_error(503, "ServiceNotAvailable", {"Retry-After": "3"}), True, 3.0),
    (graph_error(504, "GatewayTimeout"), True, None),
    (graph_error(404, "ErrorItemNotFound"), False, None),
])
def test_http_errors_map_to_provider_errors(http_server: LoopbackHttp, caplog: pytest.LogCaptureFixture,
                                            answer: Answer, transient: bool, retry_after: float | None):
    caplog.set_level(logging.DEBUG)
    http_server.route("GET", "/v1.0/users/ada@contoso.com/calendar/calendarView", answer)
    http_server.route("POST", "/v1.0/users/ada@contoso.com/calendar/getSchedule", answer)
    for ref in (CalendarRef("ada", "ada@contoso.com"), schedule_ref("ada")):
        with pytest.raises(ProviderError) as error:
            provider(http_server).busy([ref], *WINDOW)
        assert (error.value.resource_id, error.value.transient, error.value.retry_after) == (
            "ada", transient, retry_after)
        assert TOKEN not in f"{error.value} {error.value!r}"
    assert TOKEN not in caplog.text


def test_a_hanging_graph_times_out(http_server: LoopbackHttp):
    http_server.route("GET", "/v1.0/users/ada@contoso.com/calendar/calendarView", Answer(200, "{}", JSON, delay=2))
    began = time.monotonic()
    with pytest.raises(ProviderError, match="timeout") as error:
        provider(http_server, timeout=0.3).busy([CalendarRef("ada", "ada@contoso.com")], *WINDOW)
    assert error.value.transient and time.monotonic() - began < 1.5


def test_a_failing_token_source_is_a_provider_error_without_its_secret(http_server: LoopbackHttp):
    def broken() -> str:
        raise RuntimeError("client_secret=SECRET-abc rejected")

    graph = GraphProvider(broken, base_url=f"{http_server.url}/v1.0/")
    with pytest.raises(ProviderError) as error:
        graph.busy([CalendarRef("ada", "ada@contoso.com")], *WINDOW)
    assert "SECRET" not in str(error.value) and http_server.requests == []


def test_msal_token_provider_needs_every_field():
    with pytest.raises(ValueError, match="client_secret"):
        msal_token_provider("tenant", "client", "")


class LoopbackSession(requests.Session):
    """An HTTP client for msal that sends every request to the loopback server instead."""

    def __init__(self, server: LoopbackHttp) -> None:
        super().__init__()
        self.server = server

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        parts = urlsplit(url)
        return super().request(method, urlunsplit(("http", f"127.0.0.1:{self.server.port}", parts.path,
                                                   parts.query, "")), *args, **kwargs)


def test_msal_token_provider_gets_and_caches_tokens(http_server: LoopbackHttp):
    """msal itself, against a loopback 'identity platform' answering in its documented JSON."""
    tenant = "contoso.onmicrosoft.com"
    authority = "https://login.microsoftonline.com"
    http_server.route("GET", f"/{tenant}/v2.0/.well-known/openid-configuration", ok({
        "token_endpoint": f"{authority}/{tenant}/oauth2/v2.0/token",
        "authorization_endpoint": f"{authority}/{tenant}/oauth2/v2.0/authorize",
        "issuer": f"{authority}/{tenant}/v2.0"}))
    http_server.route("POST", f"/{tenant}/oauth2/v2.0/token",
                      ok({"token_type": "Bearer", "expires_in": 3599, "access_token": "FROM-MSAL"}))
    token = msal_token_provider(tenant, "client-id", "SECRET-value", http_client=LoopbackSession(http_server))
    assert token() == "FROM-MSAL"
    assert token() == "FROM-MSAL"  # cached by msal: the token endpoint is asked once
    token_requests = [r for r in http_server.requests if r.path.endswith("/token")]
    assert len(token_requests) == 1
    assert parse_qs(token_requests[0].body.decode())["grant_type"] == ["client_credentials"]


def test_msal_refusal_is_a_permanent_error_without_the_secret(http_server: LoopbackHttp):
    tenant = "contoso.onmicrosoft.com"
    authority = "https://login.microsoftonline.com"
    http_server.route("GET", f"/{tenant}/v2.0/.well-known/openid-configuration", ok({
        "token_endpoint": f"{authority}/{tenant}/oauth2/v2.0/token",
        "authorization_endpoint": f"{authority}/{tenant}/oauth2/v2.0/authorize",
        "issuer": f"{authority}/{tenant}/v2.0"}))
    http_server.route("GET", "/common/discovery/instance", ok({  # msal checks the authority after a failure
        "tenant_discovery_endpoint": f"{authority}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1", "metadata": [{"preferred_network": "login.microsoftonline.com",
                                            "preferred_cache": "login.windows.net",
                                            "aliases": ["login.microsoftonline.com", "login.windows.net"]}]}))
    http_server.route("POST", f"/{tenant}/oauth2/v2.0/token", ok(
        {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}, 401))
    token = msal_token_provider(tenant, "client-id", "SECRET-value", http_client=LoopbackSession(http_server))
    graph = GraphProvider(token, base_url=f"{http_server.url}/v1.0/")
    with pytest.raises(ProviderError, match="invalid_client") as error:
        graph.busy([CalendarRef("ada", "ada@contoso.com")], *WINDOW)
    assert not error.value.transient and "SECRET" not in str(error.value)
    assert error.value.resource_id == "ada"


# --- Bookings ------------------------------------------------------------------------------------


def test_create_event_posts_with_transaction_id_and_cancel_deletes(http_server: LoopbackHttp):
    http_server.route("POST", "/v1.0/users/ada@contoso.com/calendar/events", ok({"id": "AAMkAD=="}, 201))
    http_server.route("DELETE", "/v1.0/users/ada@contoso.com/events/AAMkAD==",
                      [Answer(204), graph_error(404, "ErrorItemNotFound"), graph_error(500, "InternalServerError")])
    graph = provider(http_server)
    ada = CalendarRef("ada", "ada@contoso.com")
    spec = EventSpec("booking-9@convene", "Panel", utc(2024, 3, 12, 15), utc(2024, 3, 12, 16),
                     attendee_emails=("jane@example.org",), location="Room 4")
    assert graph.create_event(ada, spec) == "AAMkAD=="
    body = json.loads(http_server.requests[0].body)
    assert body["transactionId"] == "booking-9@convene" and body["showAs"] == "busy"
    assert body["start"] == {"dateTime": "2024-03-12T15:00:00", "timeZone": "UTC"}
    assert body["attendees"] == [{"emailAddress": {"address": "jane@example.org"}, "type": "required"}]
    assert body["location"] == {"displayName": "Room 4"}
    graph.cancel_event(ada, "AAMkAD==")
    graph.cancel_event(ada, "AAMkAD==")  # already gone
    with pytest.raises(ProviderError) as error:
        graph.cancel_event(ada, "AAMkAD==")
    assert error.value.transient


def test_update_event_patches_the_event_by_its_id(http_server: LoopbackHttp):
    path = "/v1.0/users/ada@contoso.com/events/AAMkAD=="
    http_server.route("PATCH", path, [ok({"id": "AAMkAD=="}), graph_error(404, "ErrorItemNotFound"),
                                      graph_error(503, "ServiceUnavailable", {"Retry-After": "7"})])
    graph = provider(http_server)
    ada = CalendarRef("ada", "ada@contoso.com")
    moved = EventSpec("booking-9@convene", "Panel (moved)", utc(2024, 3, 13, 9), utc(2024, 3, 13, 10, 30),
                      attendee_emails=("ben@contoso.com", "jane@customer.example"),
                      customer_emails=("jane@customer.example",), sequence=1)
    assert graph.update_event(ada, "AAMkAD==", moved) == "AAMkAD=="
    [patch] = http_server.requests
    assert (patch.method, patch.path) == ("PATCH", path)
    assert patch.headers["authorization"] == f"Bearer {TOKEN}"
    body = json.loads(patch.body)
    assert body["subject"] == "Panel (moved)" and body["showAs"] == "busy"
    assert body["start"] == {"dateTime": "2024-03-13T09:00:00", "timeZone": "UTC"}
    assert body["end"] == {"dateTime": "2024-03-13T10:30:00", "timeZone": "UTC"}
    assert body["attendees"] == [{"emailAddress": {"address": "ben@contoso.com"}, "type": "required"}]
    assert body["location"] == {"displayName": ""}  # cleared, not left as it was
    assert "transactionId" not in body  # the same event, not a new one
    with pytest.raises(ProviderError) as gone:
        graph.update_event(ada, "AAMkAD==", moved)
    assert not gone.value.transient and "404" in gone.value.reason
    with pytest.raises(ProviderError) as busy:
        graph.update_event(ada, "AAMkAD==", moved)
    assert busy.value.transient and busy.value.retry_after == 7


# --- Every getSchedule shape ----------------------------------------------------------------

DAY = (WINDOW[0], WINDOW[0] + timedelta(days=1))


def schedule(http_server: LoopbackHttp, *entries: dict) -> tuple[list, dict]:
    http_server.route("POST", "/v1.0/users/ada@contoso.com/calendar/getSchedule", ok({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)",
        "value": list(entries)}))
    names = [e["scheduleId"].partition("@")[0] for e in entries]
    return provider(http_server).busy_each([schedule_ref(n) for n in names], *DAY)


def test_an_entry_with_only_an_availability_view_is_read_from_it(http_server: LoopbackHttp):
    # As Graph documents scheduleInformation: the view, no items (a mailbox whose items it does not list).
    view = "0" * 36 + "2222" + "11" + "3" + "4" + "0" * 51 + "7"  # 09:00 busy 1 h, tentative, OOF, elsewhere, "7"
    busy, errors = schedule(http_server, {"scheduleId": "ada@contoso.com", "availabilityView": view,
                                          "workingHours": {}})
    assert errors == {}
    assert [(b.start, b.end, b.kind) for b in busy] == [
        (utc(2024, 3, 4, 9), utc(2024, 3, 4, 10), BusyKind.BUSY),
        (utc(2024, 3, 4, 10), utc(2024, 3, 4, 10, 30), BusyKind.TENTATIVE),
        (utc(2024, 3, 4, 10, 30), utc(2024, 3, 4, 10, 45), BusyKind.OUT_OF_OFFICE),
        (utc(2024, 3, 4, 23, 45), utc(2024, 3, 5), BusyKind.BUSY),  # a digit Graph may add: it blocks
    ]


def test_items_win_over_the_view_and_a_shape_not_understood_is_unreadable(http_server: LoopbackHttp):
    item = {"status": "busy", "start": when("2024-03-04T09:10:00"), "end": when("2024-03-04T09:20:00")}
    busy, errors = schedule(
        http_server,
        {"scheduleId": "ada@contoso.com", "availabilityView": "0" * 36 + "2" + "0" * 59, "scheduleItems": [item]},
        {"scheduleId": "bob@contoso.com", "availabilityView": "0" * 96, "scheduleItems": []},
        {"scheduleId": "carl@contoso.com", "workingHours": {}},
        {"scheduleId": "dora@contoso.com", "scheduleItems": [
            {"status": "somethingNew", "start": when("2024-03-04T12:00:00"), "end": when("2024-03-04T13:00:00")}]},
    )
    assert [(b.resource_id, b.start, b.end, b.kind) for b in busy] == [
        ("ada", utc(2024, 3, 4, 9, 10), utc(2024, 3, 4, 9, 20), BusyKind.BUSY),  # the item, not its 15-min slot
        ("dora", utc(2024, 3, 4, 12), utc(2024, 3, 4, 13), BusyKind.BUSY),       # an unknown status blocks
    ]
    assert {k: e.reason for k, e in errors.items()} == {
        "carl": "getSchedule: an entry with neither scheduleItems nor availabilityView"}


# --- Zones and all-day events ----------------------------------------------------------------


def test_windows_zone_names_resolve_and_unknown_ones_are_named(http_server: LoopbackHttp):
    pacific = {"dateTime": "2024-03-04T09:00:00.0000000", "timeZone": "Pacific Standard Time"}
    custom = {"dateTime": "2024-03-04T09:00:00.0000000", "timeZone": "Customized Time Zone"}

    def answer(request: Request) -> Answer:
        start = custom if "bob" in request.path else pacific
        event = view_event("e", "x", "x")
        return ok({"value": [{**event, "start": start, "end": {**start, "dateTime": "2024-03-04T10:00:00.0000000"}}]})

    for name in ("ada", "bob"):
        http_server.route("GET", f"/v1.0/users/{name}@contoso.com/calendar/calendarView", answer)
    [busy] = provider(http_server).busy([CalendarRef("ada", "ada@contoso.com")], *WINDOW)
    assert (busy.start, busy.end) == (utc(2024, 3, 4, 17), utc(2024, 3, 4, 18))
    with pytest.raises(ProviderError, match="calendarView: unknown time zone 'Customized Time Zone'") as error:
        provider(http_server).busy([CalendarRef("bob", "bob@contoso.com")], *WINDOW)
    assert not error.value.transient


@pytest.mark.parametrize(("start", "end"), [
    (when("2024-03-05T00:00:00.0000000"), when("2024-03-06T00:00:00.0000000")),  # midnights, not converted
    (when("2024-03-04T15:00:00.0000000"), when("2024-03-05T15:00:00.0000000")),  # Tokyo's midnights, in UTC
    ({"dateTime": "2024-03-05T00:00:00.0000000", "timeZone": "Tokyo Standard Time"},
     {"dateTime": "2024-03-06T00:00:00.0000000", "timeZone": "Tokyo Standard Time"}),
])
def test_an_all_day_event_lands_on_the_owners_day_either_way_graph_sends_it(http_server: LoopbackHttp,
                                                                            start: dict, end: dict):
    http_server.route("GET", "/v1.0/users/ada@contoso.com/calendar/calendarView", ok({"value": [
        {**view_event("trip", "x", "x"), "start": start, "end": end, "isAllDay": True}]}))
    ada = CalendarRef("ada", "ada@contoso.com", time_zone="Asia/Tokyo")  # east of UTC: a UTC date is a day early
    [busy] = provider(http_server).busy([ada], *WINDOW)
    assert (busy.start, busy.end) == (utc(2024, 3, 4, 15), utc(2024, 3, 5, 15))  # Tokyo's 5 March


# --- One invitation per attendee ------------------------------------------------------------


def test_the_event_leaves_the_customers_to_convenes_own_invitation(http_server: LoopbackHttp):
    http_server.route("POST", "/v1.0/users/ada@contoso.com/calendar/events", ok({"id": "AAMkAD=="}, 201))
    spec = EventSpec("booking-9@convene", "Panel", utc(2024, 3, 12, 15), utc(2024, 3, 12, 16),
                     attendee_emails=("ada@contoso.com", "ben@contoso.com", "Jane@Customer.example"),
                     customer_emails=("jane@customer.example",))
    provider(http_server).create_event(CalendarRef("ada", "ada@contoso.com"), spec)
    body = json.loads(http_server.requests[0].body)
    # Outlook invites the panel; the customer gets Convene's email (UID booking-9@convene) and nothing else.
    assert [a["emailAddress"]["address"] for a in body["attendees"]] == ["ada@contoso.com", "ben@contoso.com"]
    assert body["transactionId"] == "booking-9@convene"
