"""The SchedulingService over the Connect protocol (connect-python): HTTP/JSON, Connect with
binary protobuf, and gRPC-Web, served by the very servicer the gRPC server runs.

    POST /convene.v1.SchedulingService/FindSlots    content-type: application/json
    authorization: Bearer <api key>                  connect-timeout-ms: 5000   (optional)

No RPC is written twice. The endpoints are read off the service's descriptor:
every method of the proto is served, an RPC added to the servicer later too,
without code here. Each call runs the servicer method in a worker thread with
a ``ConnectCall`` as its context (``server.api.call.CallContext``):

    request headers                      -> invocation_metadata(): authorization, x-request-id
    connect-timeout-ms / grpc-timeout    -> time_remaining(); past it the caller gets
                                            DEADLINE_EXCEEDED, as from grpcio
    caller gone, deadline passed         -> is_active() is False: the solver stops
    abort_with_status(grpc.Status)       -> ConnectError with the same code, message and
                                            google.rpc details (``guarded`` made them)

Every call is recorded as a gRPC call is (``server.api.access.Access.finished``):
counted by its gRPC code name (a ConnectError's code, OK on success) and logged
with ``transport=http``, its request id (the ``x-request-id`` header when sane)
set for the handler in its worker thread, the caller's address as ``peer``.

The limits are gRPC's: at most ``max_concurrent_rpcs`` calls in flight on this
transport (past that RESOURCE_EXHAUSTED at once) and request messages of at
most 4 MiB. A body that is not the request's proto JSON (or protobuf) is
INVALID_ARGUMENT naming the field where the parser stopped.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from concurrent.futures import Executor
from contextvars import ContextVar
from typing import Any, NoReturn

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo
from connectrpc.request import RequestContext
from connectrpc.server import ConnectASGIApplication, Endpoint
from google.protobuf import descriptor_pb2, json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2

from server.api.access import Access, Call

__all__ = ["MAX_MESSAGE_BYTES", "ConnectCall", "ServiceApp", "connect_error", "watch_disconnect"]

log = logging.getLogger("convene.server")

# grpcio's default limit on a received message, so both transports accept the same requests.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
_DETAILS_KEY = "grpc-status-details-bin"
# Connect's codes are gRPC's, by number (1 canceled ... 16 unauthenticated), in the enum's order.
_CODE_OF_NUMBER = dict(enumerate(Code, start=1))
# And back: a Connect code's gRPC name, for the metrics and the access log (CANCELED -> CANCELLED).
_GRPC_NAME = {code: grpc_code.name for number, code in _CODE_OF_NUMBER.items()
              for grpc_code in grpc.StatusCode if grpc_code.value[0] == number}
# The client's going away, as the ASGI wrapper below sees it, for the call that runs in this task.
_client_gone: ContextVar[threading.Event | None] = ContextVar("convene_client_gone", default=None)


class ConnectCall:
    """A Connect call as a servicer method sees it (``server.api.call.CallContext``)."""

    def __init__(self, ctx: RequestContext[Any, Any], gone: threading.Event | None = None) -> None:
        self._ctx = ctx
        self._gone = gone or threading.Event()
        self._metadata = tuple((key.lower(), value) for key, value in ctx.request_headers().allitems())
        self._code: Any = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def time_remaining(self) -> float | None:
        milliseconds = self._ctx.timeout_ms()
        return None if milliseconds is None else max(milliseconds / 1000, 0.0)

    def is_active(self) -> bool:
        remaining = self.time_remaining()
        return not self._gone.is_set() and (remaining is None or remaining > 0)

    def end(self) -> None:
        """The caller will read no more (gone, or the deadline answered): ``is_active`` turns False."""
        self._gone.set()

    def abort_with_status(self, status: Any) -> NoReturn:
        raise connect_error(status)

    # The generated servicer base answers an RPC it does not implement through these two.
    def set_code(self, code: Any) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        """Ignored: the base's NotImplementedError says it (see ``_unexpected``)."""

    @property
    def unimplemented(self) -> bool:
        return getattr(self._code, "name", None) == "UNIMPLEMENTED"


def connect_error(status: Any) -> ConnectError:
    """A ``grpc.Status`` (as ``server.api.errors.status_for`` builds it) as a ConnectError, details and all."""
    code = _CODE_OF_NUMBER.get(status.code.value[0], Code.UNKNOWN)
    details: list[Any] = []
    for key, value in status.trailing_metadata or ():
        if key == _DETAILS_KEY:
            details = list(status_pb2.Status.FromString(value).details)
    return ConnectError(code, status.details or "", details)


