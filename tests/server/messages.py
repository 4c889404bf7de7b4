"""Small builders of request messages for the server tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from convene.v1 import booking_pb2, meeting_pb2, sequences_pb2
from convene.v1 import scheduling_service_pb2 as api
from tests.server.conftest import MONDAY, NOW, hours


def member(*candidates: str, label: str = "") -> meeting_pb2.Seat:
    return meeting_pb2.Seat(label=label, member=meeting_pb2.MemberSeat(candidates=candidates))


def pool(pool_id: str, count: int = 1, label: str = "") -> meeting_pb2.Seat:
    return meeting_pb2.Seat(label=label, pool=meeting_pb2.PoolSeat(pool_id=pool_id, count=count))


def room(*room_ids: str, pools: tuple[str, ...] = (), label: str = "") -> meeting_pb2.Seat:
    return meeting_pb2.Seat(label=label, room=meeting_pb2.RoomSeat(room_ids=room_ids, pool_ids=pools))


HOUR = hours(1)
DAY_AFTER_MONDAY = MONDAY + hours(24)


def rules(*seats: meeting_pb2.Seat, duration: timedelta = HOUR, **fields: object) -> meeting_pb2.MeetingRules:
    message = meeting_pb2.MeetingRules(seats=seats, **fields)  # type: ignore[arg-type]
    message.duration.FromTimedelta(duration)
    return message


def find(meeting: meeting_pb2.MeetingRules | meeting_pb2.TemplateRef, start: datetime = MONDAY,
         end: datetime = DAY_AFTER_MONDAY, zone: str = "UTC", **fields: object) -> api.FindSlotsRequest:
    which = "template" if isinstance(meeting, meeting_pb2.TemplateRef) else "rules"
    request = api.FindSlotsRequest(time_zone=zone, **{which: meeting}, **fields)  # type: ignore[arg-type]
    request.window_start.FromDatetime(start)
    request.window_end.FromDatetime(end)
    if not request.HasField("now"):
        request.now.FromDatetime(NOW)
    return request


def check(meeting: meeting_pb2.MeetingRules | meeting_pb2.TemplateRef, start: datetime,
          zone: str = "UTC") -> api.CheckTimeRequest:
    which = "template" if isinstance(meeting, meeting_pb2.TemplateRef) else "rules"
    request = api.CheckTimeRequest(time_zone=zone, **{which: meeting})
    request.start.FromDatetime(start)
    request.now.FromDatetime(NOW)
    return request


def segment(meeting: meeting_pb2.MeetingRules | meeting_pb2.TemplateRef, label: str = "") -> sequences_pb2.SegmentSpec:
    which = "template" if isinstance(meeting, meeting_pb2.TemplateRef) else "rules"
    return sequences_pb2.SegmentSpec(label=label, **{which: meeting})


def sequence(*segments: sequences_pb2.SegmentSpec, min_gap: timedelta = timedelta(0),
             max_gap: timedelta = timedelta(0), **fields: object) -> sequences_pb2.SequenceRules:
    """A SequenceRules of ``segments`` (listed order unless ``any_order``)."""
    message = sequences_pb2.SequenceRules(segments=segments, **fields)  # type: ignore[arg-type]
    message.min_gap.FromTimedelta(min_gap)
    message.max_gap.FromTimedelta(max_gap)
    return message


def find_sequences(rules: sequences_pb2.SequenceRules, start: datetime = MONDAY, end: datetime = DAY_AFTER_MONDAY,
                   zone: str = "UTC", **fields: object) -> api.FindSequencesRequest:
    request = api.FindSequencesRequest(rules=rules, time_zone=zone, **fields)  # type: ignore[arg-type]
    request.window_start.FromDatetime(start)
    request.window_end.FromDatetime(end)
    if not request.HasField("now"):
        request.now.FromDatetime(NOW)
    return request


def check_sequence(rules: sequences_pb2.SequenceRules, start: datetime, zone: str = "UTC") -> api.CheckSequenceRequest:
    request = api.CheckSequenceRequest(rules=rules, time_zone=zone)
    request.start.FromDatetime(start)
    request.now.FromDatetime(NOW)
    return request


def book_sequence(request_id: str, rules: sequences_pb2.SequenceRules,
                  choices: list[tuple[datetime, list[list[str]]]], zone: str = "UTC",
                  customers: tuple[tuple[str, str], ...] = (("Carla Customer", "carla@customer.example"),),
                  **fields: object) -> api.BookSequenceRequest:
    """A BookSequence request: per listed segment its start and the ids per seat."""
    request = api.BookSequenceRequest(
        request_id=request_id, rules=rules, time_zone=zone,
        customers=[booking_pb2.Person(name=n, email=e) for n, e in customers], **fields)  # type: ignore[arg-type]
    for start, seats in choices:
        choice = request.segments.add(seats=[booking_pb2.SeatChoice(resource_ids=ids) for ids in seats])
        choice.start.FromDatetime(start)
    request.now.FromDatetime(NOW)
    return request
