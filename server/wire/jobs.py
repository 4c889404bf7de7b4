"""Batch jobs (StartBatchJob, GetBatchJob, WatchBatchJob, CancelBatchJob, ListBatchJobs):
store records out as ``BatchJob`` messages, job ids and page tokens in.

The store keeps a job's latest progress and its result as the serialized
``BatchProgress`` / ``BatchResult`` the runner wrote (``server.batch.jobs``); they
are parsed back here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from convene.v1 import batch_pb2
from convene.v1 import scheduling_service_pb2 as api
from server.booking.store.jobs import JobRecord, JobState
from server.wire import paging
from solver.errors import FieldViolation, InvalidRequest

__all__ = ["STATES", "check_job_id", "job_to_proto", "list_after", "next_page_token"]

STATES = {
    JobState.QUEUED: batch_pb2.BATCH_JOB_STATE_QUEUED,
    JobState.RUNNING: batch_pb2.BATCH_JOB_STATE_RUNNING,
    JobState.SUCCEEDED: batch_pb2.BATCH_JOB_STATE_SUCCEEDED,
    JobState.FAILED: batch_pb2.BATCH_JOB_STATE_FAILED,
    JobState.CANCELLED: batch_pb2.BATCH_JOB_STATE_CANCELLED,
}
MAX_JOB_ID = 64
_JOB_ID = re.compile(r"^[A-Za-z0-9_.:-]+$")
# Page tokens of ListBatchJobs are bound to this (the request has no filters).
_LISTING = "batch-jobs"


def _timestamp(instant: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(instant.astimezone(UTC))
    return ts


def job_to_proto(job: JobRecord, *, with_result: bool = True) -> batch_pb2.BatchJob:
    message = batch_pb2.BatchJob(
        id=job.id, state=STATES[job.state], error=job.error, error_code=job.error_code, request_id=job.request_id,
        cancel_requested=job.cancel_requested and job.state in (JobState.QUEUED, JobState.RUNNING),
        items=job.items, commit=job.commit, create_time=_timestamp(job.created_at),
        update_time=_timestamp(job.updated_at))
    if job.finished_at is not None:
        message.finish_time.CopyFrom(_timestamp(job.finished_at))
    if job.progress:
        message.progress.ParseFromString(job.progress)
    if with_result and job.result:
        message.result.ParseFromString(job.result)
    return message


def check_job_id(job_id: str) -> str:
    """``job_id`` when it can name a job; INVALID_ARGUMENT when empty or malformed."""
    if not job_id:
        raise InvalidRequest([FieldViolation("job_id", "is required")])
    if len(job_id) > MAX_JOB_ID or not _JOB_ID.match(job_id):
        raise InvalidRequest([FieldViolation("job_id", "is not a batch job id (bj_...)")])
    return job_id


def list_after(request: api.ListBatchJobsRequest) -> str | None:
    """The id a ListBatchJobs page starts after (None: the first page); raises InvalidRequest."""
    try:
        key = paging.decode_key(request.page_token, paging.fingerprint(_LISTING), 1)
    except paging.InvalidPageToken as exc:
        raise InvalidRequest([FieldViolation("page_token", str(exc))]) from exc
    return key[0] if key is not None else None


def next_page_token(last: JobRecord) -> str:
    return paging.encode_key((last.id,), paging.fingerprint(_LISTING))
