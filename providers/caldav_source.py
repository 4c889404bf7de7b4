"""CalDAV calendars (RFC 4791): Nextcloud, Radicale, Fastmail, iCloud, ...

One ``CalDavProvider`` is one account on one server; ``CalendarRef.calendar_id``
is a calendar collection's URL on that server (absolute, or a path below the
account URL). A calendar on another host is refused: the account's password
is only ever sent to its own server.

Reading, per calendar, one REPORT:
- by default a calendar-query over the window *without* ``<C:expand>``: the
  server sends every event resource overlapping it (series, overrides,
  VTIMEZONEs) and ``busy_from_ical`` expands them with the same rules as ICS.
  Server-side expansion is opt-in (``server_expand=True``) because servers get
  it wrong: Radicale 3.9 expands a 09:00 Europe/Berlin daily series as a fixed
  UTC time, an hour off after the DST change (Kozea/Radicale issue 1621;
  tests/providers/test_caldav_source.py shows it). With it on, a server that
  refuses ``expand`` is asked again without it, and from then on expansion is
  done here; anything it leaves recurring is expanded here anyway;
- with ``free_busy_only`` (an account that may see free/busy and nothing
  else) a free-busy-query; those answers never carry details, and all-day or
  floating events are placed as the server reads them, and its expansion
  is the server's (docs/calendars.md, "CalDAV free/busy": Radicale 3.9 is
  an hour off after a DST change).

A calendar-query answer is used whole or not at all: an entry of the
multistatus with an error status (a 404 for an event that vanished between
listing and reading, a 500 for one the server could not render, on the entry
or on its calendar-data) or without calendar data makes the calendar
unreadable, the reason naming the status; the rest alone would look free.

iCloud has no shared free/busy (no free-busy-query on calendars of other
people), so ``free_busy_only`` on an iCloud URL is a configuration error.

Bookings are PUT to ``<calendar>/<uid>.ics`` (so a retry overwrites), changed
by a PUT over the same resource (the same UID, a higher SEQUENCE, ``If-Match``
the stored ETag) and cancelled by DELETE of the same resource.

``caldav``'s client does the HTTP (sessions, auth negotiation); its errors are
mapped to ``ProviderError`` by status, never by message (its messages hold URLs).
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from caldav.davclient import DAVClient
from caldav.lib import error as dav_error
from caldav.lib.http_sync import requests as dav_http

from providers.base import CalendarProvider, CalendarRef, EventSpec, ProviderError
from providers.deadline import time_left
from providers.http_status import error_for_status, safe_url
from providers.ical import add_event, busy_from_ical, event_component, new_calendar, parse_calendars
from solver.domain import BusyInterval

__all__ = ["CalDavProvider"]

# Floating and all-day events are matched by the server in its own zone; the
# window asked for is widened by a day and trimmed exactly by busy_from_ical.
_SERVER_MARGIN = timedelta(days=1)

_CALENDAR_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data>{expand}</C:calendar-data></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""

_FREE_BUSY_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="{start}" end="{end}"/>
</C:free-busy-query>"""

_REPORT_HEADERS = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
# caldav 3.6 fills a class-level feature table while a DAVClient is made: two threads making
# their first client at once can raise KeyError('http') there. One at a time, then.
_CLIENT_SETUP = threading.Lock()
_REFUSALS = (400, 403, 415, 422, 501)
_ICLOUD_HOSTS = ("icloud.com", "me.com")


