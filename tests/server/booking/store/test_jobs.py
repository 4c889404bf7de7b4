"""Batch jobs in the store (``server.booking.store.jobs``), on SQLite and PostgreSQL, on a
fake clock: leases, cancel flags, request ids, tenant scope, keyset pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.booking.store import BookingStore
from server.booking.store.jobs import (
    BatchJobNotFound,
    BatchJobs,
    JobRequestReused,
    JobState,
    NewJob,
    new_job_id,
)
from tests.server.booking.store.helpers import TENANT, FakeClock, booking

LEASE = timedelta(seconds=10)


def new(owner: str = "proc-a", request_id: str = "", fingerprint: str = "fp", commit: bool = False,
        tenant: str = TENANT) -> NewJob:
    return NewJob(new_job_id(), tenant, request_id, fingerprint, 3, commit, owner, LEASE)


def test_a_request_id_starts_one_job_and_another_batch_under_it_is_refused(store: BookingStore) -> None:
    jobs = BatchJobs(store)
    first, created = jobs.create(new(request_id="week-23"))
    assert created and first.state is JobState.QUEUED and first.items == 3
    again, created = jobs.create(new(request_id="week-23"))
    assert not created and again == first
    with pytest.raises(JobRequestReused) as refused:
        jobs.create(new(request_id="week-23", fingerprint="other"))
    assert refused.value.job_id == first.id
    # Another tenant's request ids are its own; no request id never collides.
    assert jobs.create(new(request_id="week-23", tenant="globex"))[1]
    assert jobs.create(new())[1] and jobs.create(new())[1]


def test_another_tenants_job_is_not_found(store: BookingStore) -> None:
    jobs = BatchJobs(store)
    job, _ = jobs.create(new())
    for call in (lambda: jobs.get("globex", job.id), lambda: jobs.request_cancel("globex", job.id)):
        with pytest.raises(BatchJobNotFound):
            call()
    assert jobs.list("globex", 10) == []
    assert not jobs.get(TENANT, job.id).cancel_requested  # the other tenant's cancel changed nothing


def test_the_heartbeat_renews_its_own_jobs_stores_progress_and_hands_out_cancels(store: BookingStore,
                                                                                 clock: FakeClock) -> None:
    jobs = BatchJobs(store)
    mine, other = jobs.create(new("proc-a"))[0], jobs.create(new("proc-b"))[0]
    assert jobs.request_cancel(TENANT, mine.id).cancel_requested
    clock.advance(seconds=6)
    owned, cancels = jobs.renew_owned("proc-a", LEASE, {mine.id: b"\x08\x01"})
    assert owned == {mine.id} and cancels == {mine.id}
    renewed = jobs.get(TENANT, mine.id)
    assert renewed.lease_until == clock() + LEASE and renewed.progress == b"\x08\x01"
    assert renewed.updated_at == clock()
    assert jobs.get(TENANT, other.id).lease_until == other.lease_until  # proc-b's job untouched
    clock.advance(seconds=6)  # past proc-b's lease, within proc-a's renewed one
    assert jobs.get(TENANT, mine.id).state is JobState.QUEUED
    assert jobs.get(TENANT, other.id).state is JobState.FAILED


def test_a_job_whose_lease_ran_out_is_failed_with_the_reason_and_no_longer_its_owners(
        store: BookingStore, clock: FakeClock) -> None:
    jobs = BatchJobs(store)
    job, _ = jobs.create(new("host:123"))
    assert jobs.renew(job.id, "host:123", LEASE, state=JobState.RUNNING) == (True, False)
    clock.advance(seconds=9)
    assert jobs.get(TENANT, job.id).state is JobState.RUNNING
    clock.advance(seconds=2)
    failed = jobs.get(TENANT, job.id)
    assert failed.state is JobState.FAILED and failed.error_code == "UNAVAILABLE"
    assert "host:123" in failed.error and "lease expired" in failed.error
    assert failed.finished_at == job.created_at + LEASE  # when its lease ran out
    # The owner comes back too late: its heartbeat and its end change nothing.
    assert jobs.renew_owned("host:123", LEASE, {job.id: b"x"}) == (set(), set())
    assert not jobs.finish(job.id, "host:123", JobState.SUCCEEDED, result=b"late")
    assert jobs.get(TENANT, job.id) == failed
    assert [j.state for j in jobs.list(TENANT, 10)] == [JobState.FAILED]


def test_a_dead_committing_job_says_whether_its_commit_had_booked(store: BookingStore, clock: FakeClock) -> None:
    jobs = BatchJobs(store)
    booked, _ = jobs.create(new(commit=True))
    nothing, _ = jobs.create(new(commit=True))
    store.create(f"{booked.id}/fp/item-1", "h1", booking())
    clock.advance(seconds=11)
    assert "its commit had booked 1 items" in jobs.get(TENANT, booked.id).error
    assert "it had booked nothing" in jobs.get(TENANT, nothing.id).error


def test_a_finished_job_keeps_its_result_and_a_cancel_changes_nothing(store: BookingStore) -> None:
    jobs = BatchJobs(store)
    job, _ = jobs.create(new())
    assert jobs.finish(job.id, "proc-a", JobState.SUCCEEDED, progress=b"p", result=b"r")
    done = jobs.get(TENANT, job.id)
    assert (done.state, done.result, done.progress, done.finished_at is not None) == (JobState.SUCCEEDED, b"r",
                                                                                      b"p", True)
    assert jobs.request_cancel(TENANT, job.id) == done
    assert not jobs.finish(job.id, "proc-a", JobState.FAILED)  # once final, final


def test_the_listing_is_newest_first_in_keyset_pages_without_results(store: BookingStore) -> None:
    jobs = BatchJobs(store)
    ids = []
    for _ in range(5):
        job, _ = jobs.create(new())
        jobs.finish(job.id, "proc-a", JobState.SUCCEEDED, result=b"big")
        ids.append(job.id)
    first = jobs.list(TENANT, 2)
    second = jobs.list(TENANT, 2, after=first[-1].id)
    third = jobs.list(TENANT, 2, after=second[-1].id)
    assert [j.id for j in first + second + third] == ids[::-1]
    assert all(j.result == b"" for j in first + second + third)
    assert jobs.get(TENANT, ids[0]).result == b"big"


def test_purge_deletes_only_jobs_finished_before_the_cut(store: BookingStore, clock: FakeClock) -> None:
    jobs = BatchJobs(store)
    old, _ = jobs.create(new())
    jobs.finish(old.id, "proc-a", JobState.SUCCEEDED, result=b"r")
    clock.advance(days=2)
    recent, _ = jobs.create(new())
    jobs.finish(recent.id, "proc-a", JobState.CANCELLED)
    running, _ = jobs.create(new("proc-b"))
    jobs.renew_owned("proc-b", LEASE, {})
    assert jobs.purge(clock() - timedelta(days=1)) == 1
    with pytest.raises(BatchJobNotFound):
        jobs.get(TENANT, old.id)
    assert {j.id for j in jobs.list(TENANT, 10)} == {recent.id, running.id}
    assert jobs.purge(clock() + timedelta(days=1)) == 1  # the running job stays, whatever its age
    assert [j.id for j in jobs.list(TENANT, 10)] == [running.id]
