"""``ExchangeProvider`` at the HTTP layer: a loopback server answering EWS SOAP
in Exchange 2016's documented XML (GetUserAvailability, FindItem/GetItem,
CreateItem/UpdateItem/DeleteItem)."""

from __future__ import annotations

import base64
import logging
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from providers.base import CalendarRef, EventSpec, ProviderError
from providers.exchange import ExchangeProvider
from solver.domain import BusyKind, EventDetails
from tests.providers import ews_answers as ews
from tests.providers.loopback import Answer, LoopbackHttp, Request

PASSWORD = "S3cret-exchange-pw"
WINDOW = (datetime(2024, 3, 4, tzinfo=UTC), datetime(2024, 3, 9, tzinfo=UTC))
EWS_PATH = "/EWS/Exchange.asmx"


def utc(*parts: int) -> datetime:
    year, month, day, *rest = parts
    return datetime(year, month, day, *rest, tzinfo=UTC)


class FakeMailbox:
    """Answers EWS operations from a dict of calendar items, and records what was asked."""

    def __init__(self, availability: str = "") -> None:
        self.items: dict[str, str] = {}
        self.availability = availability
        self.operations: list[str] = []
        self.created = 0

    def __call__(self, request: Request) -> Answer:
        op = ews.operation(request)
        self.operations.append(op)
        if op == "GetServerTimeZones":
            return ews.soap(ews.SERVER_TIME_ZONES)
        if op == "GetUserAvailability":
            return ews.soap(self.availability)
        if op == "GetFolder":
            return ews.soap(ews.CALENDAR_FOLDER)
        if op == "FindItem":
            return ews.soap(ews.find_items(*self.items.values()))
        if op == "GetItem":
            return ews.soap(ews.get_items(self.items, request))
        if op == "CreateItem":
            self.created += 1
            item_id = f"NEW{self.created}"
            body = request.body.decode()
            field = lambda name: re.search(rf"<t:{name}>([^<]*)</t:{name}>", body).group(1)  # noqa: E731
            self.items[item_id] = ews.calendar_item(item_id, field("Start"), field("End"),
                                                    subject=field("Subject"), uid=field("UID"))
            return ews.soap(ews.create_item(item_id))
        if op == "UpdateItem":
            item_id = re.search(rb'<t:ItemId Id="([^"]+)"', request.body).group(1).decode()
            return ews.soap(ews.update_item(item_id))
        if op == "DeleteItem":
            item_id = re.search(rb'<t:ItemId Id="([^"]+)"', request.body).group(1).decode()
            return ews.soap(ews.delete_item("NoError" if self.items.pop(item_id, None) else "ErrorItemNotFound"))
        return ews.soap(ews.envelope(""), 500)


def provider(server: LoopbackHttp, timeout: float = 5) -> ExchangeProvider:
    return ExchangeProvider(f"{server.url}{EWS_PATH}", "svc@contoso.com", PASSWORD, auth_type="basic",
                            timeout=timeout)


def fb_ref(name: str) -> CalendarRef:
    return CalendarRef(name, f"{name}@contoso.com", owner=f"{name}@contoso.com", details_allowed=False)