class CalDavProvider(CalendarProvider):
    """Calendars of one CalDAV account.

    ``url`` is the account's server URL, ``username`` / ``password`` its
    credentials (an app-specific password for iCloud), ``timeout`` seconds per
    HTTP request. ``server_expand=True`` asks the server to expand recurrences
    (less data for long series; see the module docstring for why it is off).
    """

    name = "caldav"

    def __init__(self, url: str, username: str = "", password: str = "", *, timeout: float = 10.0,
                 free_busy_only: bool = False, server_expand: bool = False) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url: a CalDAV server URL must be http(s)://host/...")
        if timeout <= 0:
            raise ValueError("timeout: must be positive")
        host = parts.hostname.lower()
        if free_busy_only and any(host == h or host.endswith("." + h) for h in _ICLOUD_HOSTS):
            raise ValueError("free_busy_only: iCloud does not share free/busy with other accounts; "
                             "share the calendar itself (read access) and set free_busy_only to false")
        self.url = url if url.endswith("/") else url + "/"
        self.free_busy_only = free_busy_only
        self.timeout = timeout
        self._origin = (parts.scheme, host, parts.port)
        self._username = username
        self._password = password
        self._server_expands = server_expand
        self._local = threading.local()  # one client (HTTP session) per thread

    def __repr__(self) -> str:  # never the password
        return f"CalDavProvider({safe_url(self.url)!r}, free_busy_only={self.free_busy_only})"

    def source_of(self, ref: CalendarRef) -> str:
        return safe_url(self.url)

    # --- reading ---------------------------------------------------------------

    def busy(self, calendars: Sequence[CalendarRef], start: datetime, end: datetime) -> list[BusyInterval]:
        busy: list[BusyInterval] = []
        for ref in calendars:
            busy.extend(self._busy_of(ref, start, end))
        return busy

    def _busy_of(self, ref: CalendarRef, start: datetime, end: datetime) -> list[BusyInterval]:
        url = self._calendar_url(ref)
        ask_start, ask_end = _stamp(start - _SERVER_MARGIN), _stamp(end + _SERVER_MARGIN)
        if self.free_busy_only:
            body = _FREE_BUSY_QUERY.format(start=ask_start, end=ask_end)
            response = self._request(ref, "REPORT", url, body, _REPORT_HEADERS)
            if response.status != 200:
                raise error_for_status(ref.resource_id, f"free-busy REPORT {safe_url(url)}", response.status)
            text = response.raw
            no_details = CalendarRef(ref.resource_id, ref.calendar_id, ref.owner, ref.time_zone, False)
            return busy_from_ical(text, no_details, start, end)

        if self._server_expands:
            expand = f'<C:expand start="{ask_start}" end="{ask_end}"/>'
            response = self._request(ref, "REPORT", url,
                                     _CALENDAR_QUERY.format(expand=expand, start=ask_start, end=ask_end),
                                     _REPORT_HEADERS, refusal_ok=True)
            if response is not None:
                return self._busy_from_report(ref, url, response, start, end)
            # The server will not expand: do it here, now and from now on. (A real
            # permission problem fails the same way on the plain query below.)
            self._server_expands = False
        response = self._request(ref, "REPORT", url,
                                 _CALENDAR_QUERY.format(expand="", start=ask_start, end=ask_end), _REPORT_HEADERS)
        return self._busy_from_report(ref, url, response, start, end)

    def _busy_from_report(self, ref: CalendarRef, url: str, response: Any, start: datetime,
                          end: datetime) -> list[BusyInterval]:
        if response.status not in (200, 207):
            raise error_for_status(ref.resource_id, f"REPORT {safe_url(url)}", response.status)
        failed = _failed_entry(response.tree, url)
        if failed:
            raise ProviderError(ref.resource_id, f"REPORT {safe_url(url)}: an answer entry {failed}",
                                transient=failed.startswith("has HTTP 5"))
        try:
            results = response.parse_calendar_query()
        except (dav_error.DAVError, ValueError) as exc:
            raise ProviderError(ref.resource_id, f"REPORT {safe_url(url)}: unreadable multistatus "
                                f"({type(exc).__name__})", transient=False) from None
        # One calendar for all resources of the answer: expansion has a cost per
        # calendar, and a CalDAV answer holds one calendar per event.
        merged = new_calendar()
        time_zones: set[str] = set()
        for result in results:
            if not result.calendar_data:
                continue  # the collection itself (_failed_entry checked every event's entry)
            for calendar in parse_calendars(result.calendar_data, ref.resource_id):
                for component in calendar.subcomponents:
                    if component.name == "VTIMEZONE":
                        if str(component.get("TZID")) in time_zones:
                            continue
                        time_zones.add(str(component.get("TZID")))
                    merged.add_component(component)
        return busy_from_ical(merged, ref, start, end) if merged.subcomponents else []

    # --- writing ---------------------------------------------------------------

    def create_event(self, calendar: CalendarRef, event: EventSpec) -> str:
        ics = new_calendar()
        try:
            add_event(ics, event)
        except ValueError as exc:
            raise ProviderError(calendar.resource_id, str(exc), transient=False) from exc
        url = self._event_url(calendar, event.uid)
        response = self._request(calendar, "PUT", url, ics.to_ical().decode(),
                                 {"Content-Type": "text/calendar; charset=utf-8"})
        if response.status not in (200, 201, 204):
            raise error_for_status(calendar.resource_id, f"PUT {safe_url(url)}", response.status)
        return event.uid

    def update_event(self, calendar: CalendarRef, event_id: str, event: EventSpec) -> str:
        """PUT over the same resource (``<calendar>/<uid>.ics``), the same UID, its SEQUENCE
        raised over the stored copy's; ``If-Match`` its ETag, so a change made meanwhile
        on the server is not overwritten unseen (412: transient, the retry reads it again)."""
        if event_id != event.uid:
            raise ProviderError(calendar.resource_id, f"event_id: a CalDAV booking's id is its uid "
                                f"({event.uid!r}), not {event_id!r}", transient=False)
        url = self._event_url(calendar, event_id)
        current = self._request(calendar, "GET", url, "", {"Accept": "text/calendar"})
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        sequence = event.sequence
        if current.status == 200:
            sequence = max(sequence, _stored_sequence(current.raw, event.uid) + 1)
            etag = current.headers.get("ETag", "")
            if etag:
                headers["If-Match"] = etag
        elif current.status not in (404, 410):  # gone: written anew under the same href
            raise error_for_status(calendar.resource_id, f"GET {safe_url(url)}", current.status)
        ics = new_calendar()
        try:
            ics.add_component(event_component(event, sequence=sequence))
        except ValueError as exc:
            raise ProviderError(calendar.resource_id, str(exc), transient=False) from exc
        ics.add_missing_timezones()
        response = self._request(calendar, "PUT", url, ics.to_ical().decode(), headers)
        if response.status == 412:
            raise ProviderError(calendar.resource_id, f"PUT {safe_url(url)}: HTTP 412 (the event changed on the "
                                "server meanwhile)")
        if response.status not in (200, 201, 204):
            raise error_for_status(calendar.resource_id, f"PUT {safe_url(url)}", response.status)
        return event_id

    def cancel_event(self, calendar: CalendarRef, event_id: str) -> None:
        url = self._event_url(calendar, event_id)
        response = self._request(calendar, "DELETE", url, "", {})
        if response.status not in (200, 204, 404, 410):
            raise error_for_status(calendar.resource_id, f"DELETE {safe_url(url)}", response.status)

    def close(self) -> None:
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()
            self._local.client = None

    # --- HTTP ------------------------------------------------------------------

    def _calendar_url(self, ref: CalendarRef) -> str:
        if not ref.calendar_id.strip():
            raise ProviderError(ref.resource_id, "calendar_id: empty CalDAV calendar URL", transient=False)
        url = urllib.parse.urljoin(self.url, ref.calendar_id.strip())
        parts = urllib.parse.urlsplit(url)
        if (parts.scheme, (parts.hostname or "").lower(), parts.port) != self._origin:
            raise ProviderError(ref.resource_id, "calendar_id: not on this CalDAV account's server "
                                f"({safe_url(self.url)})", transient=False)
        return url if url.endswith("/") else url + "/"

    def _event_url(self, calendar: CalendarRef, uid: str) -> str:
        if not uid:
            raise ProviderError(calendar.resource_id, "uid: a booking event needs a uid", transient=False)
        return self._calendar_url(calendar) + urllib.parse.quote(uid, safe="") + ".ics"

    def _client(self) -> DAVClient:
        client = getattr(self._local, "client", None)
        if client is None:
            with _CLIENT_SETUP:
                # The HTTP library takes float seconds; caldav's hint says int.
                client = DAVClient(url=self.url, username=self._username or None,
                                   password=self._password or None,
                                   timeout=self.timeout,  # type: ignore[arg-type]
                                   rate_limit_handle=False, enable_rfc6764=False)
            self._local.client = client
        return client

    def _request(self, ref: CalendarRef, method: str, url: str, body: str, headers: dict[str, str], *,
                 refusal_ok: bool = False) -> Any:
        """One HTTP request; every failure leaves as ``ProviderError`` without URL paths or secrets.

        ``refusal_ok``: a 400/403/415/422/501 answer (the server refuses this kind
        of request) returns None instead.
        """
        where = f"{method} {safe_url(url)}"
        timeout = time_left(self.timeout)
        if timeout <= 0:
            raise ProviderError(ref.resource_id, f"{where}: timeout (no time left to ask)")
        client = self._client()
        client.timeout = timeout  # type: ignore[assignment]  # the HTTP library takes float seconds
        try:
            response = client.request(url, method, body, headers)
        except dav_error.RateLimitError as exc:
            raise ProviderError(ref.resource_id, f"{where}: HTTP {exc.status or 429} (rate limited)",
                                retry_after=exc.retry_after_seconds) from None
        except dav_error.AuthorizationError as exc:
            if refusal_ok and exc.status == 403:
                return None
            raise ProviderError(ref.resource_id, f"{where}: HTTP {exc.status or 401} (not authorized)",
                                transient=False) from None
        except dav_error.DAVError as exc:
            raise ProviderError(ref.resource_id, f"{where}: {type(exc).__name__}") from None
        except dav_http.exceptions.Timeout:
            raise ProviderError(ref.resource_id, f"{where}: timeout (no answer within {timeout:.1f} s)") from None
        except dav_http.exceptions.RequestException as exc:
            raise ProviderError(ref.resource_id, f"{where}: {type(exc).__name__}") from None
        if refusal_ok and response.status in _REFUSALS:
            return None
        return response


