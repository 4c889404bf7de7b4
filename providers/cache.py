"""A short-lived cache of busy intervals per calendar and fetched window.

An entry remembers that calendar ``ref`` was read for ``[start, end)`` at some
instant, and what it held. A later query whose window lies inside a fresh
entry's window is answered from it without asking the source. Entries expire
after ``ttl`` seconds; our own bookings call ``invalidate(resource_id)`` so
the next query sees the new event at once.

Only successful reads are cached: a failure is asked again next time.

``table`` answers like ``get`` as a ``BusyTable``: each entry converts its
intervals to numpy arrays once, on first use, and every later query slices
them (the server's warm path: no per-request conversion). Entry lookup,
expiry and invalidation are the same for both.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from providers.base import CalendarRef
from solver.busy import BusyTable
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

    @cached_property
    def table(self) -> BusyTable:
        """Built on first use (a fresh read for a booking's re-check never needs it), then shared."""
        return BusyTable.of(self.busy)


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
        entry = self._covering(source, ref, start, end)
        if entry is None:
            with self._lock:
                self.misses += 1
            return None
        return entry.overlapping(start, end)

    def table(self, source: str, ref: CalendarRef, start: datetime, end: datetime, *,
              counted: bool = True) -> BusyTable | None:
        """``get`` as a ``BusyTable`` (the blocking intervals), sliced from the entry's arrays.

        A miss is never counted: the caller goes on to ``get`` through the fetch, which counts
        it. ``counted=False`` does not count a hit either (reading back what a fetch just stored).
        """
        entry = self._covering(source, ref, start, end, counted=counted)
        # Converting and slicing happen outside the lock: an entry never changes once stored.
        return None if entry is None else entry.table.overlapping(start.timestamp() / 60.0, end.timestamp() / 60.0)

    def _covering(self, source: str, ref: CalendarRef, start: datetime, end: datetime, *,
                  counted: bool = True) -> _Entry | None:
        """A fresh entry of ``ref`` whose window holds ``[start, end)``, else None."""
        now = self._clock()
        key = (source, ref)
        with self._lock:
            for entry in self._entries.get(key, []):
                if entry.expires > now and entry.start <= start and end <= entry.end:
                    self._entries.move_to_end(key)
                    if counted:
                        self.hits += 1
                    return entry
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
