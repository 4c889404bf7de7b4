"""Runs the independent parts of a batch in parallel: a local pool or a Dask cluster.

    result = run_batch(directory, busy, bookings, batch)                       # local processes
    result = run_batch(directory, busy, bookings, batch, scheduler="tcp://10.0.0.5:8786")  # Dask

The scheduling is all in the pure solver (``solver.batch``); this module only
orchestrates: validate, split (``split_batch``), hand each part only the
calendars and bookings of its own resources, submit one task per part
(``solve_part``), merge as they finish (``merge_results``).

Time: the local pool's processes are started (and have imported the solver)
before the parts' shares are set, so the seconds spent starting them count
against the limit instead of pushing the queue past it. Parts run ``parallel``
at a time (the pool's size, or the cluster's threads). Each gets a share of 85%
of what is left of ``batch.time_limit`` in proportion to its items, times
``parallel``, capped at all of it, so the queue ends about when the limit does
(the rest goes to planning); a part proven optimal early frees its slot at
once. On this machine the batch's deadline also binds every part, however late
it starts. The CP-SAT workers of ``batch.workers`` are shared among the parts
running at once.

Failures are named (``server.api.errors`` maps them to statuses):

- ``SolverUnavailable`` (UNAVAILABLE): a worker process died (killed, out of
  memory), Dask is not installed, the scheduler cannot be reached within what is
  left of the time (never Dask's own 30 s connect timeout), every worker of the
  cluster was lost mid-solve, or the cluster lost a part's task;
- ``ClusterWithoutWorkers`` (FAILED_PRECONDITION): the scheduler answers but has
  no worker (after a short grace for workers still registering).

A part that does not come back from the cluster by the end of the time limit is
given up (``BatchResult.incomplete`` says so and why); the call never waits past
its deadline.

Processes are spawned, not forked (the caller may be a gRPC server): a script
that calls ``run_batch`` needs the usual ``if __name__ == "__main__":`` guard.

Progress: once per finished part (a part's own improving solutions stay inside
its worker process), except with ``executor="thread"``, where every improving
solution of every part is reported.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import replace
from typing import Any, Literal

from solver.batch import (
    BatchProgress,
    BatchRequest,
    BatchResult,
    Score,
    merge_results,
    optimize_batch,
    solve_part,
    split_batch,
    unsolved_part,
    validate_batch,
)
from solver.batch.decompose import ProgressTally, with_pinned
from solver.batch.prepare import resources_of
from solver.batch.types import BatchLimits
from solver.domain import Booking, BusyInterval, Directory
from solver.validate import Limits

__all__ = ["ClusterWithoutWorkers", "PartInputs", "SolverUnavailable", "part_inputs", "run_batch"]

ExecutorKind = Literal["process", "thread"]
_SHARE = 0.85
PartInputs = tuple[list[BusyInterval], list[Booking]]
# Dask: the longest a connect may take (Dask's default), a grace for workers still registering,
# how often the pending parts and the cluster's workers are looked at, and how long past the
# time limit a part may still come back (its task started late on a busy cluster).
_CONNECT_SECONDS = 30.0
_WORKER_GRACE_SECONDS = 2.0
_POLL_SECONDS = 0.25
_LATE_SECONDS = 0.5


class SolverUnavailable(Exception):
    """The solver cannot run this call now (see the module docstring); the message says why."""


class ClusterWithoutWorkers(Exception):
    """The Dask scheduler has no worker to run the parts on."""

    def __init__(self, scheduler: str) -> None:
        super().__init__(f"the Dask scheduler {scheduler} has no workers: start some, or solve without a scheduler")
        self.scheduler = scheduler


def part_inputs(directory: Directory, part: BatchRequest, busy: Sequence[BusyInterval],
                bookings: Sequence[Booking]) -> PartInputs:
    """The busy intervals and bookings of the part's resources only (what a worker needs)."""
    resources = {r for item in part.items for r in [*resources_of(item.request, directory),
                                                    *item.request.optional_members]}
    return ([b for b in busy if b.resource_id in resources],
            [bk for bk in bookings if any(r in resources for r in bk.resources)])


