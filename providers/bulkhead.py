"""Bounded concurrency per calendar source: one slow source holds only its own share.

A ``Bulkhead`` lets ``reads`` reads of its source run at once. The reads of a
request that finds no free slot wait in line, behind at most ``waiting``
other requests, each until its own deadline; a request beyond that is refused
at once (its calendars of that source are unreadable for it: "busy: 4 reads in
flight, 8 requests waiting"). Nothing waits in a thread: a read in line is
started by the read that frees its slot.

So requests that need a source which hangs hold at most ``reads + waiting``
of the server's threads, however many they are; the others get their answer
(those calendars unreadable) without waiting.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Bulkhead", "Read"]


@dataclass(frozen=True)
class Read:
    """One read to run: ``start`` runs it (and must lead to exactly one ``Bulkhead.leave``
    when it has ended, however it ended); ``drop`` says it never ran (its deadline passed in line)."""

    start: Callable[[], None]
    drop: Callable[[], object]


@dataclass
class _Request:
    reads: deque[Read]
    until: float


class Bulkhead:
    """The concurrent reads of one source (thread-safe)."""

    def __init__(self, reads: int = 4, waiting: int = 8, *, clock: Callable[[], float] = time.monotonic) -> None:
        if reads < 1:
            raise ValueError("reads: must be at least 1")
        if waiting < 0:
            raise ValueError("waiting: must not be negative")
        self.reads = reads
        self.waiting = waiting
        self._clock = clock
        self._lock = threading.Lock()
        self._running = 0
        self._line: deque[_Request] = deque()

    @property
    def running(self) -> int:
        with self._lock:
            return self._running

    def enter(self, reads: Sequence[Read], until: float) -> str | None:
        """Starts what fits now; the rest of this request's ``reads`` start as slots free before
        ``until`` (or are dropped then). Returns why the request is refused (none of its reads
        will run), or None."""
        now: list[Read] = []
        expired: list[_Request] = []
        with self._lock:
            if self._running >= self.reads and len(self._line) >= self.waiting:
                # Requests whose deadline passed give up their place (they have answered).
                moment = self._clock()
                expired = [r for r in self._line if r.until <= moment]
                self._line = deque(r for r in self._line if r.until > moment)
            if self._running >= self.reads and len(self._line) >= self.waiting:
                refusal: str | None = (f"busy ({self._running} reads in flight, "
                                       f"{len(self._line)} requests waiting)")
            else:
                refusal = None
                free = self.reads - self._running
                now = list(reads[:max(free, 0)])
                self._running += len(now)
                rest = deque(reads[len(now):])
                if rest:
                    self._line.append(_Request(rest, until))
        _drop(expired)
        for read in now:
            read.start()
        return refusal

    def leave(self) -> None:
        """A read ended: its slot goes to the next read of the first request in line whose
        deadline has not passed."""
        expired: list[_Request] = []
        successor: Read | None = None
        with self._lock:
            moment = self._clock()
            while self._line:
                head = self._line[0]
                if head.until <= moment:
                    expired.append(self._line.popleft())
                    continue
                successor = head.reads.popleft()
                if not head.reads:
                    self._line.popleft()
                break
            if successor is None:
                self._running -= 1
        _drop(expired)
        if successor is not None:
            successor.start()


def _drop(requests: list[_Request]) -> None:
    for request in requests:
        for read in request.reads:
            read.drop()