class _Admission:
    """At most ``limit`` calls in flight; past that a call is refused at once, as grpcio refuses it."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._in_flight = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            if self._in_flight >= self._limit:
                raise ConnectError(Code.RESOURCE_EXHAUSTED, "Concurrent RPC limit exceeded!")
            self._in_flight += 1

    def leave(self, *_: object) -> None:
        with self._lock:
            self._in_flight -= 1


def _deadline_error() -> ConnectError:
    return ConnectError(Code.DEADLINE_EXCEEDED, "Deadline Exceeded")


def _unexpected(exc: Exception, call: ConnectCall, method: str) -> ConnectError:
    """What leaves when a servicer method raised past ``guarded`` (only the generated base does)."""
    if call.unimplemented or isinstance(exc, NotImplementedError):
        return ConnectError(Code.UNIMPLEMENTED, "Method not implemented!")
    log.exception("%s failed outside its guard", method)
    return ConnectError(Code.INTERNAL, "internal error")


class _Runner:
    """Runs servicer methods in worker threads under the admission limit and the call's deadline."""

    def __init__(self, pool: Executor, admission: _Admission, service: str, access: Access | None) -> None:
        self._pool = pool
        self._admission = admission
        self._service = service
        self._access = access

    def _done(self, call: Call, ctx: RequestContext[Any, Any], method: str, failed: BaseException | None,
              request: Message, response_bytes: int) -> None:
        """Counts and logs the call (``Access``), ended with ``failed`` (None: OK)."""
        if self._access is None:
            return
        if failed is None:
            code = "OK"
        elif isinstance(failed, ConnectError):
            code = _GRPC_NAME.get(failed.code, "UNKNOWN")
        elif isinstance(failed, (asyncio.CancelledError, GeneratorExit)):
            code = "CANCELLED"  # the caller went away
        else:
            code = "UNKNOWN"
        self._access.finished(call, self._service, method, code, transport="http",
                              request_bytes=request.ByteSize(), response_bytes=response_bytes,
                              peer=_peer(ctx.client_address()))

    def unary(self, name: str, handler: Callable[[Message, ConnectCall], Message]) -> Callable[..., Any]:
        async def run(request: Message, ctx: RequestContext[Any, Any]) -> Message:
            self._admission.enter()  # refused past the limit uncounted, as grpcio refuses before the interceptor
            call = ConnectCall(ctx, _client_gone.get())
            record = Call.opened(call.invocation_metadata())
            # The slot is freed when the method returns, not when the caller gives up on it.
            future = asyncio.get_running_loop().run_in_executor(
                self._pool, record.context().run, handler, request, call)
            future.add_done_callback(self._admission.leave)
            failed: BaseException | None = None
            reply: Message | None = None
            try:
                reply = await asyncio.wait_for(asyncio.shield(future), call.time_remaining())
                return reply
            except TimeoutError:
                call.end()
                failed = _deadline_error()
                raise failed from None
            except ConnectError as exc:
                failed = exc
                raise
            except Exception as exc:
                failed = _unexpected(exc, call, name)
                raise failed from exc
            except BaseException as exc:
                failed = exc
                raise
            finally:
                if not future.done():
                    call.end()
                self._done(record, ctx, name, failed, request, reply.ByteSize() if reply is not None else 0)

        return run

    def server_stream(self, name: str,
                      handler: Callable[[Message, ConnectCall], Generator[Message, None, None]]) -> Callable[..., Any]:
        async def run(request: Message, ctx: RequestContext[Any, Any]) -> AsyncIterator[Message]:
            self._admission.enter()
            call = ConnectCall(ctx, _client_gone.get())
            record = Call.opened(call.invocation_metadata())
            # One context for every step of the generator, one step at a time (never two threads at once).
            context = record.context()
            loop = asyncio.get_running_loop()
            messages = handler(request, call)  # a generator: nothing runs before the first next()
            done = object()
            pending: asyncio.Future[Any] | None = None
            failed: BaseException | None = None
            sent = 0

            def step() -> Any:
                return next(messages, done)

            try:
                while True:
                    pending = loop.run_in_executor(self._pool, context.run, step)
                    try:
                        message = await asyncio.wait_for(asyncio.shield(pending), call.time_remaining())
                    except TimeoutError:
                        raise _deadline_error() from None
                    except ConnectError:
                        raise
                    except Exception as exc:
                        raise _unexpected(exc, call, name) from exc
                    if message is done:
                        return
                    sent += message.ByteSize()
                    yield message
            except BaseException as exc:
                failed = exc
                raise
            finally:
                call.end()
                self._done(record, ctx, name, failed, request, sent)
                # Close the generator in a worker thread once no next() runs in one; then free the slot.
                def close(*_: object) -> None:
                    self._pool.submit(context.run, messages.close).add_done_callback(self._admission.leave)

                if pending is not None and not pending.done():
                    pending.add_done_callback(close)
                else:
                    close()

        return run