_DAV, _CALDAV = "{DAV:}", "{urn:ietf:params:xml:ns:caldav}"


def _failed_entry(tree: Any, calendar_url: str) -> str:
    """What is wrong with the first failed entry of a calendar-query multistatus ("" when none is).

    An entry fails by an error status of its own, an error status of the
    propstat holding its calendar-data, or by holding no calendar-data at all
    (the collection's own entry, which some servers add, excepted).
    """
    if tree is None:
        return ""
    collection = urllib.parse.unquote(urllib.parse.urlsplit(calendar_url).path).rstrip("/")
    for entry in tree.iter(f"{_DAV}response"):
        status = _status_code(entry.find(f"{_DAV}status"))
        if status is not None and not 200 <= status < 300:
            return f"has HTTP {status}"
        has_data = False
        for propstat in entry.iter(f"{_DAV}propstat"):
            data = propstat.find(f"{_DAV}prop/{_CALDAV}calendar-data")
            if data is None:
                continue
            code = _status_code(propstat.find(f"{_DAV}status"))
            if code is not None and not 200 <= code < 300:
                return f"has HTTP {code} for its calendar data"
            has_data = has_data or bool((data.text or "").strip())
        href = urllib.parse.unquote(urllib.parse.urlsplit((entry.findtext(f"{_DAV}href") or "").strip()).path)
        if not has_data and href.rstrip("/") != collection:
            return "holds no calendar data"
    return ""


def _status_code(element: Any) -> int | None:
    """``HTTP/1.1 404 Not Found`` -> 404; None without a status; 0 for a status that is not one."""
    if element is None:
        return None
    parts = (element.text or "").split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


def _stored_sequence(text: str, uid: str) -> int:
    """The highest SEQUENCE among the VEVENTs of ``uid`` in a stored resource (-1: none readable)."""
    try:
        calendars = parse_calendars(text, "")
    except ProviderError:
        return -1
    found = [-1]
    for vevent in (c for cal in calendars for c in cal.walk("VEVENT") if str(c.get("UID", "")) == uid):
        try:
            found.append(int(vevent.get("SEQUENCE", 0)))
        except (TypeError, ValueError):
            found.append(0)
    return max(found)


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