def run_batch(
    directory: Directory,
    busy: Sequence[BusyInterval],
    bookings: Sequence[Booking],
    batch: BatchRequest,
    *,
    scheduler: str | None = None,
    client: Any = None,
    executor: ExecutorKind = "process",
    on_progress: Callable[[BatchProgress], None] | None = None,
    deadline: float | None = None,
    cancelled: Callable[[], bool] | None = None,
    limits: Limits | None = None,
    batch_limits: BatchLimits | None = None,
) -> BatchResult:
    """Optimize ``batch`` with its parts in parallel.

    ``scheduler``: a Dask scheduler address (``tcp://host:8786``): one task per
    part on that cluster. ``client``: an open ``dask.distributed.Client`` to use
    instead (tests). Otherwise a local pool of ``batch.workers`` processes (or
    threads); with one worker or one part, everything runs in this process.
    ``deadline`` (a ``time.monotonic()`` instant) shortens ``batch.time_limit``;
    ``cancelled`` is polled in this process and by threads (not by processes or
    Dask tasks, which end at their time limit).
    """
    began = time.monotonic()
    validate_batch(directory, batch, limits, batch_limits)
    if deadline is not None:
        batch = replace(batch, time_limit=max(0.01, min(batch.time_limit, deadline - began)))
    parts = split_batch(directory, batch)
    bookings = with_pinned(batch, bookings)
    if (scheduler is not None or client is not None) and parts:  # no parts: only pinned items, nothing to solve
        return _on_dask(directory, busy, bookings, batch, parts, scheduler, client, on_progress, began)
    if batch.workers == 1 or len(parts) <= 1:
        return optimize_batch(directory, busy, bookings, batch, on_progress=on_progress, cancelled=cancelled)
    tally = ProgressTally(len(parts), on_progress, began)
    lock = threading.Lock()
    parallel = min(batch.workers, len(parts))
    pool: Executor
    if executor == "thread":
        pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="batch-part")
    else:
        pool = _started_pool(parallel, began + batch.time_limit)
    sized = _with_time(batch, parts, parallel, began)
    futures: dict[Future[BatchResult], int] = {}
    finished = False
    try:
        try:
            for n, part in enumerate(sized):
                part_busy, part_bookings = part_inputs(directory, part, busy, bookings)
                report = _thread_reporter(tally, lock, n) if executor == "thread" and on_progress else None
                # time.monotonic() is one clock for every process of this machine: the batch's
                # deadline holds in the workers too, whatever the queue did to a part's share.
                futures[pool.submit(solve_part, directory, part_busy, part_bookings, part, on_score=report,
                                    deadline=began + batch.time_limit,
                                    cancelled=cancelled if executor == "thread" else None)] = n
            result = _collect(directory, batch, sized, futures, _local_done(futures, began + batch.time_limit),
                              tally, lock, began)
        except BrokenExecutor as exc:
            raise SolverUnavailable("a worker process of the local pool died (killed, or out of memory) while "
                                    "solving; nothing of this call was kept") from exc
        finished = True
        return result
    finally:
        # Parts still running past the limit are abandoned, not waited for.
        pool.shutdown(wait=finished, cancel_futures=True)


def _ready(started: Any) -> None:
    """A pool process's start: the solver imported (the costly part, done by unpickling this
    function's module), then it says so."""
    started.release()


def _started_pool(parallel: int, stop: float) -> ProcessPoolExecutor:
    """A pool of ``parallel`` spawned processes, each started and ready, waited for until
    ``stop`` (a process that dies meanwhile breaks the pool: the first submission says so)."""
    context = multiprocessing.get_context("spawn")  # not forked: the caller may be a gRPC server
    started = context.Semaphore(0)
    pool = ProcessPoolExecutor(max_workers=parallel, mp_context=context, initializer=_ready, initargs=(started,))
    for _ in range(parallel):
        pool.submit(int)  # each submission starts a process (none is idle yet)
    ready = 0
    # The time may run out first: the parts then get what is left (the deadline still binds them).
    while ready < parallel and time.monotonic() < stop:
        if started.acquire(timeout=max(0.0, min(_POLL_SECONDS, stop - time.monotonic()))):
            ready += 1
            continue
        try:
            pool.submit(int)  # a pool whose process died says so here
        except BrokenExecutor:
            break
    return pool


