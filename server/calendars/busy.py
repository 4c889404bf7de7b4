"""Step 3 of a request: fetch the busy intervals of every resource a meeting could use.

    request -> validate -> **fetch busy** -> bitsets -> assign -> reply

A tenant reads its calendars through a ``BusySource``: ``ProviderCalendars``
asks the configured providers in parallel under the request's deadline;
``MemoryCalendars`` serves a fixed list (tests and benchmarks).

A calendar that could not be read makes its resource *unavailable*, never
free: the resource gets one busy interval over the whole span, and the reply
names it in ``unavailable_calendars``.

What a read found is a ``BusyTable`` (the solver's arrays). Calendars served
from a warm ``BusyCache`` arrive as slices of the arrays their cache entry
built once, so a warm request converts nothing; only what was read from a
source just now is converted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from providers.base import CalendarProvider, CalendarRef
from providers.cache import BusyCache
from providers.fetch import DEFAULT_SOURCE_TIMEOUT, Readers, SourceRead, fetch_busy
from server.calendars.changes import BusyChanges
from server.telemetry.metrics import BUSY_CACHE_HITS, BUSY_CACHE_MISSES, CALENDAR_READ_SECONDS, CALENDAR_READS
from server.telemetry.tracing import Step, record_span, step_span
from solver.busy import BusyTable
from solver.domain import BusyInterval, BusyKind, Directory, MemberSeat, PoolSeat, RoomSeat, SlotRequest

__all__ = [
    "BusySource",
    "FetchedBusy",
    "MemoryCalendars",
    "ProviderCalendars",
    "Unavailable",
    "busy_span",
    "resources_of",
]


@dataclass(frozen=True)
class Unavailable:
    """A calendar that could not be read, and why (the provider's reason, free of credentials)."""

    resource_id: str
    reason: str


@dataclass(frozen=True)
class FetchedBusy:
    """What a fetch found: blocking intervals (unreadable calendars blocked whole) and the failures."""

    table: BusyTable
    unavailable: tuple[Unavailable, ...] = ()

    @property
    def busy(self) -> tuple[BusyInterval, ...]:
        """The blocking intervals as objects (for callers that want them rather than the arrays)."""
        return self.table.intervals

    @staticmethod
    def of(busy: Iterable[BusyInterval], unavailable: Iterable[Unavailable], start: datetime, end: datetime,
           *, read: Sequence[BusyTable] = ()) -> FetchedBusy:
        """``read`` (tables, e.g. from the cache), then ``busy``, then every unavailable resource
        blocked over ``[start, end)``: unknown is not free."""
        failed = tuple(sorted(unavailable, key=lambda u: u.resource_id))
        blocked = [BusyInterval(u.resource_id, start, end, BusyKind.BUSY) for u in failed]
        return FetchedBusy(BusyTable.concat([*read, BusyTable.of([*busy, *blocked])]), failed)


class BusySource(Protocol):
    """A tenant's calendars."""

    def busy(self, resource_ids: Collection[str], start: datetime, end: datetime, *,
             deadline: float | None = None, fresh: bool = False) -> FetchedBusy:
        """Blocking intervals of ``resource_ids`` overlapping ``[start, end)``, by ``deadline``
        (a ``time.monotonic()`` instant); a calendar not read by then is unavailable.

        ``fresh`` reads every calendar from its source, bypassing (and refilling) the
        cache: the booking's re-check at commit must not trust a read from before.
        """
        ...

    def invalidate(self, resource_ids: Collection[str]) -> None:
        """Forgets cached busy data of ``resource_ids`` (after a booking or a
        cancellation changed their calendars), so the next read asks the source."""
        ...


@dataclass(frozen=True)
class ProviderCalendars:
    """Calendars read through providers: resource id -> (provider, calendar), read in parallel.

    A resource without a calendar has no events (free whenever its hours allow).
    ``cache`` keeps recent reads for a few seconds; ``source_timeout`` bounds
    each source even when the call has no deadline; ``readers`` are the
    tenant's own threads for reading and the server's per-source bounds and
    breakers (``providers.fetch``; None: the process's shared ones).

    ``tenant`` and ``changes`` keep the cache coherent with the other processes
    sharing the booking store (``server.calendars.changes``): ``invalidate``
    announces, every read first catches up; ``forget`` is the local half.
    """

    calendars: Mapping[str, tuple[CalendarProvider, CalendarRef]] = field(default_factory=dict)
    cache: BusyCache | None = None
    source_timeout: float = DEFAULT_SOURCE_TIMEOUT
    readers: Readers | None = None
    tenant: str = ""
    changes: BusyChanges | None = None

    def busy(self, resource_ids: Collection[str], start: datetime, end: datetime, *,
             deadline: float | None = None, fresh: bool = False) -> FetchedBusy:
        if self.changes is not None:
            self.changes.catch_up()
        wanted = [self.calendars[r] for r in sorted(resource_ids) if r in self.calendars]
        if not wanted:
            return FetchedBusy.of((), (), start, end)
        with step_span("fetch", calendars=len(wanted), **_fresh(fresh)) as step:
            return self._busy(wanted, resource_ids, start, end, deadline, fresh, step)

    def _busy(self, wanted: Sequence[tuple[CalendarProvider, CalendarRef]], resource_ids: Collection[str],
              start: datetime, end: datetime, deadline: float | None, fresh: bool, step: Step) -> FetchedBusy:
        if fresh:
            # Dropping the entries first makes the read below go to the sources and
            # store what they say now; a read in flight from before cannot overwrite it.
            self.forget(resource_ids)
        cached = {} if fresh else self._cached_tables(wanted, start, end)
        missing = [(provider, ref) for provider, ref in wanted if ref.resource_id not in cached]
        if self.cache is not None and not fresh:  # a fresh read does not ask the cache: neither hit nor miss
            _count_cache(wanted, cached)
        if not missing:
            return FetchedBusy.of((), (), start, end, read=list(cached.values()))
        with step.current():  # the reads' spans are the fetch's children
            fetched = fetch_busy(missing, start, end, deadline=deadline, per_source_timeout=self.source_timeout,
                                 cache=self.cache, readers=self.readers, on_read=observe_read)
        if not fresh:
            # The read just filled the cache: converting there, once, serves this request and
            # every one after it. A calendar whose entry is gone again is converted below.
            read = [(provider, ref) for provider, ref in missing if ref.resource_id not in fetched.failures]
            cached |= self._cached_tables(read, start, end, counted=False)
        failures = [Unavailable(resource_id, reason) for resource_id, reason in fetched.failures.items()]
        loose = [b for b in fetched.busy if b.resource_id not in cached]
        return FetchedBusy.of(loose, failures, start, end, read=list(cached.values()))

    def _cached_tables(self, calendars: Sequence[tuple[CalendarProvider, CalendarRef]], start: datetime,
                       end: datetime, *, counted: bool = True) -> dict[str, BusyTable]:
        """Per resource, the cached arrays of its calendar over ``[start, end)`` where a fresh entry holds them."""
        if self.cache is None:
            return {}
        found = ((ref.resource_id, self.cache.table(provider.name, ref, start, end, counted=counted))
                 for provider, ref in calendars)
        return {resource_id: table for resource_id, table in found if table is not None}

    def invalidate(self, resource_ids: Collection[str]) -> None:
        self.forget(resource_ids)
        if self.changes is not None and resource_ids:
            self.changes.announce(self.tenant, resource_ids)

    def forget(self, resource_ids: Collection[str] | None = None) -> None:
        """Drops the cached reads of ``resource_ids`` (None: of every calendar) here, telling nobody."""
        if self.cache is None:
            return
        for resource_id in self.calendars if resource_ids is None else resource_ids:
            self.cache.invalidate(resource_id)


def _fresh(fresh: bool) -> dict[str, bool]:
    """A fetch span's ``fresh`` attribute: only when the caller asked for fresh reads (each
    attribute costs a span about a sixth of its own cost, and the usual read is not fresh)."""
    return {"fresh": True} if fresh else {}


def _count_cache(wanted: Sequence[tuple[CalendarProvider, CalendarRef]], cached: Collection[str]) -> None:
    hits = Counter(p.name for p, ref in wanted if ref.resource_id in cached)
    misses = Counter(p.name for p, ref in wanted if ref.resource_id not in cached)
    for source, n in hits.items():
        BUSY_CACHE_HITS.labels(source).inc(n)
    for source, n in misses.items():
        BUSY_CACHE_MISSES.labels(source).inc(n)


def observe_read(read: SourceRead) -> None:
    """Metrics and a trace span of one request to a calendar source (``providers.fetch``'s observer)."""
    if read.timed_out:
        CALENDAR_READS.labels(read.source, "timeout").inc(read.calendars)
        return
    CALENDAR_READ_SECONDS.labels(read.source).observe(read.seconds)
    if read.calendars > read.failed:
        CALENDAR_READS.labels(read.source, "ok").inc(read.calendars - read.failed)
    if read.failed:
        CALENDAR_READS.labels(read.source, "error").inc(read.failed)
    record_span(f"read {read.source}", read.began_ns, read.began_ns + int(read.seconds * 1e9),
                error=f"{read.failed} of {read.calendars} calendars unreadable" if read.failed else "",
                source=read.source, calendars=read.calendars)


@dataclass(frozen=True)
class MemoryCalendars:
    """A fixed list of busy intervals (tests, benchmarks); ``unreadable`` resource -> reason."""

    intervals: Sequence[BusyInterval] = ()
    unreadable: Mapping[str, str] = field(default_factory=dict)

    def busy(self, resource_ids: Collection[str], start: datetime, end: datetime, *,
             deadline: float | None = None, fresh: bool = False) -> FetchedBusy:
        with step_span("fetch", calendars=len(resource_ids), **_fresh(fresh)):
            return self._busy(resource_ids, start, end)

    def _busy(self, resource_ids: Collection[str], start: datetime, end: datetime) -> FetchedBusy:
        wanted = set(resource_ids)
        found = (b for b in self.intervals
                 if b.resource_id in wanted and b.resource_id not in self.unreadable
                 and b.start < end and b.end > start)
        failed = [Unavailable(r, why) for r, why in self.unreadable.items() if r in wanted]
        return FetchedBusy.of(found, failed, start, end)

    def invalidate(self, resource_ids: Collection[str]) -> None:
        """Nothing is cached: a no-op."""


def resources_of(request: SlotRequest, directory: Directory) -> set[str]:
    """Every member and room the request could seat or invite (ids known to ``directory``)."""
    ids: set[str] = set(request.optional_members)
    for seat in request.seats:
        if isinstance(seat, MemberSeat):
            ids.update(seat.candidates)
        elif isinstance(seat, PoolSeat):
            ids.update(directory.pools[seat.pool_id].members if seat.pool_id in directory.pools else ())
        elif isinstance(seat, RoomSeat):
            ids.update(seat.rooms)
            for pool_id in seat.pools:
                ids.update(directory.pools[pool_id].members if pool_id in directory.pools else ())
    return ids


def busy_span(request: SlotRequest) -> tuple[datetime, datetime]:
    """The span whose events can touch a candidate: the window widened by the buffers and one grid cell."""
    cell = timedelta(minutes=max(request.resolution, 1))
    return (request.window_start - request.buffer_before - cell,
            request.window_end + request.buffer_after + cell)