def _peer(address: str | None) -> str:
    """The HTTP client's ``host:port`` as gRPC names a peer (``ipv4:127.0.0.1:5000``, ``ipv6:[::1]:5000``)."""
    if not address:
        return ""
    host, _, port = address.rpartition(":")
    return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"


def _idempotency(method: MethodDescriptor) -> IdempotencyLevel:
    """The proto's ``idempotency_level`` option (NO_SIDE_EFFECTS methods may also be called with GET)."""
    level = method.GetOptions().idempotency_level
    return {descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS: IdempotencyLevel.NO_SIDE_EFFECTS,
            descriptor_pb2.MethodOptions.IDEMPOTENT: IdempotencyLevel.IDEMPOTENT}.get(level, IdempotencyLevel.UNKNOWN)


def endpoints(servicer: object, service: ServiceDescriptor, runner: _Runner) -> dict[str, Any]:
    """Path -> endpoint for every method of ``service`` (client-streaming ones would be gRPC only: none exist)."""
    out: dict[str, Any] = {}
    for method in service.methods:
        info: MethodInfo[Any, Any] = MethodInfo(
            name=method.name, service_name=service.full_name,
            input=message_factory.GetMessageClass(method.input_type),
            output=message_factory.GetMessageClass(method.output_type),
            idempotency_level=_idempotency(method))
        handler = getattr(servicer, method.name)
        path = f"/{service.full_name}/{method.name}"
        if method.client_streaming:
            continue
        if method.server_streaming:
            out[path] = Endpoint.server_stream(info, runner.server_stream(method.name, handler))
        else:
            out[path] = Endpoint.unary(info, runner.unary(method.name, handler))
    return out


# --- Request bodies: their size, their compression ---------------------------------------

# What a request body may hold beyond its message: a stream's envelope prefixes (5 bytes each)
# and end-of-stream frame. Past the message limit plus this, the body is not read any further.
_BODY_SLACK = 64 * 1024


def _too_large(what: str) -> ConnectError:
    return ConnectError(Code.RESOURCE_EXHAUSTED, f"message is larger than configured max {MAX_MESSAGE_BYTES}"
                        f" ({what})", [error_details_pb2.BadRequest(field_violations=[
                            error_details_pb2.BadRequest.FieldViolation(
                                field="body", description=f"at most {MAX_MESSAGE_BYTES} bytes")])])


class BoundedGzip:
    """gzip (``content-encoding`` / ``connect-content-encoding``) that stops inflating one byte past
    the message limit, so a small compressed body never becomes a huge one in memory; a body that is
    not gzip is the caller's INVALID_ARGUMENT, never UNKNOWN."""

    def name(self) -> str:
        return "gzip"

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        return compressor.compress(data) + compressor.flush()

    def decompress(self, data: bytes | bytearray | memoryview) -> bytes:
        inflater = zlib.decompressobj(31)
        try:
            out = inflater.decompress(data, MAX_MESSAGE_BYTES + 1)
            complete = inflater.eof
        except zlib.error as exc:
            raise _bad_gzip(str(exc)) from exc
        if len(out) > MAX_MESSAGE_BYTES:
            raise _too_large(f"over {MAX_MESSAGE_BYTES} bytes after gzip")
        if not complete:
            raise _bad_gzip("the gzip stream is truncated")
        return out


def _bad_gzip(why: str) -> ConnectError:
    text = f"the request body is not valid gzip: {why[:200]}"
    return ConnectError(Code.INVALID_ARGUMENT, text, [error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field="body", description=text)])])


# --- Request bodies that do not parse ----------------------------------------------------

