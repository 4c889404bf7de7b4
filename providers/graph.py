"""Microsoft 365 calendars through Microsoft Graph (HTTP with ``requests``).

``CalendarRef.calendar_id`` is a mailbox (``ada@contoso.com``: its default
calendar) or ``mailbox/calendar-id`` for another calendar of that mailbox.

- Free/busy-level calendars (``details_allowed=False``) are read with
  ``getSchedule``, 20 mailboxes and at most 42 days per request (Graph's
  limits); a mailbox whose entry carries an ``error`` fails alone. Only the
  default calendar of a mailbox has a schedule. An entry's ``scheduleItems``
  are read when it has some, else its ``availabilityView`` (one digit per 15
  minutes: 0 free, 1 tentative, 2 busy, 3 out of office, 4 working
  elsewhere; another digit, or time the view does not cover, blocks); an
  entry with neither is unreadable, never free. A status Graph may add later
  blocks.
- Detailed calendars are read with ``calendarView`` (Graph expands
  recurrences), following ``@odata.nextLink`` pages. ``showAs`` decides the
  kind: ``oof`` out-of-office, ``tentative`` tentative, ``busy``/``unknown``
  busy, ``free`` and ``workingElsewhere`` block nothing; cancelled events and
  the owner's declines block nothing; an owner's tentative acceptance is
  tentative. All-day events are placed on the owner's days
  (``CalendarRef.time_zone``): Graph sends them as midnight to midnight,
  either in the zone they were made in (calendarView) or converted to the
  zone asked for (getSchedule); a midnight of its own zone is read as that
  day, any other instant moves to the owner's nearest midnight.
- A ``timeZone`` is resolved by ``providers.zones`` (IANA or Windows names);
  one that is neither makes the calendar unreadable, naming it.
- Bookings: ``POST events`` with the booking uid as ``transactionId`` (Graph
  drops a retried duplicate), ``PATCH events/{id}`` for a change,
  ``DELETE events/{id}`` to cancel. Outlook
  mails every attendee of an event it creates (and a cancellation when it is
  deleted): the customers, who get Convene's own iCalendar invitation, are
  left out of the attendees, so each person gets one invitation per change
  (the panel Outlook's, the customers Convene's, under the booking's UID).

Tokens come from ``token_provider`` (a callable returning a bearer token);
``msal_token_provider`` builds one for an app registration with msal.
Tests inject their own, so no Azure tenant is needed. 401 is not transient;
429/503 carry ``Retry-After``; other 5xx and timeouts are transient. Tokens
and secrets never appear in messages; pages are only followed on Graph's own
host, so the token goes nowhere else.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from providers.base import CalendarRef, EventSpec, ProviderError
from providers.batched import BatchedProvider, BusyEach, busy_from_digits, each_failed
from providers.deadline import time_left
from providers.http_status import error_for_status, safe_url
from providers.ical import owner_zone
from providers.zones import UnknownZone, iana_zone, nearest_midnight
from solver.domain import BusyInterval, BusyKind, EventDetails

__all__ = ["GraphProvider", "msal_token_provider"]

GRAPH_URL = "https://graph.microsoft.com/v1.0/"
SCHEDULE_BATCH = 20
SCHEDULE_SPAN = timedelta(days=42)  # getSchedule answers less than 42 days per request
_VIEW_FIELDS = "id,subject,location,start,end,showAs,isCancelled,isAllDay,responseStatus"
_SHOW_AS: dict[str, BusyKind | None] = {
    "busy": BusyKind.BUSY, "unknown": BusyKind.BUSY, "tentative": BusyKind.TENTATIVE,
    "oof": BusyKind.OUT_OF_OFFICE, "free": None, "workingelsewhere": None,
}
VIEW_MINUTES = 15
# availabilityView's digits (scheduleInformation): free, tentative, busy, out of office, working elsewhere.
_VIEW_KIND: dict[str, BusyKind | None] = {
    "0": None, "1": BusyKind.TENTATIVE, "2": BusyKind.BUSY, "3": BusyKind.OUT_OF_OFFICE, "4": None,
}

TokenProvider = Callable[[], str]


def msal_token_provider(tenant_id: str, client_id: str, client_secret: str, *,
                        authority_host: str = "https://login.microsoftonline.com",
                        http_client: Any = None) -> TokenProvider:
    """Application (client-credentials) tokens for Graph, cached and renewed by msal.

    ``http_client`` is passed to msal (a ``requests.Session``-like object; tests
    route it to a loopback server).
    """
    import msal  # only deployments that use Graph need it loaded
    import msal.exceptions

    for field, value in (("tenant_id", tenant_id), ("client_id", client_id), ("client_secret", client_secret)):
        if not value:
            raise ValueError(f"{field}: required for Microsoft Graph")
    app = msal.ConfidentialClientApplication(client_id, client_credential=client_secret,
                                             authority=f"{authority_host.rstrip('/')}/{tenant_id}",
                                             http_client=http_client)

    def token() -> str:
        try:
            result = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
        except msal.exceptions.MsalServiceError as exc:
            code = getattr(exc, "_error", "") or type(exc).__name__
            raise ProviderError("", f"token refused by Microsoft identity platform: {code}",
                                transient=False) from None
        except requests.RequestException as exc:
            raise ProviderError("", f"cannot reach Microsoft identity platform ({type(exc).__name__})") from None
        if "access_token" not in result:
            # error codes (invalid_client, ...) name the problem without echoing the secret
            raise ProviderError("", f"token refused by Microsoft identity platform: {result.get('error')}",
                                transient=False)
        return str(result["access_token"])

    return token


class GraphProvider(BatchedProvider):
    """Calendars of one Microsoft 365 tenant (or one user)."""

    name = "graph"
    max_batch = SCHEDULE_BATCH
    mails_attendees = True  # Outlook mails the attendees (the panel) of every event written here

    def __init__(self, token_provider: TokenProvider, *, timeout: float = 10.0, base_url: str = GRAPH_URL,
                 schedule_mailbox: str = "") -> None:
        """``schedule_mailbox``: whose ``getSchedule`` is asked (default: each batch's first mailbox)."""
        if timeout <= 0:
            raise ValueError("timeout: must be positive")
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url: must be an http(s) URL")
        self._token = token_provider
        self.timeout = timeout
        self._base = base_url if base_url.endswith("/") else base_url + "/"
        self._origin = (parts.scheme, parts.hostname, parts.port)
        self._schedule_mailbox = schedule_mailbox
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"GraphProvider(base_url={self._base!r})"

    def source_of(self, ref: CalendarRef) -> str:
        return safe_url(self._base)

    # --- reading (the shape: providers.batched) ---------------------------------

    def _free_busy_batch(self, refs: Sequence[CalendarRef], start: datetime, end: datetime) -> BusyEach:
        """``getSchedule`` in pieces under 42 days; a mailbox whose entry carries an error fails alone."""
        busy: list[BusyInterval] = []
        errors: dict[str, ProviderError] = {}
        mailboxes = list(dict.fromkeys(_mailbox(r) for r in refs))
        asker = self._schedule_mailbox or mailboxes[0]
        url = f"{self._base}users/{urllib.parse.quote(asker)}/calendar/getSchedule"
        piece_start = start
        while piece_start < end:
            piece_end = min(end, piece_start + SCHEDULE_SPAN - timedelta(minutes=1))
            body = {"schedules": mailboxes, "availabilityViewInterval": VIEW_MINUTES,
                    "startTime": {"dateTime": _graph_time(piece_start), "timeZone": "UTC"},
                    "endTime": {"dateTime": _graph_time(piece_end), "timeZone": "UTC"}}
            try:
                answer = self._call("POST", url, "getSchedule", refs[0].resource_id, json_body=body)
            except ProviderError as exc:
                return [], each_failed(refs, exc)
            entries = {str(e.get("scheduleId", "")).lower(): e for e in answer.get("value", [])}
            for ref in refs:
                entry = entries.get(_mailbox(ref).lower())
                if entry is None:
                    errors.setdefault(ref.resource_id,
                                      ProviderError(ref.resource_id, "getSchedule: mailbox missing from answer"))
                elif entry.get("error"):
                    code = str(entry["error"].get("responseCode") or entry["error"].get("code") or "error")
                    errors.setdefault(ref.resource_id, ProviderError(ref.resource_id, f"getSchedule: {code}",
                                                                     transient=False))
                else:
                    busy.extend(self._schedule_entry(ref, entry, piece_start, piece_end, errors))
            piece_start = piece_end
        # An item spanning two pieces comes back twice.
        return list(dict.fromkeys(busy)), errors

    def _schedule_entry(self, ref: CalendarRef, entry: dict[str, Any], start: datetime, end: datetime,
                        errors: dict[str, ProviderError]) -> list[BusyInterval]:
        """One mailbox's scheduleInformation: its items, else its availabilityView (module docstring)."""
        items = entry.get("scheduleItems")
        view = entry.get("availabilityView")
        if items and isinstance(items, list):
            return self._schedule_items(ref, items, errors)
        if isinstance(view, str) and view:
            return busy_from_digits(view, _VIEW_KIND, VIEW_MINUTES, ref, start, end)
        if isinstance(items, list):
            return []  # no items and no view to say otherwise: a free piece
        errors[ref.resource_id] = ProviderError(ref.resource_id, "getSchedule: an entry with neither "
                                                "scheduleItems nor availabilityView", transient=False)
        return []

    def _schedule_items(self, ref: CalendarRef, items: list[dict[str, Any]],
                        errors: dict[str, ProviderError]) -> list[BusyInterval]:
        busy: list[BusyInterval] = []
        for item in items:
            kind = _SHOW_AS.get(str(item.get("status", "busy")).lower(), BusyKind.BUSY)
            if kind is None:
                continue
            try:
                item_start, item_end = _graph_instant(item["start"]), _graph_instant(item["end"])
            except UnknownZone as exc:
                errors[ref.resource_id] = ProviderError(ref.resource_id, f"getSchedule: {exc}", transient=False)
                return []
            except (KeyError, ValueError, TypeError, AttributeError):
                errors[ref.resource_id] = ProviderError(ref.resource_id, "getSchedule: unreadable schedule item",
                                                        transient=False)
                return []
            if item_end > item_start:
                busy.append(BusyInterval(ref.resource_id, item_start, item_end, kind, ref.owner))
        return busy

    def _detailed(self, ref: CalendarRef, start: datetime, end: datetime) -> list[BusyInterval]:
        """``calendarView``, following ``@odata.nextLink`` pages on Graph's own host."""
        zone = owner_zone(ref)
        query = urllib.parse.urlencode({"startDateTime": _rfc3339(start), "endDateTime": _rfc3339(end),
                                        "$select": _VIEW_FIELDS, "$top": "500"})
        url: str | None = f"{self._calendar_path(ref)}/calendarView?{query}"
        busy: list[BusyInterval] = []
        while url:
            page = self._call("GET", url, "calendarView", ref.resource_id)
            for item in page.get("value", []):
                interval = _event_interval(item, ref, zone)
                if interval is not None and interval.start < end and interval.end > start:
                    busy.append(interval)
            url = page.get("@odata.nextLink")
            if url and not self._same_origin(url):
                raise ProviderError(ref.resource_id, "calendarView: next page on another host", transient=False)
        return busy

    # --- writing ---------------------------------------------------------------

    def create_event(self, calendar: CalendarRef, event: EventSpec) -> str:
        if event.start.tzinfo is None or event.end <= event.start:
            raise ProviderError(calendar.resource_id, "end: the event must be timezone-aware and end after it "
                                "starts", transient=False)
        body: dict[str, Any] = {**_event_fields(event), "transactionId": event.uid}
        if not event.location:
            del body["location"]
        if not event.description:
            del body["body"]
        created = self._call("POST", f"{self._calendar_path(calendar)}/events", "events.create",
                             calendar.resource_id, json_body=body)
        event_id = created.get("id")
        if not event_id:
            raise ProviderError(calendar.resource_id, "events.create: answer without an id", transient=False)
        return str(event_id)

    def update_event(self, calendar: CalendarRef, event_id: str, event: EventSpec) -> str:
        """``PATCH events/{id}`` with the fields a change may touch (a cleared one sent empty).
        Outlook tells the panel attendees of the change itself; an event that is gone (404)
        is not transient: its id was Graph's, a new one would be another event."""
        if event.start.tzinfo is None or event.end <= event.start:
            raise ProviderError(calendar.resource_id, "end: the event must be timezone-aware and end after it "
                                "starts", transient=False)
        self._call("PATCH", self._event_url(calendar, event_id), "events.update", calendar.resource_id,
                   json_body=_event_fields(event))
        return event_id

    def cancel_event(self, calendar: CalendarRef, event_id: str) -> None:
        self._call("DELETE", self._event_url(calendar, event_id), "events.delete", calendar.resource_id,
                   missing_ok=True)

    def _event_url(self, calendar: CalendarRef, event_id: str) -> str:
        return f"{self._base}users/{urllib.parse.quote(_mailbox(calendar))}/events/{urllib.parse.quote(event_id)}"

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    # --- HTTP ------------------------------------------------------------------

    def _calendar_path(self, ref: CalendarRef) -> str:
        mailbox = _mailbox(ref)
        if not mailbox:
            raise ProviderError(ref.resource_id, "calendar_id: empty Microsoft 365 mailbox", transient=False)
        _, _, calendar = ref.calendar_id.partition("/")
        user = f"{self._base}users/{urllib.parse.quote(mailbox)}"
        return f"{user}/calendars/{urllib.parse.quote(calendar)}" if calendar else f"{user}/calendar"

    def _same_origin(self, url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        return (parts.scheme, parts.hostname, parts.port) == self._origin

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def _call(self, method: str, url: str, what: str, resource_id: str, *,
              json_body: dict[str, Any] | None = None, missing_ok: bool = False) -> dict[str, Any]:
        try:
            token = self._token()
        except ProviderError as exc:
            raise exc.for_resource(resource_id) from None
        except Exception as exc:  # a token source failing in its own way
            raise ProviderError(resource_id, f"{what}: no token ({type(exc).__name__})") from None
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                   "Prefer": 'outlook.timezone="UTC"'}
        timeout = time_left(self.timeout)
        if timeout <= 0:
            raise ProviderError(resource_id, f"{what}: timeout (no time left to ask)")
        try:
            response = self._session().request(method, url, json=json_body, headers=headers, timeout=timeout)
        except requests.Timeout:
            raise ProviderError(resource_id, f"{what}: timeout (no answer within {timeout:.1f} s)") from None
        except requests.RequestException as exc:
            raise ProviderError(resource_id, f"{what}: {type(exc).__name__}") from None
        if missing_ok and response.status_code in (404, 410):
            return {}
        if response.status_code >= 400:
            raise error_for_status(resource_id, what, response.status_code, response.headers.get("Retry-After"),
                                   code=_graph_error_code(response))
        if response.status_code == 204 or not response.content:
            return {}
        try:
            answer = response.json()
        except ValueError:
            raise ProviderError(resource_id, f"{what}: answer is not JSON", transient=False) from None
        if not isinstance(answer, dict):
            raise ProviderError(resource_id, f"{what}: unexpected answer", transient=False)
        return answer


def _event_interval(item: dict[str, Any], ref: CalendarRef, zone: ZoneInfo) -> BusyInterval | None:
    """One calendarView event as a blocking interval, or None when it blocks nothing."""
    if item.get("isCancelled"):
        return None
    kind = _SHOW_AS.get(str(item.get("showAs", "busy")).lower(), BusyKind.BUSY)
    response = str((item.get("responseStatus") or {}).get("response", "")).lower()
    if kind is None or response == "declined":
        return None
    if kind == BusyKind.BUSY and response == "tentativelyaccepted":
        kind = BusyKind.TENTATIVE
    try:
        start, end = _graph_instant(item["start"]), _graph_instant(item["end"])
        if item.get("isAllDay"):
            start, end = _on_owners_day(item["start"], start, zone), _on_owners_day(item["end"], end, zone)
    except UnknownZone as exc:
        raise ProviderError(ref.resource_id, f"calendarView: {exc}", transient=False) from None
    except (KeyError, ValueError, TypeError, AttributeError):
        raise ProviderError(ref.resource_id, "calendarView: event with unreadable times", transient=False) from None
    if end <= start:
        return None
    details = None
    if ref.details_allowed:
        location = (item.get("location") or {}).get("displayName", "")
        details = EventDetails(str(item.get("subject") or ""), str(item.get("id", "")), str(location or ""))
    return BusyInterval(ref.resource_id, start, end, kind, ref.owner, details)


def _mailbox(ref: CalendarRef) -> str:
    return ref.calendar_id.strip().partition("/")[0]


def _graph_error_code(response: requests.Response) -> str:
    try:
        return str(response.json().get("error", {}).get("code", ""))
    except (ValueError, AttributeError):
        return ""


def _graph_instant(value: dict[str, str]) -> datetime:
    """Graph's ``{"dateTime": "2024-03-04T09:00:00.0000000", "timeZone": "UTC"}`` as a UTC instant.

    Raises ``UnknownZone`` for a ``timeZone`` that is no IANA or Windows name.
    """
    return _graph_local(value).astimezone(UTC)


def _graph_local(value: dict[str, str]) -> datetime:
    """The ``dateTime`` in its own ``timeZone``."""
    moment = _parse_graph_datetime(value["dateTime"])
    if moment.tzinfo is None:
        name = value.get("timeZone") or "UTC"
        moment = moment.replace(tzinfo=UTC if name == "UTC" else iana_zone(name))
    return moment


def _on_owners_day(value: dict[str, str], instant: datetime, zone: ZoneInfo) -> datetime:
    """An all-day event's bound on the owner's day (module docstring): a midnight of its own zone
    is that day; another instant moves to the owner's nearest midnight."""
    local = _graph_local(value)
    if local.time() == time():
        return datetime.combine(local.date(), time(), zone).astimezone(UTC)
    return nearest_midnight(instant, zone)


def _event_fields(event: EventSpec) -> dict[str, Any]:
    """The fields of a booking's event that a change may touch, every one present."""
    return {
        "subject": event.title,
        "start": {"dateTime": _graph_time(event.start), "timeZone": "UTC"},
        "end": {"dateTime": _graph_time(event.end), "timeZone": "UTC"},
        "showAs": "busy",
        "location": {"displayName": event.location},
        "body": {"contentType": "text", "content": event.description},
        # Not the customers: Outlook would mail them its own invitation beside Convene's (module docstring).
        "attendees": [{"emailAddress": {"address": e}, "type": "required"} for e in _panel(event)],
    }


def _panel(event: EventSpec) -> list[str]:
    """The attendees Outlook may invite: everyone but the customers."""
    customers = {e.lower() for e in event.customer_emails}
    return [e for e in event.attendee_emails if e.lower() not in customers]


def _parse_graph_datetime(text: str) -> datetime:
    head, dot, fraction = text.partition(".")
    if dot:  # Graph sends 7 fractional digits; Python reads at most 6
        digits = "".join(ch for ch in fraction if ch.isdigit())
        rest = fraction[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    return datetime.fromisoformat(text)


def _graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

