"""Every call, whatever its method or transport: its metrics and its access-log line.

``Access.finished`` is the one place a finished call is recorded, for both
transports: ``AccessInterceptor`` calls it for every gRPC method the server has
(the scheduling service, health, reflection, and any method added later) and
``server.api.connect`` for every call over HTTP (JSON, Connect, gRPC-Web). It

- counts the call in ``convene_rpc_handled_total{service, method, code}`` and its
  latency in ``convene_rpc_duration_seconds{service, method}`` (one series for
  both transports: an HTTP call's code is the gRPC code of its Connect error);
- writes one line to the ``convene.access`` logger (when the access log is on):

      method=FindSlots service=convene.v1.SchedulingService code=OK latency_ms=12.4 transport=grpc
      tenant=acme principal=ops@acme.example request_id=... request_bytes=120 response_bytes=5310 peer=ipv4:...

  as JSON keys with ``logging.format: json``. Sizes are the messages' protobuf
  sizes, whatever their encoding on the wire. Nothing else goes in: never the
  API key (the caller is named by tenant and principal), never a request's
  or reply's content, so no event detail can reach the log.

The tenant and principal are known only once the servicer has authenticated
the call: it says so through ``note_caller``. The request id (the caller's
``x-request-id`` when sane, else a fresh one) is fixed before the call runs
(``Call.opened``), so that the access line, the error details and every log
line of the call carry the same one.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextvars import Context, ContextVar, copy_context
from dataclasses import dataclass, field
from typing import Any

import grpc

from server.telemetry.metrics import RPC_DURATION, RPC_HANDLED

__all__ = ["Access", "AccessInterceptor", "Call", "current_request_id", "note_caller", "request_id_from"]

access_log = logging.getLogger("convene.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass
class Call:
    """One call being served: who (once ``note_caller`` said), its request id, when it arrived."""

    request_id: str
    tenant: str = ""
    principal: str = ""
    began: float = field(default_factory=time.perf_counter)

    @classmethod
    def opened(cls, metadata: Sequence[tuple[str, str | bytes]] | None) -> Call:
        """A call arriving now, with the caller's ``x-request-id`` when sane."""
        return cls(request_id_from(metadata))

    def context(self) -> Context:
        """A copy of this thread's context with this call as the current one: run the handler in it
        (``Context.run``) in a worker thread, where contextvars are not carried by themselves."""
        context = copy_context()
        context.run(_current.set, self)
        return context


_current: ContextVar[Call | None] = ContextVar("convene_call", default=None)


def request_id_from(metadata: Sequence[tuple[str, str | bytes]] | None) -> str:
    """The caller's ``x-request-id`` when it is a sane token, else a fresh id."""
    for key, value in metadata or ():
        if key == "x-request-id" and isinstance(value, str) and _SAFE_ID.match(value):
            return value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The request id of the call this thread is serving (None outside the interceptor)."""
    call = _current.get()
    return call.request_id if call is not None else None


def note_caller(tenant: str, principal: str) -> None:
    """Called by the servicer once it knows who is calling; the access line names them."""
    call = _current.get()
    if call is not None:
        call.tenant, call.principal = tenant, principal


def _size(message: Any) -> int:
    """A request's size (requests are small; a stream of them counts 0)."""
    size = getattr(message, "ByteSize", None)
    return int(size()) if size is not None else 0


def _as_bytes(message: Any) -> bytes:
    """The serializer of a handler that has none: its behavior already returns bytes."""
    return message if isinstance(message, bytes) else bytes(message)


class Access:
    """Where every finished call is counted (``metrics``) and logged (``access_log``), whichever
    transport carried it (see the module docstring)."""

    def __init__(self, *, metrics: bool = True, access_log: bool = True) -> None:
        self.metrics = metrics
        self.log = access_log
        # The series of each (service, method, code) once looked up: prometheus-client's
        # ``labels`` validates and locks on every call, which a call should not pay each time.
        self._series: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def finished(self, call: Call, service: str, method: str, code: str, *, transport: str, request_bytes: int,
                 response_bytes: int, peer: str, began: float | None = None) -> None:
        """Records ``call``, ended now with ``code`` (a ``grpc.StatusCode`` name: ``OK``, ``INVALID_ARGUMENT``)."""
        seconds = time.perf_counter() - (call.began if began is None else began)
        if self.metrics:
            key = (service, method, code)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = (RPC_HANDLED.labels(service, method, code),
                                              RPC_DURATION.labels(service, method))
            series[0].inc()
            series[1].observe(seconds)
        if not self.log:
            return
        fields = {"method": method, "service": service, "code": code, "latency_ms": round(seconds * 1000, 3),
                  "transport": transport, "tenant": call.tenant, "principal": call.principal,
                  "request_id": call.request_id, "request_bytes": request_bytes, "response_bytes": response_bytes,
                  "peer": peer}
        access_log.info("%s %s %.1f ms", method, code, seconds * 1000, extra={"fields": fields})


class AccessInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]  # grpc's base is untyped
    """Metrics (``metrics``) and one log line (``access_log``) per call, for every method (see the
    module docstring)."""

    def __init__(self, *, metrics: bool = True, access_log: bool = True) -> None:
        self._access = Access(metrics=metrics, access_log=access_log)
        # The observed handler of each of the server's handlers, built once: gRPC asks the
        # interceptors for every call, and the wrapping is the same every time.
        self._observed: dict[tuple[str, int], tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
                          details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        if handler is None:
            return None
        key = (details.method, id(handler))
        known = self._observed.get(key)
        if known is not None and known[0] is handler:
            return known[1]
        observed = self._observe(handler, details.method)
        self._observed[key] = (handler, observed)
        return observed

    def _observe(self, handler: grpc.RpcMethodHandler, full_method: str) -> grpc.RpcMethodHandler:
        service, _, method = full_method.lstrip("/").rpartition("/")
        # Replies are serialized here, inside the call (and its span), instead of by gRPC after it:
        # their size is then known for the access line without encoding them a second time.
        encode = handler.response_serializer or _as_bytes
        kinds = {"unary_unary": self._unary, "stream_unary": self._unary,
                 "unary_stream": self._streaming, "stream_stream": self._streaming}
        for kind, wrap in kinds.items():
            behavior = getattr(handler, kind)
            if behavior is not None:
                return handler._replace(**{kind: wrap(behavior, encode, service, method)},
                                        response_serializer=_as_bytes)
        return handler

    def _unary(self, behavior: Callable[[Any, grpc.ServicerContext], Any], encode: Callable[[Any], bytes],
               service: str, method: str) -> Callable[[Any, grpc.ServicerContext], bytes]:
        def observed(request: Any, context: grpc.ServicerContext) -> bytes:
            call, began = Call.opened(context.invocation_metadata()), time.perf_counter()
            token = _current.set(call)
            failed: BaseException | None = None
            reply = b""
            try:
                reply = encode(behavior(request, context))
                return reply
            except BaseException as exc:
                failed = exc
                raise
            finally:
                _current.reset(token)
                self._done(call, service, method, context, began, failed, _size(request), len(reply))

        return observed

    def _streaming(self, behavior: Callable[[Any, grpc.ServicerContext], Iterator[Any]],
                   encode: Callable[[Any], bytes], service: str,
                   method: str) -> Callable[[Any, grpc.ServicerContext], Iterator[bytes]]:
        def observed(request: Any, context: grpc.ServicerContext) -> Iterator[bytes]:
            call, began = Call.opened(context.invocation_metadata()), time.perf_counter()
            failed: BaseException | None = None
            sent = 0
            # gRPC reads a stream to its end in the thread that started it: one context throughout.
            token = _current.set(call)
            try:
                for response in behavior(request, context):
                    reply = encode(response)
                    sent += len(reply)
                    yield reply
            except BaseException as exc:
                failed = exc
                raise
            finally:
                _current.reset(token)
                self._done(call, service, method, context, began, failed, _size(request), sent)

        return observed

    def _done(self, call: Call, service: str, method: str, context: grpc.ServicerContext, began: float,
              failed: BaseException | None, request_bytes: int, response_bytes: int) -> None:
        code = context.code()
        if code is None:
            if isinstance(failed, GeneratorExit):
                code = grpc.StatusCode.CANCELLED
            else:
                code = grpc.StatusCode.OK if failed is None else grpc.StatusCode.UNKNOWN
        name = code.name if isinstance(code, grpc.StatusCode) else str(code)
        self._access.finished(call, service, method, name, transport="grpc", request_bytes=request_bytes,
                              response_bytes=response_bytes, peer=context.peer(),
                              began=began)
