"""Google Calendar through the Calendar API v3 (google-api-python-client).

- Free/busy-level calendars (``details_allowed=False``) are read with
  ``freebusy.query``, up to 50 calendars per request; a calendar listed in
  the answer's per-calendar ``errors`` fails alone.
- Detailed calendars are read with ``events.list`` (``singleEvents=True``:
  Google expands recurrences) page by page, and Google's event fields are
  mapped to the rules of "Who is free": cancelled, transparent and
  working-location events and the owner's declines block nothing;
  ``outOfOffice`` events are out-of-office; an event whose
  ``endTimeUnspecified`` is true has a start and no end (Google still sends
  an ``end`` for compatibility) and blocks nothing (RFC 5545); a ``tentative`` event (its
  ``status``) and the owner's tentative reply are tentative; ``focusTime``
  and other event types block as busy. The owner is the attendee Google marks ``self`` (or whose email
  is ``CalendarRef.owner``). A ``dateTime`` without an offset is read in its
  ``timeZone`` (``providers.zones``); a zone no rule resolves makes the
  calendar unreadable, naming it. All-day events (``date``) lie on the
  owner's day.
- Bookings: ``events.insert`` with an id derived from the booking uid (so a
  retry hits 409 and becomes an update), ``events.patch`` of that id for a
  change (reschedule, new title, ...), ``events.delete`` to cancel; Google
  sends no invitations (``sendUpdates=none``): the engine sends its own.

Credentials come from a service-account key file (optionally impersonating a
user of the domain) or an OAuth authorized-user file, asking for the narrowest
scopes the calendar's use needs (``scopes_for``): free/busy only
``calendar.events.freebusy``, reading events ``calendar.events.readonly``,
writing the bookings' events ``calendar.events`` (plus the free/busy scope when
reads are free/busy only: ``freebusy.query`` does not accept ``calendar.events``). HTTP failures become
``ProviderError``: 401 and refused credentials are not transient; 429, 5xx and
Google's 403 ``rateLimitExceeded`` are, with ``Retry-After`` when sent. No
message holds a token, key or calendar URL. Each HTTP request is bounded by
what is left of the read (``providers.deadline``), on kept-open connections
too, so a hanging Google holds no reader past the request's deadline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import google.auth.credentials
import google.auth.exceptions
import google.oauth2.credentials
import google.oauth2.service_account
import google_auth_httplib2
import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from providers.base import CalendarRef, EventSpec, ProviderError
from providers.batched import BatchedProvider, BusyEach, each_failed
from providers.deadline import time_left
from providers.http_status import error_for_status, retry_after_seconds, safe_url
from providers.ical import owner_zone
from providers.zones import UnknownZone, iana_zone
from solver.domain import BusyInterval, BusyKind, EventDetails

__all__ = ["FREE_BUSY_SCOPE", "READ_SCOPE", "WRITE_SCOPE", "GoogleProvider", "load_credentials", "scopes_for"]

_SCOPE = "https://www.googleapis.com/auth/"
FREE_BUSY_SCOPE = _SCOPE + "calendar.events.freebusy"  # freebusy.query: availability only
READ_SCOPE = _SCOPE + "calendar.events.readonly"  # events.list: events, read only
WRITE_SCOPE = _SCOPE + "calendar.events"  # events.insert/update/delete (and events.list)


def scopes_for(*, free_busy_only: bool, write: bool) -> tuple[str, ...]:
    """The scopes a calendar's configured use needs, no more (the discovery document's per-method lists)."""
    if write:
        return (FREE_BUSY_SCOPE, WRITE_SCOPE) if free_busy_only else (WRITE_SCOPE,)
    return (FREE_BUSY_SCOPE,) if free_busy_only else (READ_SCOPE,)
FREEBUSY_BATCH = 50  # calendarExpansionMax's maximum
_EVENT_FIELDS = ("nextPageToken,items(id,status,summary,location,start,end,endTimeUnspecified,transparency,eventType,"
                 "attendees(email,self,responseStatus))")
_RATE_LIMIT_REASONS = ("rateLimitExceeded", "userRateLimitExceeded")
_PERMANENT_CALENDAR_ERRORS = ("notFound", "groupTooBig", "tooManyCalendarsRequested", "forbidden")


def load_credentials(path: str | Path, *, subject: str = "",
                     scopes: Sequence[str] = (READ_SCOPE,)) -> google.auth.credentials.Credentials:
    """Credentials from a service-account key file or an OAuth authorized-user file.

    ``subject``: the user a service account acts as (domain-wide delegation).
    Errors name the field and the file, never its contents.
    """
    try:
        info = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"credentials_file: cannot read {path} ({exc.strerror})") from None
    except ValueError:
        raise ValueError(f"credentials_file: {path} is not JSON") from None
    kind = info.get("type") if isinstance(info, dict) else None
    try:
        if kind == "service_account":
            account = google.oauth2.service_account.Credentials
            creds = account.from_service_account_info(info, scopes=list(scopes))  # type: ignore[no-untyped-call]
            return cast(google.auth.credentials.Credentials, creds.with_subject(subject) if subject else creds)
        if kind == "authorized_user":
            user = google.oauth2.credentials.Credentials
            return cast(google.auth.credentials.Credentials,
                        user.from_authorized_user_info(info, scopes=list(scopes)))  # type: ignore[no-untyped-call]
    except (ValueError, KeyError) as exc:
        raise ValueError(f"credentials_file: {path} is missing fields ({type(exc).__name__})") from None
    raise ValueError(f"credentials_file: {path} is neither a service-account key nor an authorized-user file")


class GoogleProvider(BatchedProvider):
    """Calendars of one Google account or domain.

    ``endpoint`` overrides the API's base URL (tests point it at a loopback
    server); ``timeout`` bounds each HTTP request in seconds.
    """

    name = "google"
    max_batch = FREEBUSY_BATCH

    def __init__(self, credentials: google.auth.credentials.Credentials, *, timeout: float = 10.0,
                 endpoint: str = "") -> None:
        if timeout <= 0:
            raise ValueError("timeout: must be positive")
        self._credentials = credentials
        self.timeout = timeout
        self._endpoint = endpoint
        self._local = threading.local()  # httplib2 is not thread-safe: one service per thread

    def __repr__(self) -> str:
        return "GoogleProvider()"

    def source_of(self, ref: CalendarRef) -> str:
        return safe_url(self._endpoint) if self._endpoint else "Google Calendar API"

    # --- reading (the shape: providers.batched) ---------------------------------

    def _free_busy_batch(self, refs: Sequence[CalendarRef], start: datetime, end: datetime) -> BusyEach:
        """``freebusy.query``; a calendar listed in the answer's ``errors`` fails alone."""
        body = {"timeMin": _rfc3339(start), "timeMax": _rfc3339(end), "calendarExpansionMax": FREEBUSY_BATCH,
                "items": [{"id": cid} for cid in dict.fromkeys(r.calendar_id for r in refs)]}
        try:
            answer = self._execute(self._service().freebusy().query(body=body))
        except ProviderError as exc:
            return [], each_failed(refs, exc)
        busy: list[BusyInterval] = []
        errors: dict[str, ProviderError] = {}
        answered = answer.get("calendars", {})
        for ref in refs:
            entry = answered.get(ref.calendar_id)
            if entry is None:
                errors[ref.resource_id] = ProviderError(ref.resource_id, "freebusy: calendar missing from answer")
                continue
            if entry.get("errors"):
                reason = str(entry["errors"][0].get("reason", "unknown"))
                errors[ref.resource_id] = ProviderError(ref.resource_id, f"freebusy: {reason}",
                                                        transient=reason not in _PERMANENT_CALENDAR_ERRORS)
                continue
            try:
                periods = entry.get("busy", [])
                if not isinstance(periods, list):
                    raise TypeError("busy is not a list")
                for period in periods:
                    b_start, b_end = _instant(period["start"]), _instant(period["end"])
                    if b_end > b_start:
                        busy.append(BusyInterval(ref.resource_id, b_start, b_end, BusyKind.BUSY, ref.owner))
            except (KeyError, ValueError, TypeError, AttributeError):
                errors[ref.resource_id] = ProviderError(ref.resource_id, "freebusy: unreadable busy period",
                                                        transient=False)
        return busy, errors

    def _detailed(self, ref: CalendarRef, start: datetime, end: datetime) -> list[BusyInterval]:
        """``events.list`` page by page, each event mapped by ``_event_interval``."""
        zone = owner_zone(ref)
        owner = ref.owner.strip().lower().removeprefix("mailto:")
        busy: list[BusyInterval] = []
        page_token: str | None = None
        while True:
            request = self._service().events().list(
                calendarId=ref.calendar_id, timeMin=_rfc3339(start), timeMax=_rfc3339(end), singleEvents=True,
                maxResults=2500, pageToken=page_token, fields=_EVENT_FIELDS)
            page = self._execute(request, ref.resource_id)
            for item in page.get("items", []):
                interval = _event_interval(item, ref, zone, owner)
                if interval is not None and interval.start < end and interval.end > start:
                    busy.append(interval)
            page_token = page.get("nextPageToken")
            if not page_token:
                return busy

    # --- writing ---------------------------------------------------------------

    def create_event(self, calendar: CalendarRef, event: EventSpec) -> str:
        if event.end <= event.start or event.start.tzinfo is None:
            raise ProviderError(calendar.resource_id, "end: the event must be timezone-aware and end after it "
                                "starts", transient=False)
        event_id = google_event_id(event.uid)
        body: dict[str, Any] = {"id": event_id, "iCalUID": event.uid, **_event_fields(event)}
        if not event.location:
            del body["location"]
        if not event.description:
            del body["description"]
        if not event.attendee_emails:
            del body["attendees"]
        if event.extra:
            body["extendedProperties"] = {"private": dict(event.extra)}
        events = self._service().events()
        try:
            self._execute(events.insert(calendarId=calendar.calendar_id, body=body, sendUpdates="none"),
                          calendar.resource_id, raw=True)
        except HttpError as exc:
            if exc.resp.status != 409:  # 409: it exists (a retry, or re-booking a cancelled one)
                raise _http_error(calendar.resource_id, "events.insert", exc) from None
            self._execute(events.update(calendarId=calendar.calendar_id, eventId=event_id, body=body,
                                        sendUpdates="none"), calendar.resource_id)
        return event_id

    def update_event(self, calendar: CalendarRef, event_id: str, event: EventSpec) -> str:
        """``events.patch`` of the event's own fields (times, title, place, text, attendees;
        a cleared one sent empty), ``sendUpdates=none``; Google raises its sequence. An event
        no longer there (404) is inserted anew under the same derived id."""
        if event.end <= event.start or event.start.tzinfo is None:
            raise ProviderError(calendar.resource_id, "end: the event must be timezone-aware and end after it "
                                "starts", transient=False)
        body = _event_fields(event)
        if event.extra:
            body["extendedProperties"] = {"private": dict(event.extra)}
        request = self._service().events().patch(calendarId=calendar.calendar_id, eventId=event_id, body=body,
                                                  sendUpdates="none")
        try:
            self._execute(request, calendar.resource_id, raw=True)
        except HttpError as exc:
            if exc.resp.status != 404 or event_id != google_event_id(event.uid):
                raise _http_error(calendar.resource_id, "events.patch", exc) from None
            return self.create_event(calendar, event)
        return event_id

    def cancel_event(self, calendar: CalendarRef, event_id: str) -> None:
        request = self._service().events().delete(calendarId=calendar.calendar_id, eventId=event_id,
                                                  sendUpdates="none")
        try:
            self._execute(request, calendar.resource_id, raw=True)
        except HttpError as exc:
            if exc.resp.status not in (404, 410):
                raise _http_error(calendar.resource_id, "events.delete", exc) from None

    # --- HTTP ------------------------------------------------------------------

    def _service(self) -> Any:
        service = getattr(self._local, "service", None)
        if service is None:
            self._local.http = httplib2.Http(timeout=self.timeout)
            http = google_auth_httplib2.AuthorizedHttp(self._credentials, http=self._local.http)
            options = {"api_endpoint": self._endpoint} if self._endpoint else None
            service = build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False,
                            client_options=options)
            self._local.service = service
        return service

    def _execute(self, request: Any, resource_id: str = "", *, raw: bool = False) -> Any:
        """Runs one API request (no library retries: the fetch layer retries within its budget).

        ``raw``: let ``HttpError`` through for the caller to inspect.
        """
        what = str(getattr(request, "methodId", "") or "request").removeprefix("calendar.")
        timeout = time_left(self.timeout)
        if timeout <= 0:
            raise ProviderError(resource_id, f"{what}: timeout (no time left to ask)")
        if getattr(self._local, "http", None) is not None:
            _bound(self._local.http, timeout)
        try:
            return request.execute(num_retries=0)
        except HttpError as exc:
            if raw:
                raise
            raise _http_error(resource_id, what, exc) from None
        except google.auth.exceptions.RefreshError:
            raise ProviderError(resource_id, f"{what}: credentials refused by Google", transient=False) from None
        except google.auth.exceptions.TransportError as exc:
            raise ProviderError(resource_id, f"{what}: cannot reach Google ({type(exc).__name__})") from None
        except TimeoutError:
            raise ProviderError(resource_id, f"{what}: timed out after {timeout:.3g}s") from None
        except (OSError, httplib2.HttpLib2Error) as exc:
            raise ProviderError(resource_id, f"{what}: {type(exc).__name__}") from None


