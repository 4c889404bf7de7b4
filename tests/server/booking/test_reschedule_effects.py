"""End to end over the real server (SQLite and PostgreSQL): after RescheduleBooking the
organizer's .ics file holds the one event of the booking's UID at the new time, the
customer's mail client (aiosmtpd on loopback) gets the same UID with a higher SEQUENCE
(METHOD:REQUEST), and the member the move dropped a METHOD:CANCEL.

RescheduleBooking and the store's reschedule are the lifecycle helper's (issue 17); until
both branches are merged this module has nothing to call and says so."""

from __future__ import annotations

import pytest

from convene.v1 import booking_pb2
from convene.v1 import scheduling_service_pb2 as api
from tests.server import booking_world
from tests.server.booking_world import World, at, create_request, events_in, key, member, rules, wait_for

if not hasattr(api, "RescheduleBookingRequest"):
    pytest.skip("RescheduleBooking is not in this tree (the lifecycle branch of issue 17 brings it)",
                allow_module_level=True)

database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world

DONE = booking_pb2.SIDE_EFFECT_STATE_DONE


def _attendees(event: object) -> set[str]:
    found = event.get("ATTENDEE")  # type: ignore[attr-defined]
    return {str(a) for a in (found if isinstance(found, list) else [found])}


def test_a_reschedule_moves_the_event_updates_the_customer_and_cancels_for_the_dropped(world: World) -> None:
    meeting = rules(member("alice"), member("bob", "carol"))
    created = world.stub.CreateBooking(create_request("move-1", at(11), [["alice"], ["bob"]], meeting=meeting),
                                       metadata=key(), timeout=10).booking
    booked = world.settled(created.id)
    assert all(e.state == DONE for e in booked.side_effects) and len(world.sink.received) == 1
    uid = f"{created.id}@convene"

    request = api.RescheduleBookingRequest(booking_id=created.id, request_id="move-1-to-14", etag=booked.etag,
                                           seats=[booking_pb2.SeatChoice(resource_ids=["alice"]),
                                                  booking_pb2.SeatChoice(resource_ids=["carol"])])
    request.start.FromDatetime(at(14))
    request.now.FromDatetime(booking_world.NOW)
    moved = world.stub.RescheduleBooking(request, metadata=key(), timeout=10).booking
    assert moved.sequence == 1
    settled = world.settled(moved.id)
    effects = {e.kind: e for e in settled.side_effects}
    for kind in (booking_pb2.SIDE_EFFECT_KIND_UPDATE_EVENT, booking_pb2.SIDE_EFFECT_KIND_SEND_UPDATE,
                 booking_pb2.SIDE_EFFECT_KIND_SEND_DROPPED):
        assert effects[kind].state == DONE, effects[kind]
    assert effects[booking_pb2.SIDE_EFFECT_KIND_UPDATE_EVENT].result == uid

    # The organizer's calendar: the same event, moved; nothing left at the old time.
    mine = [e for e in events_in(world.calendar("alice")) if str(e["UID"]) == uid]
    assert len(mine) == 1
    assert mine[0].decoded("DTSTART") == at(14) and mine[0].decoded("DTEND") == at(15)
    assert "board-prep" in [str(e["UID"]) for e in events_in(world.calendar("alice"))]

    assert wait_for(lambda: len(world.sink.received) == 3)
    by_rcpt = {tuple(m.rcpt_tos): m for m in world.sink.received[1:]}
    method, calendar = by_rcpt[("carla@customer.example",)].calendar()
    (event,) = calendar.walk("VEVENT")
    assert method == "REQUEST" and str(event["UID"]) == uid and event.decoded("SEQUENCE") == 1
    assert event.decoded("DTSTART") == at(14)
    assert "mailto:carol@team.example" in _attendees(event) and "mailto:bob@team.example" not in _attendees(event)
    (first,) = world.sink.received[0].calendar()[1].walk("VEVENT")
    assert str(first["UID"]) == uid and first.decoded("SEQUENCE") == 0

    method, calendar = by_rcpt[("bob@team.example",)].calendar()
    (event,) = calendar.walk("VEVENT")
    assert method == "CANCEL" and str(event["UID"]) == uid and event.decoded("SEQUENCE") == 1
    assert _attendees(event) == {"mailto:bob@team.example"}
