"""Webhooks over a real HTTP receiver on loopback, on both store backends: events
recorded with the booking change, signed, in order per booking, retried with
backoff, the endpoint disabled after failing for the configured time, tenants apart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from server.booking.store import Backoff, BookingStore, OutboxWorker, PermanentTaskError, TaskKind, TaskStatus
from server.booking.store.model import OutboxTask
from server.booking.webhooks import SIGNATURE_HEADER, DeliveryState, WebhookDeliverer, check_url
from tests.server.booking.store.helpers import FakeClock, booking, member
from tests.server.booking.webhook_receiver import Receiver, docs_verify

NO_JITTER = Backoff(base=timedelta(seconds=10), factor=2, cap=timedelta(minutes=10), jitter=0)
@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def deliverer(store: BookingStore, **kw: Any) -> WebhookDeliverer:
    return WebhookDeliverer(store, backoff=NO_JITTER, timeout=5, **kw)


def test_events_reach_the_receiver_signed_once_each_in_order(store: BookingStore, receiver: Receiver) -> None:
    endpoint = store.create_webhook_endpoint("acme", receiver.url)
    first = store.create("r1", "h", booking(member("m1"))).booking
    second = store.create("r2", "h", booking(member("m2"), start=120)).booking
    store.cancel(first.id)

    assert deliverer(store).run_once() == 3
    assert deliverer(store).run_once() == 0  # each once in the normal path

    events = receiver.events()
    assert [(e["type"], e["booking"]["id"]) for e in events] == [
        ("booking.created", first.id), ("booking.created", second.id), ("booking.cancelled", first.id)]
    assert len({e["id"] for e in events}) == 3
    assert events[2]["booking"]["status"] == "BOOKING_STATUS_CANCELLED"
    verify = docs_verify()
    for headers, body in receiver.got:
        assert verify(endpoint.secret, headers[SIGNATURE_HEADER], body)
        assert not verify("whsec_another", headers[SIGNATURE_HEADER], body)
        assert not verify(endpoint.secret, headers[SIGNATURE_HEADER], body + b" ")
    deliveries = store.list_webhook_deliveries("acme")
    assert [(d.status, d.attempts, d.last_status_code) for d in deliveries] == [(DeliveryState.DONE, 1, 200)] * 3


def test_a_failing_receiver_gets_it_after_backoff_and_the_next_event_waits(
        store: BookingStore, receiver: Receiver, clock: FakeClock) -> None:
    store.create_webhook_endpoint("acme", receiver.url)
    b = store.create("r1", "h", booking(member("m1"))).booking
    store.cancel(b.id)
    receiver.codes = [500, 500, 500]
    hooks = deliverer(store)

    waits = []
    for _ in range(3):
        start = clock()
        hooks.run_once()
        (created, cancelled) = store.list_webhook_deliveries("acme", booking_id=b.id)
        assert created.status is DeliveryState.PENDING and created.last_status_code == 500
        assert cancelled.attempts == 0  # in order: the cancel waits for the create
        waits.append(created.next_attempt_at - start)
        assert hooks.run_once() == 0  # not due before its backoff
        clock.advance(seconds=(created.next_attempt_at - clock()).total_seconds())
    assert waits == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]

    assert hooks.run_once() == 2
    assert [e["type"] for e in receiver.events()] == ["booking.created"] * 4 + ["booking.cancelled"]
    assert [d.attempts for d in store.list_webhook_deliveries("acme")] == [4, 1]


def test_an_endpoint_failing_for_the_configured_time_is_disabled(
        store: BookingStore, receiver: Receiver, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    endpoint = store.create_webhook_endpoint("acme", receiver.url)
    store.create("r1", "h", booking(member("m1")))
    receiver.codes = [503] * 100
    hooks = deliverer(store, disable_after=timedelta(minutes=5))

    hooks.run_once()
    for _ in range(3):  # 10 + 20 + 40 s of failures: not yet five minutes
        clock.advance(minutes=1)
        hooks.run_once()
    assert store.list_webhook_endpoints("acme")[0].disabled_at is None
    clock.advance(minutes=3)
    hooks.run_once()

    (disabled,) = store.list_webhook_endpoints("acme")
    assert disabled.id == endpoint.id and disabled.disabled_at == clock()
    assert "HTTP 503" in disabled.disabled_reason
    assert f"webhook endpoint {endpoint.id} of tenant acme disabled" in caplog.text
    sent = len(receiver.got)
    store.create("r2", "h", booking(member("m2"), start=120))
    clock.advance(hours=1)
    assert hooks.run_once() == 0 and len(receiver.got) == sent


def test_a_success_resets_the_failing_time(store: BookingStore, receiver: Receiver, clock: FakeClock) -> None:
    store.create_webhook_endpoint("acme", receiver.url)
    hooks = deliverer(store, disable_after=timedelta(minutes=5))
    receiver.codes = [500]
    store.create("r1", "h", booking(member("m1")))
    hooks.run_once()
    clock.advance(minutes=4)
    hooks.run_once()  # succeeds
    receiver.codes = [500]
    clock.advance(minutes=4)
    store.create("r2", "h", booking(member("m2")))
    hooks.run_once()
    assert store.list_webhook_endpoints("acme")[0].disabled_at is None


def test_a_side_effect_given_up_is_an_event(store: BookingStore, receiver: Receiver) -> None:
    store.create_webhook_endpoint("acme", receiver.url)
    b = store.create("r1", "h", booking(member("m1"))).booking

    def give_up(task: OutboxTask) -> str:
        raise PermanentTaskError("the calendar is gone")

    OutboxWorker(store, {TaskKind.CREATE_EVENT.value: give_up}).run_once()
    deliverer(store).run_once()

    events = receiver.events()
    assert [e["type"] for e in events] == ["booking.created", "booking.side_effect_failed"]
    assert events[1]["booking"]["id"] == b.id
    assert events[1]["detail"] == "create_event: PermanentTaskError: the calendar is gone"


def test_the_outbox_worker_runs_the_webhooks_beside_it(store: BookingStore, receiver: Receiver) -> None:
    store.create_webhook_endpoint("acme", receiver.url)
    store.create("r1", "h", booking(member("m1")))
    worker = OutboxWorker(store, {TaskKind.CREATE_EVENT.value: lambda task: "ok"},
                          companions=(deliverer(store, poll_interval=0.05),))
    assert worker.run_once() == 2  # its task and the delivery, in this thread
    assert [e["type"] for e in receiver.events()] == ["booking.created"]

    receiver.hang = 1.5  # a receiver that hangs holds up no side effect
    worker.start()
    try:
        store.create("r2", "h", booking(member("m2"), start=120))
        worker.wake()
        assert wait_until(lambda: len(receiver.got) == 2)  # its delivery is hanging now
        store.create("r3", "h", booking(member("m3"), start=240))
        worker.wake()
        started = time.monotonic()
        assert wait_until(lambda: store.list("acme")[-1].side_effects["create_event"].status is TaskStatus.DONE)
        assert time.monotonic() - started < 1.0
        assert wait_until(lambda: len(receiver.got) == 3, timeout=5)
    finally:
        worker.stop()


def test_tenants_see_and_delete_only_their_endpoints(store: BookingStore, receiver: Receiver) -> None:
    mine = store.create_webhook_endpoint("acme", receiver.url)
    theirs = store.create_webhook_endpoint("globex", receiver.url + "/g")

    assert [e.id for e in store.list_webhook_endpoints("acme")] == [mine.id]
    assert all(e.secret == "" for e in store.list_webhook_endpoints("acme"))
    assert store.delete_webhook_endpoint("acme", theirs.id) is False
    assert [e.id for e in store.list_webhook_endpoints("globex")] == [theirs.id]

    store.create("r1", "h", booking(member("m1")))  # acme's booking
    deliverer(store).run_once()
    assert [h.get("Host", "") for h, _ in receiver.got] and len(receiver.got) == 1
    assert store.list_webhook_deliveries("globex") == []
    assert store.delete_webhook_endpoint("acme", mine.id) is True
    assert store.list_webhook_endpoints("acme") == [] and store.list_webhook_deliveries("acme") == []


@pytest.mark.parametrize(("url", "problem"), [
    ("ftp://example.org/x", "http or https"), ("https://", "host"), ("example.org/hook", "http or https"),
    ("http://h:99999/", "not a URL")])
def test_endpoint_urls_must_be_http_or_https(url: str, problem: str) -> None:
    assert problem in (check_url(url) or "")
    assert check_url("https://hooks.example.org/convene") is None


def test_a_delivery_of_a_worker_that_died_is_sent_after_its_lease(
        store: BookingStore, receiver: Receiver, clock: FakeClock) -> None:
    store.create_webhook_endpoint("acme", receiver.url)
    store.create("r1", "h", booking(member("m1")))
    (lost,) = store.claim_deliveries(10, timedelta(seconds=60))  # then the process is killed
    assert store.claim_deliveries(10, timedelta(seconds=60)) == []

    clock.advance(seconds=61)
    assert deliverer(store).run_once() == 1
    assert [e["id"] for e in receiver.events()] == [lost.event_id]
    assert store.complete_delivery(lost, 200) is False  # the dead claim cannot finish it
