"""Busy data for one request: many calendars, many sources, one deadline.

``fetch_busy`` reads every calendar in parallel, on the threads of the
caller's ``Readers`` (a tenant's own share: one tenant's reads never wait for
another's), each source bounded by ``per_source_timeout`` and all of it by
``deadline``. A calendar that errors or does not answer in time lands in
``failures``: the caller must treat its resource as unavailable (never free).

Every read runs under one total deadline (``providers.deadline``): the
request's, or the source's timeout if sooner. Providers cut their HTTP
requests to it; ICS feeds are cancelled at it (``providers.transport``), so a
read past its deadline holds nothing. Per source (``CalendarProvider.source_of``:
a feed's host, an account) the process keeps

- a ``Bulkhead``: at most ``reads_per_source`` reads at once and
  ``waiting_per_source`` requests in line; a request beyond that gets those
  calendars unreadable ("busy") at once instead of waiting for a hung source;
- a ``CircuitBreaker``: after ``failures_to_open`` failed reads in a row the
  source is skipped for ``cool_down`` seconds (its calendars unreadable, "circuit
  open"), then one read probes it.

Work is split by each provider's ``max_batch``: one task per calendar for
sources that read one calendar per request (ICS, CalDAV), one per batch for
those that answer many at once (Google freebusy, Graph getSchedule).

A transient failure is retried, after the source's ``retry_after`` or an
exponential backoff, while the source's time allows; a non-transient one
(401, a broken calendar) is not.

With a ``BusyCache`` a calendar whose fresh entry covers the window is served
from it; the rest are fetched for the window widened to whole UTC days (so
the next request of the day hits) and stored. A read of a source that cannot
be cancelled (a sync client) and finishes after the deadline still fills the
cache for the next request.

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
from providers.breaker import CircuitBreaker
from providers.bulkhead import Bulkhead, Read
from providers.cache import BusyCache
from providers.deadline import reading_until
from solver.domain import BusyInterval

__all__ = ["FetchResult", "ReadObserver", "ReadPolicy", "Readers", "Source", "SourceGuards", "SourceRead",
           "fetch_busy"]

log = logging.getLogger(__name__)

MAX_WORKERS = 32  # threads of the default Readers (callers that bring none)
DEFAULT_SOURCE_TIMEOUT = 10.0  # seconds
MAX_ATTEMPTS = 4
_FIRST_BACKOFF = 0.1  # seconds; doubles per attempt
_MAX_BACKOFF = 2.0


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
class ReadPolicy:
    """How much of the server one source may hold, and when it is skipped (see the module docstring).

    ``min_budget``: a read given less time than this (seconds) proves nothing
    about its source, so its failure does not count towards the breaker (a
    caller with a 50 ms deadline must not open it for everyone).
    """

    reads_per_source: int = 4
    waiting_per_source: int = 8
    failures_to_open: int = 3
    cool_down: float = 30.0
    min_budget: float = 0.5


@dataclass(frozen=True)
class _Guard:
    source: str
    bulkhead: Bulkhead
    breaker: CircuitBreaker
    min_budget: float
    provider: CalendarProvider  # held so that its id() is not reused while the guard lives


class SourceGuards:
    """The bulkhead and breaker of every source, made on first use (thread-safe).

    One per server: every tenant reading a source shares its bounds and its breaker.
    """

    def __init__(self, policy: ReadPolicy = ReadPolicy(), *,
                 on_state: Callable[[str, str], None] | None = None) -> None:
        self.policy = policy
        self._on_state = on_state  # (source, state) on every breaker's change: the server's metrics
        self._guards: dict[tuple[int, str], _Guard] = {}
        self._lock = threading.Lock()

    def of(self, provider: CalendarProvider, source: str) -> _Guard:
        key = (id(provider), source)
        with self._lock:
            guard = self._guards.get(key)
            if guard is None:
                policy = self.policy
                guard = self._guards[key] = _Guard(
                    source, Bulkhead(policy.reads_per_source, policy.waiting_per_source),
                    CircuitBreaker(policy.failures_to_open, policy.cool_down, on_change=self._hook(source)),
                    policy.min_budget, provider)
            return guard

    def _hook(self, source: str) -> Callable[[str], None] | None:
        on_state = self._on_state
        return None if on_state is None else (lambda state: on_state(source, state))

    def breaker(self, provider: CalendarProvider, ref: CalendarRef) -> CircuitBreaker | None:
        """The breaker of ``ref``'s source (None for a local source)."""
        source = provider.source_of(ref)
        return None if source is None else self.of(provider, source).breaker


