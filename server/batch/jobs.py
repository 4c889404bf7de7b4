"""Batch jobs: OptimizeBatch as a long-running operation, its state in the booking store.

    runner = JobRunner(store, policy, describe=...)       # one per server process
    job, created = runner.start(tenant, request_id, query, drafts, call)
    runner.get(tenant, job_id) / runner.cancel(tenant, job_id) / runner.list(tenant, limit, after)
    runner.close()                                        # at shutdown: running jobs end FAILED

A job runs **in the process that accepted it**, in a thread of its own, through the
same ``server.batch.flow.optimize`` as the streaming RPC (fetch busy, solve, commit),
without a call deadline: its ``time_limit`` bounds it. At most
``policy.max_running_jobs`` solve at once in a process; the others wait QUEUED
(up to 25 per solving slot: past that a start is RESOURCE_EXHAUSTED).

Its row (``server.booking.store.jobs``) is the job as every process sees it:

- **Lease.** One heartbeat thread per process renews the leases of all its jobs
  about every second (at most a quarter of ``policy.job_lease``) in one
  transaction, storing each job's latest progress report when it changed. A
  process that dies stops renewing: once the lease has run out, any process
  reading the job reports it FAILED and says why.
- **Cancel.** ``cancel`` raises a flag in the row; the heartbeat reads it and stops
  the solver through the batch runner's ``cancelled`` hook (in the owning process,
  at once). The job ends CANCELLED with the best schedule found, uncommitted; a
  commit that had already begun completes (SUCCEEDED).
- **Commit.** The job's id is the commit's request id (``server.batch.commit``):
  the bookings are ``<job id>/<fingerprint>/<item id>``, booked once.

Jobs finished more than ``policy.job_retention_days`` ago are deleted (by any process
running jobs, every ten minutes). The result and the progress are stored as the API's serialized messages
(``server.wire.batch``); a failure as the gRPC code name and message that
``describe`` (the API's ``status_for``) gives it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from server.batch.flow import BatchCall, BatchOutcome, BatchReplay, optimize
from server.booking.desk import BookingRequest
from server.booking.store import BookingStore, StoreUnavailable
from server.booking.store.jobs import BatchJobs, JobRecord, JobState, NewJob, new_job_id, owner_name
from server.config.batch import BatchPolicy
from server.wire import batch as wire_batch
from server.wire.batch import BatchQuery
from solver.errors import LimitExceeded

__all__ = ["Describe", "JobRunner"]

log = logging.getLogger("convene.server")

# A failure as (gRPC code name, message), e.g. ("UNAVAILABLE", "the Dask scheduler ... cannot be reached").
Describe = Callable[[BaseException], tuple[str, str]]
_STOPPED = ("UNAVAILABLE", "the server process stopped (shut down) before the job finished")
_QUEUE_PER_SLOT = 25
_PURGE_SECONDS = 600.0  # how often a process with jobs deletes those past their retention
_LOST = "the job's lease ran out before this process renewed it: another process reported it FAILED"


@dataclasses.dataclass
class _Local:
    """A job of this process: its record, the cancel flag its solver polls and its latest progress."""

    job: JobRecord
    cancel: threading.Event = dataclasses.field(default_factory=threading.Event)
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    progress: bytes | None = None  # not yet stored
    lost: bool = False
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


class JobRunner:
    """This process's batch jobs (see the module docstring)."""

    def __init__(self, store: BookingStore, policy: BatchPolicy, describe: Describe) -> None:
        self._jobs = BatchJobs(store)
        self._store = store
        self._retention = timedelta(days=policy.job_retention_days)
        self._lease = timedelta(seconds=policy.job_lease)
        self._beat = min(1.0, policy.job_lease / 4)
        self._slots = threading.BoundedSemaphore(policy.max_running_jobs)
        self._describe = describe
        self._owner = f"{owner_name()}:{new_job_id()[-10:]}"
        self._local: dict[str, _Local] = {}
        self._local_lock = threading.Lock()
        self._stopping = threading.Event()
        self._stopped = threading.Event()  # the heartbeat's sleep, cut short at the end
        self._beating: threading.Thread | None = None
        # Jobs of this process not finished (running or waiting for a slot): more are refused.
        self._max_jobs = policy.max_running_jobs * _QUEUE_PER_SLOT

    def start(self, tenant: str, request_id: str, query: BatchQuery, drafts: Sequence[BookingRequest | None] | None,
              call: BatchCall, *, job_id: str | None = None) -> tuple[JobRecord, bool]:
        """Records the job and starts it in a thread; with a ``request_id`` the tenant used before,
        returns that job instead (False). ``query`` (validated) commits under ``job_id``, the new
        job's id (``new_job_id()``, given when the query's request id had to be it already)."""
        if self._stopping.is_set():
            raise StoreUnavailable("batch jobs", "this server process is shutting down")
        with self._local_lock:
            waiting = len(self._local)
        if waiting >= self._max_jobs:
            raise LimitExceeded("batch", "max_jobs_per_process", self._max_jobs, waiting + 1)
        job_id = job_id or new_job_id()
        job, created = self._jobs.create(NewJob(job_id, tenant, request_id, query.fingerprint,
                                                len(query.batch.items), query.commit, self._owner, self._lease))
        if not created:
            return job, False
        local = _Local(job)
        with self._local_lock:
            self._local[job.id] = local
            if self._beating is None:
                self._beating = threading.Thread(target=self._heartbeat, name="batch-job-leases", daemon=True)
                self._beating.start()
        call = dataclasses.replace(call, time_remaining=None,
                                   cancelled=lambda: local.cancel.is_set() or self._stopping.is_set())
        threading.Thread(target=self._run, args=(local, dataclasses.replace(query, request_id=job.id), drafts, call),
                         name=f"batch-job-{job.id}", daemon=True).start()
        log.info("batch job %s started (%d items%s)", job.id, job.items, ", commit" if job.commit else "")
        return job, True

    def get(self, tenant: str, job_id: str) -> JobRecord:
        return self._jobs.get(tenant, job_id)

    def list(self, tenant: str, limit: int, after: str | None) -> list[JobRecord]:
        return self._jobs.list(tenant, limit, after)

    def cancel(self, tenant: str, job_id: str) -> JobRecord:
        """Raises the job's cancel flag (any process); this process's own job stops at once."""
        job = self._jobs.request_cancel(tenant, job_id)
        with self._local_lock:
            local = self._local.get(job_id)
        if local is not None and job.cancel_requested:
            local.cancel.set()
            local.done.wait(2.0)  # most solvers stop well within this: the reply then says CANCELLED
            job = self._jobs.get(tenant, job_id)
        return job

    def close(self, wait: float = 5.0) -> None:
        """Stops every job of this process: each ends FAILED, saying the server stopped (a commit
        under way completes first); within ``wait`` seconds, its solver stopped or not."""
        self._stopping.set()
        with self._local_lock:
            running = list(self._local.values())
        until = time.monotonic() + wait
        for local in running:
            local.done.wait(max(0.0, until - time.monotonic()))
        for local in running:
            if not local.done.is_set():
                # Its solver did not stop in time: the job ends here, its thread's own end ignored.
                local.lost = True
                try:
                    note = (f"; a commit under way may still have booked (request ids {local.job.id}/...)"
                            if local.job.commit else "")
                    self._jobs.finish(local.job.id, self._owner, JobState.FAILED, error=_STOPPED[1] + note,
                                      error_code=_STOPPED[0])
                except Exception:
                    log.exception("batch job %s: its end at shutdown could not be stored", local.job.id)
        self._stopped.set()
        if self._beating is not None:
            self._beating.join(wait)

    # --- In the job's threads -------------------------------------------------------------

    def _purge(self) -> None:
        """Deletes the jobs finished longer ago than the retention (any process may: it is idempotent)."""
        try:
            gone = self._jobs.purge(self._store.now() - self._retention)
        except Exception:
            log.warning("batch jobs: cannot delete the old ones", exc_info=True)
            return
        if gone:
            log.info("batch jobs: deleted %d finished more than %s ago", gone, self._retention)

    def _heartbeat(self) -> None:
        """Renews the leases of this process's jobs (one transaction per beat, whatever their number),
        stores the progress reported since the last beat and hands each job its cancel flag; now and
        then deletes the jobs past their retention."""
        purged = -math.inf
        while not self._stopped.wait(self._beat):  # close() has ended every job by then
            if time.monotonic() - purged > _PURGE_SECONDS and not self._stopping.is_set():
                purged = time.monotonic()
                self._purge()
            with self._local_lock:
                jobs = dict(self._local)
            if not jobs:
                continue
            progress: dict[str, bytes] = {}
            for job_id, local in jobs.items():
                with local.lock:
                    if local.progress is not None:
                        progress[job_id], local.progress = local.progress, None
            try:
                owned, cancels = self._jobs.renew_owned(self._owner, self._lease, progress)
            except Exception:  # the database is down for a moment: the lease covers a few misses
                log.warning("batch jobs: cannot renew their leases", exc_info=True)
                continue
            for job_id, local in jobs.items():
                if job_id not in owned and not local.done.is_set() and not local.lost:
                    local.lost = True
                    local.cancel.set()
                    log.warning("batch job %s: %s", job_id, _LOST)
                elif job_id in cancels and not local.cancel.is_set():
                    log.info("batch job %s: cancel requested", job_id)
                    local.cancel.set()

    def _run(self, local: _Local, query: BatchQuery, drafts: Sequence[BookingRequest | None] | None,
             call: BatchCall) -> None:
        job = local.job
        state, result, error = JobState.FAILED, b"", ("", "")
        try:
            # QUEUED until a solving slot of this process is free (or the job is cancelled meanwhile).
            while not self._slots.acquire(timeout=self._beat / 4):
                if local.cancel.is_set() or self._stopping.is_set():
                    state = JobState.CANCELLED if local.cancel.is_set() and not local.lost else JobState.FAILED
                    error = ("", "") if state is JobState.CANCELLED else _STOPPED
                    return
            try:
                self._jobs.renew(job.id, self._owner, self._lease, state=JobState.RUNNING)
                state, result, error = self._solve(local, query, drafts, call)
            finally:
                self._slots.release()
        except BaseException as exc:
            if local.cancel.is_set():
                state, error = JobState.CANCELLED, ("", "")
            else:
                if not isinstance(exc, Exception):
                    raise
                state, error = JobState.FAILED, self._describe(exc)
                log.info("batch job %s failed: %s %s", job.id, *error)
        finally:
            self._finish(local, state, result, error)

    def _solve(self, local: _Local, query: BatchQuery, drafts: Sequence[BookingRequest | None] | None,
               call: BatchCall) -> tuple[JobState, bytes, tuple[str, str]]:
        result = b""
        committed = False
        for event in optimize(query, drafts, call):
            if isinstance(event, BatchOutcome):
                message = wire_batch.result_to_proto(event.result, query, event.unavailable, call.viewer,
                                                     event.booking_ids)
                result, committed = message.result.SerializeToString(), event.booking_ids is not None
            elif isinstance(event, BatchReplay):
                result, committed = wire_batch.replay_to_proto(query, event.records).result.SerializeToString(), True
            else:
                with local.lock:
                    local.progress = wire_batch.progress_to_proto(event).progress.SerializeToString()
        if self._stopping.is_set() and not committed:
            return JobState.FAILED, b"", _STOPPED
        if local.cancel.is_set() and not committed:
            return JobState.CANCELLED, result, ("", "")
        return JobState.SUCCEEDED, result, ("", "")

    def _finish(self, local: _Local, state: JobState, result: bytes, error: tuple[str, str]) -> None:
        job = local.job
        try:
            if not local.lost:
                with local.lock:
                    progress, local.progress = local.progress, None
                code, message = error
                if not self._jobs.finish(job.id, self._owner, state, progress=progress, result=result,
                                         error=message, error_code=code):
                    log.warning("batch job %s: %s", job.id, _LOST)
                else:
                    log.info("batch job %s %s", job.id, state.value)
        except Exception:
            log.exception("batch job %s: its end (%s) could not be stored", job.id, state.value)
        finally:
            local.done.set()
            with self._local_lock:
                self._local.pop(job.id, None)
