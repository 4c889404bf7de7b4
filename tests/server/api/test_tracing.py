"""Traces into an in-memory exporter: the spans of a call in the right parent chain, its trace id
in the log lines, and the access log as JSON lines holding no key and no event detail."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import Running, start_server
from server.config import load_config
from server.telemetry import tracing
from server.telemetry.logs import JsonFormatter, TraceIds
from tests.server.booking_world import (
    ALICE_KEY,
    NOW,
    OPS_KEY,
    at,
    create_request,
    key,
    member,
    rules,
    wait_for,
    write_config,
)

FIND_SLOTS = "/convene.v1.SchedulingService/FindSlots"


@dataclass
class Traced:
    running: Running
    stub: api_grpc.SchedulingServiceStub
    spans: InMemorySpanExporter
    log: io.StringIO


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[Traced]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    config = load_config(write_config(tmp_path, f"sqlite:///{tmp_path / 'b.sqlite3'}", None,
                                      logging={"format": "json", "access_log": True}))
    running = start_server(config, "127.0.0.1:0", clock=lambda: NOW, tracer_provider=provider)
    # What ``convene serve`` sets up with logging.format json, on a buffer instead of stderr.
    handler = logging.StreamHandler(buffer := io.StringIO())
    handler.setFormatter(JsonFormatter())
    handler.addFilter(TraceIds())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Traced(running, api_grpc.SchedulingServiceStub(channel), exporter, buffer)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        channel.close()
        running.stop(None)
    assert tracing.installed() is None  # the server took its tracer with it


def find_slots() -> api.FindSlotsRequest:
    request = api.FindSlotsRequest(time_zone="UTC", want_alternatives=True, max_alternatives=3)
    request.template.template_id = "panel"
    request.window_start.FromDatetime(at(9))
    request.window_end.FromDatetime(at(12))
    request.now.FromDatetime(at(0, day=1))
    return request


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def parent_of(span: ReadableSpan, spans: tuple[ReadableSpan, ...]) -> ReadableSpan | None:
    ids = {s.context.span_id: s for s in spans}
    return ids.get(span.parent.span_id) if span.parent is not None else None


def test_a_find_slots_trace_has_fetch_read_plan_and_assign_under_the_rpc(traced: Traced) -> None:
    traced.stub.FindSlots(find_slots(), metadata=key(), timeout=10)
    spans = traced.spans.get_finished_spans()
    [rpc] = by_name(spans, FIND_SLOTS)
    assert rpc.parent is None
    [fetch] = by_name(spans, "fetch")
    assert parent_of(fetch, spans) is rpc
    reads = by_name(spans, "read ics")
    assert reads and all(parent_of(r, spans) is fetch for r in reads)  # from the fetch threads
    for step in ("plan", "assign"):
        [found] = by_name(spans, step)
        assert parent_of(found, spans) is rpc
    assert {s.context.trace_id for s in spans} == {rpc.context.trace_id}


def test_a_booking_traces_its_store_operations_and_the_side_effects_on_their_own(traced: Traced) -> None:
    reply = traced.stub.CreateBooking(create_request("t1", at(13), [["bob"], ["small"]]), metadata=key(),
                                      timeout=10)
    assert reply.booking.id
    assert wait_for(lambda: any(s.name == "side effect create_event" for s in traced.spans.get_finished_spans()))
    spans = traced.spans.get_finished_spans()
    [rpc] = by_name(spans, "/convene.v1.SchedulingService/CreateBooking")
    [create] = by_name(spans, "store create")
    assert parent_of(create, spans) is rpc
    assert create.attributes is not None and create.attributes["backend"] == "sqlite"
    effects = [s for s in spans if s.name.startswith("side effect ")]
    assert {s.name for s in effects} >= {"side effect create_event"}
    assert all(s.parent is None and s.context.trace_id != rpc.context.trace_id for s in effects)
    # The outbox worker's polls make no traces of their own.
    assert not [s for s in spans if s.name == "store claim_tasks" and s.parent is None]


def test_access_lines_are_json_with_the_trace_id_and_hold_no_key_nor_event_detail(traced: Traced) -> None:
    # Alice owns her calendar: her reply holds the details of "Board prep" (the conflict in the way
    # of every start of a meeting with her alone, 10:00-11:00); the log must not.
    request = api.FindSlotsRequest(time_zone="UTC", rules=rules(member("alice")), want_alternatives=True,
                                   max_alternatives=3)
    request.window_start.FromDatetime(at(10))
    request.window_end.FromDatetime(at(11))
    request.now.FromDatetime(at(0, day=1))
    reply = traced.stub.FindSlots(request, metadata=(*key(ALICE_KEY), ("x-request-id", "req-42")), timeout=10)
    assert "Board prep" in str(reply)
    with pytest.raises(grpc.RpcError):
        traced.stub.FindSlots(api.FindSlotsRequest(), metadata=key(OPS_KEY), timeout=10)
    lines = [json.loads(line) for line in traced.log.getvalue().splitlines()]  # every line is JSON
    access = [line for line in lines if line["logger"] == "convene.access"]
    ok, bad = [a for a in access if a["method"] == "FindSlots"]
    assert ok | {"latency_ms": 0, "peer": ""} == {
        "time": ok["time"], "level": "INFO", "logger": "convene.access", "message": ok["message"],
        "trace_id": ok["trace_id"], "span_id": ok["span_id"],
        "method": "FindSlots", "service": "convene.v1.SchedulingService", "code": "OK", "latency_ms": 0,
        "transport": "grpc", "tenant": "team", "principal": "alice@team.example", "request_id": "req-42",
        "request_bytes": request.ByteSize(), "response_bytes": reply.ByteSize(), "peer": ""}
    assert ok["latency_ms"] > 0 and ok["peer"].startswith("ipv4:127.0.0.1:")
    [rpc] = [s for s in traced.spans.get_finished_spans()
             if s.name == FIND_SLOTS and format(s.context.trace_id, "032x") == ok["trace_id"]]
    assert rpc is not None
    assert bad["code"] == "INVALID_ARGUMENT" and bad["principal"] == "ops@team.example"
    text = traced.log.getvalue()
    for secret in (ALICE_KEY, OPS_KEY, "Board prep", "board-prep"):
        assert secret not in text
