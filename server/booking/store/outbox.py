"""The outbox worker: runs bookings' side effects after commit, until done.

``create`` and ``cancel`` enqueue tasks in the booking's own transaction, so a
booking never exists without its side effects, nor the other way round. The
worker claims due tasks with a lease (``BookingStore.claim_tasks``: on
PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED``, so workers in several
processes never take the same task; on SQLite under the single write lock),
runs the task's handler, then records the outcome:

- the handler returned: the task is done (its return value, e.g. a calendar
  event id, is kept as the task's ``result``);
- it returned ``Skipped(reason)``: the effect is not needed or not possible on
  this server (no SMTP configured, no calendar to write to); the task is
  skipped, not done, with the reason as its result;
- it raised: the task is due again after an exponential backoff
  (``Backoff``; a ``ProviderError.retry_after`` is honoured) and the error is
  recorded; ``PermanentTaskError`` or a ``ProviderError`` with
  ``transient=False`` gives the task up (``failed``).

The lease is short (15 s by default) and renewed every third of it while the
handler runs, so a task of a worker that died (kill -9, a lost machine) is
taken up again by the next worker within one lease, however long handlers may
take; a claim that lost its lease cannot mark the task done.

A task is unique per (booking, kind), so its effect is attempted until one
attempt is recorded done. Delivery is at-least-once with a narrow window:
if the process dies after the effect happened, or in the middle of it (an
SMTP send whose answer never came), before the single statement that marks
the task done commits, the next claim repeats the effect: at most the tasks
that were in flight run again. Handlers make that repetition harmless where
the target allows it: calendar events are written by a stable UID (a repeat
replaces the event), emails carry a stable Message-ID per (booking, kind) so
receivers can drop a duplicate.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from providers.base import ProviderError
from server.booking.store.base import BookingStore
from server.booking.store.model import OutboxTask
from server.telemetry.metrics import OUTBOX_FAILURES
from server.telemetry.tracing import span

__all__ = ["DEFAULT_LEASE", "Backoff", "Companion", "Handler", "OutboxWorker", "PermanentTaskError", "Skipped"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Skipped:
    """What a handler returns when its side effect is not needed or not possible on this
    server: the task is recorded SKIPPED (``BookingStore.skip_task``) with ``reason``."""

    reason: str


# A handler runs one side effect; what it returns is kept as the task's result.
Handler = Callable[[OutboxTask], str | Skipped | None]

_MAX_ERROR = 1000  # characters of an error message kept on the task
# Short, and renewed while a task runs: after a crash its tasks are taken up again this soon.
DEFAULT_LEASE = timedelta(seconds=15)


class PermanentTaskError(Exception):
    """Raised by a handler when retrying cannot help (the task is marked failed)."""


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt n+1 after attempt n failed: ``base * factor**(n-1)``,
    at most ``cap``, spread by up to ``jitter`` (a fraction) either way."""

    base: timedelta = timedelta(seconds=5)
    factor: float = 2.0
    cap: timedelta = timedelta(minutes=30)
    jitter: float = 0.1

    def delay(self, attempt: int, retry_after: float | None = None) -> timedelta:
        seconds = min(self.cap.total_seconds(), self.base.total_seconds() * self.factor ** max(0, attempt - 1))
        if self.jitter:
            seconds *= 1 + random.uniform(-self.jitter, self.jitter)
        if retry_after is not None:
            seconds = max(seconds, retry_after)
        return timedelta(seconds=seconds)


class Companion(Protocol):
    """Another outbox run beside the worker's (``server.booking.webhooks.WebhookDeliverer``)."""

    def run_once(self) -> int: ...
    def start(self) -> None: ...
    def wake(self) -> None: ...
    def stop(self, timeout: float | None = 10.0) -> None: ...


