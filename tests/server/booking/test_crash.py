"""``convene serve`` killed (SIGKILL) after a booking committed and before its email (or its
webhook) went out: the restarted server sends the invitation, exactly once. And killed while the email
is being sent: the restarted server takes the task up within its short lease and sends
that one message again, with the same Message-ID.

The mail server is down at first, so the first process can only fail to send and
schedule a retry; it dies with the task pending. The second process starts with
the mail server up and finishes the work. ``--database`` overrides the config's
``database_url`` (the config names a file that must never be created).
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import grpc
from aiosmtpd.controller import Controller

from convene.v1 import booking_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from convene.v1 import webhooks_pb2 as hooks
from tests.server import booking_world
from tests.server.booking.store.helpers import SmtpSink, free_port
from tests.server.booking.webhook_receiver import Receiver
from tests.server.booking_world import (
    at,
    convene_serve,
    create_request,
    events_in,
    key,
    wait_for,
    write_config,
)

# The booking fixtures: pytest finds a module's fixtures among its attributes.
database_url = booking_world.database_url
pg_admin = booking_world.pg_admin

SEND_INVITE = booking_pb2.SIDE_EFFECT_KIND_SEND_INVITE


def _invite(stub: api_grpc.SchedulingServiceStub, booking_id: str) -> booking_pb2.SideEffect:
    booking: booking_pb2.Booking = stub.GetBooking(api.GetBookingRequest(booking_id=booking_id), metadata=key(),
                                                   timeout=5).booking
    effect: booking_pb2.SideEffect = next(e for e in booking.side_effects if e.kind == SEND_INVITE)
    return effect


def test_the_invitation_goes_out_exactly_once_after_a_crash(tmp_path: Path, database_url: str) -> None:
    smtp_port = free_port()  # nothing listens here yet: the mail server is down
    unused = tmp_path / "from-the-config.sqlite3"
    # Retries 1 s apart: the first process dies while the invitation waits for its retry.
    config = write_config(tmp_path, f"sqlite:///{unused}", smtp_port,
                          outbox={"poll_seconds": 0.05, "lease_seconds": 5, "retry_base_seconds": 1,
                                  "retry_max_seconds": 1})

    with convene_serve(config, database_url) as (first, port), grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = api_grpc.SchedulingServiceStub(channel)
        booking = stub.CreateBooking(create_request("crash-1", at(11), [["alice"]]), metadata=key(),
                                     timeout=10).booking
        # Committed; the worker tried to send and failed: the task waits for its retry.
        assert wait_for(lambda: bool(_invite(stub, booking.id).last_error))
        invite = _invite(stub, booking.id)
        assert invite.state == booking_pb2.SIDE_EFFECT_STATE_PENDING and invite.attempts == 1
        assert "SMTP 127.0.0.1" in invite.last_error
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with convene_serve(config, database_url) as (second, port), \
                grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            assert wait_for(lambda: _invite(stub, booking.id).state == booking_pb2.SIDE_EFFECT_STATE_DONE)
            time.sleep(0.5)  # ten polls of the worker: nothing more goes out
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0
    finally:
        controller.stop()

    assert len(sink.received) == 1
    method, calendar = sink.received[0].calendar()
    (event,) = calendar.walk("VEVENT")
    assert method == "REQUEST" and str(event["UID"]) == f"{booking.id}@convene"
    uids = [str(e["UID"]) for e in events_in(tmp_path / "calendars" / "alice.ics")]
    assert uids.count(f"{booking.id}@convene") == 1
    assert not unused.exists(), "--database did not override the config's database_url"


@dataclass
class HangingSmtp:
    """Takes a message's DATA and never answers it: the send is in flight when the server dies."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        await asyncio.sleep(120)
        return "250 OK"


def test_side_effects_running_at_a_kill_are_done_within_30_s_of_the_restart(tmp_path: Path) -> None:
    smtp_port = free_port()
    # SQLite only: the outbox's SQL is the same on PostgreSQL (test_outbox runs both), and this
    # test waits out the default lease (15 s, renewed while a task runs): nothing here shortens it.
    database_url = f"sqlite:///{tmp_path / 'bookings.sqlite3'}"
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}", smtp_port,
                          outbox={"poll_seconds": 0.05})
    hanging = HangingSmtp()
    stuck = Controller(hanging, hostname="127.0.0.1", port=smtp_port)
    stuck.start()
    try:
        with convene_serve(config, database_url) as (first, port), \
                grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            booking = stub.CreateBooking(create_request("crash-2", at(11), [["alice"]]), metadata=key(),
                                         timeout=10).booking
            # The invitation is being sent: the mail server has it and has not answered.
            assert wait_for(lambda: bool(hanging.received))
            assert _invite(stub, booking.id).state == booking_pb2.SIDE_EFFECT_STATE_RUNNING
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
    finally:
        stuck.stop()
    in_flight = hanging.received[0]["Message-ID"]

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        restarted = time.monotonic()
        with convene_serve(config, database_url) as (second, port), \
                grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            assert wait_for(lambda: _invite(stub, booking.id).state == booking_pb2.SIDE_EFFECT_STATE_DONE,
                            timeout=40)
            assert time.monotonic() - restarted < 30
            invite = _invite(stub, booking.id)
            assert invite.attempts == 2
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0
    finally:
        controller.stop()
    # Only the message in flight went again, with its Message-ID: a receiver can drop the repeat.
    assert [m.message["Message-ID"] for m in sink.received] == [in_flight]


def test_a_webhook_pending_at_a_kill_is_delivered_after_the_restart(tmp_path: Path, database_url: str) -> None:
    """The receiver fails (500) while the first process lives; kill -9 with the event unsent: the
    restarted server delivers it, the same event (one id), and marks it done."""
    receiver = Receiver()
    receiver.codes = [500] * 1000
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}", None,
                          outbox={"poll_seconds": 0.05, "lease_seconds": 5, "retry_base_seconds": 1,
                                  "retry_max_seconds": 1})
    try:
        with convene_serve(config, database_url) as (first, port), \
                grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            stub.CreateWebhookEndpoint(hooks.CreateWebhookEndpointRequest(url=receiver.url), metadata=key(),
                                       timeout=10)
            booking = stub.CreateBooking(create_request("hook-crash", at(14), [["bob"]]), metadata=key(),
                                         timeout=10).booking
            assert wait_for(lambda: len(receiver.got) >= 1)  # tried, refused: waits for its retry
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
        refused = len(receiver.got)
        receiver.codes = []  # the receiver is back

        with convene_serve(config, database_url) as (second, port), \
                grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = api_grpc.SchedulingServiceStub(channel)

            def delivered() -> list[hooks.WebhookDelivery]:
                reply = stub.ListWebhookDeliveries(hooks.ListWebhookDeliveriesRequest(booking_id=booking.id),
                                                   metadata=key(), timeout=5)
                return [d for d in reply.deliveries if d.state == hooks.WEBHOOK_DELIVERY_STATE_DONE]

            # The lease (5 s) runs out first, then the retry the first process scheduled is due:
            # its backoff doubles with each refused try (1, 2, 4, 8 s...), and a loaded host lets
            # the first process try more often before the kill.
            assert wait_for(lambda: len(delivered()) == 1, timeout=45)
            (done,) = delivered()
            time.sleep(0.5)  # ten polls: nothing more goes out
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0
    finally:
        receiver.close()

    events = receiver.events()
    assert len(events) == refused + 1  # every refused attempt, then the one that got through
    assert {e["id"] for e in events} == {done.event_id} and {e["type"] for e in events} == {"booking.created"}
    assert done.attempts == refused + 1 and done.last_status_code == 200
