"""``ExchangeProvider`` at the HTTP layer: a loopback server answering EWS SOAP
in Exchange 2016's documented XML (GetUserAvailability, FindItem/GetItem,
CreateItem/UpdateItem/DeleteItem)."""

from __future__ import annotations

import base64
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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
        self.updates: list[str] = []
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
            return ews.soap(ews.find_items(*(ews.asked_only(request, i) for i in self.items.values())))
        if op == "GetItem":
            return ews.soap(ews.get_items({k: ews.asked_only(request, i) for k, i in self.items.items()}, request))
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
            if item_id not in self.items:
                return ews.soap(ews.update_item_error("ErrorItemNotFound"))
            self.updates.append(request.body.decode())
            body, item = request.body.decode(), self.items[item_id]
            for name in ("Start", "End", "Subject"):  # SetItemField values written into the stored item
                value = re.search(rf"<t:SetItemField><t:FieldURI FieldURI=\"\w+:{name}\"/><t:CalendarItem>"
                                  rf"<t:{name}>([^<]*)</t:{name}>", body)
                if value:
                    item = re.sub(rf"<t:{name}>[^<]*</t:{name}>", f"<t:{name}>{value.group(1)}</t:{name}>", item)
            self.items[item_id] = item
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


def test_update_event_changes_the_same_item_by_its_id(http_server: LoopbackHttp):
    mailbox = FakeMailbox()
    http_server.route("POST", EWS_PATH, mailbox)
    exchange = provider(http_server)
    ada = CalendarRef("ada", "ada@contoso.com")
    spec = EventSpec("booking-6@convene", "Panel", utc(2024, 3, 12, 15), utc(2024, 3, 12, 16),
                     attendee_emails=("jane@example.org",), location="Room 1")
    event_id = exchange.create_event(ada, spec)
    moved = EventSpec("booking-6@convene", "Panel (moved)", utc(2024, 3, 14, 9), utc(2024, 3, 14, 10),
                      attendee_emails=("jane@example.org", "kim@example.org"), sequence=1)
    assert exchange.update_event(ada, event_id, moved) == event_id
    assert mailbox.operations.count("CreateItem") == 1 and mailbox.operations.count("UpdateItem") == 1
    [update] = mailbox.updates
    assert f'<t:ItemId Id="{event_id}" ChangeKey="DwAAAA=="/>' in update  # the key GetItem gave
    assert 'SendMeetingInvitationsOrCancellations="SendToNone"' in update
    assert '<t:DeleteItemField><t:FieldURI FieldURI="calendar:Location"/></t:DeleteItemField>' in update
    assert "<t:EmailAddress>kim@example.org</t:EmailAddress>" in update
    [item] = mailbox.items.values()
    assert "<t:Start>2024-03-14T09:00:00Z</t:Start>" in item and "<t:End>2024-03-14T10:00:00Z</t:End>" in item
    assert "<t:Subject>Panel (moved)</t:Subject>" in item and "<t:UID>booking-6@convene</t:UID>" in item
    [busy] = exchange.busy([ada], *WINDOW[:1], WINDOW[0] + timedelta(days=14))
    assert (busy.start, busy.end, busy.details and busy.details.event_id) == (
        utc(2024, 3, 14, 9), utc(2024, 3, 14, 10), event_id)
    mailbox.items.clear()
    with pytest.raises(ProviderError) as gone:
        exchange.update_event(ada, event_id, moved)
    assert not gone.value.transient and "no longer" in gone.value.reason


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


# --- Every free/busy shape EWS documents --------------------------------------------------

DAY = (WINDOW[0], WINDOW[0] + timedelta(days=1))


def availability(http_server: LoopbackHttp, *views: str):
    http_server.route("POST", EWS_PATH, FakeMailbox(ews.user_availability(*views)))
    return provider(http_server).busy_each([fb_ref(n) for n in ("ada", "bob", "carl")[:len(views)]], *DAY)


def test_a_merged_only_view_busy_all_day_is_busy_all_day(http_server: LoopbackHttp):
    # A distribution list, cross-forest or public-folder mailbox: no event list, one digit per 15 minutes.
    busy, errors = availability(http_server, ews.free_busy_view(view="MergedOnly", merged="2" * 96))
    assert errors == {} and [(b.start, b.end, b.kind) for b in busy] == [(*DAY, BusyKind.BUSY)]


def test_a_merged_only_view_is_read_digit_by_digit(http_server: LoopbackHttp):
    # 00:00 free 8 h, tentative 30 min, busy 1 h, out of office 15 min, no data 15 min, free, a digit EWS may add.
    digits = "0" * 32 + "11" + "2222" + "3" + "4" + "0" * 55 + "9"
    busy, _ = availability(http_server, ews.free_busy_view(view="MergedOnly", merged=digits))
    assert [(b.start, b.end, b.kind) for b in busy] == [
        (utc(2024, 3, 4, 8), utc(2024, 3, 4, 8, 30), BusyKind.TENTATIVE),
        (utc(2024, 3, 4, 8, 30), utc(2024, 3, 4, 9, 30), BusyKind.BUSY),
        (utc(2024, 3, 4, 9, 30), utc(2024, 3, 4, 9, 45), BusyKind.OUT_OF_OFFICE),
        (utc(2024, 3, 4, 9, 45), utc(2024, 3, 4, 10), BusyKind.BUSY),   # no data is not free
        (utc(2024, 3, 4, 23, 45), utc(2024, 3, 5), BusyKind.BUSY),      # an unknown digit blocks
    ]
    short, _ = availability(http_server, ews.free_busy_view(view="MergedOnly", merged="0" * 90))
    assert [(b.start, b.end) for b in short] == [(utc(2024, 3, 4, 22, 30), utc(2024, 3, 5))]  # uncovered: no data


