"""A read's one total deadline, known to the provider code that runs it.

``providers.fetch`` runs every read of a request under ``reading_until(until)``
(a ``time.monotonic()`` instant: the request's deadline, or the source's
timeout from now if sooner). A provider asks ``time_left(self.timeout)`` for
the seconds its next HTTP request may take: its own timeout outside a fetch
(the outbox writing an event), never more than what is left of the read
inside one. The deadline covers connect, headers, body and retries together.

A context variable rather than a parameter: every provider's ``busy`` keeps
the signature of ``providers.base``, and a read started by a thread of the
fetch sees only its own deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["read_deadline", "reading_until", "time_left"]

_until: ContextVar[float | None] = ContextVar("convene_read_deadline", default=None)


@contextmanager
def reading_until(until: float) -> Iterator[None]:
    """Reads in this block end by ``until`` (a ``time.monotonic()`` instant)."""
    token = _until.set(until)
    try:
        yield
    finally:
        _until.reset(token)


def read_deadline() -> float | None:
    """The ``time.monotonic()`` instant the current read must end by, if any."""
    return _until.get()


def time_left(timeout: float) -> float:
    """Seconds the next request may take: ``timeout``, cut to what is left of the read (may be <= 0)."""
    until = _until.get()
    return timeout if until is None else min(timeout, until - time.monotonic())
