"""Batch jobs in the booking store: one row per job, so that any server process on the
same database reads, watches, cancels and lists a job another process runs.

    jobs = BatchJobs(store)
    job, created = jobs.create(NewJob(...))           # QUEUED, leased to its owner
    jobs.renew_owned(owner, lease, {job.id: progress})  # a process's heartbeat: (still its own, cancel asked)
    jobs.finish(job.id, owner, JobState.SUCCEEDED, result=...)
    jobs.get(tenant, job_id) / jobs.list(tenant, limit, after) / jobs.request_cancel(tenant, job_id)
    jobs.purge(finished_before)                         # retention: finished jobs older than that go

A job runs in the process that accepted it (``server.batch.jobs``), which holds a
**lease**: ``lease_until``, pushed forward by every heartbeat. A job whose lease ran
out while it was still QUEUED or RUNNING has lost its owner (the process died or
hangs): the next read marks it FAILED, saying so (for a committing job, whether
its one commit transaction had booked), and a late heartbeat of that owner finds
the job no longer its own. The processes' clocks must agree to well within the
lease. **Cancel** is a flag in the row that the owner reads with each heartbeat.
The progress and the result are kept as the owner serialized
them (the API's protobuf bytes): the store never looks inside.

Jobs are tenant scoped: another tenant's job id is ``BatchJobNotFound``. A job may
carry the caller's ``request_id``: the tenant's second ``create`` with it returns the
first job (``created=False``), or raises ``JobRequestReused`` when the body differs.
Job ids sort by creation time, so the listing is a keyset page over the id alone.

Both schemas' migration step (7) is here: ``SQLITE_MIGRATION``, ``POSTGRES_MIGRATION``.
"""

from __future__ import annotations

import builtins
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from server.booking.store.errors import StoreError
from server.booking.store.migrations import Migration
from solver.errors import quote

if TYPE_CHECKING:
    from server.booking.store.base import BookingStore
    from server.booking.store.sql import SqlBookingStore, Tx

__all__ = ["ACTIVE", "POSTGRES_MIGRATION", "SQLITE_MIGRATION", "BatchJobNotFound", "BatchJobs", "JobRecord",
           "JobRequestReused", "JobState", "NewJob", "new_job_id"]


class JobState(StrEnum):
    QUEUED = "queued"  # accepted, waiting for a solving slot of its process
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (JobState.QUEUED, JobState.RUNNING)
# The code and message of a job whose owner's lease ran out (``error_code`` is a gRPC code name).
LOST_CODE = "UNAVAILABLE"


def lost_reason(owner: str, lease_until: datetime) -> str:
    return (f"the server process running the job ({owner}) stopped or stopped answering: its lease expired at "
            f"{lease_until.isoformat(timespec='seconds')}; nothing more will happen to it (start it again)")


class BatchJobNotFound(StoreError):
    """No such job for this tenant (NOT_FOUND)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no batch job {quote(job_id)}")


class JobRequestReused(StoreError):
    """The request id started another batch before (ALREADY_EXISTS)."""

    def __init__(self, request_id: str, job_id: str) -> None:
        self.request_id = request_id
        self.job_id = job_id
        super().__init__(f"request_id: {quote(request_id)} already started job {job_id} with a different batch")


_last_micros = 0
_ids_lock = threading.Lock()


def new_job_id() -> str:
    """"bj_" + the time in microseconds (hex, fixed width: ids sort by creation; strictly
    increasing within a process) + randomness."""
    global _last_micros
    with _ids_lock:
        _last_micros = max(time.time_ns() // 1000, _last_micros + 1)
        micros = _last_micros
    return f"bj_{micros:014x}{secrets.token_hex(5)}"


def owner_name() -> str:
    """This process, as a job's owner is named in messages."""
    return f"{os.uname().nodename}:{os.getpid()}"


