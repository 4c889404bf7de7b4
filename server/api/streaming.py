"""How OptimizeBatch fails: its stream ends with a status, as the unary RPCs' do.

``server.api.errors.guarded`` wraps methods that return; a server-streaming method
returns a generator, whose errors surface only while the stream is read. So
``stream_guarded`` reads the stream itself and turns each exception into a
status with ``server.api.errors.status_for``, as every other RPC does
(INVALID_ARGUMENT with field violations, NOT_FOUND, RESOURCE_EXHAUSTED,
DEADLINE_EXCEEDED, the booking errors, INTERNAL), and

    CommitFailed  -> the status of the item's own refusal (FAILED_PRECONDITION with
                     SLOT_UNAVAILABLE and BookingConflictDetails, BOOKING_LIMIT_REACHED, ...),
                     its message naming the item and that nothing was booked, plus
                     google.rpc.ResourceInfo (resource_type "batch item", the item's id)
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.api.call import CallContext
from server.api.errors import EXPECTED_ERRORS, MAX_MESSAGE, fit, request_id_of, status_for
from server.batch.commit import CommitFailed
from solver.errors import cut

__all__ = ["commit_status", "failure_of", "stream_guarded"]

log = logging.getLogger("convene.server")
Handler = TypeVar("Handler", bound=Callable[..., Iterator[Any]])
_DETAILS_KEY = "grpc-status-details-bin"


def commit_status(exc: CommitFailed, request_id: str) -> grpc.Status:
    """The item's own status, its message saying which item was refused (nothing was booked)."""
    cause = status_for(exc.cause, request_id)
    rich = status_pb2.Status(code=cause.code.value[0], message=cause.details)
    for key, value in cause.trailing_metadata or ():
        if key == _DETAILS_KEY:
            rich = status_pb2.Status.FromString(value)
    rich.message = cut(exc.describe(cause.details), MAX_MESSAGE)  # an unexpected cause stays as opaque
    item = any_pb2.Any()
    item.Pack(error_details_pb2.ResourceInfo(
        resource_type="batch item", resource_name=exc.item_id,
        description=f"items[{exc.index}] could not be booked; nothing of the batch was"))
    rich.details.append(item)
    return cast(grpc.Status, rpc_status.to_status(fit(rich)))


def stream_guarded(method: Handler) -> Handler:
    """Wraps a server-streaming servicer method so that every exception ends the stream with
    a status (see the module docstring). The client's going away (GeneratorExit) passes."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: CallContext) -> Iterator[Any]:
        request_id = request_id_of(context)
        try:
            yield from method(self, request, context)
            return
        except CommitFailed as exc:
            if isinstance(exc.cause, EXPECTED_ERRORS):
                log.info("%s %s: %s", method.__name__, request_id, exc)
            else:
                log.error("%s %s: %s", method.__name__, request_id, exc, exc_info=exc.cause)
            status = commit_status(exc, request_id)
        except EXPECTED_ERRORS as exc:
            log.info("%s %s: %s", method.__name__, request_id, exc)
            status = status_for(exc, request_id)
        except Exception as exc:
            log.exception("%s %s failed", method.__name__, request_id)
            status = status_for(exc, request_id)
        context.abort_with_status(status)

    return cast(Handler, wrapper)


def failure_of(exc: BaseException) -> tuple[str, str]:
    """A batch job's failure as the (gRPC code name, message) OptimizeBatch's stream would have
    ended with; an unexpected one is logged with its traceback and stays opaque."""
    if isinstance(exc, CommitFailed):
        status = commit_status(exc, "batch job")
    else:
        if not isinstance(exc, EXPECTED_ERRORS):
            log.error("batch job failed", exc_info=exc)
        status = status_for(exc, "batch job")
    return status.code.name, status.details
