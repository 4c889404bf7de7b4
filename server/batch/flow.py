"""OptimizeBatch on domain types, top to bottom (``server.api`` converts the request
with ``server.wire.batch`` and validates it, then reads this generator):

    commit: every organizer can invite ; an earlier call with this request_id? (replay it)
    -> fetch busy: the union of the items' resources over the union of their windows
    -> confirmed bookings -> run_batch in a thread, its on_progress feeding a queue
       that this generator yields from (one ``BatchProgress`` per improved schedule)
    -> commit: book every scheduled item, all or nothing (``commit``) -> ``BatchOutcome``

The call's deadline bounds the solve: it stops early enough for the commit
(when asked) and the reply, and a call cancelled by its client stops the
solver. A batch the deadline stopped before any part had a schedule is
DEADLINE_EXCEEDED; one with some parts dropped is a result listing them
(``BatchResult.incomplete``).
Failures are raised; ``server.api.streaming`` turns them into statuses.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from server.batch.commit import CommitFailed, check_organizers, commit_batch, prior_commit
from server.batch.runner import run_batch
from server.booking.desk import BookingDesk, BookingRequest, BookingsDisabled, without_own_busy
from server.booking.store import BookingNotFound, BookingRecord, BookingStatus, BookingStore
from server.calendars.busy import Unavailable, busy_span, resources_of
from server.config.batch import BatchPolicy
from server.telemetry.metrics import BATCH_GAP, BATCH_SOLVE_SECONDS
from server.tenants import Tenant
from server.wire.batch import BatchQuery
from solver.batch import BatchProgress, BatchResult, BatchStatus
from solver.busy import BusyTable
from solver.errors import FieldViolation, InvalidRequest, quote
from solver.validate import Limits

__all__ = ["BatchCall", "BatchEvent", "BatchOutcome", "BatchReplay", "named_bookings", "optimize"]

log = logging.getLogger("convene.server")

_MAX_BOOKING_ID = 200  # longer is no booking's id: refused without a look-up

# Kept from the call's deadline for the result to reach the caller: this much, at most a fifth of the time.
_REPLY_MARGIN_SECONDS = 0.25
# Kept for a commit: a base plus a little per item (a re-check and an insert each), at most half the time.
_COMMIT_BASE_SECONDS, _COMMIT_PER_ITEM_SECONDS = 0.25, 0.05


@dataclass(frozen=True)
class BatchCall:
    """One OptimizeBatch call: who asks (``viewer``: the principal, for event details),
    what the server allows, its bookings (None: no store), its clock reading, the
    seconds left before the call's deadline (None: none) and whether the client left."""

    tenant: Tenant
    viewer: str
    limits: Limits
    policy: BatchPolicy
    desk: BookingDesk | None
    now: datetime
    time_remaining: float | None
    cancelled: Callable[[], bool]


@dataclass(frozen=True)
class BatchOutcome:
    """The end of a solved call: the result, the calendars that could not be read, and
    item id -> booking id when it committed (None: it did not)."""

    result: BatchResult
    unavailable: Sequence[Unavailable]
    booking_ids: Mapping[str, str] | None = None


@dataclass(frozen=True)
class BatchReplay:
    """The end of a retry: the bookings an earlier call with this request_id committed, by item id."""

    records: Mapping[str, BookingRecord]


BatchEvent = BatchProgress | BatchOutcome | BatchReplay


def optimize(query: BatchQuery, drafts: Sequence[BookingRequest | None] | None,
                          call: BatchCall) -> Iterator[BatchEvent]:
    """Progress reports, then the outcome or a replay (see the module docstring).

    ``query`` is validated; ``drafts`` (one per item, ``server.wire.batch.booking_drafts``)
    is given when the query commits.
    """
    began = time.monotonic()
    tenant = call.tenant
    if query.commit:
        desk = _desk(call)
        assert drafts is not None
        check_organizers(drafts, tenant)
        committed = prior_commit(desk, tenant, query)
        if committed is not None:
            yield BatchReplay(committed)
            return
    stop = _solve_deadline(began, call.time_remaining, len(query.batch.items) if query.commit else None)

    start, end = _span(query)
    resources = {r for item in query.batch.items for r in resources_of(item.request, tenant.directory)}
    fetched = tenant.calendars.busy(resources, start, end, deadline=stop)
    bookings = tenant.bookings.confirmed(start, end)
    # A movable booking is no obstacle for itself or the others: its own calendar events go
    # (the solver drops the booking itself by id).
    movable = [record for i, record in query.records.items() if query.batch.items[i].movable]
    if movable:
        fetched = dataclasses.replace(fetched, table=BusyTable.coerce(without_own_busy(movable, fetched.busy)))

    def solve(report: Callable[[BatchProgress], None], stopped: Callable[[], bool]) -> BatchResult:
        return run_batch(tenant.directory, fetched.busy, bookings, query.batch, scheduler=query.scheduler,
                         on_progress=report, deadline=stop, cancelled=lambda: stopped() or call.cancelled(),
                         limits=call.limits, batch_limits=call.policy.limits)

    result = yield from _solving(solve)
    BATCH_SOLVE_SECONDS.labels(result.status.value).observe(result.wall_time)
    BATCH_GAP.labels(result.status.value).observe(max(0.0, result.gap))
    nothing = sum(len(part.item_ids) for part in result.incomplete) == len(query.batch.items)
    if result.status is BatchStatus.UNKNOWN and nothing and stop is not None and stop - began < query.batch.time_limit:
        # Not one part got a schedule: the deadline, not the batch, decided. A part or two
        # dropped is a result that says so (``incomplete``), the others' schedules kept.
        raise TimeoutError("the deadline passed before any schedule was found")
    booking_ids = None
    if query.commit:
        if call.cancelled():
            log.info("batch %s: the caller left before the commit; nothing was booked", query.request_id)
            return
        assert drafts is not None
        try:
            booking_ids = commit_batch(_desk(call), tenant, query, drafts, result, viewer=call.viewer)
        except CommitFailed:
            # A twin call with this request_id may have committed meanwhile, its bookings now
            # in our way: its commit is this call's result, as a retry's would be.
            committed = prior_commit(_desk(call), tenant, query)
            if committed is None:
                raise
            yield BatchReplay(committed)
            return
    yield BatchOutcome(result, fetched.unavailable, booking_ids)