class OutboxWorker:
    """Claims and runs due side effects of ``handlers``' kinds (see the module docstring).

    ``run_once()`` runs every task due now and returns how many it ran;
    ``start()`` / ``stop()`` do the same in a background thread every
    ``poll_interval`` seconds (``wake()`` makes it look at once).
    """

    def __init__(self, store: BookingStore, handlers: Mapping[str, Handler], *,
                 lease: timedelta = DEFAULT_LEASE, backoff: Backoff = Backoff(),
                 batch: int = 20, poll_interval: float = 1.0,
                 companions: tuple[Companion, ...] = ()) -> None:
        if not handlers:
            raise ValueError("handlers: at least one kind is needed")
        self._store = store
        self._handlers = dict(handlers)
        self._lease = lease
        self._backoff = backoff
        self._batch = batch
        self._poll_interval = poll_interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Other outboxes started, woken and stopped with this one, each in its own thread (the
        # webhooks' deliveries: a receiver that hangs never holds up a calendar event or an email).
        self._companions = companions

    def run_once(self) -> int:
        """Runs every task due now (including those that become due as others finish), then
        the companions' due work, in the calling thread."""
        return self._run_tasks() + sum(c.run_once() for c in self._companions)

    def _run_tasks(self) -> int:
        ran = 0
        seen: set[int] = set()
        while tasks := self._store.claim_tasks(self._handlers, self._batch, self._lease):
            for task in tasks:
                self._run(task)
                ran += 1
            fresh = {t.id for t in tasks} - seen
            seen.update(fresh)
            # A batch of nothing but retries already made in this pass: a backoff shorter
            # than the handlers take. Leave them to the next pass rather than spin here.
            if not fresh or self._stopping.is_set():
                break
        return ran

    def _run(self, task: OutboxTask) -> None:
        handler = self._handlers[task.kind]
        # A trace of its own: the call that booked has long answered.
        with span(f"side effect {task.kind}", booking_id=task.booking_id, attempt=task.attempt) as current:
            try:
                with self._renewing(task):
                    result = handler(task)
            except Exception as exc:  # a handler's failure is data: record it, retry later
                current.set_attribute("error", type(exc).__name__)
                self._failed(task, exc)
                return
            if isinstance(result, Skipped):
                recorded = self._store.skip_task(task, result.reason)
            else:
                recorded = self._store.complete_task(task, result or "")
        if not recorded:
            log.warning("outbox task %s (%s of %s) lost its lease before it finished",
                        task.id, task.kind, task.booking_id)

    @contextmanager
    def _renewing(self, task: OutboxTask) -> Iterator[None]:
        """Renews ``task``'s lease every third of it until the block ends."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self._lease.total_seconds() / 3):
                try:
                    if not self._store.renew_task(task, self._lease):
                        log.warning("outbox task %s (%s of %s) lost its lease while running",
                                    task.id, task.kind, task.booking_id)
                        return
                except Exception:  # the database is away: the next renewal may reach it
                    log.warning("outbox task %s: lease renewal failed", task.id, exc_info=True)

        renewer = threading.Thread(target=renew, name="outbox-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join()

    def _failed(self, task: OutboxTask, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
        permanent = isinstance(exc, PermanentTaskError) or (isinstance(exc, ProviderError) and not exc.transient)
        OUTBOX_FAILURES.labels(task.kind, "true" if permanent else "false").inc()
        if permanent:
            log.error("outbox task %s (%s of %s) failed for good: %s", task.id, task.kind, task.booking_id, error)
            self._store.fail_task(task, error)
            return
        retry_after = exc.retry_after if isinstance(exc, ProviderError) else None
        at = self._store.now() + self._backoff.delay(task.attempt, retry_after)
        log.warning("outbox task %s (%s of %s) attempt %d failed, next at %s: %s",
                    task.id, task.kind, task.booking_id, task.attempt, at.isoformat(), error)
        self._store.retry_task(task, error, at)

    # --- Background thread ------------------------------------------------------

    def start(self) -> None:
        """Runs ``run_once`` in a daemon thread until ``stop``."""
        if self._thread is not None:
            raise RuntimeError("the outbox worker is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="outbox-worker", daemon=True)
        self._thread.start()
        for companion in self._companions:
            companion.start()

    def wake(self) -> None:
        """Looks for due tasks now rather than at the next poll (call after a commit)."""
        self._wake.set()
        for companion in self._companions:
            companion.wake()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stops the thread after the task it is running; waits up to ``timeout`` seconds."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self._wake.set()
        for companion in self._companions:
            companion.stop(timeout)
        thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._run_tasks()
            except Exception:  # the database is down, say: keep the thread, try again later
                log.exception("outbox worker pass failed")
            self._wake.wait(self._poll_interval)
            self._wake.clear()