def _bound(http: httplib2.Http, seconds: float) -> None:
    """Each socket operation of ``http``'s next request within ``seconds`` (what is left of the
    read, ``providers.deadline``), on new connections and on those it keeps open alike."""
    http.timeout = seconds
    for connection in http.connections.values():
        connection.timeout = seconds
        if getattr(connection, "sock", None) is not None:
            connection.sock.settimeout(seconds)


def _event_fields(event: EventSpec) -> dict[str, Any]:
    """The fields of a booking's event that a change may touch, every one present."""
    return {
        "summary": event.title, "status": "confirmed", "transparency": "opaque",
        "start": {"dateTime": _rfc3339(event.start), "timeZone": event.time_zone},
        "end": {"dateTime": _rfc3339(event.end), "timeZone": event.time_zone},
        "location": event.location, "description": event.description,
        "attendees": [{"email": e} for e in event.attendee_emails],
    }


def google_event_id(uid: str) -> str:
    """A valid Google event id (base32hex, lowercase) derived from the booking uid: stable across retries."""
    digest = hashlib.sha256(uid.encode()).digest()[:20]
    return base64.b32hexencode(digest).decode("ascii").lower().rstrip("=")


def _http_error(resource_id: str, what: str, exc: HttpError) -> ProviderError:
    status = int(exc.resp.status)
    reason = ""
    try:
        detail = json.loads(exc.content or b"{}").get("error", {})
        reason = str((detail.get("errors") or [{}])[0].get("reason", "") or detail.get("status", ""))
    except (ValueError, AttributeError, IndexError, TypeError):
        pass
    retry_after = exc.resp.get("retry-after")
    if status == 403 and reason in _RATE_LIMIT_REASONS:
        return ProviderError(resource_id, f"{what}: HTTP 403 ({reason})", retry_after=retry_after_seconds(retry_after))
    return error_for_status(resource_id, what, status, retry_after, code=reason)