def test_free_busy_view_maps_busy_types_and_per_mailbox_errors(http_server: LoopbackHttp):
    mailbox = FakeMailbox(ews.user_availability(
        ews.free_busy_view(("2024-03-04T09:00:00", "2024-03-04T10:00:00", "Busy"),
                           ("2024-03-04T11:00:00", "2024-03-04T11:30:00", "Tentative"),
                           ("2024-03-05T00:00:00", "2024-03-06T00:00:00", "OOF"),
                           ("2024-03-04T12:00:00", "2024-03-04T13:00:00", "Free"),
                           ("2024-03-07T00:00:00", "2024-03-08T00:00:00", "WorkingElsewhere"),
                           ("2024-03-08T09:00:00", "2024-03-08T10:00:00", "NoData")),
        ews.free_busy_error("ErrorMailRecipientNotFound")))
    http_server.route("POST", EWS_PATH, mailbox)
    busy, errors = provider(http_server).busy_each([fb_ref("ada"), fb_ref("bob")], *WINDOW)
    assert [(b.resource_id, b.start, b.end, b.kind, b.details) for b in busy] == [
        ("ada", utc(2024, 3, 4, 9), utc(2024, 3, 4, 10), BusyKind.BUSY, None),
        ("ada", utc(2024, 3, 4, 11), utc(2024, 3, 4, 11, 30), BusyKind.TENTATIVE, None),
        ("ada", utc(2024, 3, 5), utc(2024, 3, 6), BusyKind.OUT_OF_OFFICE, None),
        ("ada", utc(2024, 3, 8, 9), utc(2024, 3, 8, 10), BusyKind.BUSY, None),  # no data is not free
    ]
    assert {k: (e.reason, e.transient) for k, e in errors.items()} == {
        "bob": ("GetUserAvailability: ErrorMailRecipientNotFound", False)}
    assert mailbox.operations == ["GetServerTimeZones", "GetUserAvailability"]
    sent = http_server.requests[-1]
    assert b"<t:Address>ada@contoso.com</t:Address>" in sent.body
    assert b"<t:Address>bob@contoso.com</t:Address>" in sent.body


def test_connected_calendar_is_read_through_its_calendar_view(http_server: LoopbackHttp):
    mailbox = FakeMailbox()
    mailbox.items = {
        "a": ews.calendar_item("a", "2024-03-04T09:00:00Z", "2024-03-04T10:00:00Z", location="Room 1"),
        "b": ews.calendar_item("b", "2024-03-04T11:00:00Z", "2024-03-04T12:00:00Z", response="Tentative"),
        "c": ews.calendar_item("c", "2024-03-04T12:00:00Z", "2024-03-04T13:00:00Z", response="Decline"),
        "d": ews.calendar_item("d", "2024-03-04T13:00:00Z", "2024-03-04T14:00:00Z", cancelled=True),
        "e": ews.calendar_item("e", "2024-03-04T14:00:00Z", "2024-03-04T15:00:00Z", status="Free"),
        "f": ews.calendar_item("f", "2024-03-05T00:00:00Z", "2024-03-06T00:00:00Z", all_day=True),
        "g": ews.calendar_item("g", "2024-03-07T00:00:00Z", "2024-03-08T00:00:00Z", status="OOF"),
    }
    http_server.route("POST", EWS_PATH, mailbox)
    ada = CalendarRef("ada", "ada@contoso.com", owner="ada@contoso.com", time_zone="America/New_York")
    busy = provider(http_server).busy([ada], *WINDOW)
    assert [(b.details.event_id if b.details else "", b.start, b.end, b.kind) for b in busy] == [
        ("a", utc(2024, 3, 4, 9), utc(2024, 3, 4, 10), BusyKind.BUSY),
        ("b", utc(2024, 3, 4, 11), utc(2024, 3, 4, 12), BusyKind.TENTATIVE),
        ("f", utc(2024, 3, 5, 5), utc(2024, 3, 6, 5), BusyKind.BUSY),  # the 5th in New York
        ("g", utc(2024, 3, 7), utc(2024, 3, 8), BusyKind.OUT_OF_OFFICE),
    ]
    assert busy[0].details == EventDetails("a", "a", "Room 1")
    assert "GetUserAvailability" not in mailbox.operations


