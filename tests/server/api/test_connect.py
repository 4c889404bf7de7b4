"""The Connect adapter on its own, over a real HTTP server: what a servicer method sees of its
call (metadata, the deadline, the caller going away), the concurrency limit, bodies that do not
parse, and methods the servicer does not implement."""

from __future__ import annotations

import gzip
import http.client as http_client
import json
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.rpc import error_details_pb2

from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import start_server
from server.api.connect import MAX_MESSAGE_BYTES
from server.api.http import HttpServer
from server.config import ConfigError, ServerSettings, parse_config
from tests.server.api.connect_client import ConnectFailure, headers, post, unary
from tests.server.conftest import CONFIG, team_config, team_tenants


class Recording(api_grpc.SchedulingServiceServicer):  # type: ignore[misc]
    """FindSlots waits until its call is no longer active; ListMembers echoes what it was given."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.inactive = threading.Event()
        self.remaining: list[float | None] = []

    def FindSlots(self, request: api.FindSlotsRequest, context: Any) -> api.FindSlotsResponse:
        self.remaining.append(context.time_remaining())
        self.entered.set()
        deadline = time.monotonic() + 10
        while context.is_active() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not context.is_active():
            self.inactive.set()
            time.sleep(0.3)  # slower than the deadline: the caller's answer must not wait for this
        return api.FindSlotsResponse(total_available=1)

    def ListMembers(self, request: api.ListMembersRequest, context: Any) -> api.ListMembersResponse:
        metadata = dict(context.invocation_metadata())
        return api.ListMembersResponse(next_page_token=f"{metadata.get('authorization')}|{metadata.get('x-custom')}")


@pytest.fixture
def recording() -> Iterator[tuple[Recording, HttpServer]]:
    servicer = Recording()
    http = HttpServer(servicer, ServerSettings(max_concurrent_rpcs=1, worker_threads=2), "127.0.0.1:0")
    http.start()
    try:
        yield servicer, http
    finally:
        servicer.inactive.set()
        http.stop(1)


def test_the_method_gets_the_request_headers_as_metadata(recording: tuple[Recording, HttpServer]) -> None:
    _, http = recording
    reply = unary(http.port, "ListMembers", api.ListMembersRequest(), api.ListMembersResponse, "k-123",
                  **{"X-Custom": "yes"})
    assert reply.next_page_token == "Bearer k-123|yes"


def test_past_the_deadline_the_caller_gets_deadline_exceeded_and_the_method_stops(
        recording: tuple[Recording, HttpServer]) -> None:
    servicer, http = recording
    began = time.monotonic()
    status, body = post(http.port, "FindSlots", b"{}", headers("k", **{"connect-timeout-ms": "300"}))
    took = time.monotonic() - began
    assert (status, json.loads(body)["code"]) == (504, "deadline_exceeded")
    assert took < 3
    assert servicer.remaining[0] is not None and 0 < servicer.remaining[0] <= 0.3
    assert servicer.inactive.wait(5), "is_active stayed True past the deadline"


def test_a_caller_that_goes_away_makes_the_call_inactive(recording: tuple[Recording, HttpServer]) -> None:
    servicer, http = recording
    with socket.create_connection(("127.0.0.1", http.port)) as raw:
        raw.sendall(b"POST /convene.v1.SchedulingService/FindSlots HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        assert servicer.entered.wait(5)
        assert not servicer.inactive.is_set()
    assert servicer.inactive.wait(5), "is_active stayed True after the client left"
    assert servicer.remaining == [None]


def test_calls_beyond_the_concurrency_limit_are_refused_at_once(recording: tuple[Recording, HttpServer]) -> None:
    servicer, http = recording
    first = threading.Thread(target=post, args=(http.port, "FindSlots", b"{}",
                                                headers("k", **{"connect-timeout-ms": "2000"})))
    first.start()
    assert servicer.entered.wait(5)
    began = time.monotonic()
    with pytest.raises(ConnectFailure) as refused:
        unary(http.port, "ListMembers", api.ListMembersRequest(), api.ListMembersResponse, "k")
    assert (refused.value.status, refused.value.code) == (429, "resource_exhausted")
    assert time.monotonic() - began < 2  # at once: not after the 2 s the first call may take
    first.join(10)
    # The slot is free again once the first call's method returned (it stops past its deadline).
    deadline = time.monotonic() + 5
    while True:
        try:
            assert unary(http.port, "ListMembers", api.ListMembersRequest(), api.ListMembersResponse, "k")
            break
        except ConnectFailure:
            assert time.monotonic() < deadline, "the slot was never freed"
            time.sleep(0.05)


@pytest.mark.parametrize(("body", "field"), [
    (b'{"rules": {"durashun": "1s"}}', "rules.durashun"),
    (b'{"window_start": "tuesday"}', "window_start"),
    (b'{"rules": {"seats": [{"member": {"candidates": 5}}]}}', "rules.seats[0].member"),
    (b'{"page_size": "many"}', "page_size"),
    (b"{", "body"),
    (b"\xff\xfe", "body"),
])
def test_a_body_that_does_not_parse_is_invalid_argument_naming_the_field(
        recording: tuple[Recording, HttpServer], body: bytes, field: str) -> None:
    _, http = recording
    status, reply = post(http.port, "FindSlots", body, headers("k"))
    error = json.loads(reply)
    assert (status, error["code"]) == (400, "invalid_argument")
    failure = ConnectFailure(status, error)
    bad = error_details_pb2.BadRequest()
    assert failure.details()[0].Unpack(bad)
    assert [v.field for v in bad.field_violations] == [field]


def test_a_method_the_servicer_lacks_is_unimplemented(recording: tuple[Recording, HttpServer]) -> None:
    _, http = recording
    with pytest.raises(ConnectFailure) as failed:
        unary(http.port, "GetTemplate", api.GetTemplateRequest(), api.GetTemplateResponse, "k")
    assert (failed.value.status, failed.value.code) == (501, "unimplemented")


def test_an_unknown_path_is_not_found(recording: tuple[Recording, HttpServer]) -> None:
    _, http = recording
    status, _ = post(http.port, "NoSuchMethod", b"{}", headers("k"))
    assert status == 404


def test_a_message_over_grpcs_limit_is_refused(recording: tuple[Recording, HttpServer]) -> None:
    _, http = recording
    body = b'{"pageToken": "' + b"x" * (MAX_MESSAGE_BYTES + 1) + b'"}'
    status, reply = post(http.port, "ListMembers", body, headers("k"))
    assert (status, json.loads(reply)["code"]) == (429, "resource_exhausted")


def test_no_http_address_no_http_server() -> None:
    config = team_config()
    running = start_server(config, "127.0.0.1:0", tenants=team_tenants(config))
    try:
        assert running.http is None
    finally:
        running.stop(None)


@pytest.mark.parametrize("address", ["8080", "localhost", "127.0.0.1:port", ""])
def test_a_bad_http_address_is_refused_naming_the_field(address: str) -> None:
    with pytest.raises(ConfigError, match="http_address"):
        parse_config({**CONFIG, "server": {"http_address": address}})


def test_a_stream_whose_request_does_not_parse_ends_with_invalid_argument(
        recording: tuple[Recording, HttpServer]) -> None:
    _, http = recording
    body = struct.pack(">BI", 0, 1) + b"{"
    status, reply = post(http.port, "OptimizeBatch", body, {**headers("k"), "content-type": "application/connect+json"})
    flags, length = struct.unpack(">BI", reply[:5])
    assert status == 200 and flags & 0x02, reply
    assert json.loads(reply[5:5 + length])["error"]["code"] == "invalid_argument"


def _gzip_of_zeros(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    return b"".join(compressor.compress(chunk) for _ in range(size >> 20)) + compressor.flush()


def _peak_bytes_of(call: Callable[[], Any]) -> tuple[Any, int]:
    """``call()``'s result and the most memory Python held meanwhile (the server's threads too)."""
    tracemalloc.start()
    try:
        return call(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_gzip_bomb_is_refused_without_inflating_it(recording: tuple[Recording, HttpServer]) -> None:
    _, http = recording
    bomb = _gzip_of_zeros(256 << 20)  # 256 KiB that inflate to 256 MiB
    head = {**headers("k"), "content-type": "application/proto", "content-encoding": "gzip"}
    (status, reply), peak = _peak_bytes_of(lambda: post(http.port, "ListMembers", bomb, head))
    error = json.loads(reply)
    assert (status, error["code"]) == (429, "resource_exhausted"), error
    assert peak < 64 << 20, f"{peak >> 20} MiB held for a {len(bomb) >> 10} KiB request"
    bad = error_details_pb2.BadRequest()
    assert ConnectFailure(status, error).details()[0].Unpack(bad)
    assert [v.field for v in bad.field_violations] == ["body"]


def test_a_body_over_the_limit_is_not_read_into_memory(recording: tuple[Recording, HttpServer]) -> None:
    _, http = recording
    chunk, count = b"x" * (1 << 20), 64

    def send() -> tuple[int, bytes]:
        connection = http_client.HTTPConnection("127.0.0.1", http.port, timeout=30)
        connection.putrequest("POST", "/convene.v1.SchedulingService/ListMembers")
        for name, value in {**headers("k"), "content-length": str(len(chunk) * count)}.items():
            connection.putheader(name, value)
        connection.endheaders()
        try:
            for _ in range(count):
                connection.send(chunk)
        except OSError:
            pass  # the server answered and closed before the rest was sent
        reply = connection.getresponse()
        return reply.status, reply.read()

    (status, reply), peak = _peak_bytes_of(send)
    assert (status, json.loads(reply)["code"]) == (429, "resource_exhausted")
    assert peak < 32 << 20, f"{peak >> 20} MiB held for a {count} MiB body"


@pytest.mark.parametrize("body", [b"{}", gzip.compress(b"{}")[:-4]], ids=["plain", "truncated"])
def test_a_body_that_is_not_gzip_is_invalid_argument(recording: tuple[Recording, HttpServer], body: bytes) -> None:
    _, http = recording
    status, reply = post(http.port, "ListMembers", body, {**headers("k"), "content-encoding": "gzip"})
    error = json.loads(reply)
    assert (status, error["code"]) == (400, "invalid_argument"), error  # was 500 "unknown"
    bad = error_details_pb2.BadRequest()
    assert ConnectFailure(status, error).details()[0].Unpack(bad)
    assert [v.field for v in bad.field_violations] == ["body"]


def test_a_gzipped_body_is_still_read(recording: tuple[Recording, HttpServer]) -> None:
    _, http = recording
    status, reply = post(http.port, "ListMembers", gzip.compress(b'{"pageSize": 1}'),
                         {**headers("k-1"), "content-encoding": "gzip"})
    assert status == 200 and json.loads(reply)["nextPageToken"] == "Bearer k-1|None"