def _event_interval(item: dict[str, Any], ref: CalendarRef, zone: ZoneInfo, owner: str) -> BusyInterval | None:
    """One event of ``events.list`` as a blocking interval, or None when it blocks nothing."""
    if item.get("status") == "cancelled" or item.get("transparency") == "transparent":
        return None
    if item.get("endTimeUnspecified"):
        return None  # a start and no end (its ``end`` is only there for compatibility) blocks nothing
    event_type = item.get("eventType", "default")
    if event_type == "workingLocation":
        return None
    me = next((a for a in item.get("attendees", [])
               if a.get("self") or (owner and str(a.get("email", "")).lower() == owner)), None)
    response = me.get("responseStatus", "") if me else ""
    if response == "declined":
        return None
    # An event Google calls tentative (``status``) or that the owner accepted tentatively is
    # tentative, as STATUS:TENTATIVE and PARTSTAT=TENTATIVE are in iCalendar.
    tentative = item.get("status") == "tentative" or response == "tentative"
    kind = (BusyKind.OUT_OF_OFFICE if event_type == "outOfOffice"
            else BusyKind.TENTATIVE if tentative else BusyKind.BUSY)
    try:
        start = _event_time(item["start"], zone)
        end = _event_time(item["end"], zone)
    except UnknownZone as exc:
        raise ProviderError(ref.resource_id, f"events.list: {exc}", transient=False) from None
    except (KeyError, ValueError, TypeError):
        raise ProviderError(ref.resource_id, "events.list: event with unreadable times", transient=False) from None
    if end <= start:
        return None
    details = (EventDetails(str(item.get("summary", "")), str(item.get("id", "")), str(item.get("location", "")))
               if ref.details_allowed else None)
    return BusyInterval(ref.resource_id, start, end, kind, ref.owner, details)


def _event_time(value: dict[str, str], zone: ZoneInfo) -> datetime:
    """``{"dateTime": ...}`` as UTC (without an offset: in its ``timeZone``); ``{"date": ...}``
    (all-day) as midnight in the owner's zone."""
    if "dateTime" in value:
        return _instant(value["dateTime"], value.get("timeZone", ""))
    return datetime.combine(date.fromisoformat(value["date"]), time(), zone).astimezone(UTC)


def _instant(text: str, zone_name: str = "") -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        if not zone_name:
            raise ValueError("a time without offset or zone")
        moment = moment.replace(tzinfo=iana_zone(zone_name))
    return moment.astimezone(UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

