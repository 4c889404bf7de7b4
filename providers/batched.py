"""The reading shape of sources that answer free/busy for many calendars in one request.

Google (``freebusy.query``), Microsoft Graph (``getSchedule``) and Exchange
(``GetUserAvailability``) read calendars the same way, so it is written once:

    busy_each(calendars, start, end)
      calendars without details (``details_allowed=False``), ``max_batch`` per request
          -> _free_busy_batch: their intervals, and the error of each one the answer failed
      every calendar with details, one at a time
          -> _detailed: its events (a ``ProviderError`` fails that calendar alone)
      -> the intervals of every calendar read, the ``ProviderError`` of each one not read

Graph's ``availabilityView`` and EWS's ``MergedFreeBusy`` are one more shared
shape: a string of one digit per interval from the window's start
(``busy_from_digits``).

A calendar that failed contributes no interval, even if part of it was read
before the failure (a partial calendar would look free where it is not).
``busy`` raises the error of the first calendar, in the caller's order, that
could not be read. Each provider's module keeps its own specifics: the
requests, the answer's format and how its errors map to ``ProviderError``.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from providers.base import CalendarProvider, CalendarRef, ProviderError
from solver.domain import BusyInterval, BusyKind

__all__ = ["BatchedProvider", "BusyEach", "busy_from_digits", "each_failed"]

# The intervals read, and the error of each calendar that could not be read (by resource id).
BusyEach = tuple[list[BusyInterval], dict[str, ProviderError]]


class BatchedProvider(CalendarProvider):
    """A source with a batched free/busy read and a per-calendar detailed read (see the module docstring).

    Subclasses set ``max_batch`` to the most calendars one free/busy request may
    name and implement ``_free_busy_batch`` and ``_detailed``.
    """

    @abc.abstractmethod
    def _free_busy_batch(self, refs: Sequence[CalendarRef], start: datetime, end: datetime) -> BusyEach:
        """One free/busy request for ``refs`` (at most ``max_batch``): the intervals and, per
        calendar the answer failed, its error. A failure of the whole request fails every
        calendar of it (``each_failed``); it is returned, not raised."""

    @abc.abstractmethod
    def _detailed(self, ref: CalendarRef, start: datetime, end: datetime) -> list[BusyInterval]:
        """The blocking events of one calendar read with details; raises ``ProviderError``."""

    def busy(self, calendars: Sequence[CalendarRef], start: datetime, end: datetime) -> list[BusyInterval]:
        busy, errors = self.busy_each(calendars, start, end)
        for ref in calendars:
            if ref.resource_id in errors:
                raise errors[ref.resource_id]
        return busy

    def busy_each(self, calendars: Sequence[CalendarRef], start: datetime, end: datetime) -> BusyEach:
        busy: list[BusyInterval] = []
        errors: dict[str, ProviderError] = {}
        free_busy = [r for r in calendars if not r.details_allowed]
        size = max(1, self.max_batch)
        for i in range(0, len(free_busy), size):
            got, failed = self._free_busy_batch(free_busy[i:i + size], start, end)
            busy.extend(b for b in got if b.resource_id not in failed)
            errors.update(failed)
        for ref in calendars:
            if ref.details_allowed:
                try:
                    busy.extend(self._detailed(ref, start, end))
                except ProviderError as exc:
                    errors[ref.resource_id] = exc
        return busy, errors


def each_failed(refs: Sequence[CalendarRef], error: ProviderError) -> dict[str, ProviderError]:
    """A request for all of ``refs`` failed: ``error`` said of each calendar."""
    return {r.resource_id: error.for_resource(r.resource_id) for r in refs}


def busy_from_digits(digits: str, kinds: Mapping[str, BusyKind | None], minutes: int, ref: CalendarRef,
                     start: datetime, end: datetime) -> list[BusyInterval]:
    """A merged free/busy string (one digit per ``minutes`` from ``start``) as intervals.

    ``kinds`` maps each digit to how it blocks (None: free); a digit it does
    not name blocks. Runs of one kind become one interval. The part of
    ``[start, end)`` the string does not cover has no data, so it blocks too.
    """
    step = timedelta(minutes=minutes)
    wanted = math.ceil((end - start) / step)
    digits = digits[:wanted].ljust(wanted, "?")  # "?" is no digit of any source: it blocks

    def kind_of(digit: str) -> BusyKind | None:
        return kinds.get(digit, BusyKind.BUSY)

    busy: list[BusyInterval] = []
    run = 0
    for i in range(1, len(digits) + 1):
        if i < len(digits) and kind_of(digits[i]) == kind_of(digits[run]):
            continue
        kind = kind_of(digits[run])
        if kind is not None:
            busy.append(BusyInterval(ref.resource_id, start + run * step, min(end, start + i * step), kind, ref.owner))
        run = i
    return busy
