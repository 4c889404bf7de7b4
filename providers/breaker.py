"""A circuit breaker per calendar source: a source that keeps failing is skipped for a while.

    closed     every read goes to the source; ``failures`` failed reads in a row open it
    open       no read goes to the source for ``cool_down`` seconds: each is refused at
               once, with a reason the reply names ("skipped for 24 s after 3 failed reads")
    half-open  after the cool-down, one read (the probe) goes through; the others are
               still refused. The probe's success closes the breaker, its failure opens
               it for another cool-down.

A failed read is one the source did not answer usefully: a timeout, a
connection error, a 5xx or 429 (transient failures). A 401 or a calendar that
does not parse is the calendar's problem, answered by a working source: it
counts as an answer. ``providers.fetch`` decides which is which and calls
``record``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import Enum

__all__ = ["CircuitBreaker"]


class _State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Thread-safe; ``clock`` is ``time.monotonic`` (tests pass their own). ``on_change``
    hears every change of state ("closed", "half-open", "open"), outside the lock."""

    def __init__(self, failures: int = 3, cool_down: float = 30.0, *,
                 clock: Callable[[], float] = time.monotonic,
                 on_change: Callable[[str], None] | None = None) -> None:
        if failures < 1:
            raise ValueError("failures: must be at least 1")
        if cool_down <= 0:
            raise ValueError("cool_down: must be positive")
        self.failures = failures
        self.cool_down = cool_down
        self._clock = clock
        self._lock = threading.Lock()
        self._state = _State.CLOSED
        self._in_a_row = 0
        self._opened_at = 0.0
        self._probing = False
        self._on_change = on_change

    def _changed(self, before: _State) -> None:
        """Tells ``on_change`` when the state is no longer ``before`` (call without the lock)."""
        now = self._state
        if now is not before and self._on_change is not None:
            self._on_change(now.value)

    @property
    def state(self) -> str:
        with self._lock:
            return self._state.value

    def refusal(self) -> str | None:
        """None when a read may go to the source now (in half-open state: this caller is the
        probe, and must ``record`` or ``abandon``); else why it may not."""
        before = self._state
        try:
            return self._refusal()
        finally:
            self._changed(before)

    def _refusal(self) -> str | None:
        with self._lock:
            if self._state is _State.CLOSED:
                return None
            left = self._opened_at + self.cool_down - self._clock()
            if self._state is _State.OPEN and left <= 0:
                self._state = _State.HALF_OPEN
                self._probing = False
            if self._state is _State.HALF_OPEN:
                if not self._probing:
                    self._probing = True
                    return None
                return f"skipped after {self._in_a_row} failed reads in a row (circuit open; being probed)"
            return (f"skipped for {max(left, 0.1):.0f} s after {self._in_a_row} failed reads in a row "
                    "(circuit open)")

    def open_reason(self) -> str | None:
        """Why reads are skipped now, if the circuit is open and its cool-down runs (no state change:
        for a read that was let through earlier and is about to start)."""
        with self._lock:
            left = self._opened_at + self.cool_down - self._clock()
            if self._state is not _State.OPEN or left <= 0:
                return None
            return (f"skipped for {max(left, 0.1):.0f} s after {self._in_a_row} failed reads in a row "
                    "(circuit open)")

    def record(self, ok: bool) -> None:
        """The outcome of a read that ``refusal`` let through."""
        before = self._state
        try:
            self._record(ok)
        finally:
            self._changed(before)

    def _record(self, ok: bool) -> None:
        with self._lock:
            probe = self._state is _State.HALF_OPEN and self._probing
            if ok:
                self._state, self._in_a_row, self._probing = _State.CLOSED, 0, False
                return
            self._in_a_row += 1
            if probe or self._in_a_row >= self.failures:
                if self._state is not _State.OPEN or probe:
                    self._opened_at = self._clock()
                self._state, self._probing = _State.OPEN, False

    def abandon(self) -> None:
        """A read let through never went to the source (it found no room): a probe may be tried again."""
        with self._lock:
            if self._state is _State.HALF_OPEN:
                self._probing = False