@dataclass(frozen=True)
class NewJob:
    id: str
    tenant: str
    request_id: str  # "" : none
    fingerprint: str  # identifies the batch, for a reused request_id
    items: int
    commit: bool
    owner: str
    lease: timedelta


@dataclass(frozen=True)
class JobRecord:
    id: str
    tenant: str
    request_id: str
    fingerprint: str
    state: JobState
    items: int
    commit: bool
    owner: str
    lease_until: datetime
    cancel_requested: bool
    progress: bytes  # b"": none yet
    result: bytes  # b"": none
    error: str
    error_code: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


_COLUMNS = ("id, tenant, request_id, fingerprint, state, items, is_commit, owner, lease_until, cancel_requested, "
            "progress, result, error, error_code, created_at, updated_at, finished_at")
_LIST_COLUMNS = _COLUMNS.replace("result,", "'' AS result,")


def _table(text: str, binary: str, boolean: str) -> str:
    return f"""
        CREATE TABLE batch_jobs (
            id               TEXT PRIMARY KEY,
            tenant           TEXT NOT NULL,
            request_id       TEXT NOT NULL,
            fingerprint      TEXT NOT NULL,
            state            TEXT NOT NULL
                             CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
            items            INTEGER NOT NULL,
            is_commit        {boolean} NOT NULL,
            owner            TEXT NOT NULL,
            lease_until      {text} NOT NULL,
            cancel_requested {boolean} NOT NULL,
            progress         {binary} NOT NULL,
            result           {binary} NOT NULL,
            error            TEXT NOT NULL,
            error_code       TEXT NOT NULL,
            created_at       {text} NOT NULL,
            updated_at       {text} NOT NULL,
            finished_at      {text}
        )"""


_INDEXES = (
    "CREATE INDEX batch_jobs_tenant ON batch_jobs (tenant, id)",
    # One job per (tenant, request id) when a request id is given.
    "CREATE UNIQUE INDEX batch_jobs_request ON batch_jobs (tenant, request_id) WHERE request_id <> ''",
    # The heartbeat of a process: its active jobs.
    "CREATE INDEX batch_jobs_owner ON batch_jobs (owner) WHERE state IN ('queued', 'running')",
)
SQLITE_MIGRATION = Migration(7, "batch jobs (long-running OptimizeBatch)", (_table("TEXT", "BLOB", "INTEGER"),
                                                                            *_INDEXES))
POSTGRES_MIGRATION = Migration(7, "batch jobs (long-running OptimizeBatch)",
                               (_table("TIMESTAMPTZ", "BYTEA", "BOOLEAN"), *_INDEXES))


