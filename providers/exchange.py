"""Exchange calendars through EWS (exchangelib), for on-premises Exchange.

``CalendarRef.calendar_id`` is a mailbox's SMTP address.

- A calendar is read through the free/busy view (``GetUserAvailability``,
  up to 100 mailboxes per request) unless it is *connected*: its ref allows
  details, meaning this account has delegate (or impersonation) access to
  that mailbox; then its calendar view (``FindItem`` with a CalendarView:
  Exchange expands recurrences) gives each event with its details.
- Busy types: ``Busy`` and ``NoData`` block (no data is not "free"),
  ``Tentative`` is tentative, ``OOF`` out-of-office, ``Free`` and
  ``WorkingElsewhere`` block nothing, a type EWS may add later blocks; in the
  calendar view cancelled items and the owner's declines block nothing too.
- Every free/busy answer shape EWS documents is read: the event list of a
  ``Detailed``, ``FreeBusy`` or ``*Merged`` view; a ``MergedOnly`` view
  (distribution lists, cross-forest or public-folder free/busy: a string with
  one digit per 15 minutes from the window's start, the part it does not
  cover counting as no data); a ``None`` view (nothing shared) makes that
  mailbox unreadable, and so does a shape not understood, never free.
- All-day items lie on the owner's days (``CalendarRef.time_zone``): EWS
  gives them as midnights in the zone they were made in, and each is moved to
  the owner's nearest midnight (exact when made in the owner's zone, right for
  zones up to 12 hours apart). The all-day flag is read as its MAPI property
  (PidLidAppointmentSubType): asked for as ``IsAllDayEvent``, exchangelib
  turns the times into dates in the host machine's zone when the answer has
  no StartTimeZone, so the day would depend on where Convene runs.
- Bookings: a ``CalendarItem`` with the booking uid as its UID (a retry finds
  it in the booking's own time range and updates it), no invitations sent by
  Exchange; a change updates that item by its id (GetItem for the change key,
  then UpdateItem); cancelling deletes it by item id.

exchangelib runs with the fail-fast policy (no sleeping inside a request's
budget) and ``timeout`` seconds per HTTP request, cut to what is left of the
read (``providers.deadline``), so a hanging server holds no reader past the
request's deadline (requests exchangelib sends from its own thread pool get
``timeout`` alone). Its debug log prints
request headers; a filter on it blanks Authorization and cookies, and no
``ProviderError`` message holds a credential.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import urllib.parse
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    Account,
    Build,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    ExtendedProperty,
    FailFast,
    Version,
)
from exchangelib import errors as ews_errors
from exchangelib.items import SEND_TO_NONE
from exchangelib.properties import Attendee, Mailbox
from exchangelib.protocol import Protocol

from providers.base import CalendarRef, EventSpec, ProviderError
from providers.batched import BatchedProvider, BusyEach, busy_from_digits, each_failed
from providers.deadline import time_left
from providers.http_status import safe_url
from providers.ical import owner_zone
from providers.zones import nearest_midnight
from solver.domain import BusyInterval, BusyKind, EventDetails

__all__ = ["ExchangeProvider"]

AVAILABILITY_BATCH = 100
_BUSY_TYPE: dict[str, BusyKind | None] = {
    "busy": BusyKind.BUSY, "nodata": BusyKind.BUSY, "tentative": BusyKind.TENTATIVE,
    "oof": BusyKind.OUT_OF_OFFICE, "free": None, "workingelsewhere": None,
}
_PERMANENT_CODES = ("ErrorMailRecipientNotFound", "ErrorAccessDenied", "ErrorNonExistentMailbox",
                    "ErrorFreeBusyGenerationFailed", "ErrorProxyRequestNotAllowed", "ErrorItemNotFound")
_ALL_DAY = "convene_all_day"
_VIEW_FIELDS = ("id", "subject", "location", "start", "end", _ALL_DAY, "is_cancelled",
                "legacy_free_busy_status", "my_response_type")
# The digits of a MergedFreeBusy string (EWS's LegacyFreeBusyType order); another digit blocks.
_MERGED_KIND: dict[str, BusyKind | None] = {
    "0": None, "1": BusyKind.TENTATIVE, "2": BusyKind.BUSY, "3": BusyKind.OUT_OF_OFFICE, "4": BusyKind.BUSY,
    "5": None,
}
MERGED_MINUTES = 15
_EVENT_VIEWS = ("Detailed", "FreeBusy", "DetailedMerged", "FreeBusyMerged")
_UTC = EWSTimeZone("UTC")


class _RedactSecrets(logging.Filter):
    """exchangelib's debug log prints request and response headers: blank the secret ones."""

    _SECRET = ("authorization", "cookie", "set-cookie", "proxy-authorization")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, dict):
            cleaned = dict(args)
            for key in ("request_headers", "response_headers"):
                if cleaned.get(key):
                    cleaned[key] = {k: ("<redacted>" if str(k).lower() in self._SECRET else v)
                                    for k, v in dict(cleaned[key]).items()}
            record.args = cleaned
        return True


