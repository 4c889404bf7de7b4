"""CreateBooking is idempotent by request_id: a retry (also after the reply was lost)
returns the first booking, and the organizer's calendar and the customer's inbox
see it once. The same id with another body is refused."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from convene.v1 import booking_pb2, meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from server.booking.store import open_store
from tests.server import booking_world
from tests.server.booking.store.helpers import SmtpSink
from tests.server.booking_world import (
    World,
    at,
    close_world,
    create_request,
    events_in,
    key,
    serve_world,
    wait_for,
)

# The booking fixtures: pytest finds a module's fixtures among its attributes.
database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world

PANEL = meeting_pb2.TemplateRef(template_id="panel")


def _uids(path: Path) -> list[str]:
    return [str(e["UID"]) for e in events_in(path)]


def _assert_request_id_reused(world: World, request: api.CreateBookingRequest, first_id: str) -> None:
    """CreateBooking refuses ``request`` as ALREADY_EXISTS, naming the booking its request id made."""
    with pytest.raises(grpc.RpcError) as caught:
        world.stub.CreateBooking(request, metadata=key(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS, caught.value.details()
    assert "request_id" in caught.value.details()
    status = rpc_status.from_call(caught.value)
    assert status is not None
    infos = [d for d in status.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)]
    info = error_details_pb2.ErrorInfo()
    infos[0].Unpack(info)
    assert info.reason == "REQUEST_ID_REUSED" and info.metadata["booking_id"] == first_id


def test_a_retry_returns_the_first_booking_and_nothing_twice(world: World) -> None:
    request = create_request("interview-42", at(11), [["alice"], ["carol"], ["large"]], meeting=PANEL)
    first = world.stub.CreateBooking(request, metadata=key(), timeout=10)
    assert not first.replayed
    world.settled(first.booking.id)

    again = world.stub.CreateBooking(request, metadata=key(), timeout=10)
    assert again.replayed and again.booking.id == first.booking.id
    settled = world.settled(first.booking.id)

    uid = f"{first.booking.id}@convene"
    assert _uids(world.calendar("alice")).count(uid) == 1
    assert len(world.sink.received) == 1
    assert all(e.attempts == 1 for e in settled.side_effects)
    assert len(world.store.list("team", "alice")) == 1


def test_the_same_request_id_with_another_body_is_already_exists(world: World) -> None:
    first = world.stub.CreateBooking(create_request("dup", at(11), [["bob"]]), metadata=key(), timeout=10)
    for changed in (create_request("dup", at(11), [["bob"]], title="Another title"),  # same slot
                    create_request("dup", at(15), [["bob"]])):  # another, free slot
        _assert_request_id_reused(world, changed, first.booking.id)
    assert len(world.store.list("team", "bob")) == 1


def test_a_reused_request_id_is_already_exists_even_where_the_new_body_is_not_free(world: World) -> None:
    """The new body asks for alice during her "Board prep" (10:00-11:00), a slot its re-check
    refuses; the request id still decides first: ALREADY_EXISTS, not FAILED_PRECONDITION."""
    first = world.stub.CreateBooking(create_request("dup-busy", at(11), [["bob"]]), metadata=key(), timeout=10)
    _assert_request_id_reused(world, create_request("dup-busy", at(10), [["alice"]]), first.booking.id)
    # Another caller's booking in the way of the new body: the same answer.
    world.stub.CreateBooking(create_request("carol-at-2", at(14), [["carol"]]), metadata=key(), timeout=10)
    _assert_request_id_reused(world, create_request("dup-busy", at(14), [["carol"]]), first.booking.id)
    assert [b.request_id for b in world.store.list("team")] == ["dup-busy", "carol-at-2"]


def test_a_retry_after_a_cancel_replays_the_cancelled_booking(world: World) -> None:
    request = create_request("then-cancelled", at(13), [["bob"]])
    first = world.stub.CreateBooking(request, metadata=key(), timeout=10)
    world.stub.CancelBooking(api.CancelBookingRequest(booking_id=first.booking.id), metadata=key(), timeout=10)
    again = world.stub.CreateBooking(request, metadata=key(), timeout=10)
    assert again.replayed and again.booking.id == first.booking.id
    assert again.booking.status == booking_pb2.BOOKING_STATUS_CANCELLED


def test_a_retry_after_a_lost_reply_books_once(tmp_path: Path, database_url: str,
                                                smtp_sink: tuple[SmtpSink, int], monkeypatch: Any) -> None:
    """The server commits, then the reply misses the caller's deadline; the caller retries."""
    store = open_store(database_url)
    committed = threading.Event()
    create = store.create

    def slow_create(*args: Any, **kwargs: Any) -> Any:
        result = create(*args, **kwargs)
        committed.set()
        time.sleep(0.6)  # the caller's deadline passes while the reply is on its way
        return result

    monkeypatch.setattr(store, "create", slow_create)
    served = serve_world(tmp_path, database_url, smtp_sink[0], smtp_sink[1], store=store)
    try:
        request = create_request("lost-reply", at(11), [["alice"], ["dan"], ["large"]], meeting=PANEL)
        with pytest.raises(grpc.RpcError) as caught:
            served.stub.CreateBooking(request, metadata=key(), timeout=0.3)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert committed.wait(5), "the first call never reached the commit"

        retried = served.stub.CreateBooking(request, metadata=key(), timeout=10)
        assert retried.replayed
        booking_id = retried.booking.id
        settled = served.settled(booking_id)
        assert [e.state for e in settled.side_effects] == [booking_pb2.SIDE_EFFECT_STATE_DONE] * 2
        assert len(served.store.list("team")) == 1
        assert _uids(served.calendar("alice")).count(f"{booking_id}@convene") == 1
        assert wait_for(lambda: len(served.sink.received) >= 1)
        time.sleep(0.3)  # several worker polls: nothing more goes out
        assert len(served.sink.received) == 1
    finally:
        close_world(served)
        store.close()
