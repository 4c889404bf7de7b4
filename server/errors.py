"""Every failure leaves as a gRPC status with rich details; never UNKNOWN.

    InvalidRequest       -> INVALID_ARGUMENT    google.rpc.BadRequest, one field violation per problem
    UnknownResource      -> NOT_FOUND           google.rpc.ResourceInfo + BadRequest naming the field
    LimitExceeded        -> RESOURCE_EXHAUSTED  google.rpc.ErrorInfo (reason LIMIT_EXCEEDED, the limit
                                                named in metadata) + BadRequest naming the field
    Unauthenticated      -> UNAUTHENTICATED
    TimeoutError         -> DEADLINE_EXCEEDED   the deadline ended the search before any result
    anything else        -> INTERNAL            logged with its traceback; the reply carries only
                                                the request id (google.rpc.RequestInfo)

Every status carries google.rpc.RequestInfo with the request id (the caller's
``x-request-id`` metadata, or a fresh one) so a reply can be matched to the log.
"""

from __future__ import annotations

import functools
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.auth import Unauthenticated
from solver.errors import InvalidRequest, LimitExceeded, SchedulingError, UnknownResource

__all__ = ["ERROR_DOMAIN", "guarded", "request_id_of", "status_for"]

ERROR_DOMAIN = "convene.v1"
log = logging.getLogger("convene.server")

Handler = TypeVar("Handler", bound=Callable[..., Any])
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_of(context: grpc.ServicerContext) -> str:
    """The caller's ``x-request-id`` when it is a sane token, else a fresh id."""
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id" and isinstance(value, str) and _SAFE_ID.match(value):
            return value
    return uuid.uuid4().hex


def _packed(*details: Message) -> list[any_pb2.Any]:
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


def status_for(exc: BaseException, request_id: str) -> grpc.Status:
    """The status (with details) a failure leaves the server as."""
    code: int
    details: list[Message] = []
    message = str(exc)
    if isinstance(exc, InvalidRequest):
        code = code_pb2.INVALID_ARGUMENT
        details.append(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in exc.violations]))
    elif isinstance(exc, UnknownResource):
        code = code_pb2.NOT_FOUND
        kind = _resource_type(exc.field)
        details.append(error_details_pb2.ResourceInfo(
            resource_type=kind, resource_name=exc.resource_id, description=f"no {kind} {exc.resource_id!r}"))
        details.append(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=exc.field, description=f"unknown {kind} id")]))
    elif isinstance(exc, LimitExceeded):
        code = code_pb2.RESOURCE_EXHAUSTED
        details.append(error_details_pb2.ErrorInfo(
            reason="LIMIT_EXCEEDED", domain=ERROR_DOMAIN,
            metadata={"limit": exc.limit_name, "max": str(exc.limit), "actual": str(exc.actual),
                      "field": exc.field}))
        details.append(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=exc.field, description=f"{exc.actual} exceeds the limit {exc.limit_name}={exc.limit}")]))
    elif isinstance(exc, Unauthenticated):
        code = code_pb2.UNAUTHENTICATED
    elif isinstance(exc, TimeoutError):
        code = code_pb2.DEADLINE_EXCEEDED
        message = "the deadline passed before any result was found"
    elif isinstance(exc, SchedulingError):
        code = code_pb2.INVALID_ARGUMENT
    else:
        code = code_pb2.INTERNAL
        message = f"internal error (request id {request_id})"
    details.append(error_details_pb2.RequestInfo(request_id=request_id))
    status = status_pb2.Status(code=code, message=message, details=_packed(*details))
    return cast(grpc.Status, rpc_status.to_status(status))


def guarded(method: Handler) -> Handler:
    """Wraps a servicer method so every exception becomes a status (see the module docstring).

    The method itself never calls ``context.abort``: it raises, and this is the
    one place a failure turns into a status.
    """

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        request_id = request_id_of(context)
        try:
            return method(self, request, context)
        except (SchedulingError, Unauthenticated, TimeoutError) as exc:
            log.info("%s %s: %s", method.__name__, request_id, exc)
            status = status_for(exc, request_id)
        except Exception as exc:
            log.exception("%s %s failed", method.__name__, request_id)
            status = status_for(exc, request_id)
        context.abort_with_status(status)

    return cast(Handler, wrapper)
