"""``convene job``: batch jobs on a server (started by ``convene batch --target ... --job``).

    convene batch requests.json --target HOST:PORT --job [--commit --request-id R]   # prints the job's id
    convene job get JOB_ID --target HOST:PORT [--out result.json]
    convene job watch JOB_ID --target HOST:PORT        # a line per change, until the job ends
    convene job cancel JOB_ID --target HOST:PORT
    convene job list --target HOST:PORT [--limit N] [--page-token T]

Any process of the server's deployment answers for any job of the key's tenant.
``get --out`` writes the job's result (proto field names) once it has one.

Exit codes of ``get`` and ``watch``, by the job's state: 0 SUCCEEDED (or still
QUEUED/RUNNING, for ``get``), 4 SUCCEEDED but incomplete (a part of the batch
got no schedule), 5 CANCELLED, 3 FAILED because the solver could not run
(UNAVAILABLE or FAILED_PRECONDITION: a lost or unreachable cluster, a server
process that died), 1 FAILED otherwise. A failed call: 1, its status printed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from convene.v1 import batch_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc

__all__ = ["EXIT_CANCELLED", "add_job_command", "exit_code", "job_line"]

Stub = Callable[[argparse.Namespace], AbstractContextManager[api_grpc.SchedulingServiceStub]]
EXIT_CANCELLED = 5
_UNAVAILABLE, _INCOMPLETE, _FAILED = 3, 4, 1


def _state(job: batch_pb2.BatchJob) -> str:
    return str(batch_pb2.BatchJobState.Name(job.state)).removeprefix("BATCH_JOB_STATE_")


def job_line(job: batch_pb2.BatchJob) -> str:
    """The job in one line: id, state, and its progress, result or error."""
    text = f"{job.id}  {_state(job):<9}  {job.items} items" + ("  commit" if job.commit else "")
    if job.cancel_requested:
        text += "  (cancel requested)"
    if job.HasField("result"):
        r = job.result
        scheduled = sum(1 for i in r.items if i.WhichOneof("outcome") == "scheduled")
        status = batch_pb2.BatchStatus.Name(r.status).removeprefix("BATCH_STATUS_")
        text += (f"  result {status}  objective {r.objective:,.2f}  bound {r.best_bound:,.2f}  gap {r.gap:.1%}  "
                 f"scheduled {scheduled}/{len(r.items)}" + ("  committed" if r.committed else ""))
    elif job.HasField("progress"):
        p = job.progress
        text += (f"  [{p.elapsed.ToTimedelta().total_seconds():6.1f}s] {p.source:<6} objective {p.objective:,.2f}  "
                 f"bound {p.best_bound:,.2f}  gap {p.gap:.1%}  scheduled {p.scheduled}/{job.items}")
    if job.error:
        text += f"  {job.error_code}: {job.error}"
    return text


def exit_code(job: batch_pb2.BatchJob) -> int:
    """The command's exit code for the job's state (see the module docstring)."""
    if job.state == batch_pb2.BATCH_JOB_STATE_CANCELLED:
        return EXIT_CANCELLED
    if job.state == batch_pb2.BATCH_JOB_STATE_FAILED:
        return _UNAVAILABLE if job.error_code in ("UNAVAILABLE", "FAILED_PRECONDITION") else _FAILED
    if job.state == batch_pb2.BATCH_JOB_STATE_SUCCEEDED and job.result.incomplete_parts:
        return _INCOMPLETE
    return 0


def _when(ts: Any) -> str:
    return str(ts.ToDatetime(tzinfo=UTC).isoformat(timespec="seconds"))


def _details(job: batch_pb2.BatchJob) -> str:
    lines = [job_line(job), f"created {_when(job.create_time)}  updated {_when(job.update_time)}"
             + (f"  finished {_when(job.finish_time)}" if job.HasField("finish_time") else "")]
    if job.request_id:
        lines.append(f"request id {job.request_id}")
    for part in job.result.incomplete_parts:
        lines.append(f"INCOMPLETE part ({len(part.item_ids)} items): {part.reason}")
    return "\n".join(lines)


def add_job_command(subparsers: Any, connection_arguments: Callable[[argparse.ArgumentParser], None],
                    stub: Stub, to_json: Callable[[Message], str]) -> None:
    """Adds ``job`` (get, watch, cancel, list) to the ``convene`` parser's subcommands."""
    cmd = subparsers.add_parser("job", help="batch jobs on a server: get, watch, cancel, list")
    actions = cmd.add_subparsers(dest="action", required=True)

    def metadata(args: argparse.Namespace) -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {args.api_key}"),)

    def get(args: argparse.Namespace) -> int:
        with stub(args) as s:
            job = s.GetBatchJob(api.GetBatchJobRequest(job_id=args.job_id), metadata=metadata(args),
                                timeout=args.timeout).job
        print(to_json(job) if args.json else _details(job))
        if args.out and job.HasField("result"):
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(MessageToDict(job.result, preserving_proto_field_name=True), indent=2) + "\n",
                           encoding="utf-8")
            print(f"wrote {out}")
        return exit_code(job)

    def watch(args: argparse.Namespace) -> int:
        job = batch_pb2.BatchJob()
        with stub(args) as s:
            # No deadline by default: a job may run for its whole time limit (and wait its turn first).
            for reply in s.WatchBatchJob(api.WatchBatchJobRequest(job_id=args.job_id), metadata=metadata(args),
                                         timeout=args.watch_timeout):
                job = reply.job
                print(to_json(job) if args.json else job_line(job), flush=True)
        return exit_code(job)

    def cancel(args: argparse.Namespace) -> int:
        with stub(args) as s:
            job = s.CancelBatchJob(api.CancelBatchJobRequest(job_id=args.job_id), metadata=metadata(args),
                                   timeout=args.timeout).job
        print(to_json(job) if args.json else job_line(job))
        return 0

    def listing(args: argparse.Namespace) -> int:
        with stub(args) as s:
            reply = s.ListBatchJobs(api.ListBatchJobsRequest(page_size=args.limit, page_token=args.page_token),
                                    metadata=metadata(args), timeout=args.timeout)
        if args.json:
            print(to_json(reply))
            return 0
        for job in reply.jobs:
            print(f"{job_line(job)}  created {_when(job.create_time)}")
        if not reply.jobs:
            print("No batch jobs.")
        if reply.next_page_token:
            print(f"Next page: --page-token {reply.next_page_token}")
        return 0

    for name, help_text, run in (("get", "a job's state, progress and result", get),
                                 ("watch", "a line per change of the job, until it ends", watch),
                                 ("cancel", "stop a job (nothing is booked)", cancel)):
        action = actions.add_parser(name, help=help_text)
        connection_arguments(action)
        action.add_argument("job_id", help="the job's id (bj_...)")
        if name == "get":
            action.add_argument("--out", help="write the job's result here (JSON, proto field names)")
        if name == "watch":
            action.add_argument("--watch-timeout", type=float, default=None,
                                help="give up watching after this many seconds (default: never)")
        action.set_defaults(run=run)
    listed = actions.add_parser("list", help="the tenant's jobs, newest first")
    connection_arguments(listed)
    listed.add_argument("--limit", type=int, default=0, help="jobs per page (0: 100)")
    listed.add_argument("--page-token", default="", help="next_page_token of a previous page")
    listed.set_defaults(run=listing)
