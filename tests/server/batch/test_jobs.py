"""Batch jobs across server processes: two real ``convene serve`` subprocesses on ONE
database (a SQLite file, or a PostgreSQL schema: skipped with the reason when
127.0.0.1:5432 is not reachable), serving the hiring week of examples/batch.

A job started through one process is fetched, watched and cancelled through the
other after the starting client has gone; a job whose process was killed (SIGKILL)
is FAILED once its lease (3 s here) has run out, saying why; another tenant's job id
is NOT_FOUND; the listing pages newest first; a commit books once under the job's id.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
import yaml
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from convene.v1 import batch_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.booking.store import open_store
from server.cli.batch import LoadedBatch, load_batch
from server.cli.commands import main
from server.wire.batch import batch_request_to_proto
from tests.paths import EXAMPLES
from tests.server import booking_world
from tests.server.booking_world import PG_URL, convene_serve

pg_admin = booking_world.pg_admin

EXAMPLE = EXAMPLES / "batch" / "hiring-week.json"
HIRING_KEY = "jobs-hiring-key-0123456789"
OTHER_KEY = "jobs-other-key-0123456789"
# Before every window of the example (June 2026): the minimum notice cuts nothing.
HIRING_NOW = datetime(2026, 5, 1, tzinfo=UTC)
LEASE_SECONDS = 3.0  # short for the test of a killed owner, long enough for a loaded machine
STATE = batch_pb2.BatchJobState
FINAL = (batch_pb2.BATCH_JOB_STATE_SUCCEEDED, batch_pb2.BATCH_JOB_STATE_FAILED, batch_pb2.BATCH_JOB_STATE_CANCELLED)


def key(api_key: str = HIRING_KEY) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {api_key}"),)


def write_config(folder: Path, max_running_jobs: int = 4) -> Path:
    """The hiring week's directory as tenant ``hiring`` (no calendars), and a tenant ``other``."""
    directory = json.loads(EXAMPLE.read_text(encoding="utf-8"))["directory"]
    data: dict[str, Any] = {
        "server": {"plaintext": True},
        "database_url": f"sqlite:///{folder / 'unused.sqlite3'}",  # --database overrides it
        "api_keys": [{"key": HIRING_KEY, "tenant": "hiring", "principal": "ops@example.com"},
                     {"key": OTHER_KEY, "tenant": "other", "principal": "admin@other.example"}],
        "tenants": {"hiring": directory, "other": {"members": [{"id": "zoe", "email": "zoe@other.example"}]}},
        "batch": {"job_lease_seconds": LEASE_SECONDS, "max_running_jobs": max_running_jobs},
    }
    path = folder / "convene.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class Server:
    process: Any
    port: int
    channel: grpc.Channel
    stub: api_grpc.SchedulingServiceStub


@dataclass
class Pair:
    """Two ``convene serve`` processes on one database, and how to start more."""

    config: Path
    database_url: str
    a: Server
    b: Server


@pytest.fixture(scope="module")
def hiring() -> LoadedBatch:
    return load_batch(EXAMPLE)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('jobs') / 'bookings.sqlite3'}"
        return
    admin: psycopg.Connection = request.getfixturevalue("pg_admin")
    schema = f"tj_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module")
def pair(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    config = write_config(tmp_path_factory.mktemp("jobs-config"))
    with convene_serve(config, database_url) as (first, port_a), convene_serve(config, database_url) as (second,
                                                                                                           port_b):
        channels = [grpc.insecure_channel(f"127.0.0.1:{p}") for p in (port_a, port_b)]
        try:
            yield Pair(config, database_url,
                       Server(first, port_a, channels[0], api_grpc.SchedulingServiceStub(channels[0])),
                       Server(second, port_b, channels[1], api_grpc.SchedulingServiceStub(channels[1])))
        finally:
            for channel in channels:
                channel.close()


# The job's behaviour above the store is the same on both backends, and the store's queries are
# tested on both (tests/server/booking/store/test_jobs.py): these run on SQLite in make test, and
# on PostgreSQL too with the slow runs (pytest -m slow), to keep make test under its 10 minutes.
SQLITE_IN_MAKE_TEST = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])],
    indirect=True)


