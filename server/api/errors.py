"""Every failure leaves as a gRPC status with rich details; never UNKNOWN. This module
is the one place an exception becomes a status, for every RPC (the streaming
OptimizeBatch adds its own wrapper, ``server.api.streaming``, on top of ``status_for``).

Scheduling (every RPC):

    InvalidRequest       -> INVALID_ARGUMENT    google.rpc.BadRequest, one field violation per problem
    UnknownResource      -> NOT_FOUND           google.rpc.ResourceInfo + BadRequest naming the field
    LimitExceeded        -> RESOURCE_EXHAUSTED  google.rpc.ErrorInfo (reason LIMIT_EXCEEDED, the limit
                                                named in metadata) + BadRequest naming the field
    Unauthenticated      -> UNAUTHENTICATED
    TimeoutError         -> DEADLINE_EXCEEDED   the deadline ended the search before any result

Batch solving (``server.batch.runner``):

    SolverUnavailable    -> UNAVAILABLE          ErrorInfo SOLVER_UNAVAILABLE: a worker process died, Dask
                                                 missing, the scheduler unreachable, the cluster lost
    ClusterWithoutWorkers -> FAILED_PRECONDITION ErrorInfo NO_WORKERS (scheduler), PreconditionFailure

Bookings (``server.booking.desk`` and ``server.booking.store``):

    BookingRefused       -> FAILED_PRECONDITION  ErrorInfo SLOT_UNAVAILABLE, PreconditionFailure (one
                                                 violation per conflict), convene.v1.BookingConflictDetails
    LimitReached         -> FAILED_PRECONDITION  ErrorInfo BOOKING_LIMIT_REACHED (resource, period, limit)
    IdempotencyConflict  -> ALREADY_EXISTS       ErrorInfo REQUEST_ID_REUSED, BadRequest on request_id
    BookingNotFound      -> NOT_FOUND            ResourceInfo (booking), BadRequest on booking_id
    UnknownHold          -> NOT_FOUND            ResourceInfo (hold), BadRequest on hold_id
    InvalidBooking       -> INVALID_ARGUMENT     BadRequest, one violation per problem
    StaleVersion         -> ABORTED              ErrorInfo STALE_ETAG (the current etag), BadRequest on etag
    BookingCancelled     -> FAILED_PRECONDITION  ErrorInfo BOOKING_CANCELLED
    StoreUnavailable     -> UNAVAILABLE          the database cannot be reached (retry later)
    BookingsDisabled     -> UNIMPLEMENTED        this server was started without a booking store

Batch jobs (``server.booking.store.jobs``):

    BatchJobNotFound     -> NOT_FOUND            ResourceInfo (batch job), BadRequest on job_id; also
                                                 another tenant's job
    JobRequestReused     -> ALREADY_EXISTS       ErrorInfo REQUEST_ID_REUSED (the first job's id),
                                                 BadRequest on batch.request_id

A refusal is FAILED_PRECONDITION whether the re-check at commit found the
conflict or the store did (a concurrent booking won): either way the slot is
taken and retrying the same request cannot help.

Anything else -> INTERNAL, logged with its traceback; the reply carries only
the request id.

Every status fits gRPC's metadata limits: a caller's value is quoted at most 200
characters (``solver.errors.quote``, marked as cut), the message at most 300, each
detail's text at most 400, at most 20 violations (then "and N more problems"), and
the whole status at most 3,000 bytes (the largest details dropped first).

Every status carries google.rpc.RequestInfo with the request id (the caller's
``x-request-id`` metadata, or a fresh one) so a reply can be matched to the log.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.api.access import current_request_id, request_id_from
from server.api.auth import Unauthenticated
from server.api.call import CallContext
from server.batch.runner import ClusterWithoutWorkers, SolverUnavailable
from server.booking.desk import BookingRefused, BookingsDisabled, UnknownHold
from server.booking.store import (
    BookingCancelled,
    BookingNotFound,
    IdempotencyConflict,
    InvalidBooking,
    LimitReached,
    StaleVersion,
    StoreUnavailable,
)
from server.booking.store.jobs import BatchJobNotFound, JobRequestReused
from server.booking.webhooks import UnknownWebhookEndpoint
from server.wire.booking import conflict_details
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, SchedulingError, UnknownResource, cut, quote

__all__ = ["BOOKING_ERRORS", "ERROR_DOMAIN", "EXPECTED_ERRORS", "fit", "guarded", "request_id_of", "status_for"]

ERROR_DOMAIN = "convene.v1"
# What a status may carry, so that it always fits gRPC's default metadata limit (8 KiB, the
# details base64-encoded and the message percent-encoded): values are quoted at most
# solver.errors.QUOTE_LIMIT characters, the message at most MAX_MESSAGE.
MAX_MESSAGE = 300
MAX_TEXT = 400
MAX_VIOLATIONS = 20
MAX_STATUS_BYTES = 3000
log = logging.getLogger("convene.server")

Handler = TypeVar("Handler", bound=Callable[..., Any])

BOOKING_ERRORS = (BookingRefused, LimitReached, IdempotencyConflict, BookingNotFound, UnknownHold, InvalidBooking,
                  StoreUnavailable, BookingsDisabled, UnknownWebhookEndpoint, StaleVersion, BookingCancelled,
                  BatchJobNotFound, JobRequestReused)
# Failures that are the caller's or the world's, not a bug: logged in one line, no traceback.
BATCH_ERRORS = (SolverUnavailable, ClusterWithoutWorkers)
EXPECTED_ERRORS = (*BOOKING_ERRORS, *BATCH_ERRORS, SchedulingError, Unauthenticated, TimeoutError)


def request_id_of(context: CallContext) -> str:
    """The call's request id (``server.api.access`` fixed it: the caller's ``x-request-id`` when sane)."""
    return current_request_id() or request_id_from(context.invocation_metadata())


def _packed(details: list[Message]) -> list[any_pb2.Any]:
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return packed


def _resource_type(field: str) -> str:
    """What kind of id a request field holds, from its path."""
    last = field.rsplit(".", 1)[-1]
    return next((kind for kind in ("template", "pool", "room") if kind in last), "member")


def _violation(field: str, description: str) -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field=field, description=description)])


def _bad_request(violations: Sequence[FieldViolation]) -> error_details_pb2.BadRequest:
    shown = list(violations[:MAX_VIOLATIONS])
    if len(violations) > MAX_VIOLATIONS:
        shown.append(FieldViolation("", f"and {len(violations) - MAX_VIOLATIONS} more problems"))
    return error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description) for v in shown])


def status_for(exc: BaseException, request_id: str) -> grpc.Status:
    """The status (with details) a failure leaves the server as (see the module docstring)."""
    if isinstance(exc, BOOKING_ERRORS):
        code, message, details = _booking_failure(exc)
    else:
        code, message, details = _failure(exc, request_id)
    details = [_bounded(d) for d in details]
    details.append(error_details_pb2.RequestInfo(request_id=request_id))
    status = status_pb2.Status(code=code, message=cut(message, MAX_MESSAGE), details=_packed(details))
    return cast(grpc.Status, rpc_status.to_status(fit(status)))


def _bounded(detail: Message) -> Message:
    """``detail`` with every string cut to ``MAX_TEXT`` and every list to ``MAX_VIOLATIONS`` entries."""
    for descriptor, value in detail.ListFields():
        if descriptor.type == descriptor.TYPE_STRING and not descriptor.is_repeated and len(value) > MAX_TEXT:
            setattr(detail, descriptor.name, cut(value, MAX_TEXT))
        elif descriptor.message_type is not None and descriptor.message_type.GetOptions().map_entry:
            for key in list(value):
                if isinstance(value[key], str):
                    value[key] = cut(value[key], MAX_TEXT)
        elif descriptor.message_type is not None and descriptor.is_repeated:
            del value[MAX_VIOLATIONS + 1:]
            for item in value:
                _bounded(item)
        elif descriptor.message_type is not None:
            _bounded(value)
    return detail


def fit(status: status_pb2.Status) -> status_pb2.Status:
    """``status`` small enough for gRPC's metadata limit (8 KiB: the message is sent once as
    text, once inside the binary details): the largest details are dropped until it fits, the
    request id last."""
    while status.ByteSize() > MAX_STATUS_BYTES and len(status.details) > 1:
        largest = max(range(len(status.details) - 1), key=lambda i: status.details[i].ByteSize())
        del status.details[largest]
    return status


def _failure(exc: BaseException, request_id: str) -> tuple[int, str, list[Message]]:
    """Code, message and details of a scheduling failure, or INTERNAL for anything unexpected."""
    code: int
    details: list[Message] = []
    message = str(exc)
    if isinstance(exc, InvalidRequest):
        code = code_pb2.INVALID_ARGUMENT
        details.append(_bad_request(exc.violations))
    elif isinstance(exc, UnknownResource):
        code = code_pb2.NOT_FOUND
        kind = _resource_type(exc.field)
        details.append(error_details_pb2.ResourceInfo(
            resource_type=kind, resource_name=cut(exc.resource_id), description=f"no {kind} {quote(exc.resource_id)}"))
        details.append(_violation(exc.field, f"unknown {kind} id"))
    elif isinstance(exc, LimitExceeded):
        code = code_pb2.RESOURCE_EXHAUSTED
        details.append(error_details_pb2.ErrorInfo(
            reason="LIMIT_EXCEEDED", domain=ERROR_DOMAIN,
            metadata={"limit": exc.limit_name, "max": str(exc.limit), "actual": str(exc.actual),
                      "field": exc.field}))
        details.append(_violation(exc.field, f"{exc.actual} exceeds the limit {exc.limit_name}={exc.limit}"))
    elif isinstance(exc, Unauthenticated):
        code = code_pb2.UNAUTHENTICATED
    elif isinstance(exc, TimeoutError):
        code = code_pb2.DEADLINE_EXCEEDED
        message = "the deadline passed before any result was found"
    elif isinstance(exc, SchedulingError):
        code = code_pb2.INVALID_ARGUMENT
    elif isinstance(exc, SolverUnavailable):
        code = code_pb2.UNAVAILABLE
        details.append(error_details_pb2.ErrorInfo(reason="SOLVER_UNAVAILABLE", domain=ERROR_DOMAIN))
    elif isinstance(exc, ClusterWithoutWorkers):
        code = code_pb2.FAILED_PRECONDITION
        details.append(error_details_pb2.ErrorInfo(reason="NO_WORKERS", domain=ERROR_DOMAIN,
                                                   metadata={"scheduler": cut(exc.scheduler)}))
        details.append(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(type="NO_WORKERS", subject=cut(exc.scheduler),
                                                            description=message)]))
    else:
        code = code_pb2.INTERNAL
        message = f"internal error (request id {request_id})"
    return code, message, details


def _booking_failure(exc: BaseException) -> tuple[int, str, list[Message]]:
    """Code, message and details of one of ``BOOKING_ERRORS``."""
    code: int
    details: list[Message] = []
    message = str(exc)
    if isinstance(exc, BookingRefused):
        code = code_pb2.FAILED_PRECONDITION
        resources = sorted({c.resource_id for c in exc.conflicts} | {u.resource_id for u in exc.unavailable})
        details.append(error_details_pb2.ErrorInfo(reason="SLOT_UNAVAILABLE", domain=ERROR_DOMAIN,
                                                   metadata={"resources": ",".join(resources)}))
        details.append(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type="SLOT_UNAVAILABLE", subject=c.resource_id,
                description=f"{c.kind.value} {c.start.isoformat()} - {c.end.isoformat()}")
            for c in exc.conflicts]))
        details.append(conflict_details(exc))
    elif isinstance(exc, LimitReached):
        code = code_pb2.FAILED_PRECONDITION
        details.append(error_details_pb2.ErrorInfo(
            reason="BOOKING_LIMIT_REACHED", domain=ERROR_DOMAIN,
            metadata={"resource_id": exc.resource_id, "period": exc.period, "limit": str(exc.limit),
                      "count": str(exc.count)}))
        details.append(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(type="BOOKING_LIMIT", subject=exc.resource_id,
                                                            description=message)]))
    elif isinstance(exc, IdempotencyConflict):
        code = code_pb2.ALREADY_EXISTS
        details.append(error_details_pb2.ErrorInfo(
            reason="REQUEST_ID_REUSED", domain=ERROR_DOMAIN,
            metadata={"request_id": exc.request_id, "booking_id": exc.booking_id}))
        details.append(_violation("request_id", "already used with a different body: use a new request_id "
                                                "for a different booking"))
    elif isinstance(exc, BookingNotFound | UnknownHold):
        code = code_pb2.NOT_FOUND
        kind, field = ("hold", "hold_id") if isinstance(exc, UnknownHold) else ("booking", "booking_id")
        name = exc.hold_id if isinstance(exc, UnknownHold) else exc.booking_id
        details.append(error_details_pb2.ResourceInfo(resource_type=kind, resource_name=cut(name),
                                                      description=f"no {kind} {quote(name)}"))
        details.append(_violation(field, f"unknown {kind} id"))
    elif isinstance(exc, UnknownWebhookEndpoint):
        code = code_pb2.NOT_FOUND
        details.append(error_details_pb2.ResourceInfo(resource_type="webhook endpoint",
                                                      resource_name=cut(exc.endpoint_id),
                                                      description=f"no webhook endpoint {quote(exc.endpoint_id)}"))
        details.append(_violation("endpoint_id", "unknown webhook endpoint id"))
    elif isinstance(exc, BatchJobNotFound):
        code = code_pb2.NOT_FOUND
        details.append(error_details_pb2.ResourceInfo(resource_type="batch job", resource_name=cut(exc.job_id),
                                                      description=f"no batch job {quote(exc.job_id)}"))
        details.append(_violation("job_id", "unknown batch job id"))
    elif isinstance(exc, JobRequestReused):
        code = code_pb2.ALREADY_EXISTS
        details.append(error_details_pb2.ErrorInfo(
            reason="REQUEST_ID_REUSED", domain=ERROR_DOMAIN,
            metadata={"request_id": cut(exc.request_id), "job_id": exc.job_id}))
        details.append(_violation("batch.request_id", "already started another batch: use a new request_id"))
    elif isinstance(exc, InvalidBooking):
        code = code_pb2.INVALID_ARGUMENT
        details.append(_bad_request(exc.violations))
    elif isinstance(exc, StaleVersion):
        code = code_pb2.ABORTED
        details.append(error_details_pb2.ErrorInfo(
            reason="STALE_ETAG", domain=ERROR_DOMAIN,
            metadata={"booking_id": exc.booking_id, "etag": str(exc.actual)}))
        details.append(_violation("etag", f"the booking is at etag {exc.actual}: read it again"))
    elif isinstance(exc, BookingCancelled):
        code = code_pb2.FAILED_PRECONDITION
        details.append(error_details_pb2.ErrorInfo(reason="BOOKING_CANCELLED", domain=ERROR_DOMAIN,
                                                   metadata={"booking_id": exc.booking_id}))
    elif isinstance(exc, StoreUnavailable):
        code = code_pb2.UNAVAILABLE
        message = f"the booking database is unavailable: {exc.reason}"
    else:  # BookingsDisabled
        code = code_pb2.UNIMPLEMENTED
    return code, message, details


def guarded(method: Handler) -> Handler:
    """Wraps a servicer method so every exception becomes a status (see the module docstring).

    The method itself never calls ``context.abort``: it raises, and this is the
    one place a failure turns into a status.
    """

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: CallContext) -> Any:
        request_id = request_id_of(context)
        try:
            return method(self, request, context)
        except EXPECTED_ERRORS as exc:
            log.info("%s %s: %s", method.__name__, request_id, exc)
            status = status_for(exc, request_id)
        except Exception as exc:
            log.exception("%s %s failed", method.__name__, request_id)
            status = status_for(exc, request_id)
        context.abort_with_status(status)

    return cast(Handler, wrapper)
