"""A short-lived cache of busy intervals per calendar and fetched window.

An entry remembers that calendar ``ref`` was read for ``[start, end)`` at some
instant, and what it held. A later query whose window lies inside a fresh
entry's window is answered from it without asking the source. Entries expire
after ``ttl`` seconds; our own bookings call ``invalidate(resource_id)`` so
the next query sees the new event at once.

Only successful reads are cached: a failure is asked again next time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from providers.base import CalendarRef
from solver.domain import BusyInterval

__all__ = ["BusyCache"]


@dataclass(frozen=True)
class _Entry:
    start: datetime
    end: datetime
    busy: tuple[BusyInterval, ...]
    expires: float  # a time.monotonic() instant
    # POSIX seconds of each interval: a warm request trims by float comparison,
    # several times faster than comparing aware datetimes.
    spans: tuple[tuple[float, float], ...] = ()

    def overlapping(self, start: datetime, end: datetime) -> list[BusyInterval]:
        lo, hi = start.timestamp(), end.timestamp()
        return [b for b, (s, e) in zip(self.busy, self.spans, strict=True) if s < hi and e > lo]


class BusyCache:
    """Thread-safe TTL cache of busy data, keyed by (source name, calendar).

    ``max_calendars`` bounds memory: the least recently used calendar goes
    first. ``clock`` is ``time.monotonic`` (tests pass their own).
    """

    def __init__(self, ttl: float = 60.0, *, max_calendars: int = 10_000, windows_per_calendar: int = 4,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0:
            raise ValueError("ttl: must be positive")
        self.ttl = ttl
        self._max_calendars = max_calendars
        self._windows = windows_per_calendar
        self._clock = clock
        self._entries: OrderedDict[tuple[str, CalendarRef], list[_Entry]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation: dict[str, int] = {}
        self.hits = 0
        self.misses = 0

    def generation(self, resource_id: str) -> int:
        """Take this before reading a source; ``put`` drops the read if an
        ``invalidate`` came in between (the read may predate our booking)."""
        with self._lock:
            return self._generation.get(resource_id, 0)

    def get(self, source: str, ref: CalendarRef, start: datetime, end: datetime) -> list[BusyInterval] | None:
        """The intervals of ``ref`` overlapping ``[start, end)`` if a fresh entry covers it, else None."""
        now = self._clock()
        key = (source, ref)
        with self._lock:
            entries = [e for e in self._entries.get(key, []) if e.expires > now]
            for entry in entries:
                if entry.start <= start and end <= entry.end:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return entry.overlapping(start, end)
            self.misses += 1
            return None

    def put(self, source: str, ref: CalendarRef, start: datetime, end: datetime,
            busy: list[BusyInterval], *, generation: int | None = None) -> None:
        """Remembers that ``ref`` held ``busy`` over ``[start, end)`` as of now.

        ``generation`` is what ``generation(ref.resource_id)`` said before the read.
        """
        spans = tuple((b.start.timestamp(), b.end.timestamp()) for b in busy)
        entry = _Entry(start, end, tuple(busy), self._clock() + self.ttl, spans)
        key = (source, ref)
        with self._lock:
            if generation is not None and generation != self._generation.get(ref.resource_id, 0):
                return
            now = self._clock()
            kept = [e for e in self._entries.get(key, [])
                    if e.expires > now and not (start <= e.start and e.end <= end)]
            self._entries[key] = [*kept[-(self._windows - 1):], entry] if self._windows > 1 else [entry]
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_calendars:
                self._entries.popitem(last=False)

    def invalidate(self, resource_id: str) -> None:
        """Forgets every calendar of ``resource_id`` (after we booked or cancelled on it)."""
        with self._lock:
            self._generation[resource_id] = self._generation.get(resource_id, 0) + 1
            for key in [k for k in self._entries if k[1].resource_id == resource_id]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
