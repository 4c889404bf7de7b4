"""After commit the organizer's calendar gets the event and a real SMTP server (aiosmtpd on
a loopback port) the customer's invitation; a cancel removes the event and sends
METHOD:CANCEL with the same UID. Both states show on the booking."""

from __future__ import annotations

import time

from convene.v1 import booking_pb2, meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from tests.server import booking_world
from tests.server.booking_world import (
    World,
    at,
    create_request,
    events_in,
    key,
    wait_for,
)

# The booking fixtures: pytest finds a module's fixtures among its attributes.
database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world

DONE = booking_pb2.SIDE_EFFECT_STATE_DONE


def _attendees(event: object) -> set[str]:
    found = event.get("ATTENDEE")  # type: ignore[attr-defined]
    return {str(a) for a in (found if isinstance(found, list) else [found])}


def test_the_customer_gets_the_invitation_and_the_cancellation(world: World) -> None:
    request = create_request("panel-1", at(11), [["alice"], ["carol"], ["large"]],
                             meeting=meeting_pb2.TemplateRef(template_id="panel"), title="")
    created = world.stub.CreateBooking(request, metadata=key(), timeout=10).booking
    assert created.title == "Panel interview" and created.location == "Large room"
    assert created.organizer.email == "alice@team.example"
    booking = world.settled(created.id)
    effects = {e.kind: e for e in booking.side_effects}
    assert effects[booking_pb2.SIDE_EFFECT_KIND_CREATE_EVENT].state == DONE
    assert effects[booking_pb2.SIDE_EFFECT_KIND_SEND_INVITE].state == DONE
    assert effects[booking_pb2.SIDE_EFFECT_KIND_SEND_INVITE].result == "sent to 1"
    uid = f"{created.id}@convene"

    # The invitation, as the customer's mail client reads it.
    assert len(world.sink.received) == 1
    mail = world.sink.received[0]
    assert mail.rcpt_tos == ["carla@customer.example"]
    method, calendar = mail.calendar()
    (event,) = calendar.walk("VEVENT")
    assert method == "REQUEST" and str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == uid
    assert str(event["ORGANIZER"]) == "mailto:alice@team.example"
    assert event["ORGANIZER"].params["CN"] == "Alice"
    assert _attendees(event) == {"mailto:alice@team.example", "mailto:carol@team.example",
                                 "mailto:carla@customer.example"}
    assert event.decoded("DTSTART") == at(11) and event.decoded("DTEND") == at(12)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin" == event["DTEND"].params["TZID"]
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert str(event["SUMMARY"]) == "Panel interview"

    # The organizer's calendar file holds the same event.
    (written,) = [e for e in events_in(world.calendar("alice")) if str(e["UID"]) == uid]
    assert written.decoded("DTSTART") == at(11) and written.decoded("DTEND") == at(12)

    cancelled = world.stub.CancelBooking(api.CancelBookingRequest(booking_id=created.id), metadata=key(),
                                         timeout=10).booking
    assert cancelled.status == booking_pb2.BOOKING_STATUS_CANCELLED and cancelled.sequence == 1
    booking = world.settled(created.id)
    assert [e.state for e in booking.side_effects] == [DONE] * 4
    assert wait_for(lambda: len(world.sink.received) == 2)
    method, calendar = world.sink.received[1].calendar()
    (event,) = calendar.walk("VEVENT")
    assert method == "CANCEL"
    assert str(event["UID"]) == uid and event.decoded("SEQUENCE") == 1 and str(event["STATUS"]) == "CANCELLED"
    assert uid not in [str(e["UID"]) for e in events_in(world.calendar("alice"))]
    assert "board-prep" in [str(e["UID"]) for e in events_in(world.calendar("alice"))]

    # Cancelling again changes nothing and tells nobody twice.
    again = world.stub.CancelBooking(api.CancelBookingRequest(booking_id=created.id), metadata=key()).booking
    assert again.status == booking_pb2.BOOKING_STATUS_CANCELLED and again.sequence == 1
    time.sleep(0.3)
    assert len(world.sink.received) == 2


def test_a_booking_without_customers_emails_nobody(world: World) -> None:
    created = world.stub.CreateBooking(create_request("internal", at(14), [["bob"]], customers=()),
                                       metadata=key(), timeout=10).booking
    booking = world.settled(created.id)
    effects = {e.kind: e.state for e in booking.side_effects}
    assert effects == {booking_pb2.SIDE_EFFECT_KIND_CREATE_EVENT: DONE,
                       booking_pb2.SIDE_EFFECT_KIND_SEND_INVITE: booking_pb2.SIDE_EFFECT_STATE_SKIPPED}
    assert f"{created.id}@convene" in [str(e["UID"]) for e in events_in(world.calendar("bob"))]
    assert not world.sink.received
