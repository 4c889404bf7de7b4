"""Webhooks through the real gRPC server (both store backends): endpoints made, listed
and deleted per tenant, signed events reaching a real loopback receiver from the
server's own outbox worker, in order, retried after failures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import webhooks_pb2 as hooks
from server.booking.webhooks import SIGNATURE_HEADER
from tests.server import booking_world
from tests.server.booking.store.helpers import SmtpSink
from tests.server.booking.webhook_receiver import Receiver, docs_verify
from tests.server.booking_world import (
    OTHER_KEY,
    World,
    at,
    close_world,
    create_request,
    key,
    serve_world,
    wait_for,
)

database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _endpoint(world: World, url: str, api_key: str | None = None) -> hooks.WebhookEndpoint:
    reply: hooks.CreateWebhookEndpointResponse = world.stub.CreateWebhookEndpoint(
        hooks.CreateWebhookEndpointRequest(url=url), metadata=key(api_key) if api_key else key(), timeout=10)
    return reply.endpoint


def test_signed_events_in_order_from_the_server(world: World, receiver: Receiver) -> None:
    endpoint = _endpoint(world, receiver.url)
    assert endpoint.secret.startswith("whsec_") and endpoint.id.startswith("we_")
    listed = world.stub.ListWebhookEndpoints(hooks.ListWebhookEndpointsRequest(), metadata=key(), timeout=10)
    assert [(e.id, e.url, e.secret) for e in listed.endpoints] == [(endpoint.id, receiver.url, "")]  # shown once

    booked = world.stub.CreateBooking(create_request("r1", at(14), [["bob"]]), metadata=key(), timeout=10).booking
    world.stub.CancelBooking(api.CancelBookingRequest(booking_id=booked.id), metadata=key(), timeout=10)

    assert wait_for(lambda: len(receiver.got) >= 2)
    events = receiver.events()
    assert [(e["type"], e["booking"]["id"]) for e in events] == [
        ("booking.created", booked.id), ("booking.cancelled", booked.id)]
    verify = docs_verify()
    for headers, body in receiver.got:
        assert verify(endpoint.secret, headers[SIGNATURE_HEADER], body)
        assert not verify("whsec_wrong", headers[SIGNATURE_HEADER], body)

    def listed() -> list[hooks.WebhookDelivery]:
        return list(world.stub.ListWebhookDeliveries(hooks.ListWebhookDeliveriesRequest(booking_id=booked.id),
                                                     metadata=key(), timeout=10).deliveries)

    # The receiver has the body before the deliverer has recorded its answer: wait for the record.
    assert wait_for(lambda: all(d.state == hooks.WEBHOOK_DELIVERY_STATE_DONE for d in listed()))
    deliveries = listed()
    assert [(d.event_type, d.state, d.attempts, d.last_status_code) for d in deliveries] == [
        ("booking.created", hooks.WEBHOOK_DELIVERY_STATE_DONE, 1, 200),
        ("booking.cancelled", hooks.WEBHOOK_DELIVERY_STATE_DONE, 1, 200)]
    assert [d.event_id for d in deliveries] == [e["id"] for e in events]


def test_a_receiver_failing_three_times_then_gets_them_in_order(world: World, receiver: Receiver) -> None:
    _endpoint(world, receiver.url)
    receiver.codes = [500, 500, 500]
    booked = world.stub.CreateBooking(create_request("r1", at(14), [["bob"]]), metadata=key(), timeout=10).booking
    world.stub.CancelBooking(api.CancelBookingRequest(booking_id=booked.id), metadata=key(), timeout=10)

    assert wait_for(lambda: len(receiver.got) >= 5, timeout=20)
    assert [e["type"] for e in receiver.events()] == ["booking.created"] * 4 + ["booking.cancelled"]
    assert len({e["id"] for e in receiver.events()}) == 2  # the same event, retried
    deliveries = world.stub.ListWebhookDeliveries(hooks.ListWebhookDeliveriesRequest(), metadata=key(),
                                                  timeout=10).deliveries
    assert [d.attempts for d in deliveries] == [4, 1]


def test_tenants_cannot_list_or_delete_each_others_endpoints(world: World, receiver: Receiver) -> None:
    mine = _endpoint(world, receiver.url)
    theirs = _endpoint(world, receiver.url + "/other", OTHER_KEY)

    listed = world.stub.ListWebhookEndpoints(hooks.ListWebhookEndpointsRequest(), metadata=key(OTHER_KEY), timeout=10)
    assert [e.id for e in listed.endpoints] == [theirs.id]
    with pytest.raises(grpc.RpcError) as refused:
        world.stub.DeleteWebhookEndpoint(hooks.DeleteWebhookEndpointRequest(endpoint_id=mine.id),
                                         metadata=key(OTHER_KEY), timeout=10)
    assert refused.value.code() is grpc.StatusCode.NOT_FOUND
    world.stub.DeleteWebhookEndpoint(hooks.DeleteWebhookEndpointRequest(endpoint_id=mine.id), metadata=key(),
                                     timeout=10)
    assert world.stub.ListWebhookEndpoints(hooks.ListWebhookEndpointsRequest(), metadata=key(),
                                           timeout=10).endpoints == []


@pytest.mark.parametrize("url", ["", "ftp://hooks.example.org/x", "https://"])
def test_a_bad_url_is_refused_naming_the_field(world: World, url: str) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        _endpoint(world, url)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(refused.value)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details if d.Is(bad.DESCRIPTOR))
    assert [v.field for v in bad.field_violations] == ["url"]


def test_an_endpoint_failing_for_the_configured_time_is_disabled(
        tmp_path: Path, database_url: str, smtp_sink: tuple[SmtpSink, int], receiver: Receiver) -> None:
    sink, port = smtp_sink
    served = serve_world(tmp_path, database_url, sink, port, outbox={
        "poll_seconds": 0.05, "lease_seconds": 5, "retry_base_seconds": 0.1, "retry_max_seconds": 0.2,
        "webhook_disable_after_seconds": 1})
    try:
        receiver.codes = [500] * 1000
        endpoint = _endpoint(served, receiver.url)
        served.stub.CreateBooking(create_request("r1", at(14), [["bob"]]), metadata=key(), timeout=10)

        def disabled() -> list[hooks.WebhookEndpoint]:
            listed = served.stub.ListWebhookEndpoints(hooks.ListWebhookEndpointsRequest(), metadata=key(),
                                                      timeout=10).endpoints
            return [e for e in listed if e.id == endpoint.id and e.HasField("disable_time")]

        assert wait_for(lambda: bool(disabled()), timeout=20)
        assert "HTTP 500" in disabled()[0].disabled_reason
        attempts = len(receiver.got)
        assert attempts >= 2  # retried until the configured second had passed
        served.stub.CreateBooking(create_request("r2", at(15), [["bob"]]), metadata=key(), timeout=10)
        time.sleep(0.5)
        assert len(receiver.got) == attempts  # nothing more to a disabled endpoint
    finally:
        close_world(served)
