"""In-memory calendar sources for testing the fetch layer (not a calendar backend:
the real backends are tested against real or loopback servers)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from providers.base import CalendarProvider, CalendarRef, EventSpec, ProviderError
from solver.domain import BusyInterval

Behaviour = Callable[[CalendarRef, int], list[BusyInterval]]  # (calendar, attempt) -> busy, or raise


class ScriptedProvider(CalendarProvider):
    """Answers ``busy`` per calendar with ``behaviour``; counts calls per resource."""

    def __init__(self, behaviour: Behaviour, *, name: str = "scripted", max_batch: int = 1) -> None:
        self.behaviour = behaviour
        self.name = name
        self.max_batch = max_batch
        self.calls: dict[str, int] = {}
        self.batches: list[tuple[str, ...]] = []
        self.release = threading.Event()  # set at teardown so hanging calls end
        self._lock = threading.Lock()

    def busy(self, calendars: Sequence[CalendarRef], start: datetime, end: datetime) -> list[BusyInterval]:
        with self._lock:
            self.batches.append(tuple(r.resource_id for r in calendars))
        out: list[BusyInterval] = []
        for ref in calendars:
            with self._lock:
                attempt = self.calls.get(ref.resource_id, 0)
                self.calls[ref.resource_id] = attempt + 1
            out.extend(self.behaviour(ref, attempt))
        return out

    def busy_each(self, calendars: Sequence[CalendarRef], start: datetime,
                  end: datetime) -> tuple[list[BusyInterval], dict[str, ProviderError]]:
        if self.max_batch == 1:
            return super().busy_each(calendars, start, end)
        # A batching source: one request, per-calendar errors.
        with self._lock:
            self.batches.append(tuple(r.resource_id for r in calendars))
        busy: list[BusyInterval] = []
        errors: dict[str, ProviderError] = {}
        for ref in calendars:
            with self._lock:
                attempt = self.calls.get(ref.resource_id, 0)
                self.calls[ref.resource_id] = attempt + 1
            try:
                busy.extend(self.behaviour(ref, attempt))
            except ProviderError as exc:
                errors[ref.resource_id] = exc
        return busy, errors

    def create_event(self, calendar: CalendarRef, event: EventSpec) -> str:
        return event.uid

    def update_event(self, calendar: CalendarRef, event_id: str, event: EventSpec) -> str:
        return event_id

    def cancel_event(self, calendar: CalendarRef, event_id: str) -> None:
        return None
