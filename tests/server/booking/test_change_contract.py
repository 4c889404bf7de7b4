"""The contract's "Changing a booking" and "Notifications", read as an outside test writer
would and checked over the real gRPC server (SQLite and PostgreSQL): a stale etag and a
refused move change nothing (the booking, its holds, its outbox, its webhook events,
the calendars); the booking's own old time never conflicts with its new one (buffers,
rooms) while anything else at that time still does; replacing one person leaves the
other seats as drawn; a replayed request id returns the first result; the calendar
event and the invitation keep their identity; webhook bodies are the proto's JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import grpc
import pytest
from google.protobuf import field_mask_pb2, json_format
from grpc_status import rpc_status

from convene.v1 import booking_pb2, meeting_pb2, slots_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import webhooks_pb2 as hooks
from server.booking.store.sql import SqlBookingStore
from server.booking.webhooks import SIGNATURE_HEADER
from tests.server import booking_world
from tests.server.booking.test_webhooks import receiver
from tests.server.booking.webhook_receiver import Receiver, docs_verify
from tests.server.booking_world import (
    NOW,
    World,
    add_event,
    at,
    create_request,
    events_in,
    key,
    member,
    room,
    rules,
    wait_for,
)

database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world
__all__ = ["receiver"]

PANEL = meeting_pb2.TemplateRef(template_id="panel")
DONE = booking_pb2.SIDE_EFFECT_STATE_DONE


def _book(world: World, request_id: str, start: datetime, choices: Sequence[Sequence[str]],
          **fields: Any) -> booking_pb2.Booking:
    booking: booking_pb2.Booking = world.stub.CreateBooking(create_request(request_id, start, choices, **fields),
                                                            metadata=key(), timeout=30).booking
    return booking


def _move(booking_id: str, request_id: str, start: datetime | None, etag: str = "",
          **fields: Any) -> api.RescheduleBookingRequest:
    request = api.RescheduleBookingRequest(booking_id=booking_id, request_id=request_id, etag=etag, **fields)
    if start is not None:
        request.start.FromDatetime(start)
    request.now.FromDatetime(NOW)
    return request


def _reschedule(world: World, *args: Any, **fields: Any) -> api.RescheduleBookingResponse:
    reply: api.RescheduleBookingResponse = world.stub.RescheduleBooking(_move(*args, **fields), metadata=key(),
                                                                        timeout=30)
    return reply


def _update(booking_id: str, etag: str, **fields: Any) -> api.UpdateBookingRequest:
    return api.UpdateBookingRequest(booking_id=booking_id, etag=etag, booking=booking_pb2.Booking(**fields),
                                    update_mask=field_mask_pb2.FieldMask(paths=list(fields)))


def _error(call: Any, request: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        call(request, metadata=key(), timeout=30)
    return refused.value


def _seats(booking: booking_pb2.Booking) -> list[list[str]]:
    return [list(s.resource_ids) for s in booking.seats]


def _state(world: World, booking_id: str) -> dict[str, Any]:
    """Everything a change could touch: the booking as read, its holds and outbox rows, its
    webhook deliveries, every calendar file and the mails sent."""
    store = cast(SqlBookingStore, world.store)
    with store._tx(write=False) as tx:
        holds = tx.rows("SELECT resource_id, kind, exclusive, confirmed, start_at, end_at FROM booking_holds "
                        "WHERE booking_id = %s ORDER BY resource_id", (booking_id,))
        outbox = tx.rows("SELECT kind, status, attempts, next_attempt_at, detail FROM outbox WHERE booking_id = %s "
                         "ORDER BY kind", (booking_id,))
    booking = world.stub.GetBooking(api.GetBookingRequest(booking_id=booking_id), metadata=key(), timeout=10).booking
    return {
        "booking": booking.SerializeToString(deterministic=True),
        "holds": [tuple(str(v) for v in row) for row in holds],
        "outbox": [tuple(str(v) for v in row) for row in outbox],
        "webhooks": [d.event_id for d in world.store.list_webhook_deliveries("team", booking_id=booking_id)],
        "calendars": {p.name: p.read_bytes() for p in sorted((world.folder / "calendars").iterdir())},
        "mails": len(world.sink.received),
    }


def _settled_state(world: World, booking_id: str) -> dict[str, Any]:
    world.settled(booking_id)
    assert wait_for(lambda: all(d.status == "done" for d in
                                world.store.list_webhook_deliveries("team", booking_id=booking_id)))
    return _state(world, booking_id)


# --- A stale etag, a refused move: nothing changes --------------------------------------


def test_a_stale_etag_on_any_change_is_aborted_and_changes_nothing(world: World, receiver: Receiver) -> None:
    world.store.create_webhook_endpoint("team", receiver.url)
    first = _book(world, "r1", at(13), [["bob"], ["dan"], ["large"]], meeting=PANEL)
    _reschedule(world, first.id, "m1", at(14), etag="1")
    before = _settled_state(world, first.id)
    stale = [
        (world.stub.RescheduleBooking, _move(first.id, "m2", at(15), etag="1")),
        (world.stub.RescheduleBooking, _move(first.id, "m3", None, etag="1",
                                             replacement=api.SeatReplacement(seat_index=1))),
        (world.stub.RescheduleBooking, _move(first.id, "m4", at(15), etag="1", allow_conflicts=True,
                                             seats=[booking_pb2.SeatChoice(resource_ids=r)
                                                    for r in (["alice"], ["carol"], ["small"])])),
        (world.stub.UpdateBooking, _update(first.id, "1", title="Lost")),
        (world.stub.UpdateBooking, _update(first.id, "1", customers=[booking_pb2.Person(email="x@y.example")])),
    ]
    for call, request in stale:
        error = _error(call, request)
        assert error.code() == grpc.StatusCode.ABORTED, (request, error.details())
    assert _settled_state(world, first.id) == before
    # The aborted request ids were not used up: with the right etag they go through.
    assert _reschedule(world, first.id, "m2", at(15), etag="2").booking.etag == "3"


def test_a_move_refused_for_a_conflict_changes_nothing(world: World, receiver: Receiver) -> None:
    world.store.create_webhook_endpoint("team", receiver.url)
    first = _book(world, "r1", at(13), [["bob"], ["dan"], ["large"]], meeting=PANEL)
    world.settled(_book(world, "r2", at(15), [["carol"], ["large"]], organizer_member_id="carol").id)
    world.settled(first.id)  # bob organizes: his calendar is written by the outbox first (no lost write)
    add_event(world.calendar("bob"), "gym", at(16), at(17), "Gym")
    before = _settled_state(world, first.id)
    refused = [
        _move(first.id, "m1", at(10), etag="1"),  # the large room is repainted then, the small one too small
        _move(first.id, "m2", at(16), etag="1",  # bob named while at the gym
              seats=[booking_pb2.SeatChoice(resource_ids=r) for r in (["bob"], ["dan"], ["large"])]),
        _move(first.id, "m3", at(15), etag="1", allow_conflicts=True,  # the large room is booked: never doubled
              seats=[booking_pb2.SeatChoice(resource_ids=r) for r in (["bob"], ["dan"], ["large"])]),
    ]
    add_event(world.calendar("large"), "repaint", at(10), at(11), "Repaint")
    before["calendars"] = {p.name: p.read_bytes() for p in sorted((world.folder / "calendars").iterdir())}
    for request in refused:
        error = _error(world.stub.RescheduleBooking, request)
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, (request.request_id, error.details())
    assert _settled_state(world, first.id) == before


# --- The booking's own old time ----------------------------------------------------------


def test_a_move_overlapping_its_own_old_time_needs_no_allow_conflicts(world: World) -> None:
    # Buffers of 15 minutes each side, a pool seat and a room: every move below overlaps the old time.
    meeting = rules(member("bob"), meeting_pb2.Seat(pool=meeting_pb2.PoolSeat(pool_id="engineers")),
                    room("large"))
    meeting.buffer_before.FromTimedelta(timedelta(minutes=15))
    meeting.buffer_after.FromTimedelta(timedelta(minutes=15))
    first = _book(world, "r1", at(13), [["bob"], ["dan"], ["large"]], meeting=meeting)
    world.settled(first.id)  # the event is on bob's calendar at 13:00 now
    etag = first.etag
    for start in (at(13, 15), at(13), at(12, 45), at(12, 50)):
        reply = _reschedule(world, first.id, f"to-{start:%H%M}", start, etag=etag)
        assert reply.booking.start.ToDatetime() == start.replace(tzinfo=None)
        assert _seats(reply.booking) == [["bob"], ["dan"], ["large"]]  # dan kept, not redrawn to carol
        assert not reply.conflicts and not reply.booking.allow_conflicts
        etag = reply.booking.etag
        world.settled(first.id)
    # A room-only booking moved by 15 minutes.
    only_room = _book(world, "r2", at(15), [["small"]], organizer_member_id="carol")
    moved = _reschedule(world, only_room.id, "room-15", at(15, 15), etag=only_room.etag).booking
    assert moved.start.ToDatetime() == at(15, 15).replace(tzinfo=None)


def test_another_event_at_exactly_the_old_time_still_conflicts(world: World) -> None:
    # Booked anyway over bob's dentist at exactly the same hour.
    add_event(world.calendar("bob"), "dentist", at(13), at(14), "Dentist")
    first = _book(world, "r1", at(13), [["bob"]], organizer_member_id="alice", allow_conflicts=True)
    world.settled(first.id)
    error = _error(world.stub.RescheduleBooking, _move(first.id, "m1", at(13, 30), etag=first.etag))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
    preview = _reschedule(world, first.id, "", at(13, 30), etag=first.etag, validate_only=True)
    assert not preview.available
    assert [c.resource_id for c in preview.conflicts] == ["bob"]
    # Past the dentist it moves.
    assert _reschedule(world, first.id, "m2", at(14), etag=first.etag).booking.etag == "2"


# --- Replacing one person ---------------------------------------------------------------


def test_replacing_one_person_keeps_the_start_and_the_other_seats_as_drawn(world: World) -> None:
    # carol is the round-robin pool's next in line; dan was picked. Bob hosts, not alice.
    first = _book(world, "r1", at(13), [["bob"], ["dan"], ["large"]], meeting=PANEL)
    preview = _reschedule(world, first.id, "", None, etag="1", validate_only=True,
                          replacement=api.SeatReplacement(seat_index=0))
    assert preview.available and _seats(preview.booking) == [["alice"], ["dan"], ["large"]]
    reply = _reschedule(world, first.id, "x1", None, etag="1", replacement=api.SeatReplacement(seat_index=0))
    assert _seats(reply.booking) == [["alice"], ["dan"], ["large"]]
    assert reply.booking.start == first.start and list(reply.changed_seats) == [0]
    # The cheapest *free* candidate: with alice busy, a host seat of alice, bob, carol replacing alice takes
    # carol when bob is busy too.
    meeting = rules(member("alice", "bob", "carol"), member("dan"))
    second = _book(world, "r2", at(15), [["alice"], ["dan"]], meeting=meeting)
    world.settled(first.id)  # the outbox is done writing bob's calendar (r1's organizer): no lost write
    add_event(world.calendar("bob"), "gym", at(15), at(16), "Gym")
    replaced = _reschedule(world, second.id, "x2", None, etag="1", replacement=api.SeatReplacement(seat_index=0))
    assert _seats(replaced.booking) == [["carol"], ["dan"]]
    assert replaced.booking.start == second.start


# --- Idempotency ------------------------------------------------------------------------


def test_a_replayed_reschedule_returns_the_first_result_even_after_a_later_change(world: World) -> None:
    first = _book(world, "r1", at(11), [["bob"]])
    done = _reschedule(world, first.id, "move", at(13), etag="1")
    _reschedule(world, first.id, "later", at(15), etag="2")
    replay = _reschedule(world, first.id, "move", at(13), etag="1")
    assert replay.replayed and not done.replayed
    assert replay.booking == done.booking
    assert list(replay.changed_seats) == list(done.changed_seats)
    # The same id with another body, or for another booking: refused, nothing changed.
    other = _book(world, "r2", at(11), [["carol"]])
    for request in (_move(first.id, "move", at(14), etag="1"), _move(other.id, "move", at(13), etag="1")):
        error = _error(world.stub.RescheduleBooking, request)
        assert error.code() == grpc.StatusCode.ALREADY_EXISTS, error.details()
    current = world.stub.GetBooking(api.GetBookingRequest(booking_id=first.id), metadata=key(), timeout=10).booking
    assert (current.etag, current.start.ToDatetime()) == ("3", at(15).replace(tzinfo=None))


# --- The calendar event and the invitation keep their identity ---------------------------


def test_moves_update_one_event_in_place_and_raise_the_invitations_sequence(world: World) -> None:
    first = _book(world, "r1", at(11), [["bob"], ["carol"]])
    created = {e.kind: e for e in world.settled(first.id).side_effects}[booking_pb2.SIDE_EFFECT_KIND_CREATE_EVENT]
    uid = f"{first.id}@convene"
    etag = first.etag
    for n, start in enumerate((at(13), at(14, 30)), start=1):
        etag = _reschedule(world, first.id, f"m{n}", start, etag=etag).booking.etag
        settled = world.settled(first.id)
        effects = {e.kind: e for e in settled.side_effects}
        assert effects[booking_pb2.SIDE_EFFECT_KIND_UPDATE_EVENT].state == DONE
        assert effects[booking_pb2.SIDE_EFFECT_KIND_UPDATE_EVENT].result == created.result
        mine = [e for e in events_in(world.calendar("bob")) if str(e["UID"]) == uid]
        assert len(mine) == 1 and mine[0].decoded("DTSTART") == start and mine[0].decoded("SEQUENCE") >= n
        assert wait_for(lambda n=n: len(world.sink.received) == 1 + n)  # type: ignore[misc]
    invitations = [m.calendar() for m in world.sink.received if m.rcpt_tos == ["carla@customer.example"]]
    assert [method for method, _ in invitations] == ["REQUEST"] * 3
    events = [next(iter(c.walk("VEVENT"))) for _, c in invitations]
    assert {str(e["UID"]) for e in events} == {uid}
    assert [e.decoded("SEQUENCE") for e in events] == [0, 1, 2]


# --- Webhooks ---------------------------------------------------------------------------


def test_webhook_events_one_per_change_in_order_signed_in_the_protos_json(world: World,
                                                                          receiver: Receiver) -> None:
    endpoint = world.stub.CreateWebhookEndpoint(hooks.CreateWebhookEndpointRequest(url=receiver.url),
                                                metadata=key(), timeout=10).endpoint
    add_event(world.calendar("bob"), "secret-1", at(14), at(15), "Secret merger talk")
    first = _book(world, "r1", at(11), [["bob"]], organizer_member_id="alice")
    _reschedule(world, first.id, "m1", at(14), etag="1", allow_conflicts=True)  # over bob's secret meeting
    world.stub.UpdateBooking(_update(first.id, "2", title="Final round"), metadata=key(), timeout=10)
    world.stub.CancelBooking(api.CancelBookingRequest(booking_id=first.id), metadata=key(), timeout=10)
    assert wait_for(lambda: len(receiver.got) >= 4)
    verify = docs_verify()
    events = []
    for headers, body in receiver.got:
        assert verify(endpoint.secret, headers[SIGNATURE_HEADER], body)
        assert headers["Convene-Event-Id"] == json.loads(body)["id"]
        assert not verify(endpoint.secret, headers[SIGNATURE_HEADER], body + b" ")
        # The proto's JSON mapping, nothing else: Parse refuses unknown names and bad enum or time values.
        event = json_format.Parse(body, hooks.WebhookEvent())
        assert json_format.Parse(json_format.MessageToJson(event), hooks.WebhookEvent()) == event
        assert set(json.loads(body)["booking"]) <= {f.json_name for f in hooks.WebhookBooking.DESCRIPTOR.fields}
        assert b"Secret" not in body and b"secret-1" not in body
        events.append(event)
    assert [e.type for e in events] == ["booking.created", "booking.rescheduled", "booking.updated",
                                        "booking.cancelled"]
    assert len({e.id for e in events}) == 4
    assert {e.booking.id for e in events} == {first.id}
    assert [e.booking.sequence for e in events] == [0, 1, 2, 3]
    assert events[1].booking.start.ToDatetime() == at(14).replace(tzinfo=None)
    assert [e.booking.status for e in events] == [booking_pb2.BOOKING_STATUS_CONFIRMED] * 3 + [
        booking_pb2.BOOKING_STATUS_CANCELLED]


# --- The re-check of CreateBooking ------------------------------------------------------


def test_a_move_is_rechecked_as_a_create_is_its_own_booking_not_counted(world: World) -> None:
    # erin may take one meeting a day: moving her one meeting within the day is no second one.
    first = _book(world, "r1", at(13), [["erin"]], customers=())
    moved = _reschedule(world, first.id, "m1", at(14), etag="1").booking
    assert moved.start.ToDatetime() == at(14).replace(tzinfo=None)
    _book(world, "r2", at(13, day=8), [["erin"]], customers=())
    full = _error(world.stub.RescheduleBooking, _move(first.id, "m2", at(15, day=8), etag="2"))
    # A start before now + the minimum notice, and a room too small: refused as CreateBooking refuses them.
    past = datetime(2026, 11, 27, 13, tzinfo=NOW.tzinfo)
    late = _error(world.stub.RescheduleBooking, _move(first.id, "m3", past, etag="2"))
    late_create = _error(world.stub.CreateBooking, create_request("r3", past, [["bob"]]))
    assert (late.code(), full.code()) == (late_create.code(), grpc.StatusCode.FAILED_PRECONDITION), (
        late.details(), full.details())
    three = _book(world, "r4", at(10), [["bob"], ["carol"], ["large"]],
                  meeting=rules(member("bob"), member("carol"), room("large", "small")))
    small = _error(world.stub.RescheduleBooking, _move(three.id, "m4", at(10), etag="1", seats=[
        booking_pb2.SeatChoice(resource_ids=r) for r in (["bob"], ["carol"], ["small"])]))
    small_create = _error(world.stub.CreateBooking, create_request("r5", at(11), [["bob"], ["carol"], ["small"]]))
    assert small.code() == small_create.code() == grpc.StatusCode.FAILED_PRECONDITION, small.details()
    current = world.stub.GetBooking(api.GetBookingRequest(booking_id=first.id), metadata=key(), timeout=10).booking
    assert (current.etag, current.start.ToDatetime()) == ("2", at(14).replace(tzinfo=None))


def test_each_dropped_member_gets_one_cancel_however_many_moves_follow(world: World) -> None:
    meeting = rules(member("alice"), member("bob", "carol", "dan"))
    first = _book(world, "r1", at(11), [["alice"], ["bob"]], meeting=meeting)
    etag = world.settled(first.id).etag
    for n, (start, who) in enumerate(((at(13), "carol"), (at(14), "dan"), (at(15), "carol")), start=1):
        seats = [booking_pb2.SeatChoice(resource_ids=r) for r in (["alice"], [who])]
        etag = _reschedule(world, first.id, f"m{n}", start, etag=etag, seats=seats).booking.etag
        world.settled(first.id)

    def cancels(email: str) -> int:
        return sum(1 for m in list(world.sink.received) if email in m.rcpt_tos and m.calendar()[0] == "CANCEL")

    # Each was dropped once (carol by the second move, before the third took her back).
    wait_for(lambda: len(world.sink.received) >= 1 + 3 + 3)
    assert wait_for(lambda: (cancels("bob@team.example"), cancels("carol@team.example"),
                             cancels("dan@team.example")) == (1, 1, 1)), [
        (m.rcpt_tos, m.calendar()[0]) for m in world.sink.received]
    assert len(world.sink.received) == 1 + 3 + 3  # the invitation, 3 updates, 3 cancels
    assert (cancels("bob@team.example"), cancels("carol@team.example"), cancels("dan@team.example")) == (1, 1, 1)


# --- Conflicts of a move: in the error's details, event details only to their owner -----


def test_a_refused_move_names_its_conflicts_and_shows_event_details_only_to_their_owner(world: World) -> None:
    first = _book(world, "r1", at(13), [["alice"]])
    for api_key, owner in ((booking_world.OPS_KEY, False), (booking_world.ALICE_KEY, True)):
        with pytest.raises(grpc.RpcError) as refused:
            world.stub.RescheduleBooking(_move(first.id, "m1", at(10), etag="1"), metadata=key(api_key), timeout=30)
        error = refused.value
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        status = rpc_status.from_call(error)
        assert status is not None
        found = [d for d in status.details if d.Is(booking_pb2.BookingConflictDetails.DESCRIPTOR)]
        assert len(found) == 1, status.details
        details = booking_pb2.BookingConflictDetails()
        found[0].Unpack(details)
        assert [(c.resource_id, c.kind, c.start.ToDatetime()) for c in details.conflicts] == [
            ("alice", slots_pb2.CONFLICT_KIND_BUSY, at(10).replace(tzinfo=None))]
        assert (b"Board prep" in status.SerializeToString()) is owner
        preview = world.stub.RescheduleBooking(_move(first.id, "", at(10), etag="1", validate_only=True),
                                               metadata=key(api_key), timeout=30)
        assert not preview.available and [c.resource_id for c in preview.conflicts] == ["alice"]
        assert (b"Board prep" in preview.SerializeToString()) is owner
    anyway = world.stub.RescheduleBooking(_move(first.id, "m2", at(10), etag="1", allow_conflicts=True),
                                          metadata=key(), timeout=30)
    assert [c.resource_id for c in anyway.conflicts] == ["alice"]
    assert b"Board prep" not in anyway.SerializeToString()


# --- The old time holds nothing once the move commits, whatever the calendar says yet ----


def test_the_old_time_is_free_at_once_while_the_calendar_still_shows_the_booking_there(world: World) -> None:
    moved = _book(world, "r1", at(11), [["bob"]], organizer_member_id="bob")
    cancelled = _book(world, "r2", at(15), [["carol"]], organizer_member_id="carol")
    world.settled(moved.id)
    world.settled(cancelled.id)
    assert world.running.outbox is not None
    world.running.outbox.stop()  # the calendars keep the events where they were booked
    _reschedule(world, moved.id, "m1", at(14), etag="1")
    world.stub.CancelBooking(api.CancelBookingRequest(booking_id=cancelled.id), metadata=key(), timeout=10)
    stale = [(e.decoded("DTSTART"), str(e["UID"])) for who in ("bob", "carol") for e in events_in(world.calendar(who))]
    assert stale == [(at(11), f"{moved.id}@convene"), (at(15), f"{cancelled.id}@convene")]
    # Neither the old time nor the cancelled one holds anybody: a booking takes the one, ...
    assert _book(world, "r3", at(11), [["bob"]], organizer_member_id="alice").status == \
        booking_pb2.BOOKING_STATUS_CONFIRMED
    # ... a booking moves onto the other, and the moved booking still holds its new time.
    other = _book(world, "r4", at(9), [["carol"]], organizer_member_id="alice")
    assert _reschedule(world, other.id, "m2", at(15), etag="1").booking.etag == "2"
    taken = _error(world.stub.CreateBooking, create_request("r5", at(14), [["bob"]], organizer_member_id="alice"))
    assert taken.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_change_before_the_invitation_went_out_sends_the_customer_one_request(world: World) -> None:
    assert world.running.outbox is not None
    world.running.outbox.stop()  # the mail server is "down": the invitation waits
    first = _book(world, "r1", at(11), [["bob"]])
    _reschedule(world, first.id, "m1", at(14), etag="1")

    def settle() -> bool:
        world.running.outbox.run_once()  # type: ignore[union-attr]
        return all(e.state not in booking_world.PENDING for e in world.stub.GetBooking(
            api.GetBookingRequest(booking_id=first.id), metadata=key(), timeout=10).booking.side_effects)

    assert wait_for(settle)
    requests = [m.calendar() for m in world.sink.received if m.rcpt_tos == ["carla@customer.example"]]
    assert len(requests) == 1, [(method, next(iter(c.walk("VEVENT"))).decoded("SEQUENCE")) for method, c in requests]
    method, calendar = requests[0]
    (event,) = calendar.walk("VEVENT")
    assert (method, event.decoded("DTSTART"), event.decoded("SEQUENCE")) == ("REQUEST", at(14), 1)
    # A later change is still sent, with the next SEQUENCE.
    _reschedule(world, first.id, "m2", at(15), etag="2")
    assert wait_for(settle)
    requests = [m.calendar() for m in world.sink.received if m.rcpt_tos == ["carla@customer.example"]]
    assert [next(iter(c.walk("VEVENT"))).decoded("SEQUENCE") for _, c in requests] == [1, 2]


def test_cancelling_a_moved_booking_cancels_the_one_event_with_the_highest_sequence(world: World) -> None:
    first = _book(world, "r1", at(11), [["bob"]])
    world.settled(first.id)
    etag = _reschedule(world, first.id, "m1", at(13), etag="1").booking.etag
    world.settled(first.id)
    world.stub.UpdateBooking(_update(first.id, etag, title="Final round"), metadata=key(), timeout=10)
    world.settled(first.id)
    world.stub.CancelBooking(api.CancelBookingRequest(booking_id=first.id), metadata=key(), timeout=10)
    settled = world.settled(first.id)
    assert all(e.state == DONE for e in settled.side_effects), settled.side_effects
    uid = f"{first.id}@convene"
    assert [e for e in events_in(world.calendar("bob")) if str(e["UID"]) == uid] == []
    assert wait_for(lambda: len(world.sink.received) == 4)
    mails = [m.calendar() for m in world.sink.received]
    seen = [(method, str(next(iter(c.walk("VEVENT")))["UID"]), next(iter(c.walk("VEVENT"))).decoded("SEQUENCE"))
            for method, c in mails]
    assert seen == [("REQUEST", uid, 0), ("REQUEST", uid, 1), ("REQUEST", uid, 2), ("CANCEL", uid, 3)]
    # Free again at once: the old and the last time both take another booking.
    for n, start in enumerate((at(11), at(13))):
        assert _book(world, f"again-{n}", start, [["bob"]]).status == booking_pb2.BOOKING_STATUS_CONFIRMED