for _name in ("exchangelib", "exchangelib.util", "exchangelib.protocol"):
    logging.getLogger(_name).addFilter(_RedactSecrets())


class _AllDayFlag(ExtendedProperty):  # type: ignore[misc]  # exchangelib is untyped
    """PidLidAppointmentSubType ([MS-OXPROPS]), the property behind EWS's IsAllDayEvent (module docstring)."""

    distinguished_property_set_id = "Appointment"
    property_id = 0x8215
    property_type = "Boolean"


with contextlib.suppress(ValueError):  # registered once per process (a re-import finds it there)
    CalendarItem.register(_ALL_DAY, _AllDayFlag)


class ExchangeProvider(BatchedProvider):
    """Calendars on one Exchange server, read and written as one service account.

    ``service_endpoint`` is the EWS URL (``https://mail.example.org/EWS/Exchange.asmx``);
    ``auth_type`` is ``"ntlm"`` or ``"basic"``; ``impersonation`` uses
    ApplicationImpersonation instead of delegate access for connected calendars.
    """

    name = "exchange"
    max_batch = AVAILABILITY_BATCH

    def __init__(self, service_endpoint: str, username: str, password: str, *, timeout: float = 10.0,
                 auth_type: str = "ntlm", impersonation: bool = False, build: tuple[int, int] = (15, 1)) -> None:
        parts = urllib.parse.urlsplit(service_endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("service_endpoint: must be the EWS http(s) URL")
        if timeout <= 0:
            raise ValueError("timeout: must be positive")
        auth = {"ntlm": NTLM, "basic": BASIC}.get(auth_type.lower())
        if auth is None:
            raise ValueError("auth_type: must be 'ntlm' or 'basic'")
        if not username or not password:
            raise ValueError("username/password: required for Exchange")
        self.timeout = timeout
        self._endpoint = service_endpoint
        self._config = Configuration(service_endpoint=service_endpoint, credentials=Credentials(username, password),
                                     auth_type=auth, version=Version(build=Build(*build)), retry_policy=FailFast())
        self._access_type = IMPERSONATION if impersonation else DELEGATE
        self._accounts: dict[str, Account] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "ExchangeProvider()"

    def source_of(self, ref: CalendarRef) -> str:
        return safe_url(self._endpoint)

    # --- reading (the shape: providers.batched) ---------------------------------

    def _free_busy_batch(self, refs: Sequence[CalendarRef], start: datetime, end: datetime) -> BusyEach:
        """``GetUserAvailability``; a mailbox answered with an error fails alone."""
        mailboxes = list(dict.fromkeys(_mailbox(r) for r in refs))
        try:
            views = list(self._protocol().get_free_busy_info(
                accounts=[(m, "Required", False) for m in mailboxes], start=_ews(start), end=_ews(end),
                merged_free_busy_interval=MERGED_MINUTES, requested_view="Detailed"))
        except Exception as exc:  # exchangelib raises many kinds; each maps below
            return [], each_failed(refs, _ews_error("", "GetUserAvailability", exc, self.timeout))
        by_mailbox = dict(zip(mailboxes, views, strict=False))
        busy: list[BusyInterval] = []
        errors: dict[str, ProviderError] = {}
        for ref in refs:
            view = by_mailbox.get(_mailbox(ref))
            if view is None:
                errors[ref.resource_id] = ProviderError(ref.resource_id, "GetUserAvailability: mailbox missing")
            elif isinstance(view, Exception):
                errors[ref.resource_id] = _ews_error(ref.resource_id, "GetUserAvailability", view, self.timeout)
            else:
                try:
                    busy.extend(_view_busy(view, ref, start, end))
                except ProviderError as exc:
                    errors[ref.resource_id] = exc
        return busy, errors

    def _detailed(self, ref: CalendarRef, start: datetime, end: datetime) -> list[BusyInterval]:
        """The calendar view (``FindItem``) of a connected mailbox, each item mapped by ``_item_interval``."""
        zone = owner_zone(ref)
        try:
            items = list(self._account(_mailbox(ref)).calendar.view(start=_ews(start), end=_ews(end))
                         .only(*_VIEW_FIELDS))
        except Exception as exc:
            raise _ews_error(ref.resource_id, "FindItem", exc, self.timeout) from None
        busy: list[BusyInterval] = []
        for item in items:
            if isinstance(item, Exception):
                raise _ews_error(ref.resource_id, "FindItem", item, self.timeout)
            interval = _item_interval(item, ref, zone)
            if interval is not None and interval.start < end and interval.end > start:
                busy.append(interval)
        return busy

    # --- writing ---------------------------------------------------------------

    def create_event(self, calendar: CalendarRef, event: EventSpec) -> str:
        if event.start.tzinfo is None or event.end <= event.start:
            raise ProviderError(calendar.resource_id, "end: the event must be timezone-aware and end after it "
                                "starts", transient=False)
        try:
            account = self._account(_mailbox(calendar))
            existing = [i for i in account.calendar.view(start=_ews(event.start), end=_ews(event.end))
                        .only("id", "changekey", "uid") if not isinstance(i, Exception) and i.uid == event.uid]
            fields = _item_fields(event)
            if existing:
                item = existing[0]
                for name, value in fields.items():
                    setattr(item, name, value)
                item.save(update_fields=list(fields), send_meeting_invitations=SEND_TO_NONE)
            else:
                item = CalendarItem(account=account, folder=account.calendar, uid=event.uid, **fields)
                item.save(send_meeting_invitations=SEND_TO_NONE)
        except ProviderError:
            raise
        except Exception as exc:
            raise _ews_error(calendar.resource_id, "CreateItem", exc, self.timeout) from None
        return str(item.id)

    def update_event(self, calendar: CalendarRef, event_id: str, event: EventSpec) -> str:
        """GetItem of ``event_id`` (for its change key), then UpdateItem of the fields a change
        may touch (``save(update_fields=...)``), no invitations sent by Exchange. An item that
        is gone is not transient: its id was Exchange's, a new one would be another event."""
        if event.start.tzinfo is None or event.end <= event.start:
            raise ProviderError(calendar.resource_id, "end: the event must be timezone-aware and end after it "
                                "starts", transient=False)
        try:
            account = self._account(_mailbox(calendar))
            [item] = account.fetch(ids=[(event_id, None)], folder=account.calendar,
                                   only_fields=["id", "changekey", "uid"])
            if isinstance(item, Exception):
                raise item
            fields = _item_fields(event)
            for name, value in fields.items():
                setattr(item, name, value)
            item.save(update_fields=list(fields), send_meeting_invitations=SEND_TO_NONE)
        except ews_errors.ErrorItemNotFound:
            raise ProviderError(calendar.resource_id, "UpdateItem: the event is no longer in the calendar",
                                transient=False) from None
        except ProviderError:
            raise
        except Exception as exc:
            raise _ews_error(calendar.resource_id, "UpdateItem", exc, self.timeout) from None
        return event_id

    def cancel_event(self, calendar: CalendarRef, event_id: str) -> None:
        try:
            account = self._account(_mailbox(calendar))
            CalendarItem(account=account, folder=account.calendar, id=event_id).delete(
                send_meeting_cancellations=SEND_TO_NONE)
        except ews_errors.ErrorItemNotFound:
            return
        except Exception as exc:
            raise _ews_error(calendar.resource_id, "DeleteItem", exc, self.timeout) from None

    # --- EWS -------------------------------------------------------------------

    def _protocol(self) -> Any:
        protocol = Protocol(config=self._config)  # exchangelib keeps one per server and account
        if not isinstance(protocol, _BoundedProtocol):
            protocol.__class__ = _bounded(type(protocol))
        protocol.convene_timeout = self.timeout
        return protocol

    def _account(self, mailbox: str) -> Account:
        if not mailbox:
            raise ProviderError("", "calendar_id: empty Exchange mailbox", transient=False)
        with self._lock:
            account = self._accounts.get(mailbox.lower())
            if account is None:
                self._protocol()
                account = Account(primary_smtp_address=mailbox, config=self._config, autodiscover=False,
                                  access_type=self._access_type, default_timezone=_UTC)
                self._accounts[mailbox.lower()] = account
            return account


class _BoundedProtocol:
    """Mixed into exchangelib's (cached, shared) ``Protocol``: its ``TIMEOUT``, which exchangelib
    reads for every HTTP request, is ``convene_timeout`` cut to what is left of the read of the
    calling thread (``providers.deadline``) instead of exchangelib's 120 s; with nothing left the
    request is not sent."""

    convene_timeout: float = 10.0

    @property
    def TIMEOUT(self) -> float:  # exchangelib's name
        left = time_left(self.convene_timeout)
        if left <= 0:
            raise requests.Timeout("no time left to ask")
        return left

    @TIMEOUT.setter
    def TIMEOUT(self, value: float) -> None:
        self.convene_timeout = value


_BOUNDED: dict[type, type] = {}


def _bounded(protocol_class: type) -> type:
    with _BOUNDED_LOCK:
        if protocol_class not in _BOUNDED:
            _BOUNDED[protocol_class] = type(f"Bounded{protocol_class.__name__}", (_BoundedProtocol, protocol_class),
                                            {})
        return _BOUNDED[protocol_class]


_BOUNDED_LOCK = threading.Lock()


def _item_fields(event: EventSpec) -> dict[str, Any]:
    """The CalendarItem fields of a booking's event (a cleared one None: EWS deletes it)."""
    return {
        "subject": event.title, "start": _ews(event.start), "end": _ews(event.end),
        "location": event.location or None, "body": event.description or None,
        "legacy_free_busy_status": "Busy",
        "required_attendees": [Attendee(mailbox=Mailbox(email_address=e)) for e in event.attendee_emails] or None,
    }


def _view_busy(view: Any, ref: CalendarRef, start: datetime, end: datetime) -> list[BusyInterval]:
    """One mailbox's FreeBusyView as intervals, by its shape (module docstring)."""
    shape = str(view.view_type or "")
    if shape in _EVENT_VIEWS:
        busy = []
        for event in view.calendar_events or []:
            kind = _BUSY_TYPE.get(str(event.busy_type).lower(), BusyKind.BUSY)
            if event.start is None or event.end is None:
                raise ProviderError(ref.resource_id, "GetUserAvailability: an event without its times",
                                    transient=False)
            event_start, event_end = _utc(event.start), _utc(event.end)
            if kind is not None and event_end > event_start:
                busy.append(BusyInterval(ref.resource_id, event_start, event_end, kind, ref.owner))
        return busy
    if shape == "MergedOnly":
        if not view.merged:
            raise ProviderError(ref.resource_id, "GetUserAvailability: a MergedOnly view without its "
                                "MergedFreeBusy", transient=False)
        return busy_from_digits(str(view.merged or ""), _MERGED_KIND, MERGED_MINUTES, ref, start, end)
    if shape == "None":
        raise ProviderError(ref.resource_id, "GetUserAvailability: no free/busy shared (view None)",
                            transient=False)
    raise ProviderError(ref.resource_id, f"GetUserAvailability: unexpected view {shape[:40]!r}", transient=False)


def _item_interval(item: Any, ref: CalendarRef, zone: ZoneInfo) -> BusyInterval | None:
    """One calendar-view item as a blocking interval, or None when it blocks nothing."""
    if item.is_cancelled or str(item.my_response_type or "").lower() == "decline":
        return None
    kind = _BUSY_TYPE.get(str(item.legacy_free_busy_status or "busy").lower(), BusyKind.BUSY)
    if kind is None:
        return None
    if kind == BusyKind.BUSY and str(item.my_response_type or "").lower() == "tentative":
        kind = BusyKind.TENTATIVE
    if getattr(item, _ALL_DAY, None):
        if not isinstance(item.start, datetime) or not isinstance(item.end, datetime):
            # exchangelib made them dates in the host's zone (a server sending IsAllDayEvent unasked)
            raise ProviderError(ref.resource_id, "FindItem: an all-day item without its times", transient=False)
        start, end = nearest_midnight(item.start, zone), nearest_midnight(item.end, zone)
    else:
        start, end = _utc(item.start), _utc(item.end)
    if end <= start:
        return None
    details = None
    if ref.details_allowed:
        details = EventDetails(str(item.subject or ""), str(item.id or ""), str(item.location or ""))
    return BusyInterval(ref.resource_id, start, end, kind, ref.owner, details)


def _ews_error(resource_id: str, what: str, exc: BaseException, timeout: float) -> ProviderError:
    """exchangelib's exception as ``ProviderError``, by type and EWS code only (messages hold URLs)."""
    if isinstance(exc, ews_errors.UnauthorizedError | ews_errors.ErrorAccessDenied):
        return ProviderError(resource_id, f"{what}: not authorized", transient=False)
    if isinstance(exc, ews_errors.ErrorServerBusy):
        back_off = getattr(exc, "back_off", None)
        return ProviderError(resource_id, f"{what}: server busy", retry_after=float(back_off) if back_off else None)
    if isinstance(exc, ews_errors.ErrorTimeoutExpired | requests.Timeout | TimeoutError):
        return ProviderError(resource_id, f"{what}: timed out or unreachable (timeout {timeout:g}s)")
    if isinstance(exc, ews_errors.ResponseMessageError):
        code = type(exc).__name__
        return ProviderError(resource_id, f"{what}: {code}", transient=code not in _PERMANENT_CODES)
    if isinstance(exc, ews_errors.TransportError | requests.RequestException | OSError):
        return ProviderError(resource_id, f"{what}: {type(exc).__name__}")
    return ProviderError(resource_id, f"{what}: unexpected {type(exc).__name__}", transient=False)


def _mailbox(ref: CalendarRef) -> str:
    return ref.calendar_id.strip()


def _ews(moment: datetime) -> EWSDateTime:
    return EWSDateTime.from_datetime(moment.astimezone(UTC)).astimezone(_UTC)


def _utc(moment: datetime) -> datetime:
    return datetime.fromtimestamp(moment.timestamp(), UTC)
