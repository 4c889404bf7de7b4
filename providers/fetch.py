"""Busy data for one request: many calendars, many sources, one deadline.

``fetch_busy`` reads every calendar in parallel (a shared thread pool), each
source bounded by ``per_source_timeout`` and all of it by ``deadline``. A
calendar that errors or does not answer in time lands in ``failures``: the
caller must treat its resource as unavailable (never free).

Work is split by each provider's ``max_batch``: one task per calendar for
sources that read one calendar per request (ICS, CalDAV), one per batch for
those that answer many at once (Google freebusy, Graph getSchedule).

A transient failure is retried, after the source's ``retry_after`` or an
exponential backoff, while the source's time allows; a non-transient one
(401, a broken calendar) is not.

With a ``BusyCache`` a calendar whose fresh entry covers the window is served
from it; the rest are fetched for the window widened to whole UTC days (so
the next request of the day hits) and stored. A read that finishes after the
deadline still fills the cache for the next request.

``on_read`` hears of every request made to a source (``SourceRead``: which
source, how many calendars, how many failed, how long it took), and of the
calendars given up on at the deadline (``timed_out``); it is called in the
thread that read, in the caller's context (so a tracing span there is the
parent of whatever it records). The server feeds its metrics and traces
from it; this module knows neither.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from providers.base import CalendarProvider, CalendarRef, ProviderError
from providers.cache import BusyCache
from solver.domain import BusyInterval

__all__ = ["FetchResult", "ReadObserver", "Source", "SourceRead", "fetch_busy"]

log = logging.getLogger(__name__)

MAX_WORKERS = 32
DEFAULT_SOURCE_TIMEOUT = 10.0  # seconds
MAX_ATTEMPTS = 4
_FIRST_BACKOFF = 0.1  # seconds; doubles per attempt
_MAX_BACKOFF = 2.0

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass(frozen=True)
class FetchResult:
    """Busy intervals of every calendar read, and why each failed resource failed.

    ``from_cache`` and ``fetched`` count calendars (for metrics and tests).
    """

    busy: list[BusyInterval]
    failures: dict[str, str] = field(default_factory=dict)
    from_cache: int = 0
    fetched: int = 0


@dataclass(frozen=True)
class SourceRead:
    """One request to a calendar source, or (``timed_out``) calendars the deadline gave up on.

    ``began_ns`` is ``time.time_ns()`` when it started; ``seconds`` how long it took
    (for ``timed_out``: how long the fetch waited).
    """

    source: str
    calendars: int
    failed: int
    began_ns: int
    seconds: float
    timed_out: bool = False


ReadObserver = Callable[[SourceRead], None]


@dataclass(frozen=True)
class _Task:
    provider: CalendarProvider
    refs: tuple[CalendarRef, ...]


Source = tuple[CalendarProvider, Sequence[CalendarRef] | CalendarRef]


def fetch_busy(sources: Sequence[Source], start: datetime, end: datetime, *, deadline: float | None = None,
               per_source_timeout: float = DEFAULT_SOURCE_TIMEOUT, cache: BusyCache | None = None,
               on_read: ReadObserver | None = None) -> FetchResult:
    """Blocking intervals of every calendar in ``sources`` overlapping ``[start, end)``.

    ``sources`` pairs a provider with its calendars (or with one calendar;
    pairs of one provider are batched together). ``deadline`` is a
    ``time.monotonic()`` instant; the call returns by then or by
    ``per_source_timeout`` seconds from now, whichever is first.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start/end: the busy window must be timezone-aware")
    if end <= start:
        raise ValueError("end: the busy window must end after it starts")
    if per_source_timeout <= 0:
        raise ValueError("per_source_timeout: must be positive")
    now = time.monotonic()
    until = min(deadline if deadline is not None else now + per_source_timeout, now + per_source_timeout)

    busy: list[BusyInterval] = []
    from_cache = 0
    tasks: list[_Task] = []
    fetch_start, fetch_end = (_whole_days(start, end) if cache is not None else (start, end))
    for provider, refs in _by_provider(sources):
        missing: list[CalendarRef] = []
        for ref in refs:
            hit = cache.get(provider.name, ref, start, end) if cache is not None else None
            if hit is None:
                missing.append(ref)
            else:
                busy.extend(hit)
                from_cache += 1
        size = max(1, provider.max_batch)
        tasks.extend(_Task(provider, tuple(missing[i:i + size])) for i in range(0, len(missing), size))
    if not tasks:
        return FetchResult(busy, {}, from_cache, 0)

    failures: dict[str, str] = {}
    began, began_ns = time.monotonic(), time.time_ns()
    # Each task runs in a copy of the caller's context: what it reports lands under the caller's span.
    futures: dict[Future[tuple[list[BusyInterval], dict[str, str]]], _Task] = {
        _executor().submit(contextvars.copy_context().run, _run, task, fetch_start, fetch_end, until, cache,
                           on_read): task
        for task in tasks}
    done, late = wait(futures, timeout=max(0.0, until - time.monotonic()))
    for future in done:
        if future.exception() is not None:  # only a bug in _run itself gets here
            for ref in futures[future].refs:
                failures[ref.resource_id] = f"{futures[future].provider.name}: internal error"
            continue
        task_busy, task_failures = future.result()
        busy.extend(b for b in task_busy if b.start < end and b.end > start)
        failures.update(task_failures)
    for future in late:
        future.cancel()  # if it never started; a running read finishes in the background
        for ref in futures[future].refs:
            failures.setdefault(ref.resource_id, f"{futures[future].provider.name}: no answer in time")
        if on_read is not None:
            given_up = len(futures[future].refs)
            on_read(SourceRead(futures[future].provider.name, given_up, given_up, began_ns,
                               time.monotonic() - began, timed_out=True))
    busy.sort(key=lambda b: (b.start, b.end, b.resource_id))
    return FetchResult(busy, failures, from_cache, sum(len(t.refs) for t in tasks))