def _local_done(futures: dict[Future[BatchResult], int], stop: float) -> Iterator[Future[BatchResult]]:
    """The futures as they finish, until a little past ``stop``; the rest are left out."""
    try:
        yield from as_completed(futures, timeout=max(0.0, stop - time.monotonic()) + _LATE_SECONDS)
    except FuturesTimeout:
        return


def _with_time(batch: BatchRequest, parts: list[BatchRequest], parallel: int, began: float) -> list[BatchRequest]:
    """Each part's time limit and CP-SAT workers (see the module docstring). In the
    deterministic mode the work decides when a part ends: its time limit is all that
    is left (a guard), never a share that a loaded host could run out of first."""
    # Starting processes and planning each part take time too: shares add up to 85% of what is left.
    left = max(0.05, batch.time_limit - (time.monotonic() - began)) * _SHARE
    total = sum(len(p.items) for p in parts)
    workers = max(1, batch.workers // parallel)

    def seconds(part: BatchRequest) -> float:
        return left if batch.work_limit is not None else min(left, left * parallel * len(part.items) / total)

    return [replace(p, time_limit=seconds(p), workers=workers) for p in parts]


def _thread_reporter(tally: ProgressTally, lock: threading.Lock, n: int) -> Callable[[Score, int, str], None]:
    """Feeds part ``n``'s improving solutions into the tally (threads share it)."""

    def report(score: Score, scheduled: int, source: str) -> None:
        with lock:
            tally.update(n, score, scheduled, source)

    return report


def _collect(directory: Directory, batch: BatchRequest, parts: Sequence[BatchRequest], futures: dict[Any, int],
             done: Iterable[Any], tally: ProgressTally, lock: threading.Lock, began: float) -> BatchResult:
    """Merges the parts' results as they finish; a part ``done`` never yields is given up."""
    results: list[BatchResult | None] = [None] * len(futures)
    for future in done:
        n = futures[future]
        result: BatchResult = future.result()
        results[n] = result
        with lock:
            tally.update(n, result.score, result.kpis.scheduled, "part", done=True)
    wall = time.monotonic() - began
    for n, got in enumerate(results):
        if got is None:
            results[n] = unsolved_part(directory, parts[n], wall, "the part did not come back from its worker "
                                                                  "before the time limit")
    return merge_results(directory, batch, [r for r in results if r is not None], wall)


def _on_dask(directory: Directory, busy: Sequence[BusyInterval], bookings: Sequence[Booking], batch: BatchRequest,
             parts: list[BatchRequest], scheduler: str | None, client: Any,
             on_progress: Callable[[BatchProgress], None] | None, began: float) -> BatchResult:
    try:
        from dask.distributed import Client  # only when a cluster is asked for
    except ImportError as exc:
        raise SolverUnavailable("Dask is not installed on this machine (the 'dask' extra): "
                                "solve without a scheduler") from exc

    stop = began + batch.time_limit
    own = client is None
    name = scheduler or "(the client's)"
    dask: Any
    if own:
        connect = max(0.1, min(_CONNECT_SECONDS, stop - time.monotonic()))
        try:
            dask = Client(scheduler, timeout=connect)  # type: ignore[no-untyped-call]
        except Exception as exc:  # OSError (timed out, refused), or garbage from a non-Dask peer
            raise SolverUnavailable(f"the Dask scheduler {scheduler} cannot be reached within {connect:.1f} s: "
                                    f"{type(exc).__name__}") from exc
    else:
        dask = client
    try:
        threads = _threads(dask)
        if not threads:
            grace = max(0.05, min(_WORKER_GRACE_SECONDS, (stop - time.monotonic()) / 4))
            with contextlib.suppress(TimeoutError, OSError):
                dask.wait_for_workers(1, timeout=grace)
            threads = _threads(dask)
        if not threads:
            raise ClusterWithoutWorkers(name)
        parallel = min(threads, len(parts))
        sized = _with_time(batch, parts, parallel, began)
        # The directory goes to every worker once; each task carries its own calendars.
        shared = [dask.scatter(directory, broadcast=True)]
        futures: dict[Any, int] = {}

        def submit(n: int) -> Any:
            if shared[0].status != "finished":
                # Scattered data has no recipe: lost with the workers that held it (a kill before
                # the broadcast reached the others, seen on a loaded host), it is sent again, or
                # every resubmitted part would be cancelled at once for its lost input.
                shared[0] = dask.scatter(directory, broadcast=True)
            part_busy, part_bookings = part_inputs(directory, sized[n], busy, bookings)
            return dask.submit(solve_part, shared[0], part_busy, part_bookings, sized[n], pure=False)

        for n in range(len(sized)):
            futures[submit(n)] = n
        tally = ProgressTally(len(parts), on_progress, began)
        done = _dask_done(dask, futures, stop + _LATE_SECONDS, name, submit)
        return _collect(directory, batch, sized, futures, done, tally, threading.Lock(), began)
    finally:
        if own:
            dask.close()


def _threads(dask: Any) -> int:
    try:
        return sum(dask.nthreads().values())
    except Exception as exc:  # the scheduler went away
        raise SolverUnavailable(f"lost the Dask scheduler: {type(exc).__name__}") from exc


def _dask_done(dask: Any, futures: dict[Any, int], stop: float, name: str,
               submit: Callable[[int], Any]) -> Iterator[Any]:
    """The tasks as they finish, until ``stop``. A task the cluster cancelled (its worker
    went away with it) is submitted again while workers are left, up to ``_RESUBMITS``
    times (a resubmission can land on the dying worker before the scheduler has dropped
    it, as seen on a loaded host); lost more often, or a cluster left without workers for
    longer than the grace, is ``SolverUnavailable``."""
    pending = list(futures)
    retried: dict[int, int] = {}
    no_workers_since: float | None = None
    while pending and time.monotonic() < stop:
        # "lost": a result held by a worker that died; Dask computes it again, so it is still to come.
        finished = [f for f in pending if f.status not in ("pending", "lost")]
        for future in finished:
            pending.remove(future)
            if future.status == "finished":
                yield future
                continue
            part = futures[future]
            if future.status == "error" and not _lost(future.exception()):
                future.result()  # the solver's own failure: raised as it is
            if future.status == "cancelled" and retried.get(part, 0) < _RESUBMITS and _threads(dask):
                retried[part] = retried.get(part, 0) + 1
                again = submit(part)
                futures[again] = part
                pending.append(again)
                continue
            what = f"{future.status} (its workers or the scheduler went away)" if future.status != "error" \
                else f"failed ({type(future.exception()).__name__})"
            raise SolverUnavailable(f"the Dask cluster {name} lost part {part + 1}: {what}")
        if pending and not finished:
            if _threads(dask):
                no_workers_since = None
            elif no_workers_since is None:
                no_workers_since = time.monotonic()
            elif time.monotonic() - no_workers_since > _WORKER_GRACE_SECONDS:
                raise SolverUnavailable(f"every worker of the Dask cluster {name} was lost while solving")
            time.sleep(max(0.0, min(_POLL_SECONDS, stop - time.monotonic())))
    for future in pending:
        future.cancel()


_RESUBMITS = 3  # times a part the cluster cancelled is submitted again


def _lost(exc: BaseException | None) -> bool:
    """Whether a task's error is the cluster's (a worker killed, a connection lost), not the solver's."""
    from dask.distributed import KilledWorker

    return isinstance(exc, KilledWorker | OSError | MemoryError)
