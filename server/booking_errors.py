"""How the booking RPCs fail: each booking error as a gRPC status with rich details.

    BookingRefused       -> FAILED_PRECONDITION  ErrorInfo SLOT_UNAVAILABLE, PreconditionFailure (one
                                                 violation per conflict), convene.v1.BookingConflictDetails
    LimitReached         -> FAILED_PRECONDITION  ErrorInfo BOOKING_LIMIT_REACHED (resource, period, limit)
    IdempotencyConflict  -> ALREADY_EXISTS       ErrorInfo REQUEST_ID_REUSED, BadRequest on request_id
    BookingNotFound      -> NOT_FOUND            ResourceInfo (booking), BadRequest on booking_id
    UnknownHold          -> NOT_FOUND            ResourceInfo (hold), BadRequest on hold_id
    InvalidBooking       -> INVALID_ARGUMENT     BadRequest, one violation per problem
    StoreUnavailable     -> UNAVAILABLE          the database cannot be reached (retry later)
    BookingsDisabled     -> UNIMPLEMENTED        this server was started without a booking store

A refusal is FAILED_PRECONDITION whether the re-check at commit found the
conflict or the store did (a concurrent booking won): either way the slot is
taken and retrying the same request cannot help. Everything else goes
through ``server.errors.status_for``, so every status carries RequestInfo.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.auth import Unauthenticated
from server.booking import BookingRefused, BookingsDisabled, UnknownHold
from server.convert_booking import conflict_details
from server.errors import ERROR_DOMAIN, request_id_of, status_for
from server.store import (
    BookingNotFound,
    IdempotencyConflict,
    InvalidBooking,
    LimitReached,
    StoreUnavailable,
)
from solver.errors import SchedulingError

__all__ = ["BOOKING_ERRORS", "booking_guarded", "booking_status"]

log = logging.getLogger("convene.server")
Handler = TypeVar("Handler", bound=Callable[..., Any])

BOOKING_ERRORS = (BookingRefused, LimitReached, IdempotencyConflict, BookingNotFound, UnknownHold, InvalidBooking,
                  StoreUnavailable, BookingsDisabled)


def _packed(details: list[Message]) -> list[any_pb2.Any]:
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return packed


def _violation(field: str, description: str) -> error_details_pb2.BadRequest:
    return error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field=field, description=description)])


def booking_status(exc: Exception, request_id: str) -> grpc.Status:
    """The status a booking error leaves the server as (see the module docstring)."""
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
        details.append(error_details_pb2.ResourceInfo(resource_type=kind, resource_name=name,
                                                      description=f"no {kind} {name!r}"))
        details.append(_violation(field, f"unknown {kind} id"))
    elif isinstance(exc, InvalidBooking):
        code = code_pb2.INVALID_ARGUMENT
        details.append(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in exc.violations]))
    elif isinstance(exc, StoreUnavailable):
        code = code_pb2.UNAVAILABLE
        message = f"the booking database is unavailable: {exc.reason}"
    else:  # BookingsDisabled
        code = code_pb2.UNIMPLEMENTED
    details.append(error_details_pb2.RequestInfo(request_id=request_id))
    status = status_pb2.Status(code=code, message=message, details=_packed(details))
    return cast(grpc.Status, rpc_status.to_status(status))


def booking_guarded(method: Handler) -> Handler:
    """``server.errors.guarded`` for the booking RPCs: booking errors get their own
    statuses, everything else the common ones. The one place such a failure
    turns into a status."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        request_id = request_id_of(context)
        try:
            return method(self, request, context)
        except BOOKING_ERRORS as exc:
            log.info("%s %s: %s", method.__name__, request_id, exc)
            status = booking_status(exc, request_id)
        except (SchedulingError, Unauthenticated, TimeoutError) as exc:
            log.info("%s %s: %s", method.__name__, request_id, exc)
            status = status_for(exc, request_id)
        except Exception as exc:
            log.exception("%s %s failed", method.__name__, request_id)
            status = status_for(exc, request_id)
        context.abort_with_status(status)

    return cast(Handler, wrapper)