def _run(task: _Task, start: datetime, end: datetime, until: float, cache: BusyCache | None,
         on_read: ReadObserver | None = None) -> tuple[list[BusyInterval], dict[str, str]]:
    """Reads one task's calendars, retrying transient failures while time allows.

    Never raises: whatever goes wrong becomes a failure of the task's resources.
    """
    provider = task.provider
    pending = list(task.refs)
    busy: list[BusyInterval] = []
    failures: dict[str, str] = {}
    for attempt in range(MAX_ATTEMPTS):
        generations = {r.resource_id: cache.generation(r.resource_id) for r in pending} if cache is not None else {}
        began, began_ns = time.monotonic(), time.time_ns()
        try:
            got, errors = provider.busy_each(pending, start, end)
        except Exception as exc:  # a buggy source must not break the request
            log.warning("calendar source %s raised %s", provider.name, type(exc).__name__)
            errors = {r.resource_id: ProviderError(r.resource_id, f"unexpected {type(exc).__name__}",
                                                   transient=False)
                      for r in pending}
            got = []
        if on_read is not None:
            on_read(SourceRead(provider.name, len(pending), len(errors), began_ns, time.monotonic() - began))
        read = [r for r in pending if r.resource_id not in errors]
        busy.extend(b for b in got if b.resource_id not in errors)
        if cache is not None:
            for ref in read:
                cache.put(provider.name, ref, start, end,
                          [b for b in got if b.resource_id == ref.resource_id],
                          generation=generations.get(ref.resource_id))
        retry = [r for r in pending if r.resource_id in errors and errors[r.resource_id].transient]
        for ref in pending:
            if ref.resource_id in errors and ref not in retry:
                failures[ref.resource_id] = _reason(provider, errors[ref.resource_id])
        if not retry:
            break
        wait_for = max((errors[r.resource_id].retry_after or 0.0 for r in retry), default=0.0)
        wait_for = max(wait_for, min(_MAX_BACKOFF, _FIRST_BACKOFF * 2 ** attempt))
        if attempt + 1 == MAX_ATTEMPTS or time.monotonic() + wait_for >= until:
            for ref in retry:
                failures[ref.resource_id] = _reason(provider, errors[ref.resource_id])
            break
        time.sleep(wait_for)
        pending = retry
    for resource_id, reason in failures.items():
        log.warning("calendar of %s unavailable: %s", resource_id, reason)
    return busy, failures


def _by_provider(sources: Sequence[Source]) -> list[tuple[CalendarProvider, list[CalendarRef]]]:
    """The calendars of each provider instance, in first-seen order."""
    grouped: dict[int, tuple[CalendarProvider, list[CalendarRef]]] = {}
    for provider, refs in sources:
        entry = grouped.setdefault(id(provider), (provider, []))
        entry[1].extend([refs] if isinstance(refs, CalendarRef) else refs)
    return list(grouped.values())


def _reason(provider: CalendarProvider, error: ProviderError) -> str:
    return f"{provider.name}: {error.reason}"


def _whole_days(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` widened to UTC midnights."""
    first = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    last = end.astimezone(UTC)
    day_end = last.replace(hour=0, minute=0, second=0, microsecond=0)
    return first, day_end if day_end == last else day_end + timedelta(days=1)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="convene-fetch")
        return _pool
