"""Runs the independent parts of a batch in parallel: a local pool or a Dask cluster.

    result = run_batch(directory, busy, bookings, batch)                       # local processes
    result = run_batch(directory, busy, bookings, batch, scheduler="tcp://10.0.0.5:8786")  # Dask

The scheduling is all in the pure solver (``solver.batch``); this module only
orchestrates: validate, split (``split_batch``), hand each part only the
calendars and bookings of its own resources, submit one task per part
(``solve_part``), merge as they finish (``merge_results``).

Time: parts run ``parallel`` at a time (the pool's size, or the cluster's
threads). Each gets a share of 85% of ``batch.time_limit`` in proportion to its
items, times ``parallel``, capped at the whole limit, so the queue ends about
when the limit does (the rest goes to starting workers and planning); a part
proven optimal early frees its slot at once. On this machine the batch's
deadline also binds every part, however late it starts. The CP-SAT workers of
``batch.workers`` are shared among the parts running at once.

Processes are spawned, not forked (the caller may be a gRPC server): a script
that calls ``run_batch`` needs the usual ``if __name__ == "__main__":`` guard.

Progress: once per finished part (a part's own improving solutions stay inside
its worker process), except with ``executor="thread"``, where every improving
solution of every part is reported.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
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
    validate_batch,
)
from solver.batch.decompose import ProgressTally
from solver.batch.prepare import resources_of
from solver.batch.types import BatchLimits
from solver.domain import Booking, BusyInterval, Directory
from solver.validate import Limits

__all__ = ["PartInputs", "part_inputs", "run_batch"]

ExecutorKind = Literal["process", "thread"]
_SHARE = 0.85
PartInputs = tuple[list[BusyInterval], list[Booking]]


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
    if scheduler is not None or client is not None:
        return _on_dask(directory, busy, bookings, batch, parts, scheduler, client, on_progress, began)
    if batch.workers == 1 or len(parts) == 1:
        return optimize_batch(directory, busy, bookings, batch, on_progress=on_progress, cancelled=cancelled)
    tally = ProgressTally(len(parts), on_progress, began)
    lock = threading.Lock()
    parallel = min(batch.workers, len(parts))
    sized = _with_time(batch, parts, parallel, began)
    pool: Executor
    if executor == "thread":
        pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="batch-part")
    else:
        # Spawned, not forked: the caller may be a gRPC server, which must not be forked.
        pool = ProcessPoolExecutor(max_workers=parallel, mp_context=multiprocessing.get_context("spawn"))
    with pool:
        futures: dict[Future[BatchResult], int] = {}
        for n, part in enumerate(sized):
            part_busy, part_bookings = part_inputs(directory, part, busy, bookings)
            report = _thread_reporter(tally, lock, n) if executor == "thread" and on_progress else None
            # time.monotonic() is one clock for every process of this machine: the batch's
            # deadline holds in the workers too, whatever the queue did to a part's share.
            futures[pool.submit(solve_part, directory, part_busy, part_bookings, part, on_score=report,
                                deadline=began + batch.time_limit,
                                cancelled=cancelled if executor == "thread" else None)] = n
        return _collect(directory, batch, futures, as_completed(futures), tally, lock, began)


def _with_time(batch: BatchRequest, parts: list[BatchRequest], parallel: int, began: float) -> list[BatchRequest]:
    """Each part's time limit and CP-SAT workers (see the module docstring)."""
    # Starting processes and planning each part take time too: shares add up to 85% of what is left.
    left = max(0.05, batch.time_limit - (time.monotonic() - began)) * _SHARE
    total = sum(len(p.items) for p in parts)
    workers = max(1, batch.workers // parallel)
    return [replace(p, time_limit=min(left, left * parallel * len(p.items) / total), workers=workers) for p in parts]


def _thread_reporter(tally: ProgressTally, lock: threading.Lock, n: int) -> Callable[[Score, int, str], None]:
    """Feeds part ``n``'s improving solutions into the tally (threads share it)."""

    def report(score: Score, scheduled: int, source: str) -> None:
        with lock:
            tally.update(n, score, scheduled, source)

    return report


def _collect(directory: Directory, batch: BatchRequest, futures: dict[Any, int], done: Any, tally: ProgressTally,
             lock: threading.Lock, began: float) -> BatchResult:
    results: list[BatchResult | None] = [None] * len(futures)
    for future in done:
        n = futures[future]
        result: BatchResult = future.result()
        results[n] = result
        with lock:
            tally.update(n, result.score, result.kpis.scheduled, "part", done=True)
    return merge_results(directory, batch, [r for r in results if r is not None], time.monotonic() - began)


def _on_dask(directory: Directory, busy: Sequence[BusyInterval], bookings: Sequence[Booking], batch: BatchRequest,
             parts: list[BatchRequest], scheduler: str | None, client: Any,
             on_progress: Callable[[BatchProgress], None] | None, began: float) -> BatchResult:
    from dask.distributed import Client  # only when a cluster is asked for
    from dask.distributed import as_completed as dask_completed

    own = client is None
    dask = Client(scheduler) if own else client  # type: ignore[no-untyped-call]
    try:
        threads = max(1, sum(dask.nthreads().values()))
        parallel = min(threads, len(parts))
        sized = _with_time(batch, parts, parallel, began)
        # The directory goes to every worker once; each task carries its own calendars.
        shared = dask.scatter(directory, broadcast=True)
        futures: dict[Any, int] = {}
        for n, part in enumerate(sized):
            part_busy, part_bookings = part_inputs(directory, part, busy, bookings)
            futures[dask.submit(solve_part, shared, part_busy, part_bookings, part, pure=False)] = n
        tally = ProgressTally(len(parts), on_progress, began)
        finished = dask_completed(list(futures))  # type: ignore[no-untyped-call]
        return _collect(directory, batch, futures, finished, tally, threading.Lock(), began)
    finally:
        if own:
            dask.close()