_AT = re.compile(r'\bat "?[A-Za-z_]\w*([\w.\[\]]*?)"?\.*(?:\s|$)')
_NO_FIELD = re.compile(r'has no field named "([^"]{1,200})"')
_FAILED_FIELD = re.compile(r"^Failed to parse (\w+) field")


def _field_of(message: str) -> str:
    """The request field a protobuf JSON parse error stopped at (``rules.seats[0].member``), or "body"."""
    at = _AT.search(message)
    path = at.group(1).strip(".") if at else ""
    unknown = _NO_FIELD.search(message)
    if unknown:
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
    elif not path and (failed := _FAILED_FIELD.match(message)):
        path = failed.group(1)
    return path or "body"


class _StrictCodec:
    """A codec whose undecodable input is INVALID_ARGUMENT with the field, never UNKNOWN."""

    def __init__(self, codec: Any) -> None:
        self._codec = codec

    def name(self) -> str:
        name: str = self._codec.name()
        return name

    def encode(self, message: Any) -> bytes:
        encoded: bytes = self._codec.encode(message)
        return encoded

    def decode(self, data: bytes | bytearray, message: Any) -> Any:
        try:
            return self._codec.decode(data, message)
        except (json_format.ParseError, DecodeError, UnicodeDecodeError, ValueError) as exc:
            text = str(exc)[:200]
            field = _field_of(text) if isinstance(exc, json_format.ParseError) else "body"
            raise ConnectError(Code.INVALID_ARGUMENT, f"the request body is not a {message.DESCRIPTOR.name}: {text}",
                               [error_details_pb2.BadRequest(field_violations=[
                                   error_details_pb2.BadRequest.FieldViolation(field=field, description=text)])],
                               ) from exc


class ServiceApp(ConnectASGIApplication[object]):
    """The ASGI application of one servicer's service (mount it at ``path``)."""

    def __init__(self, servicer: object, service: ServiceDescriptor, pool: Executor, max_in_flight: int,
                 access: Access | None = None) -> None:
        runner = _Runner(pool, _Admission(max_in_flight), service.full_name, access)
        self._path = f"/{service.full_name}"
        self.methods: Mapping[str, Any] = endpoints(servicer, service, runner)
        super().__init__(service=servicer, endpoints=lambda _: self.methods, read_max_bytes=MAX_MESSAGE_BYTES,
                         compressions=[BoundedGzip()])

    @property
    def path(self) -> str:
        return self._path

    # connect-python 0.9 decodes in these two; the codec passed in is wrapped so a bad body is the
    # caller's INVALID_ARGUMENT (tests/server/api/test_http.py pins the behaviour).
    async def _handle_unary_connect(self, http_method: str, headers: Any, codec: Any, *args: Any) -> None:
        await super()._handle_unary_connect(http_method, headers, _StrictCodec(codec), *args)

    async def _handle_stream(self, receive: Any, send: Any, protocol: Any, endpoint: Any, codec: Any,
                             *args: Any) -> None:
        await super()._handle_stream(receive, send, protocol, endpoint, _StrictCodec(codec), *args)


def watch_disconnect(app: Callable[..., Any]) -> Callable[..., Any]:
    """ASGI wrapper: once a request's body is read, a task listens for the client going away and
    sets the event a ``ConnectCall`` reads (``is_active``). Later ``receive()`` calls of the app
    get the message that task saw, so connect-python's own stream watcher works on as before.

    It also bounds the body: past the message limit (and a stream's framing) it is not read on,
    the call is RESOURCE_EXHAUSTED (connect-python would read any body into memory first)."""

    async def wrapped(scope: Any, receive: Callable[[], Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        gone = threading.Event()
        watcher: asyncio.Task[Any] | None = None
        received = 0

        async def listen() -> Any:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
            return message

        async def watched() -> Any:
            nonlocal watcher, received
            if watcher is not None:
                return await asyncio.shield(watcher)
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
                return message
            received += len(message.get("body", b""))
            if received > MAX_MESSAGE_BYTES + _BODY_SLACK:
                raise _too_large(f"a body of over {MAX_MESSAGE_BYTES + _BODY_SLACK} bytes")
            if not message.get("more_body", False):
                watcher = asyncio.create_task(listen())
            return message

        token = _client_gone.set(gone)
        try:
            await app(scope, watched, send)
        finally:
            _client_gone.reset(token)
            if watcher is not None and not watcher.done():
                watcher.cancel()

    return wrapped