class Readers:
    """A tenant's share of calendar reading: ``threads`` threads of its own, and the
    server's ``SourceGuards``. Threads are started as needed, up to ``threads``."""

    def __init__(self, threads: int = MAX_WORKERS, guards: SourceGuards | None = None, *,
                 name: str = "convene-fetch") -> None:
        if threads < 1:
            raise ValueError("threads: must be at least 1")
        self.threads = threads
        self.guards = guards if guards is not None else SourceGuards()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    def submit(self, work: Callable[[], None]) -> None:
        self._pool.submit(work)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class _Task:
    provider: CalendarProvider
    refs: tuple[CalendarRef, ...]


@dataclass(frozen=True)
class _Outcome:
    """What one task found; ``answered``: the source gave a useful answer (for its breaker)."""

    busy: list[BusyInterval]
    failures: dict[str, str]
    answered: bool = True


Source = tuple[CalendarProvider, Sequence[CalendarRef] | CalendarRef]
_Work = Callable[[], None]
# An answer this long after its deadline still counts as in time (thread wake-ups, not the source).
_LATE = 0.25

_default: Readers | None = None
_default_lock = threading.Lock()


def default_readers() -> Readers:
    """The process's shared Readers, for callers that bring none (CLI tools, benchmarks)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Readers()
        return _default


def fetch_busy(sources: Sequence[Source], start: datetime, end: datetime, *, deadline: float | None = None,
               per_source_timeout: float = DEFAULT_SOURCE_TIMEOUT, cache: BusyCache | None = None,
               readers: Readers | None = None, on_read: ReadObserver | None = None) -> FetchResult:
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
    readers = readers if readers is not None else default_readers()

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

    began, began_ns = time.monotonic(), time.time_ns()
    futures = _start(readers, tasks, fetch_start, fetch_end, until, cache, on_read)
    failures: dict[str, str] = {}
    done, late = wait(futures, timeout=max(0.0, until - time.monotonic()))
    for future in done:
        if future.cancelled() or future.exception() is not None:  # only a bug in _run itself gets here
            for ref in futures[future].refs:
                failures[ref.resource_id] = f"{futures[future].provider.name}: internal error"
            continue
        outcome = future.result()
        busy.extend(b for b in outcome.busy if b.start < end and b.end > start)
        failures.update(outcome.failures)
    waited = until - now
    for future in late:
        future.cancel()  # if it never started; a read that cannot be cancelled ends in the background
        task = futures[future]
        for ref in task.refs:
            failures.setdefault(ref.resource_id, f"{task.provider.name}: timeout (no answer within {waited:.1f} s)")
        if on_read is not None:
            on_read(SourceRead(task.provider.name, len(task.refs), len(task.refs), began_ns,
                               time.monotonic() - began, timed_out=True))
    busy.sort(key=lambda b: (b.start, b.end, b.resource_id))
    return FetchResult(busy, failures, from_cache, sum(len(t.refs) for t in tasks))


def _start(readers: Readers, tasks: list[_Task], start: datetime, end: datetime, until: float,
           cache: BusyCache | None, on_read: ReadObserver | None) -> dict[Future[_Outcome], _Task]:
    """Starts every task, through its source's breaker and bulkhead; a future per task.

    Each task runs in its own copy of the caller's context, taken here: what it
    reports lands under the caller's span, whichever thread runs it.
    """
    futures: dict[Future[_Outcome], _Task] = {}
    by_source: dict[tuple[int, str], list[tuple[_Task, Future[_Outcome]]]] = {}
    for task in tasks:
        future: Future[_Outcome] = Future()
        futures[future] = task
        source = task.provider.source_of(task.refs[0])
        if source is None:  # local: nothing to bound
            readers.submit(_work(task, future, start, end, until, cache, None, on_read))
        else:
            by_source.setdefault((id(task.provider), source), []).append((task, future))
    for (_, source), group in by_source.items():
        provider = group[0][0].provider
        guard = readers.guards.of(provider, source)
        refusal = guard.breaker.refusal()
        if refusal is not None:
            for task, future in group:
                future.set_result(_refused(task, source, refusal))
            continue
        reads = [Read(_reader(readers, guard, task, future, start, end, until, cache, on_read), future.cancel)
                 for task, future in group]
        refusal = guard.bulkhead.enter(reads, until)
        if refusal is not None:
            guard.breaker.abandon()
            for task, future in group:
                future.set_result(_refused(task, source, refusal))
    return futures


def _refused(task: _Task, source: str, why: str) -> _Outcome:
    return _Outcome([], {r.resource_id: f"{task.provider.name}: {source} {why}" for r in task.refs})


def _reader(readers: Readers, guard: _Guard, task: _Task, future: Future[_Outcome], start: datetime,
            end: datetime, until: float, cache: BusyCache | None, on_read: ReadObserver | None) -> _Work:
    """What the bulkhead starts: the task on one of the tenant's threads."""
    work = _work(task, future, start, end, until, cache, guard, on_read)  # the caller's context, now
    return lambda: readers.submit(work)


