"""ICS calendars: local ``.ics`` files, folders of them, and http(s) feeds.

``CalendarRef.calendar_id`` is one of
- a path to an ``.ics`` file;
- a path to a folder: every ``*.ics`` file directly inside is read (one
  booking per file is written there);
- an ``http://``, ``https://`` or ``webcal://`` URL of a feed (read-only).

Parsed calendars are kept per source and version (a file's mtime and size, a
feed's ETag / Last-Modified, revalidated with a conditional GET), so a busy
query over an unchanged calendar costs only the recurrence expansion.

Bookings are written to the organizer's file by atomic replace (a temporary
file in the same folder, then ``os.replace``), idempotent by UID; a change
(``update_event``) replaces the VEVENT where it is with a higher SEQUENCE. Only the
lines of the booking's own VEVENT are written: every other line of the file
stays as it was (order, folding, line breaks, VTIMEZONEs), the event's times
are in UTC (so it needs no VTIMEZONE), and cancelling removes exactly those
lines again. Writers are serialized per file within this process; two
processes writing one file may lose an update, so give each process its own
files (or use CalDAV).

Feed URLs often carry a secret token (private calendar addresses), so error
messages name only the scheme and host.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import tempfile
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import icalendar

from providers import transport
from providers.base import CalendarProvider, CalendarRef, EventSpec, ProviderError
from providers.deadline import time_left
from providers.http_status import error_for_status, safe_url
from providers.ical import busy_from_ical, parse_calendars
from providers.organizer_file import put_event_in_file, remove_event_from_file
from solver.domain import BusyInterval

__all__ = ["IcsProvider", "busy_from_ical"]

_URL_SCHEMES = ("http://", "https://", "webcal://")
_DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class _Parsed:
    version: tuple[object, ...]  # what must be unchanged for the parse to be reused
    calendars: list[icalendar.Calendar]
    etag: str = ""
    last_modified: str = ""


class IcsProvider(CalendarProvider):
    """Reads ICS files, folders and feeds; writes bookings to ICS files.

    ``timeout`` bounds each HTTP request (seconds); ``headers`` are sent with
    every feed request (e.g. an Authorization header); ``cache_size`` is how
    many parsed sources are kept.
    """

    name = "ics"

    def __init__(self, *, timeout: float = 10.0, headers: Mapping[str, str] | None = None,
                 cache_size: int = 512, max_bytes: int = _DEFAULT_MAX_BYTES) -> None:
        if timeout <= 0:
            raise ValueError("timeout: must be positive")
        self.timeout = timeout
        self._headers = dict(headers or {})
        self._cache_size = cache_size
        self._max_bytes = max_bytes
        self._parsed: OrderedDict[str, _Parsed] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._write_locks: dict[Path, threading.Lock] = {}
        self._write_locks_lock = threading.Lock()

    # --- reading ---------------------------------------------------------------

    def busy(self, calendars: Sequence[CalendarRef], start: datetime, end: datetime) -> list[BusyInterval]:
        busy: list[BusyInterval] = []
        for ref in calendars:
            busy.extend(busy_from_ical(self._calendars_of(ref), ref, start, end))
        return busy

    def source_of(self, ref: CalendarRef) -> str | None:
        """A feed's scheme, host and port; None for files and folders (read at once, nothing to bound)."""
        source = ref.calendar_id.strip()
        if not source.lower().startswith(_URL_SCHEMES):
            return None
        return safe_url("https://" + source[len("webcal://"):] if source.lower().startswith("webcal://") else source)

    def _calendars_of(self, ref: CalendarRef) -> list[icalendar.Calendar]:
        source = ref.calendar_id.strip()
        if not source:
            raise ProviderError(ref.resource_id, "calendar_id: empty ICS source", transient=False)
        if source.lower().startswith(_URL_SCHEMES):
            return self._feed(ref, source)
        path = Path(source).expanduser()
        if path.is_dir():
            calendars: list[icalendar.Calendar] = []
            for file in sorted(p for p in path.glob("*.ics") if p.is_file()):
                calendars.extend(self._file(ref, file))
            return calendars
        return self._file(ref, path)

    def _file(self, ref: CalendarRef, path: Path) -> list[icalendar.Calendar]:
        try:
            stat = path.stat()
            version: tuple[object, ...] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            cached = self._cached(str(path), version)
            if cached is not None:
                return cached.calendars
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise ProviderError(ref.resource_id, f"calendar file not found: {path}", transient=False) from exc
        except OSError as exc:
            raise ProviderError(ref.resource_id, f"calendar file unreadable: {path} ({exc.strerror})",
                                transient=False) from exc
        parsed = _Parsed(version, parse_calendars(data, ref.resource_id))
        self._remember(str(path), parsed)
        return parsed.calendars

    def _feed(self, ref: CalendarRef, url: str) -> list[icalendar.Calendar]:
        if url.lower().startswith("webcal://"):
            url = "https://" + url[len("webcal://"):]
        where = safe_url(url)
        cached = self._cached(url, None)
        url, auth = _split_userinfo(url)
        headers = {"Accept": "text/calendar, */*;q=0.5", **auth, **self._headers}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        budget = time_left(self.timeout)
        try:
            answer = transport.get(url, headers, timeout=budget, max_bytes=self._max_bytes)
        except transport.HttpTimeout as exc:
            raise ProviderError(ref.resource_id, f"GET {where}: timeout (no complete answer within "
                                f"{exc.seconds:.1f} s)") from None
        except transport.HttpTooLarge:
            raise ProviderError(ref.resource_id, f"GET {where}: feed larger than {self._max_bytes} bytes",
                                transient=False) from None
        except transport.HttpUnreachable as exc:
            raise ProviderError(ref.resource_id, f"GET {where} failed: {exc.kind}") from None
        if answer.status == 304 and cached is not None:
            return cached.calendars
        if answer.status >= 300:
            raise error_for_status(ref.resource_id, f"GET {where}", answer.status,
                                   answer.headers.get("Retry-After"))
        etag = answer.headers.get("ETag", "")
        last_modified = answer.headers.get("Last-Modified", "")
        parsed = _Parsed(("feed",), parse_calendars(answer.body, ref.resource_id), etag, last_modified)
        if etag or last_modified:
            self._remember(url, parsed)
        return parsed.calendars

    def _cached(self, key: str, version: tuple[object, ...] | None) -> _Parsed | None:
        """The parse of ``key`` if it is of ``version`` (None: any version, to revalidate)."""
        with self._cache_lock:
            parsed = self._parsed.get(key)
            if parsed is None or (version is not None and parsed.version != version):
                return None
            self._parsed.move_to_end(key)
            return parsed

    def _remember(self, key: str, parsed: _Parsed) -> None:
        with self._cache_lock:
            self._parsed[key] = parsed
            self._parsed.move_to_end(key)
            while len(self._parsed) > self._cache_size:
                self._parsed.popitem(last=False)

    # --- writing ---------------------------------------------------------------

    def create_event(self, calendar: CalendarRef, event: EventSpec) -> str:
        self._put_event(calendar, event)
        return event.uid

    def update_event(self, calendar: CalendarRef, event_id: str, event: EventSpec) -> str:
        """The VEVENT of ``event_id`` (the uid) replaced where it is, its SEQUENCE raised."""
        if event_id != event.uid:
            raise ProviderError(calendar.resource_id, f"event_id: an ICS event's id is its uid ({event.uid!r}), "
                                f"not {event_id!r}", transient=False)
        self._put_event(calendar, event)
        return event_id

    def _put_event(self, calendar: CalendarRef, event: EventSpec) -> None:
        path = self._booking_file(calendar, event.uid)
        with self._write_lock(path):
            data = self._read_for_write(calendar, path)
            try:
                written = put_event_in_file(data, event)
            except ValueError as exc:
                raise ProviderError(calendar.resource_id, f"{path.name}: {exc}" if data else str(exc),
                                    transient=False) from exc
            _atomic_write(calendar.resource_id, path, written)

    def cancel_event(self, calendar: CalendarRef, event_id: str) -> None:
        path = self._booking_file(calendar, event_id)
        with self._write_lock(path):
            if not path.exists():
                return
            if Path(calendar.calendar_id).expanduser().is_dir():
                # A folder holds one booking per file: the file is the event.
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                return
            try:
                kept = remove_event_from_file(self._read_for_write(calendar, path), event_id)
            except ValueError as exc:
                raise ProviderError(calendar.resource_id, f"{path.name}: {exc}", transient=False) from exc
            if kept is not None:
                _atomic_write(calendar.resource_id, path, kept)

    def _booking_file(self, calendar: CalendarRef, uid: str) -> Path:
        source = calendar.calendar_id.strip()
        if source.lower().startswith(_URL_SCHEMES):
            raise ProviderError(calendar.resource_id, "calendar_id: an ICS feed URL is read-only; "
                                "book into an .ics file or folder", transient=False)
        if not source:
            raise ProviderError(calendar.resource_id, "calendar_id: empty ICS source", transient=False)
        path = Path(source).expanduser()
        if path.is_dir():
            return path / f"{_file_safe(uid)}.ics"
        if not path.parent.is_dir():
            raise ProviderError(calendar.resource_id, f"calendar_id: folder {path.parent} does not exist",
                                transient=False)
        return path

    def _read_for_write(self, calendar: CalendarRef, path: Path) -> bytes:
        """The file's bytes as they are now (b"" when there is none yet)."""
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return b""
        except OSError as exc:
            raise ProviderError(calendar.resource_id, f"calendar file unreadable: {path} ({exc.strerror})",
                                transient=False) from exc

    def _write_lock(self, path: Path) -> threading.Lock:
        with self._write_locks_lock:
            return self._write_locks.setdefault(path.resolve(), threading.Lock())


def _atomic_write(resource_id: str, path: Path, data: bytes) -> None:
    """Replaces ``path`` with ``data`` so a reader sees the old or the new file, never half."""
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except OSError as exc:
        raise ProviderError(resource_id, f"cannot write calendar file {path} ({exc.strerror})",
                            transient=False) from exc


def _split_userinfo(url: str) -> tuple[str, dict[str, str]]:
    """``https://user:pass@host/x`` -> (``https://host/x``, a Basic Authorization header)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, {}
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), {"Authorization": f"Basic {token}"}


def _file_safe(uid: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]", "_", uid)[:200] or "event"
