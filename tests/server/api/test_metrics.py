"""The Prometheus endpoint after a few real calls: counters and histograms with the right labels,
read back with prometheus-client's own parser; HTTP/JSON calls counted and logged as gRPC calls are."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from convene.v1 import scheduling_service_pb2 as api
from server.telemetry.metrics import set_breaker_state
from tests.server.api.connect_client import ConnectFailure, unary
from tests.server.booking.store.helpers import SmtpSink
from tests.server.booking_world import (
    ALICE_KEY,
    OPS_KEY,
    World,
    at,
    close_world,
    create_request,
    key,
    serve_world,
)

SERVICE = "convene.v1.SchedulingService"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    served = serve_world(tmp_path, f"sqlite:///{tmp_path / 'bookings.sqlite3'}", SmtpSink(), None,
                         metrics={"address": "127.0.0.1:0"}, server={"http_address": "127.0.0.1:0"})
    try:
        yield served
    finally:
        close_world(served)


def scrape(world: World) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    assert world.running.metrics is not None
    with urllib.request.urlopen(f"http://127.0.0.1:{world.running.metrics.port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def find_slots() -> api.FindSlotsRequest:
    request = api.FindSlotsRequest(time_zone="UTC")
    request.template.template_id = "panel"
    request.window_start.FromDatetime(at(9))
    request.window_end.FromDatetime(at(17))
    request.now.FromDatetime(at(0, day=1))
    return request


def test_the_endpoint_counts_calls_by_code_with_latency_reads_cache_store_and_outbox(world: World) -> None:
    before = scrape(world)
    for _ in range(3):
        world.stub.FindSlots(find_slots(), metadata=key(), timeout=10)
    with pytest.raises(grpc.RpcError):
        world.stub.FindSlots(api.FindSlotsRequest(), metadata=key(), timeout=10)
    with pytest.raises(grpc.RpcError):
        world.stub.FindSlots(find_slots(), metadata=key("no-such-key-0123456789"), timeout=10)
    booked = world.stub.CreateBooking(create_request("m1", at(13), [["bob"], ["small"]]), metadata=key(),
                                      timeout=10)
    world.settled(booked.booking.id)
    set_breaker_state("ics", "open")
    after = scrape(world)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    rpc = {"service": SERVICE, "method": "FindSlots"}
    assert grew("convene_rpc_handled_total", **rpc, code="OK") == 3
    assert grew("convene_rpc_handled_total", **rpc, code="INVALID_ARGUMENT") == 1
    assert grew("convene_rpc_handled_total", **rpc, code="UNAUTHENTICATED") == 1
    assert grew("convene_rpc_duration_seconds_count", **rpc) == 5
    assert grew("convene_rpc_duration_seconds_bucket", **rpc, le="+Inf") == 5
    assert grew("convene_rpc_duration_seconds_sum", **rpc) > 0
    assert grew("convene_rpc_handled_total", service=SERVICE, method="CreateBooking", code="OK") == 1

    # The first FindSlots read every calendar of the panel (ICS files); the next two found them cached.
    assert grew("convene_busy_cache_misses_total", source="ics") >= 1
    assert grew("convene_busy_cache_hits_total", source="ics") >= 2
    assert grew("convene_calendar_reads_total", source="ics", outcome="ok") >= 1
    assert grew("convene_calendar_read_seconds_count", source="ics") >= 1
    assert value(after, "convene_calendar_breaker_state", source="ics") == 2

    assert grew("convene_store_query_seconds_count", backend="sqlite", operation="create") == 1
    assert grew("convene_store_query_seconds_count", backend="sqlite", operation="claim_tasks") >= 1
    # The booking's side effects are done: nothing left waiting.
    assert value(after, "convene_outbox_backlog", kind="create_event") == 0
    assert ("convene_outbox_oldest_age_seconds", (("kind", "create_event"),)) not in after


def test_the_outbox_backlog_and_failures_show(world: World) -> None:
    world.running.outbox.stop()  # type: ignore[union-attr]  # so the tasks stay pending
    world.stub.CreateBooking(create_request("m2", at(14), [["carol"], ["small"]]), metadata=key(), timeout=10)
    samples = scrape(world)
    assert value(samples, "convene_outbox_backlog", kind="create_event") == 1
    assert value(samples, "convene_outbox_backlog", kind="send_invite") == 1  # a customer, email skipped later
    assert value(samples, "convene_outbox_oldest_age_seconds", kind="create_event") >= 0


def test_failed_side_effects_count_by_kind_and_whether_given_up(tmp_path: Path) -> None:
    from prometheus_client import REGISTRY

    from providers.base import ProviderError
    from server.booking.store import OutboxWorker, PermanentTaskError, open_store
    from tests.server.booking.store.helpers import booking, member

    def failing(task) -> str:
        if task.booking.title == "gives up":
            raise PermanentTaskError("no calendar can take it")
        raise ProviderError("m1", "HTTP 503")

    def failures(final: str) -> float:
        return REGISTRY.get_sample_value("convene_outbox_failures_total",
                                         {"kind": "create_event", "final": final}) or 0.0

    with open_store(tmp_path / "b.sqlite3") as store:
        store.create("r1", "h", booking(member("m1"), start=0, title="retries"))
        store.create("r2", "h", booking(member("m2"), start=0, title="gives up"))
        retried, given_up = failures("false"), failures("true")
        OutboxWorker(store, {"create_event": failing}).run_once()
        assert failures("false") - retried == 1
        assert failures("true") - given_up == 1


def http_port(world: World) -> int:
    assert world.running.http is not None
    return world.running.http.port


def test_http_calls_count_in_the_same_series_by_their_grpc_code(world: World) -> None:
    before = scrape(world)
    for _ in range(2):
        unary(http_port(world), "FindSlots", find_slots(), api.FindSlotsResponse, OPS_KEY)
    with pytest.raises(ConnectFailure) as bad:
        unary(http_port(world), "FindSlots", api.FindSlotsRequest(), api.FindSlotsResponse, OPS_KEY)
    assert bad.value.code == "invalid_argument"
    with pytest.raises(ConnectFailure):
        unary(http_port(world), "FindSlots", find_slots(), api.FindSlotsResponse, "no-such-key-0123456789")
    world.stub.FindSlots(find_slots(), metadata=key(), timeout=10)  # and one over gRPC, in the same series
    after = scrape(world)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    rpc = {"service": SERVICE, "method": "FindSlots"}
    assert grew("convene_rpc_handled_total", **rpc, code="OK") == 3
    assert grew("convene_rpc_handled_total", **rpc, code="INVALID_ARGUMENT") == 1
    assert grew("convene_rpc_handled_total", **rpc, code="UNAUTHENTICATED") == 1
    assert grew("convene_rpc_duration_seconds_count", **rpc) == 5


def test_an_http_call_has_its_access_line_with_the_callers_request_id_and_no_key(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="convene.access")
    request = find_slots()
    reply = unary(http_port(world), "FindSlots", request, api.FindSlotsResponse, ALICE_KEY,
                  **{"x-request-id": "http-req-7"})
    with pytest.raises(ConnectFailure) as bad:
        unary(http_port(world), "FindSlots", api.FindSlotsRequest(), api.FindSlotsResponse, OPS_KEY,
              **{"x-request-id": "http-req-8"})
    lines = [r.fields for r in caplog.records if r.name == "convene.access"]  # type: ignore[attr-defined]
    ok, failed = [line for line in lines if line["method"] == "FindSlots"]
    assert ok | {"latency_ms": 0, "peer": ""} == {
        "method": "FindSlots", "service": SERVICE, "code": "OK", "latency_ms": 0, "transport": "http",
        "tenant": "team", "principal": "alice@team.example", "request_id": "http-req-7",
        "request_bytes": request.ByteSize(), "response_bytes": reply.ByteSize(), "peer": ""}
    assert ok["latency_ms"] > 0 and ok["peer"].startswith("ipv4:127.0.0.1:")
    assert failed["code"] == "INVALID_ARGUMENT" and failed["principal"] == "ops@team.example"
    assert failed["request_id"] == "http-req-8" and failed["transport"] == "http"
    # The error's RequestInfo names the same request id as the access line.
    infos = [d for d in bad.value.details() if d.type_url.endswith("google.rpc.RequestInfo")]
    [info] = infos
    from google.rpc import error_details_pb2
    unpacked = error_details_pb2.RequestInfo()
    info.Unpack(unpacked)
    assert unpacked.request_id == "http-req-8"
    text = caplog.text + repr(lines)
    for secret in (ALICE_KEY, OPS_KEY):
        assert secret not in text
