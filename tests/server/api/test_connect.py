"""The Connect adapter on its own, over a real HTTP server: what a servicer method sees of its
call (metadata, the deadline, the caller going away), the concurrency limit, bodies that do not
parse, and methods the servicer does not implement."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
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