def test_a_none_view_or_one_not_understood_is_unreadable_not_free(http_server: LoopbackHttp):
    busy, errors = availability(http_server, ews.free_busy_view(view="None"),
                                ews.free_busy_view(view="MergedOnly"),  # a merged view without its digits
                                ews.free_busy_view(view="Detailed"))
    assert busy == []
    assert errors["ada"].reason == "GetUserAvailability: no free/busy shared (view None)"
    assert not errors["ada"].transient
    assert errors["bob"].reason == "GetUserAvailability: a MergedOnly view without its MergedFreeBusy"
    assert set(errors) == {"ada", "bob"}  # an empty detailed view is a free day; a merged one says so with 0s


@pytest.mark.parametrize("shape", ["FreeBusy", "FreeBusyMerged", "DetailedMerged"])
def test_every_view_with_events_is_read_by_its_events(http_server: LoopbackHttp, shape: str):
    view = ews.free_busy_view(("2024-03-04T09:00:00", "2024-03-04T10:00:00", "Busy"), view=shape,
                              merged=("0" * 36 + "2222" + "0" * 56) if shape.endswith("Merged") else None)
    busy, errors = availability(http_server, view)
    assert errors == {} and [(b.start, b.end) for b in busy] == [(utc(2024, 3, 4, 9), utc(2024, 3, 4, 10))]


# --- All-day items land on the owner's day, wherever Convene runs -------------------------


@pytest.mark.parametrize(("owner", "start", "end", "day"), [
    ("Europe/Berlin", "2024-03-04T23:00:00Z", "2024-03-05T23:00:00Z", 5),    # made in Berlin
    ("America/Los_Angeles", "2024-03-05T08:00:00Z", "2024-03-06T08:00:00Z", 5),  # made in Los Angeles
    ("Asia/Tokyo", "2024-03-04T15:00:00Z", "2024-03-05T15:00:00Z", 5),       # made in Tokyo
    ("America/New_York", "2024-03-04T23:00:00Z", "2024-03-05T23:00:00Z", 5),  # made in Berlin, owner in New York
    ("Asia/Tokyo", "2024-03-05T00:00:00Z", "2024-03-06T00:00:00Z", 5),       # made in UTC, owner in Tokyo
])
def test_an_all_day_item_blocks_the_owners_day(http_server: LoopbackHttp, owner: str, start: str, end: str,
                                               day: int):
    mailbox = FakeMailbox()
    mailbox.items = {"trip": ews.calendar_item("trip", start, end, all_day=True, start_zone="UTC")}
    http_server.route("POST", EWS_PATH, mailbox)
    ada = CalendarRef("ada", "ada@contoso.com", owner="ada@contoso.com", time_zone=owner)
    [busy] = provider(http_server).busy([ada], *WINDOW)
    zone = ZoneInfo(owner)
    assert (busy.start, busy.end) == (datetime(2024, 3, day, tzinfo=zone), datetime(2024, 3, day + 1, tzinfo=zone))
    find = next(r.body for r in http_server.requests if ews.operation(r) in ("FindItem", "GetItem")
                and b"ExtendedFieldURI" in r.body)
    assert b'PropertyId="33301"' in find and b"calendar:IsAllDayEvent" not in find


def test_an_unknown_view_is_unreadable_and_an_unknown_busy_type_blocks(http_server: LoopbackHttp):
    busy, errors = availability(http_server, ews.free_busy_view(view="Hourly"),
                                ews.free_busy_view(("2024-03-04T09:00:00", "2024-03-04T10:00:00", "Away")))
    assert errors["ada"].reason == "GetUserAvailability: unexpected view 'Hourly'" and not errors["ada"].transient
    assert [(b.resource_id, b.start, b.kind) for b in busy] == [("bob", utc(2024, 3, 4, 9), BusyKind.BUSY)]


def test_an_all_day_item_turned_into_dates_is_unreadable_not_placed_by_the_host(http_server: LoopbackHttp):
    # A server answering IsAllDayEvent unasked: exchangelib makes the times dates in the host's zone.
    class Unfiltered(FakeMailbox):
        def __call__(self, request: Request) -> Answer:
            if ews.operation(request) == "FindItem":
                return ews.soap(ews.find_items(*self.items.values()))
            if ews.operation(request) == "GetItem":
                return ews.soap(ews.get_items(self.items, request))
            return super().__call__(request)

    mailbox = Unfiltered()
    mailbox.items = {"trip": ews.calendar_item("trip", "2024-03-05T00:00:00Z", "2024-03-06T00:00:00Z", all_day=True)}
    http_server.route("POST", EWS_PATH, mailbox)
    with pytest.raises(ProviderError, match="an all-day item without its times"):
        provider(http_server).busy([CalendarRef("ada", "ada@contoso.com")], *WINDOW)