def named_bookings(store: BookingStore | None, tenant: Tenant, booking_ids: Sequence[str]) -> dict[int, BookingRecord]:
    """The booking each item names (``booking_ids[i]``, "" for a new item), by item index.

    Raises ``InvalidRequest`` naming ``items[i].booking_id`` for a booking that is unknown
    (or another tenant's), cancelled, or named by an earlier item too; ``BookingsDisabled``
    when an item names one on a server without bookings.
    """
    if not any(booking_ids):
        return {}
    if store is None:
        raise BookingsDisabled()
    problems: list[FieldViolation] = []
    found: dict[int, BookingRecord] = {}
    first: dict[str, int] = {}
    for i, booking_id in enumerate(booking_ids):
        if not booking_id:
            continue
        path = f"items[{i}].booking_id"
        if booking_id in first:
            problems.append(FieldViolation(path, f"booking {quote(booking_id)} is also named by "
                                                 f"items[{first[booking_id]}]"))
            continue
        first[booking_id] = i
        if len(booking_id) > _MAX_BOOKING_ID or not booking_id.isprintable():
            problems.append(FieldViolation(path, "is not a booking id"))
            continue
        try:
            record = store.get(booking_id, tenant=tenant.id)
        except BookingNotFound:
            problems.append(FieldViolation(path, f"no booking {quote(booking_id)} of this tenant"))
            continue
        if record.status is not BookingStatus.CONFIRMED:
            problems.append(FieldViolation(path, f"booking {quote(booking_id)} is cancelled"))
            continue
        found[i] = record
    if problems:
        raise InvalidRequest(problems)
    return found


def _desk(call: BatchCall) -> BookingDesk:
    if call.desk is None:
        raise BookingsDisabled()
    return call.desk


def _span(query: BatchQuery) -> tuple[datetime, datetime]:
    """Every instant whose busy time can touch a candidate of any item."""
    spans = [busy_span(item.request) for item in query.batch.items]
    return min(s for s, _ in spans), max(e for _, e in spans)


def _solve_deadline(began: float, remaining: float | None, committing: int | None) -> float | None:
    """The ``time.monotonic()`` instant the solve must end by (None: only its time limit)."""
    if remaining is None:
        return None
    keep = min(_REPLY_MARGIN_SECONDS, remaining / 5)
    if committing is not None:
        keep += min(_COMMIT_BASE_SECONDS + _COMMIT_PER_ITEM_SECONDS * committing, remaining / 2)
    return began + remaining - keep


Solve = Callable[[Callable[[BatchProgress], None], Callable[[], bool]], BatchResult]


def _solving(solve: Solve) -> Generator[BatchProgress, None, BatchResult]:
    """Runs ``solve(report, stopped)`` in a thread and yields each progress report as it
    comes; returns the result, or raises what the solve raised.

    ``stopped()`` turns true when this generator is closed (the client left) or
    fails, so the solver stops instead of running on for nobody.
    """
    events: queue.Queue[BatchProgress | BatchResult | BaseException] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        try:
            events.put(solve(events.put, stop.is_set))
        except BaseException as exc:  # handed to the caller's thread, which raises it
            events.put(exc)

    threading.Thread(target=run, name="batch-solve", daemon=True).start()
    try:
        while True:
            event = events.get()
            if isinstance(event, BatchResult):
                return event
            if isinstance(event, BaseException):
                raise event
            yield event
    finally:
        stop.set()