def _work(task: _Task, future: Future[_Outcome], start: datetime, end: datetime, until: float,
          cache: BusyCache | None, guard: _Guard | None, on_read: ReadObserver | None) -> _Work:
    context = contextvars.copy_context()  # made in the caller's thread: its span is the parent

    def work() -> None:
        counted = False
        try:
            if not future.set_running_or_notify_cancel():
                return  # its request has answered already
            budget = until - time.monotonic()
            skipped = guard.breaker.open_reason() if guard is not None else None
            if guard is not None and skipped is not None:  # it opened while this read waited in line
                future.set_result(_refused(task, guard.source, skipped))
                counted = True  # nothing to record, and no probe to give back
                return
            if budget <= 0:
                future.set_result(_Outcome([], {r.resource_id: f"{task.provider.name}: timeout (no time left "
                                                "to ask)" for r in task.refs}))
                return
            try:
                outcome = _run(task, start, end, until, cache, on_read)
            except BaseException as exc:
                future.set_exception(exc)
                raise
            future.set_result(outcome)
            # An answer after the deadline came too late for its request: the source is too slow.
            ok = outcome.answered and time.monotonic() <= until + _LATE
            if guard is not None and (ok or budget >= guard.min_budget):
                guard.breaker.record(ok)
                counted = True
        finally:
            if guard is not None:
                if not counted:
                    guard.breaker.abandon()
                guard.bulkhead.leave()

    return lambda: context.run(work)


def _run(task: _Task, start: datetime, end: datetime, until: float, cache: BusyCache | None,
         on_read: ReadObserver | None = None) -> _Outcome:
    """Reads one task's calendars under the deadline ``until``, retrying transient failures while
    time allows.

    Never raises: whatever goes wrong becomes a failure of the task's resources.
    """
    provider = task.provider
    pending = list(task.refs)
    busy: list[BusyInterval] = []
    failures: dict[str, str] = {}
    answered = False
    for attempt in range(MAX_ATTEMPTS):
        generations = {r.resource_id: cache.generation(r.resource_id) for r in pending} if cache is not None else {}
        began, began_ns = time.monotonic(), time.time_ns()
        try:
            with reading_until(until):
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
        # Read, or refused for a reason of the calendar's own: the source itself works.
        answered = answered or bool(read) or any(not e.transient for e in errors.values())
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
    return _Outcome(busy, failures, answered)


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
