"""RescheduleBooking and UpdateBooking over the real server, on SQLite and PostgreSQL:
moves to free and busy times, allow_conflicts, etags, races, replays, kept and
replaced members, the preview, and the outbox rows and webhook events a change writes."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from threading import Barrier

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from convene.v1 import booking_pb2, meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from server.booking.store import TaskKind
from tests.server import booking_world
from tests.server.booking_world import NOW, World, add_event, at, create_request, key, wait_for

database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world

PANEL = meeting_pb2.TemplateRef(template_id="panel")


def _book(world: World, request_id: str, start: datetime, choices: Sequence[Sequence[str]],
          **fields: object) -> booking_pb2.Booking:
    reply = world.stub.CreateBooking(create_request(request_id, start, choices, **fields),  # type: ignore[arg-type]
                                     metadata=key(), timeout=30)
    return reply.booking


def _move(booking_id: str, request_id: str, start: datetime | None, etag: str = "", **fields: object,
          ) -> api.RescheduleBookingRequest:
    request = api.RescheduleBookingRequest(booking_id=booking_id, request_id=request_id, etag=etag,
                                           **fields)  # type: ignore[arg-type]
    if start is not None:
        request.start.FromDatetime(start)
    request.now.FromDatetime(NOW)
    return request


def _reschedule(world: World, *args: object, **fields: object) -> api.RescheduleBookingResponse:
    reply: api.RescheduleBookingResponse = world.stub.RescheduleBooking(
        _move(*args, **fields), metadata=key(), timeout=30)  # type: ignore[arg-type]
    return reply


def _get(world: World, booking_id: str) -> booking_pb2.Booking:
    booking: booking_pb2.Booking = world.stub.GetBooking(api.GetBookingRequest(booking_id=booking_id),
                                                         metadata=key(), timeout=10).booking
    return booking


def _refused(world: World, request: api.RescheduleBookingRequest | api.UpdateBookingRequest) -> grpc.RpcError:
    method = world.stub.RescheduleBooking if isinstance(request, api.RescheduleBookingRequest) \
        else world.stub.UpdateBooking
    with pytest.raises(grpc.RpcError) as refused:
        method(request, metadata=key(), timeout=30)
    return refused.value


def _info(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    return ""


def _fields(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)
    assert status is not None
    out = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            out.extend(v.field for v in bad.field_violations)
    return out


def _seats(booking: booking_pb2.Booking) -> list[list[str]]:
    return [list(s.resource_ids) for s in booking.seats]


def _effects(booking: booking_pb2.Booking) -> dict[int, int]:
    return {e.kind: e.state for e in booking.side_effects}


def _holders(world: World, resource_id: str, start: datetime, end: datetime) -> list[str]:
    return [b.id for b in world.store.confirmed_bookings("team", [resource_id], start, end)]


def test_reschedule_to_a_free_time_moves_the_booking_and_its_holds(world: World) -> None:
    world.store.create_webhook_endpoint("team", "http://127.0.0.1:9/hook")
    first = _book(world, "r1", at(11), [["bob"], ["small"]])
    world.settled(first.id)  # the event is on bob's calendar at 11:00 now
    assert (first.etag, first.sequence) == ("1", 0)

    # Half an hour later: overlaps the booking's own old hour and its calendar event.
    moved = _reschedule(world, first.id, "move-1", at(11, 30), etag="1").booking
    assert (moved.id, moved.start.ToDatetime(), moved.etag, moved.sequence) == (first.id, at(11, 30).replace(
        tzinfo=None), "2", 1)
    assert moved.HasField("update_time")
    assert _seats(moved) == [["bob"], ["small"]]
    assert _holders(world, "bob", at(0), at(23)) == [first.id]
    assert world.store.confirmed_bookings("team", ["small"], at(11, 30), at(12, 30))[0].start == at(11, 30)
    # The old half hour is free: another booking takes it.
    _book(world, "r2", at(10, 30), [["small"]], organizer_member_id="carol")

    again = _reschedule(world, first.id, "move-2", at(14), etag="2").booking
    assert (again.etag, again.sequence) == ("3", 2)
    # The outbox: the calendar event updated in place, the customer told again, due now.
    effects = _effects(again)
    assert effects[booking_pb2.SIDE_EFFECT_KIND_UPDATE_EVENT] == booking_pb2.SIDE_EFFECT_STATE_PENDING
    assert effects[booking_pb2.SIDE_EFFECT_KIND_SEND_UPDATE] == booking_pb2.SIDE_EFFECT_STATE_PENDING
    assert booking_pb2.SIDE_EFFECT_KIND_SEND_DROPPED not in effects
    kinds = [d.event_kind for d in world.store.list_webhook_deliveries("team", booking_id=first.id)]
    assert kinds == ["booking.created", "booking.rescheduled", "booking.rescheduled"]


def test_reschedule_to_a_busy_time_is_refused_and_changes_nothing(world: World) -> None:
    first = _book(world, "r1", at(13), [["alice"], ["small"]])
    other = _book(world, "r2", at(15), [["bob"], ["small"]])
    # Alice's calendar has "Board prep" at 10:00; the small room is booked at 15:00.
    for start in (at(10), at(15, 30)):
        error = _refused(world, _move(first.id, f"move-{start.hour}", start, etag="1"))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
        assert _info(error) == "SLOT_UNAVAILABLE"
    after = _get(world, first.id)
    assert (after.start, after.etag, after.sequence) == (first.start, "1", 0)
    assert booking_pb2.SIDE_EFFECT_KIND_UPDATE_EVENT not in _effects(after)
    assert _holders(world, "small", at(0), at(23)) == [first.id, other.id]
    # The room stays refused with allow_conflicts; alice's meeting is booked anyway.
    error = _refused(world, _move(first.id, "move-room", at(15, 30), etag="1", allow_conflicts=True))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    reply = _reschedule(world, first.id, "move-anyway", at(10), etag="1", allow_conflicts=True)
    assert reply.booking.start.ToDatetime() == at(10).replace(tzinfo=None)
    assert reply.booking.allow_conflicts
    assert [(c.resource_id, c.kind) for c in reply.conflicts] == [("alice", 1)]  # CONFLICT_KIND_BUSY


def test_a_stale_etag_is_aborted(world: World) -> None:
    first = _book(world, "r1", at(11), [["bob"]])
    _reschedule(world, first.id, "a", at(13), etag="1")
    error = _refused(world, _move(first.id, "b", at(14), etag="1"))
    assert error.code() == grpc.StatusCode.ABORTED, error.details()
    assert _info(error) == "STALE_ETAG"
    assert _fields(error) == ["etag"]
    assert _get(world, first.id).start.ToDatetime() == at(13).replace(tzinfo=None)
    bad = _refused(world, _move(first.id, "c", at(14), etag="v1"))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _fields(bad) == ["etag"]


def test_twenty_concurrent_reschedules_with_one_etag_exactly_one_wins(world: World) -> None:
    first = _book(world, "r1", at(16, day=4), [["bob"], ["small"]])  # Friday before
    starts = [at(9 + i % 5, day=8 + i // 5) for i in range(20)]  # Tue-Fri, 09:00-13:00
    gate = Barrier(len(starts))

    def call(i: int) -> api.RescheduleBookingResponse | grpc.RpcError:
        gate.wait()
        try:
            return _reschedule(world, first.id, f"move-{i}", starts[i], etag="1")
        except grpc.RpcError as exc:
            return exc

    with ThreadPoolExecutor(len(starts)) as pool:
        outcomes = list(pool.map(call, range(len(starts))))
    won = [o for o in outcomes if isinstance(o, api.RescheduleBookingResponse)]
    lost = [o for o in outcomes if isinstance(o, grpc.RpcError)]
    assert len(won) == 1, [e.details() for e in lost][:3]
    assert {e.code() for e in lost} == {grpc.StatusCode.ABORTED}, [e.details() for e in lost][:3]
    after = _get(world, first.id)
    assert (after.etag, after.sequence) == ("2", 1)
    assert after.start == won[0].booking.start
    held = world.store.confirmed_bookings("team", ["bob", "small"], at(0, day=1), at(0, day=12))
    assert [(b.id, b.start) for b in held] == [(first.id, after.start.ToDatetime().replace(tzinfo=NOW.tzinfo))]


def test_a_reschedule_racing_a_create_for_the_new_time_never_confirms_both(world: World) -> None:
    for round_ in range(4):
        old, new = at(9 + round_, day=8), at(9 + round_, day=9)
        first = _book(world, f"r{round_}", old, [["bob"], ["small"]])
        gate = Barrier(2)

        def move(first: booking_pb2.Booking = first, new: datetime = new, gate: Barrier = gate) -> object:
            gate.wait()
            try:
                return _reschedule(world, first.id, f"move-{first.id}", new, etag="1")
            except grpc.RpcError as exc:
                return exc

        def create(new: datetime = new, round_: int = round_, gate: Barrier = gate) -> object:
            gate.wait()
            try:
                return _book(world, f"rival-{round_}", new, [["small"]], organizer_member_id="carol")
            except grpc.RpcError as exc:
                return exc

        with ThreadPoolExecutor(2) as pool:
            futures = pool.submit(move), pool.submit(create)
            moved, created = (f.result() for f in futures)
        outcomes = [moved, created]
        wins = [o for o in outcomes if not isinstance(o, grpc.RpcError)]
        assert len(wins) == 1, outcomes
        for o in outcomes:
            if isinstance(o, grpc.RpcError):
                assert o.code() == grpc.StatusCode.FAILED_PRECONDITION, o.details()
        assert len(_holders(world, "small", new, new.replace(minute=59))) == 1
        # The loser changed nothing: the booking is where it was, or the rival does not exist.
        if isinstance(moved, grpc.RpcError):
            assert _get(world, first.id).etag == "1"
            assert _holders(world, "small", old, old.replace(minute=59)) == [first.id]


def test_a_replay_of_the_same_request_id_returns_the_first_result(world: World) -> None:
    first = _book(world, "r1", at(11), [["bob"]])
    done = _reschedule(world, first.id, "move", at(13), etag="1")
    replay = _reschedule(world, first.id, "move", at(13), etag="1")
    assert not done.replayed and replay.replayed
    assert (replay.booking.etag, replay.booking.start) == ("2", done.booking.start)
    other = _refused(world, _move(first.id, "move", at(14), etag="2"))
    assert other.code() == grpc.StatusCode.ALREADY_EXISTS, other.details()
    assert _get(world, first.id).etag == "2"


def test_seats_keep_their_members_when_free_else_the_cheapest_free_candidate(world: World) -> None:
    # bob, not alice (the primary), hosts; dan, not the round-robin pick, is the engineer.
    first = _book(world, "r1", at(13), [["bob"], ["dan"], ["large"]], meeting=PANEL)
    moved = _reschedule(world, first.id, "m1", at(14), etag="1").booking
    assert _seats(moved) == [["bob"], ["dan"], ["large"]]
    assert [s.pool_id for s in moved.seats] == ["", "engineers", "rooms"]
    # dan is busy at 15:00: the engineer seat takes carol; bob and the room stay.
    add_event(world.calendar("dan"), "dentist", at(15), at(16), "Dentist")
    moved = _reschedule(world, first.id, "m2", at(15), etag="2").booking
    assert _seats(moved) == [["bob"], ["carol"], ["large"]]
    assert sorted(p.email for p in moved.attendees) == ["bob@team.example", "carol@team.example"]
    # The dropped member is told: send_dropped carries dan.
    assert _effects(moved)[booking_pb2.SIDE_EFFECT_KIND_SEND_DROPPED] == booking_pb2.SIDE_EFFECT_STATE_PENDING
    assert wait_for(lambda: any("dan@team.example" in r.rcpt_tos and r.calendar()[0] == "CANCEL"
                                for r in list(world.sink.received)))
    # Named seats are taken as named.
    named = _reschedule(world, first.id, "m3", at(16), etag="3",
                        seats=[booking_pb2.SeatChoice(resource_ids=r) for r in (["alice"], ["dan"], ["large"])])
    assert _seats(named.booking) == [["alice"], ["dan"], ["large"]]
    assert sorted(named.changed_seats) == [0, 1]


def test_replace_a_person_with_and_without_a_named_member(world: World) -> None:
    first = _book(world, "r1", at(13), [["bob"], ["dan"], ["large"]], meeting=PANEL)
    # No replacement named: the engineer seat's only other candidate, carol; the others stay.
    replaced = _reschedule(world, first.id, "x1", None, etag="1",
                           replacement=api.SeatReplacement(seat_index=1)).booking
    assert _seats(replaced) == [["bob"], ["carol"], ["large"]]
    assert replaced.start == first.start
    # Named: alice hosts instead of bob.
    reply = _reschedule(world, first.id, "x2", None, etag="2",
                        replacement=api.SeatReplacement(seat_index=0, replaced_id="bob", resource_id="alice"))
    assert _seats(reply.booking) == [["alice"], ["carol"], ["large"]]
    assert list(reply.changed_seats) == [0]
    # Not a candidate of the seat / no such seat: INVALID_ARGUMENT naming the field.
    error = _refused(world, _move(first.id, "x3", None, etag="3",
                                  replacement=api.SeatReplacement(seat_index=0, resource_id="carol")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _fields(error) == ["replacement.resource_id"]
    error = _refused(world, _move(first.id, "x4", None, etag="3", replacement=api.SeatReplacement(seat_index=7)))
    assert _fields(error) == ["replacement.seat_index"]
    # Nobody free to take the place: refused, nothing changed.
    add_event(world.calendar("dan"), "dentist", at(13), at(14), "Dentist")
    error = _refused(world, _move(first.id, "x5", None, etag="3", replacement=api.SeatReplacement(seat_index=1)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
    assert _get(world, first.id).etag == "3"


def test_the_preview_changes_nothing(world: World) -> None:
    first = _book(world, "r1", at(13), [["alice"], ["small"]])
    preview = _reschedule(world, first.id, "", at(14), etag="1", validate_only=True)
    assert preview.available and not preview.conflicts
    assert preview.booking.start.ToDatetime() == at(14).replace(tzinfo=None)
    busy = _reschedule(world, first.id, "", at(10), etag="1", validate_only=True)
    assert not busy.available and busy.reason
    assert [c.resource_id for c in busy.conflicts] == ["alice"]
    after = _get(world, first.id)
    assert (after.start, after.etag, after.sequence) == (first.start, "1", 0)
    assert booking_pb2.SIDE_EFFECT_KIND_UPDATE_EVENT not in _effects(after)
    stale = _refused(world, _move(first.id, "", at(14), etag="7", validate_only=True))
    assert stale.code() == grpc.StatusCode.ABORTED


def _update(booking_id: str, etag: str, paths: Sequence[str], **fields: object) -> api.UpdateBookingRequest:
    return api.UpdateBookingRequest(booking_id=booking_id, etag=etag,
                                    booking=booking_pb2.Booking(**fields),  # type: ignore[arg-type]
                                    update_mask=field_mask_pb2.FieldMask(paths=paths))


def test_update_booking_with_a_mask_and_an_etag(world: World) -> None:
    world.store.create_webhook_endpoint("team", "http://127.0.0.1:9/hook")
    first = _book(world, "r1", at(13), [["bob"]], description="Bring a laptop")
    updated = world.stub.UpdateBooking(_update(first.id, "1", ["title"], title="Final round", description="x"),
                                       metadata=key(), timeout=10).booking
    assert (updated.title, updated.description, updated.etag, updated.sequence) == (
        "Final round", "Bring a laptop", "2", 1)
    assert _effects(updated)[booking_pb2.SIDE_EFFECT_KIND_UPDATE_EVENT] == booking_pb2.SIDE_EFFECT_STATE_PENDING
    stale = _refused(world, _update(first.id, "1", ["title"], title="Lost"))
    assert stale.code() == grpc.StatusCode.ABORTED
    unknown = _refused(world, _update(first.id, "2", ["title", "start"], title="x"))
    assert unknown.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _fields(unknown) == ["update_mask"]
    # New customers: the one dropped gets a METHOD:CANCEL (send_dropped).
    customers = [booking_pb2.Person(name="Cleo", email="cleo@customer.example")]
    changed = world.stub.UpdateBooking(_update(first.id, "2", ["customers"], customers=customers),
                                       metadata=key(), timeout=10).booking
    assert [c.email for c in changed.customers] == ["cleo@customer.example"]
    assert changed.title == "Final round"
    assert _effects(changed)[booking_pb2.SIDE_EFFECT_KIND_SEND_DROPPED] == booking_pb2.SIDE_EFFECT_STATE_PENDING
    assert TaskKind.SEND_UPDATE in world.store.get(first.id).side_effects
    kinds = [d.event_kind for d in world.store.list_webhook_deliveries("team", booking_id=first.id)]
    assert kinds == ["booking.created", "booking.updated", "booking.updated"]
    bad = _refused(world, _update(first.id, "3", ["customers"], customers=[booking_pb2.Person(email="nope")]))
    assert _fields(bad) == ["booking.customers[0].email"]
    world.stub.CancelBooking(api.CancelBookingRequest(booking_id=first.id), metadata=key(), timeout=10)
    cancelled = _refused(world, _update(first.id, "", ["title"], title="x"))
    assert cancelled.code() == grpc.StatusCode.FAILED_PRECONDITION