def batch_request(hiring: LoadedBatch, items: int | None = None, *, time_limit: float = 60,
                  **fields: Any) -> api.OptimizeBatchRequest:
    batch = replace(hiring.batch, items=hiring.batch.items[:items], time_limit=time_limit)
    request = batch_request_to_proto(batch, now=HIRING_NOW)
    for name, value in fields.items():
        setattr(request, name, value)
    return request


def start(port_or_stub: int | api_grpc.SchedulingServiceStub, request: api.OptimizeBatchRequest,
          api_key: str = HIRING_KEY) -> api.StartBatchJobResponse:
    """StartBatchJob; given a port, over a channel of its own that is closed at once (the client leaves)."""
    if isinstance(port_or_stub, int):
        with grpc.insecure_channel(f"127.0.0.1:{port_or_stub}") as channel:
            reply: api.StartBatchJobResponse = api_grpc.SchedulingServiceStub(channel).StartBatchJob(
                api.StartBatchJobRequest(batch=request), metadata=key(api_key), timeout=10)
            return reply
    reply = port_or_stub.StartBatchJob(api.StartBatchJobRequest(batch=request), metadata=key(api_key), timeout=10)
    return reply


def get(server: Server, job_id: str, api_key: str = HIRING_KEY) -> batch_pb2.BatchJob:
    job: batch_pb2.BatchJob = server.stub.GetBatchJob(api.GetBatchJobRequest(job_id=job_id), metadata=key(api_key),
                                                      timeout=5).job
    return job


def watch(server: Server, job_id: str, timeout: float = 30) -> list[batch_pb2.BatchJob]:
    return [r.job for r in server.stub.WatchBatchJob(api.WatchBatchJobRequest(job_id=job_id), metadata=key(),
                                                     timeout=timeout)]