def test_create_event_is_idempotent_by_uid_and_cancel_deletes(http_server: LoopbackHttp):
    mailbox = FakeMailbox()
    http_server.route("POST", EWS_PATH, mailbox)
    exchange = provider(http_server)
    ada = CalendarRef("ada", "ada@contoso.com")
    spec = EventSpec("booking-5@convene", "Panel", utc(2024, 3, 12, 15), utc(2024, 3, 12, 16),
                     attendee_emails=("jane@example.org",))
    event_id = exchange.create_event(ada, spec)
    assert event_id == "NEW1"
    create = next(r for r in http_server.requests if ews.operation(r) == "CreateItem")
    assert b'SendMeetingInvitations="SendToNone"' in create.body
    assert b"<t:UID>booking-5@convene</t:UID>" in create.body
    assert b"<t:Start>2024-03-12T15:00:00Z</t:Start>" in create.body
    assert exchange.create_event(ada, spec) == "NEW1"  # found by uid: updated, not created again
    assert mailbox.operations.count("CreateItem") == 1 and mailbox.operations.count("UpdateItem") == 1
    exchange.cancel_event(ada, event_id)
    assert mailbox.items == {}
    exchange.cancel_event(ada, event_id)  # already gone: ErrorItemNotFound is fine


@pytest.mark.parametrize(("answer", "transient"), [
    (Answer(401, "Unauthorized"), False),
    (Answer(503, "Service Unavailable", {"Retry-After": "5"}), True),
    (Answer(500, "<html>Server Error in '/EWS' Application</html>"), True),
])
def test_http_errors_map_to_provider_errors_without_the_password(
        http_server: LoopbackHttp, caplog: pytest.LogCaptureFixture, answer: Answer, transient: bool):
    caplog.set_level(logging.DEBUG)
    http_server.route("POST", EWS_PATH, answer)
    for ref in (fb_ref("ada"), CalendarRef("ada", "ada@contoso.com")):
        with pytest.raises(ProviderError) as error:
            provider(http_server).busy([ref], *WINDOW)
        assert error.value.transient is transient and error.value.resource_id == "ada"
        assert PASSWORD not in f"{error.value} {error.value!r}"
    basic = base64.b64encode(f"svc@contoso.com:{PASSWORD}".encode()).decode()
    assert PASSWORD not in caplog.text and basic not in caplog.text


def test_debug_logs_of_exchangelib_keep_the_authorization_header_out(
        http_server: LoopbackHttp, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    http_server.route("POST", EWS_PATH, FakeMailbox(ews.user_availability(ews.free_busy_view())))
    assert provider(http_server).busy([fb_ref("ada")], *WINDOW) == []
    assert "Request headers" in caplog.text  # exchangelib did log the headers...
    basic = base64.b64encode(f"svc@contoso.com:{PASSWORD}".encode()).decode()
    assert basic not in caplog.text and "<redacted>" in caplog.text  # ...without the credentials


def test_a_hanging_server_times_out(http_server: LoopbackHttp):
    http_server.route("POST", EWS_PATH, Answer(200, ews.SERVER_TIME_ZONES, ews.XML, delay=2))
    began = time.monotonic()
    with pytest.raises(ProviderError) as error:
        provider(http_server, timeout=0.3).busy([fb_ref("ada")], *WINDOW)
    assert error.value.transient and time.monotonic() - began < 1.5


def test_bad_config_names_the_field():
    with pytest.raises(ValueError, match="service_endpoint"):
        ExchangeProvider("mail.example.org", "u", "p")
    with pytest.raises(ValueError, match="auth_type"):
        ExchangeProvider("https://mail.example.org/EWS/Exchange.asmx", "u", "p", auth_type="kerberos")
    with pytest.raises(ValueError, match="username/password"):
        ExchangeProvider("https://mail.example.org/EWS/Exchange.asmx", "u", "")


def test_window_is_sent_in_utc(http_server: LoopbackHttp):
    http_server.route("POST", EWS_PATH, FakeMailbox(ews.user_availability(ews.free_busy_view())))
    provider(http_server).busy([fb_ref("ada")], WINDOW[0], WINDOW[0] + timedelta(days=1))
    sent = http_server.requests[-1].body
    assert b"<t:StartTime>2024-03-04T00:00:00Z</t:StartTime>" in sent
    assert b"<t:EndTime>2024-03-05T00:00:00Z</t:EndTime>" in sent