class BatchJobs:
    """The batch jobs of one SQL booking store (see the module docstring)."""

    def __init__(self, store: BookingStore) -> None:
        from server.booking.store.sql import SqlBookingStore

        if not isinstance(store, SqlBookingStore):
            raise TypeError("batch jobs need a SQL booking store (SQLite or PostgreSQL)")
        self._store: SqlBookingStore = store

    def _record(self, row: tuple[Any, ...]) -> JobRecord:
        s = self._store
        (job_id, tenant, request_id, fingerprint, state, items, commit, owner, lease_until, cancel, progress,
         result, error, code, created, updated, finished) = row
        return JobRecord(job_id, tenant, request_id, fingerprint, JobState(state), int(items), bool(commit), owner,
                         s._time_out(lease_until), bool(cancel), bytes(progress or b""), bytes(result or b""), error,
                         code, s._time_out(created), s._time_out(updated),
                         s._time_out(finished) if finished is not None else None)

    def _one(self, tx: Tx, tenant: str, job_id: str) -> JobRecord | None:
        row = tx.one(f"SELECT {_COLUMNS} FROM batch_jobs WHERE tenant = %s AND id = %s", (tenant, job_id))
        return self._record(row) if row is not None else None

    def create(self, job: NewJob) -> tuple[JobRecord, bool]:
        """A new QUEUED job leased to ``job.owner``, or the tenant's job of ``job.request_id`` (False)."""
        s = self._store
        now = s.now()
        with s._tx() as tx:
            if job.request_id:
                # A twin start holds the tenant's write lock (SQLite) or waits on the lock (PostgreSQL).
                s._lock(tx, [f"batch-job:{job.tenant}:{job.request_id}"])
                row = tx.one(f"SELECT {_COLUMNS} FROM batch_jobs WHERE tenant = %s AND request_id = %s",
                             (job.tenant, job.request_id))
                if row is not None:
                    first = self._record(row)
                    if first.fingerprint != job.fingerprint:
                        raise JobRequestReused(job.request_id, first.id)
                    return first, False
            stamp = s._time_in(now)
            tx.run(f"INSERT INTO batch_jobs ({_COLUMNS}) VALUES ({', '.join(['%s'] * 17)})",
                   (job.id, job.tenant, job.request_id, job.fingerprint, JobState.QUEUED.value, job.items,
                    job.commit, job.owner, s._time_in(now + job.lease), False, b"", b"", "", "", stamp, stamp,
                    None))
            created = self._one(tx, job.tenant, job.id)
        assert created is not None
        return created, True

    def get(self, tenant: str, job_id: str) -> JobRecord:
        """The tenant's job; one whose owner's lease ran out is FAILED from now on. Raises ``BatchJobNotFound``."""
        s = self._store
        with s._tx(write=False) as tx:
            job = self._one(tx, tenant, job_id)
        if job is None:
            raise BatchJobNotFound(job_id)
        if job.active and job.lease_until < s.now():
            return self._expire(job)
        return job

    def _expire(self, job: JobRecord) -> JobRecord:
        s = self._store
        now = s.now()
        reason = lost_reason(job.owner, job.lease_until)
        if job.commit:
            # Its commit is one transaction: it booked every scheduled item, or none.
            booked = s.find_by_request_prefix(job.tenant, f"{job.id}/")
            reason += (f"; its commit had booked {len(booked)} items (request ids {job.id}/...: ListBookings shows "
                       "them)" if booked else "; it had booked nothing")
        with s._tx() as tx:
            tx.run("UPDATE batch_jobs SET state = %s, error = %s, error_code = %s, finished_at = %s, updated_at = %s "
                   "WHERE id = %s AND state IN (%s, %s) AND lease_until < %s",
                   (JobState.FAILED.value, reason, LOST_CODE,
                    s._time_in(job.lease_until), s._time_in(now), job.id, *[a.value for a in ACTIVE],
                    s._time_in(now)))
            found = self._one(tx, job.tenant, job.id)
        assert found is not None
        return found

    def list(self, tenant: str, limit: int, after: str | None = None) -> builtins.list[JobRecord]:
        """The tenant's jobs, newest first, those older than job ``after`` only (a keyset page), without
        their results; jobs whose lease ran out are FAILED."""
        s = self._store
        with s._tx(write=False) as tx:
            older = " AND id < %s" if after is not None else ""
            rows = tx.rows(f"SELECT {_LIST_COLUMNS} FROM batch_jobs WHERE tenant = %s{older} ORDER BY id DESC "
                           "LIMIT %s", (tenant, *([after] if after is not None else []), limit))
        now = s.now()
        jobs = [self._record(r) for r in rows]
        return [self._without_result(self._expire(j)) if j.active and j.lease_until < now else j for j in jobs]

    @staticmethod
    def _without_result(job: JobRecord) -> JobRecord:
        return replace(job, result=b"")

    def request_cancel(self, tenant: str, job_id: str) -> JobRecord:
        """Raises the cancel flag of an active job; a finished job is returned as it is."""
        job = self.get(tenant, job_id)
        if not job.active or job.cancel_requested:
            return job
        s = self._store
        with s._tx() as tx:
            tx.run("UPDATE batch_jobs SET cancel_requested = %s, updated_at = %s "
                   "WHERE tenant = %s AND id = %s AND state IN (%s, %s)",
                   (True, s._time_in(s.now()), tenant, job_id, *[a.value for a in ACTIVE]))
        return self.get(tenant, job_id)

    def renew(self, job_id: str, owner: str, lease: timedelta, *, state: JobState | None = None,
              progress: bytes | None = None) -> tuple[bool, bool]:
        """The owner's heartbeat: the lease runs ``lease`` from now, and ``state`` / ``progress`` are
        stored when given. Returns (the job is still this owner's and active, a cancel was asked)."""
        s = self._store
        now = s.now()
        sets, params = ["lease_until = %s"], [s._time_in(now + lease)]
        if state is not None:
            sets.append("state = %s")
            params.append(state.value)
        if progress is not None:
            sets.append("progress = %s")
            params.append(progress)
        if state is not None or progress is not None:
            sets.append("updated_at = %s")
            params.append(s._time_in(now))
        with s._tx() as tx:
            changed = tx.run(f"UPDATE batch_jobs SET {', '.join(sets)} WHERE id = %s AND owner = %s "
                             "AND state IN (%s, %s)", (*params, job_id, owner, *[a.value for a in ACTIVE]))
            row = tx.one("SELECT cancel_requested FROM batch_jobs WHERE id = %s", (job_id,))
        return changed == 1, bool(row[0]) if row is not None else False

    def renew_owned(self, owner: str, lease: timedelta,
                    progress: Mapping[str, bytes]) -> tuple[builtins.set[str], builtins.set[str]]:
        """The heartbeat of every job ``owner`` runs, in one transaction: their leases run ``lease``
        from now, and each job of ``progress`` stores its latest report. Returns (the ids of the
        owner's jobs still active, those of them a cancel was asked for)."""
        s = self._store
        now = s.now()
        stamp = s._time_in(now)
        active = [a.value for a in ACTIVE]
        with s._tx() as tx:
            tx.run("UPDATE batch_jobs SET lease_until = %s WHERE owner = %s AND state IN (%s, %s)",
                   (s._time_in(now + lease), owner, *active))
            for job_id, report in sorted(progress.items()):
                tx.run("UPDATE batch_jobs SET progress = %s, updated_at = %s WHERE id = %s AND owner = %s "
                       "AND state IN (%s, %s)", (report, stamp, job_id, owner, *active))
            rows = tx.rows("SELECT id, cancel_requested FROM batch_jobs WHERE owner = %s AND state IN (%s, %s)",
                           (owner, *active))
        return {r[0] for r in rows}, {r[0] for r in rows if r[1]}

    def purge(self, finished_before: datetime) -> int:
        """Deletes the jobs (of every tenant) that reached a final state before ``finished_before``;
        how many. Active jobs are never deleted."""
        s = self._store
        with s._tx() as tx:
            return tx.run("DELETE FROM batch_jobs WHERE finished_at < %s AND state NOT IN (%s, %s)",
                          (s._time_in(finished_before), *[a.value for a in ACTIVE]))

    def finish(self, job_id: str, owner: str, state: JobState, *, progress: bytes | None = None,
               result: bytes = b"", error: str = "", error_code: str = "") -> bool:
        """Ends the owner's job in ``state``; False when it was no longer this owner's (its lease ran out)."""
        assert state not in ACTIVE
        s = self._store
        stamp = s._time_in(s.now())
        with s._tx() as tx:
            return tx.run("UPDATE batch_jobs SET state = %s, result = %s, error = %s, error_code = %s, "
                          "progress = COALESCE(%s, progress), finished_at = %s, updated_at = %s, "
                          "cancel_requested = %s WHERE id = %s AND owner = %s AND state IN (%s, %s)",
                          (state.value, result, error, error_code, progress, stamp, stamp, False, job_id, owner,
                           *[a.value for a in ACTIVE])) == 1