def until(condition: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def violations(error: grpc.RpcError) -> set[str]:
    status = rpc_status.from_call(error)
    assert status is not None
    found: set[str] = set()
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found |= {v.field for v in bad.field_violations}
    return found


def scheduled(result: batch_pb2.BatchResult) -> int:
    return sum(1 for i in result.items if i.WhichOneof("outcome") == "scheduled")


# --- Across processes -----------------------------------------------------------------------


def test_a_job_started_on_one_server_is_watched_and_cancelled_on_the_other(pair: Pair,
                                                                            hiring: LoadedBatch) -> None:
    started = start(pair.a.port, batch_request(hiring, time_limit=60))  # the client is gone after this
    job_id = started.job.id
    assert job_id.startswith("bj_") and not started.replayed and started.job.items == 14
    assert started.job.state in (batch_pb2.BATCH_JOB_STATE_QUEUED, batch_pb2.BATCH_JOB_STATE_RUNNING)

    # Through the other process: running, with progress on the way (the heartbeat stores it).
    until(lambda: get(pair.b, job_id).HasField("progress"))
    running = get(pair.b, job_id)
    assert running.state == batch_pb2.BATCH_JOB_STATE_RUNNING and running.progress.scheduled > 0
    assert not running.HasField("finish_time")

    watching = pair.b.stub.WatchBatchJob(api.WatchBatchJobRequest(job_id=job_id), metadata=key(), timeout=30)
    first = next(watching).job
    assert first.state == batch_pb2.BATCH_JOB_STATE_RUNNING

    cancelled_at = time.monotonic()
    reply = pair.b.stub.CancelBatchJob(api.CancelBatchJobRequest(job_id=job_id), metadata=key(), timeout=5).job
    assert reply.cancel_requested or reply.state == batch_pb2.BATCH_JOB_STATE_CANCELLED
    rest = [r.job for r in watching]
    assert rest and rest[-1].state == batch_pb2.BATCH_JOB_STATE_CANCELLED  # the stream ends at the final state
    assert all(j.state not in FINAL for j in rest[:-1])
    assert time.monotonic() - cancelled_at < 5  # the solver stopped long before its 60 s limit
    final = get(pair.a, job_id)
    assert final == rest[-1] and not final.cancel_requested and final.HasField("finish_time")
    # The best schedule found until the cancel, not booked.
    assert len(final.result.items) == 14 and scheduled(final.result) > 0 and not final.result.committed
    # Cancelling a finished job changes nothing.
    again = pair.a.stub.CancelBatchJob(api.CancelBatchJobRequest(job_id=job_id), metadata=key(), timeout=5).job
    assert again == final


@SQLITE_IN_MAKE_TEST
def test_a_finished_job_is_the_same_through_either_server(pair: Pair, hiring: LoadedBatch) -> None:
    job_id = start(pair.b.port, batch_request(hiring, 6, time_limit=2)).job.id
    seen = watch(pair.a, job_id)
    assert seen[-1].state == batch_pb2.BATCH_JOB_STATE_SUCCEEDED, seen[-1].error
    done = seen[-1]
    assert done.result.status in (batch_pb2.BATCH_STATUS_OPTIMAL, batch_pb2.BATCH_STATUS_FEASIBLE)
    assert len(done.result.items) == 6 and scheduled(done.result) == 6 and done.progress.scheduled == 6
    assert get(pair.b, job_id) == get(pair.a, job_id) == done
    assert done.create_time.ToDatetime() <= done.update_time.ToDatetime() == done.finish_time.ToDatetime()
    # Watching a finished job: one snapshot, at once.
    assert watch(pair.b, job_id, timeout=5) == [done]


def test_a_committing_job_books_once_under_its_id(pair: Pair, hiring: LoadedBatch) -> None:
    request = batch_request(hiring, 3, time_limit=2, commit=True, request_id=f"commit-{uuid.uuid4().hex[:8]}")
    started = start(pair.a.port, request)
    done = watch(pair.b, started.job.id)[-1]
    assert done.state == batch_pb2.BATCH_JOB_STATE_SUCCEEDED, done.error
    assert done.commit and done.result.committed and scheduled(done.result) == 3
    with open_store(pair.database_url, migrate=False) as store:
        booked = store.find_by_request_prefix("hiring", f"{started.job.id}/")
    assert sorted(b.id for b in booked) == sorted(i.booking_id for i in done.result.items)
    # The same request id again: the same job, nothing started or booked again.
    replay = start(pair.b.stub, request)
    assert replay.replayed and replay.job.id == started.job.id and replay.job == get(pair.a, started.job.id)
    # ... with another batch: refused.
    with pytest.raises(grpc.RpcError) as refused:
        start(pair.b.stub, batch_request(hiring, 2, time_limit=2, commit=True, request_id=request.request_id))
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert started.job.id in (refused.value.details() or "")


def test_a_job_whose_server_died_is_failed_with_the_reason(pair: Pair, hiring: LoadedBatch) -> None:
    with convene_serve(pair.config, pair.database_url) as (doomed, port):
        job_id = start(port, batch_request(hiring, time_limit=60)).job.id
        until(lambda: get(pair.b, job_id).state == batch_pb2.BATCH_JOB_STATE_RUNNING)
        doomed.send_signal(signal.SIGKILL)
        assert doomed.wait(10) == -signal.SIGKILL
    killed = time.monotonic()
    seen = watch(pair.b, job_id)  # ends once the lease has run out
    assert time.monotonic() - killed < LEASE_SECONDS + 3
    failed = seen[-1]
    assert failed.state == batch_pb2.BATCH_JOB_STATE_FAILED and failed.error_code == "UNAVAILABLE"
    assert "lease expired" in failed.error and "stopped" in failed.error
    assert get(pair.a, job_id) == failed


@SQLITE_IN_MAKE_TEST
def test_the_jobs_of_a_server_shut_down_gracefully_fail_at_once(pair: Pair, hiring: LoadedBatch) -> None:
    with convene_serve(pair.config, pair.database_url) as (leaving, port):
        job_id = start(port, batch_request(hiring, time_limit=60)).job.id
        until(lambda: get(pair.b, job_id).state == batch_pb2.BATCH_JOB_STATE_RUNNING)
        leaving.send_signal(signal.SIGTERM)
        assert leaving.wait(20) == 0
    failed = get(pair.b, job_id)  # at once: no lease to wait for
    assert failed.state == batch_pb2.BATCH_JOB_STATE_FAILED and failed.error_code == "UNAVAILABLE"
    assert "shut down" in failed.error and not failed.HasField("result")


@SQLITE_IN_MAKE_TEST
def test_jobs_past_the_solving_slots_wait_queued_and_too_many_are_refused(
        pair: Pair, hiring: LoadedBatch, tmp_path: Path) -> None:
    config = write_config(tmp_path, max_running_jobs=1)  # 1 solving, at most 25 unfinished
    with convene_serve(config, pair.database_url) as (_, port), grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = api_grpc.SchedulingServiceStub(channel)
        first = start(stub, batch_request(hiring, time_limit=60)).job.id
        until(lambda: get(pair.b, first).state == batch_pb2.BATCH_JOB_STATE_RUNNING)
        waiting = [start(stub, batch_request(hiring, 2, time_limit=60)).job.id for _ in range(24)]
        with pytest.raises(grpc.RpcError) as refused:
            start(stub, batch_request(hiring, 2, time_limit=60))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        time.sleep(1)
        queued = get(pair.b, waiting[0])
        assert queued.state == batch_pb2.BATCH_JOB_STATE_QUEUED and not queued.HasField("progress")
        # A queued job cancelled (through the other process) ends without ever solving.
        pair.b.stub.CancelBatchJob(api.CancelBatchJobRequest(job_id=waiting[0]), metadata=key(), timeout=5)
        ended = watch(pair.b, waiting[0], timeout=10)[-1]
        assert ended.state == batch_pb2.BATCH_JOB_STATE_CANCELLED and not ended.HasField("result")
        # The queued ones first: the running one's end would hand its slot to the next.
        for job_id in (*waiting[1:], first):
            stub.CancelBatchJob(api.CancelBatchJobRequest(job_id=job_id), metadata=key(), timeout=5)
        for job_id in (*waiting[1:], first):
            assert watch(pair.b, job_id, timeout=20)[-1].state == batch_pb2.BATCH_JOB_STATE_CANCELLED


# --- One tenant's jobs --------------------------------------------------------------------------


@SQLITE_IN_MAKE_TEST
def test_another_tenants_job_is_not_found(pair: Pair, hiring: LoadedBatch) -> None:
    job_id = start(pair.a.stub, batch_request(hiring, 2, time_limit=1)).job.id
    calls = (
        lambda: pair.b.stub.GetBatchJob(api.GetBatchJobRequest(job_id=job_id), metadata=key(OTHER_KEY), timeout=5),
        lambda: list(pair.b.stub.WatchBatchJob(api.WatchBatchJobRequest(job_id=job_id), metadata=key(OTHER_KEY),
                                               timeout=5)),
        lambda: pair.a.stub.CancelBatchJob(api.CancelBatchJobRequest(job_id=job_id), metadata=key(OTHER_KEY),
                                           timeout=5),
    )
    for call in calls:
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert job_id in (caught.value.details() or "")
    listed = pair.b.stub.ListBatchJobs(api.ListBatchJobsRequest(), metadata=key(OTHER_KEY), timeout=5)
    assert job_id not in {j.id for j in listed.jobs}
    # ... and the job is still there for its own tenant, not cancelled.
    assert watch(pair.b, job_id)[-1].state == batch_pb2.BATCH_JOB_STATE_SUCCEEDED


@SQLITE_IN_MAKE_TEST
def test_the_listing_pages_newest_first_without_results(pair: Pair, hiring: LoadedBatch) -> None:
    ids = [start(server.stub, batch_request(hiring, 1, time_limit=1)).job.id for server in (pair.a, pair.b) * 3]
    for job_id in ids:
        until(lambda job_id=job_id: get(pair.a, job_id).state in FINAL)
    pages: list[list[batch_pb2.BatchJob]] = []
    token = ""
    while True:
        reply = pair.b.stub.ListBatchJobs(api.ListBatchJobsRequest(page_size=4, page_token=token), metadata=key(),
                                          timeout=5)
        pages.append(list(reply.jobs))
        token = reply.next_page_token
        if not token:
            break
    listed = [j.id for page in pages for j in page]
    assert all(len(page) == 4 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 4
    assert listed == sorted(listed, reverse=True) and len(listed) == len(set(listed))
    assert listed[:6] == ids[::-1]  # the newest first, whichever process started them
    assert all(not j.HasField("result") and j.state in FINAL for page in pages for j in page)
    with pytest.raises(grpc.RpcError) as caught:
        pair.b.stub.ListBatchJobs(api.ListBatchJobsRequest(page_token="garbage"), metadata=key(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@SQLITE_IN_MAKE_TEST
def test_bad_input_is_refused_at_the_start_with_paths_under_batch(pair: Pair, hiring: LoadedBatch) -> None:
    request = batch_request(hiring, 2, time_limit=-1)
    request.items[1].priority = -3
    with pytest.raises(grpc.RpcError) as caught:
        start(pair.a.stub, request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {"batch.time_limit", "batch.items[1].priority"} <= violations(caught.value)
    for bad in ("", "no/slash"):
        with pytest.raises(grpc.RpcError) as caught:
            pair.a.stub.GetBatchJob(api.GetBatchJobRequest(job_id=bad), metadata=key(), timeout=5)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@SQLITE_IN_MAKE_TEST
def test_jobs_time_limit_not_the_starting_calls_deadline(pair: Pair, hiring: LoadedBatch) -> None:
    began = time.monotonic()
    reply = pair.a.stub.StartBatchJob(api.StartBatchJobRequest(batch=batch_request(hiring, time_limit=2)),
                                      metadata=key(), timeout=1)
    assert time.monotonic() - began < 1
    done = watch(pair.b, reply.job.id)[-1]
    assert done.state == batch_pb2.BATCH_JOB_STATE_SUCCEEDED
    assert timedelta(seconds=1.5) < done.result.wall_time.ToTimedelta() < timedelta(seconds=4)


# --- The command line ---------------------------------------------------------------------------


@SQLITE_IN_MAKE_TEST
def test_the_cli_starts_a_job_on_one_server_and_follows_it_on_the_other(
        pair: Pair, capsys: pytest.CaptureFixture[str]) -> None:
    on_a, on_b = f"127.0.0.1:{pair.a.port}", f"127.0.0.1:{pair.b.port}"
    assert main(["batch", str(EXAMPLE), "--target", on_a, "--api-key", HIRING_KEY, "--job", "--time-limit", "60",
                 "--quiet"]) == 0
    out, err = capsys.readouterr()
    job_id = out.strip()
    assert job_id.startswith("bj_") and f"convene job watch {job_id}" in err

    until(lambda: get(pair.b, job_id).HasField("progress"))
    assert main(["job", "get", job_id, "--target", on_b, "--api-key", HIRING_KEY]) == 0
    assert f"{job_id}  RUNNING" in capsys.readouterr().out
    assert main(["job", "cancel", job_id, "--target", on_b, "--api-key", HIRING_KEY]) == 0
    capsys.readouterr()
    assert main(["job", "watch", job_id, "--target", on_a, "--api-key", HIRING_KEY]) == 5  # CANCELLED
    lines = capsys.readouterr().out.splitlines()
    assert lines and "CANCELLED" in lines[-1] and "result" in lines[-1]
    assert main(["job", "list", "--target", on_b, "--api-key", HIRING_KEY, "--limit", "1"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith(f"{job_id}  CANCELLED") and len(listed) <= 2
    out_file = Path(str(pair.config.parent / "job-result.json"))
    assert main(["job", "get", job_id, "--target", on_a, "--api-key", HIRING_KEY, "--out", str(out_file)]) == 5
    assert len(json.loads(out_file.read_text())["items"]) == 14
    # An unknown job: the call's status, exit 1.
    assert main(["job", "get", "bj_0000", "--target", on_a, "--api-key", HIRING_KEY]) == 1
    assert "NOT_FOUND" in capsys.readouterr().err
