"""Proto <-> domain, as pure functions.

    request -> **proto to SlotRequest** -> validate -> fetch busy -> assign -> **SlotResult to proto**

In: a FindSlots/CheckTime request becomes a ``Query``: the solver's
``SlotRequest`` plus what the reply needs (the page-token fingerprint) and a
``FieldPaths`` that renames the solver's field paths (``seats[1].candidates[0]``)
into the request's own (``rules.seats[1].member.candidates[0]``). Problems only
the wire can have (a missing timestamp, a seat with no kind, a bad page token)
are reported here as ``InvalidRequest``, one violation each, with proto paths;
everything else is the solver's ``validate_request``.

Out: results become replies; every conflict passes ``privacy.visible_details``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from google.protobuf import duration_pb2, timestamp_pb2

from convene.v1 import directory_pb2, meeting_pb2, scheduling_service_pb2, slots_pb2
from server.calendars.busy import Unavailable
from server.calendars.privacy import visible_details
from server.wire import bounds, paging
from solver.domain import (
    BusyKind,
    Conflict,
    Diagnosis,
    MemberSeat,
    Order,
    PoolSeat,
    RoomSeat,
    Seat,
    Slot,
    SlotRequest,
    SlotResult,
    Weights,
)
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, SchedulingError, UnknownResource
from solver.slots import TimeCheck

__all__ = [
    "MAX_LABEL",
    "FieldPaths",
    "Query",
    "check_query",
    "check_time_response",
    "find_slots_response",
    "merge_overrides",
    "slot_query",
    "slot_request_to_proto",
    "slot_to_proto",
]

# Seat and segment labels ("host", "coding"): at most this many characters.
MAX_LABEL = 100

_ORDERS = {
    scheduling_service_pb2.ORDER_UNSPECIFIED: Order.CHRONOLOGICAL,
    scheduling_service_pb2.ORDER_CHRONOLOGICAL: Order.CHRONOLOGICAL,
    scheduling_service_pb2.ORDER_BEST_FIRST: Order.BEST_FIRST,
}
_CONFLICT_KINDS = {
    BusyKind.BUSY: slots_pb2.CONFLICT_KIND_BUSY,
    BusyKind.TENTATIVE: slots_pb2.CONFLICT_KIND_TENTATIVE,
    BusyKind.OUT_OF_OFFICE: slots_pb2.CONFLICT_KIND_OUT_OF_OFFICE,
    BusyKind.BOOKING: slots_pb2.CONFLICT_KIND_BOOKING,
    BusyKind.OUTSIDE_HOURS: slots_pb2.CONFLICT_KIND_OUTSIDE_HOURS,
}


# --- Field paths: the solver's names -> the request's names ----------------------

# SlotRequest fields that are MeetingRules fields on the wire.
_RULES_FIELDS = {
    "duration": "duration",
    "seats": "seats",
    "optional_members": "optional_member_ids",
    "customers": "customers",
    "resolution": "resolution_minutes",
    "start_interval": "start_interval_minutes",
    "buffer_before": "buffer_before",
    "buffer_after": "buffer_after",
    "minimum_notice": "minimum_notice",
    "preferred_hours": "preferred_hours",
    "weights": "weights",
}
# Fields of the solver's seat types -> the path inside a convene.v1.Seat.
_SEAT_FIELDS = {
    "candidates": "member.candidates",
    "pool_id": "pool.pool_id",
    "count": "pool.count",
    "rooms": "room.room_ids",
    "pools": "room.pool_ids",
    "label": "label",
}
_FIND_SLOTS_FIELDS = {
    "window_start": "window_start",
    "window_end": "window_end",
    "time_zone": "time_zone",
    "order": "order",
    "now": "now",
    "max_results": "page_size",
    "page_offset": "page_token",
    "max_alternatives": "max_alternatives",
    "min_available": "min_available",
    "want_alternatives": "want_alternatives",
}
_CHECK_TIME_FIELDS = {"window_start": "start", "window_end": "start", "time_zone": "time_zone", "now": "now"}
_PATH = re.compile(r"^(?P<head>[a-z_]+)(?P<rest>.*)$")  # "seats" + "[1].candidates[0]"
_SEAT_PATH = re.compile(r"^(?P<index>\[\d+\])\.(?P<name>[a-z_]+)(?P<rest>.*)$")  # "[1]" "candidates" "[0]"


class PathTranslator:
    """Renames the field paths in the solver's errors to the request's own paths.

    Subclasses say how one path is renamed (``proto_path``); the errors follow.
    """

    def proto_path(self, path: str) -> str:
        raise NotImplementedError

    def translate(self, exc: SchedulingError) -> SchedulingError:
        """The same error with its field paths in the request's terms."""
        if isinstance(exc, InvalidRequest):
            return InvalidRequest(list(dict.fromkeys(FieldViolation(self.proto_path(v.field), v.description)
                                                     for v in exc.violations)))
        if isinstance(exc, UnknownResource):
            return UnknownResource(self.proto_path(exc.field), exc.resource_id)
        if isinstance(exc, LimitExceeded):
            return LimitExceeded(self.proto_path(exc.field), exc.limit_name, exc.limit, exc.actual)
        return exc

    @contextmanager
    def solver_errors(self) -> Iterator[None]:
        """Re-raises the solver's errors with the request's field paths."""
        try:
            yield
        except SchedulingError as exc:
            translated = self.translate(exc)
            if translated is exc:
                raise
            raise translated from exc


@dataclass(frozen=True)
class FieldPaths(PathTranslator):
    """Renames solver field paths to the paths of the request on the wire.

    ``rules_prefix`` is ``rules`` for inline rules and ``template.overrides`` when
    the request names a template (its fields are merged there).
    """

    rules_prefix: str
    request_fields: Mapping[str, str]

    def proto_path(self, path: str) -> str:
        """``seats[1].candidates[0]`` -> ``rules.seats[1].member.candidates[0]``; unknown paths pass."""
        match = _PATH.match(path)
        if match is None:
            return path
        head, rest = match["head"], match["rest"]
        if head in self.request_fields:
            return self.request_fields[head] + rest
        if head not in _RULES_FIELDS:
            return path
        seat = _SEAT_PATH.match(rest) if head == "seats" else None
        if seat is not None:
            rest = f"{seat['index']}.{_SEAT_FIELDS.get(seat['name'], seat['name'])}{seat['rest']}"
        return f"{self.rules_prefix}.{_RULES_FIELDS[head]}{rest}"



@dataclass(frozen=True)
class Query:
    """A request in the solver's terms plus what its reply needs."""

    request: SlotRequest
    fields: FieldPaths
    page_fingerprint: str = ""
    start: datetime | None = None  # CheckTime: the start to check


@dataclass
class _Problems:
    """Collects wire-level violations so the caller sees every one at once."""

    violations: list[FieldViolation] = field(default_factory=list)

    def add(self, path: str, description: str) -> None:
        self.violations.append(FieldViolation(path, description))

    def raise_any(self) -> None:
        if self.violations:
            raise InvalidRequest(self.violations)


# --- Requests in ---------------------------------------------------------------------


def merge_overrides(base: meeting_pb2.MeetingRules,
                    overrides: meeting_pb2.MeetingRules) -> meeting_pb2.MeetingRules:
    """``base`` with every field *set* in ``overrides`` replacing its own.

    Set means present: messages and ``optional`` scalars by presence (so a zero
    buffer can override a template's), repeated fields when non-empty, and
    weights field by field.
    """
    merged = meeting_pb2.MeetingRules()
    merged.CopyFrom(base)
    for descriptor, value in overrides.ListFields():
        if descriptor.name == "weights":
            merged.weights.MergeFrom(value)  # every Weights field is optional: merges by presence
        elif descriptor.is_repeated:
            merged.ClearField(descriptor.name)
            getattr(merged, descriptor.name).extend(value)
        elif descriptor.message_type is not None:
            getattr(merged, descriptor.name).CopyFrom(value)
        else:
            setattr(merged, descriptor.name, value)
    return merged


def _meeting(request: scheduling_service_pb2.FindSlotsRequest | scheduling_service_pb2.CheckTimeRequest,
             templates: Mapping[str, meeting_pb2.Template]) -> tuple[meeting_pb2.MeetingRules, str]:
    """The effective rules of a request and the path prefix its rule fields are reported under."""
    which = request.WhichOneof("meeting")
    if which == "template":
        template = templates.get(request.template.template_id)
        if template is None:
            if not request.template.template_id:
                raise InvalidRequest([FieldViolation("template.template_id", "is required")])
            raise UnknownResource("template.template_id", request.template.template_id)
        return merge_overrides(template.rules, request.template.overrides), "template.overrides"
    if which is None:
        raise InvalidRequest([FieldViolation("rules", "set either rules or template")])
    return request.rules, "rules"


def _instant(problems: _Problems, path: str, ts: timestamp_pb2.Timestamp) -> datetime:
    moment = bounds.instant(ts)
    if moment is None:
        problems.add(path, bounds.BAD_INSTANT)
        return datetime(1970, 1, 1, tzinfo=UTC)
    return moment


def _required_instant(problems: _Problems, message: Any, name: str, path: str) -> datetime:
    if not message.HasField(name):
        problems.add(path, "is required")
        return datetime(1970, 1, 1, tzinfo=UTC)
    return _instant(problems, path, getattr(message, name))


def _span(problems: _Problems, path: str, d: duration_pb2.Duration) -> timedelta:
    value = bounds.span(d)
    if value is None:
        problems.add(path, bounds.BAD_SPAN)
        return timedelta(0)
    return value


def check_label(problems: _Problems, path: str, label: str) -> None:
    """A label is echoed in every slot of the reply: bounded, so a long one cannot swell the
    reply past gRPC's message limit (a megabyte label made a 30 MB FindSlots reply)."""
    if len(label) > MAX_LABEL:
        problems.add(path, f"must be at most {MAX_LABEL} characters")


def _seat(problems: _Problems, path: str, seat: meeting_pb2.Seat) -> Seat | None:
    check_label(problems, f"{path}.label", seat.label)
    kind = seat.WhichOneof("kind")
    if kind == "member":
        return MemberSeat(tuple(seat.member.candidates), seat.label)
    if kind == "pool":
        return PoolSeat(seat.pool.pool_id, seat.pool.count or 1, seat.label)
    if kind == "room":
        return RoomSeat(tuple(seat.room.room_ids), tuple(seat.room.pool_ids), seat.label)
    problems.add(path, "set one of member, pool, room")
    return None


def _weights(weights: meeting_pb2.Weights) -> Weights:
    return Weights(**{d.name: value for d, value in weights.ListFields()})


def _preferred_hours(problems: _Problems, path: str, hours: directory_pb2.DayRange) -> tuple[time, time] | None:
    a, b = hours.start_minute, hours.end_minute
    if not (0 <= a < 1440 and 0 < b <= 1440):
        problems.add(path, "minutes must lie in 0..1440 (start below 1440, end above 0)")
        return None
    if a >= b:
        problems.add(path, "start must be before end")
        return None
    # The solver takes wall-clock times; 1440 (midnight ending the day) is the day's last instant.
    end = time.max if b == 1440 else time(b // 60, b % 60)
    return time(a // 60, a % 60), end


def _rules(problems: _Problems, rules: meeting_pb2.MeetingRules, prefix: str) -> dict[str, object]:
    """The SlotRequest fields a MeetingRules carries."""
    seats = [_seat(problems, f"{prefix}.seats[{i}]", s) for i, s in enumerate(rules.seats)]
    if not rules.HasField("duration"):
        problems.add(f"{prefix}.duration", "is required")
    return {
        "duration": _span(problems, f"{prefix}.duration", rules.duration),
        "seats": tuple(s for s in seats if s is not None),
        "optional_members": tuple(rules.optional_member_ids),
        "customers": rules.customers if rules.HasField("customers") else 1,
        "resolution": rules.resolution_minutes if rules.HasField("resolution_minutes") else 5,
        "start_interval": rules.start_interval_minutes if rules.HasField("start_interval_minutes") else 15,
        "buffer_before": _span(problems, f"{prefix}.buffer_before", rules.buffer_before),
        "buffer_after": _span(problems, f"{prefix}.buffer_after", rules.buffer_after),
        "minimum_notice": _span(problems, f"{prefix}.minimum_notice", rules.minimum_notice),
        "preferred_hours": (_preferred_hours(problems, f"{prefix}.preferred_hours", rules.preferred_hours)
                            if rules.HasField("preferred_hours") else None),
        "weights": _weights(rules.weights),
    }


def slot_query(request: scheduling_service_pb2.FindSlotsRequest,
               templates: Mapping[str, meeting_pb2.Template], *, now: datetime) -> Query:
    """A FindSlots request as a SlotRequest; ``now`` is the server's clock, used unless the request sets one."""
    rules, prefix = _meeting(request, templates)
    problems = _Problems()
    fingerprint = paging.fingerprint(request)
    try:
        offset = paging.decode(request.page_token, fingerprint)
    except paging.InvalidPageToken as exc:
        problems.add("page_token", str(exc))
        offset = 0
    if request.order not in _ORDERS:
        problems.add("order", f"unknown value {request.order}")
    slot_request = SlotRequest(
        window_start=_required_instant(problems, request, "window_start", "window_start"),
        window_end=_required_instant(problems, request, "window_end", "window_end"),
        time_zone=request.time_zone,
        now=_instant(problems, "now", request.now) if request.HasField("now") else now,
        order=_ORDERS.get(request.order, Order.CHRONOLOGICAL),
        max_results=request.page_size,
        page_offset=offset,
        max_alternatives=request.max_alternatives,
        min_available=request.min_available,
        want_alternatives=request.want_alternatives,
        **_rules(problems, rules, prefix),  # type: ignore[arg-type]
    )
    problems.raise_any()
    return Query(slot_request, FieldPaths(prefix, _FIND_SLOTS_FIELDS), fingerprint)


def check_query(request: scheduling_service_pb2.CheckTimeRequest,
                templates: Mapping[str, meeting_pb2.Template], *, now: datetime) -> Query:
    """A CheckTime request as a SlotRequest whose window is exactly the meeting at ``start``."""
    rules, prefix = _meeting(request, templates)
    problems = _Problems()
    start = _required_instant(problems, request, "start", "start")
    if (request.HasField("start") and bounds.instant(request.start) is not None
            and (request.start.seconds % 60 or request.start.nanos)):
        # The engine's starts are whole minutes: a start between two would be answered for the
        # minute before it (a meeting overlapping busy time by its last seconds reported free).
        problems.add("start", "must be a whole minute")
    meeting = _rules(problems, rules, prefix)
    duration = meeting["duration"]
    assert isinstance(duration, timedelta)
    slot_request = SlotRequest(
        window_start=start,
        window_end=start + max(duration, timedelta(minutes=1)),
        time_zone=request.time_zone,
        now=_instant(problems, "now", request.now) if request.HasField("now") else now,
        **meeting,  # type: ignore[arg-type]
    )
    problems.raise_any()
    return Query(slot_request, FieldPaths(prefix, _CHECK_TIME_FIELDS), start=start)


# --- Requests out (Python clients, benchmarks) ----------------------------------------


def _seat_to_proto(seat: Seat) -> meeting_pb2.Seat:
    if isinstance(seat, MemberSeat):
        return meeting_pb2.Seat(label=seat.label, member=meeting_pb2.MemberSeat(candidates=seat.candidates))
    if isinstance(seat, PoolSeat):
        return meeting_pb2.Seat(label=seat.label, pool=meeting_pb2.PoolSeat(pool_id=seat.pool_id, count=seat.count))
    return meeting_pb2.Seat(label=seat.label, room=meeting_pb2.RoomSeat(room_ids=seat.rooms, pool_ids=seat.pools))


def _minute(t: time) -> int:
    return 1440 if t == time.max else t.hour * 60 + t.minute


def slot_request_to_proto(request: SlotRequest, page_token: str = "") -> scheduling_service_pb2.FindSlotsRequest:
    """The FindSlots request that asks the server exactly ``request`` (the inverse of ``slot_query``).

    ``page_offset`` has no wire form (pages go by token): pass the previous reply's token.
    A request without ``now`` gets one at ``window_start - minimum_notice``: no start is cut.
    """
    rules = meeting_pb2.MeetingRules(
        seats=[_seat_to_proto(s) for s in request.seats],
        optional_member_ids=request.optional_members,
        customers=request.customers,
        resolution_minutes=request.resolution,
        start_interval_minutes=request.start_interval,
        weights=meeting_pb2.Weights(**{name: getattr(request.weights, name)
                                       for name in meeting_pb2.Weights.DESCRIPTOR.fields_by_name}),
    )
    for name in ("duration", "buffer_before", "buffer_after", "minimum_notice"):
        getattr(rules, name).FromTimedelta(getattr(request, name))
    if request.preferred_hours is not None:
        start, end = request.preferred_hours
        rules.preferred_hours.CopyFrom(directory_pb2.DayRange(start_minute=_minute(start), end_minute=_minute(end)))
    message = scheduling_service_pb2.FindSlotsRequest(
        rules=rules,
        window_start=_timestamp(request.window_start),
        window_end=_timestamp(request.window_end),
        time_zone=request.time_zone,
        order=(scheduling_service_pb2.ORDER_BEST_FIRST if request.order is Order.BEST_FIRST
               else scheduling_service_pb2.ORDER_CHRONOLOGICAL),
        page_size=request.max_results,
        page_token=page_token,
        max_alternatives=request.max_alternatives,
        min_available=request.min_available,
        want_alternatives=request.want_alternatives,
    )
    # No `now` means no notice rule; on the wire (where unset means the server's
    # clock) the same is said by a `now` that puts the earliest start at the window start.
    now = request.now if request.now is not None else request.window_start - request.minimum_notice
    message.now.CopyFrom(_timestamp(now))
    return message


# --- Replies out ---------------------------------------------------------------------


def _timestamp(instant: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(instant.astimezone(UTC))
    return ts


def _conflict(conflict: Conflict, viewer: str) -> slots_pb2.Conflict:
    message = slots_pb2.Conflict(
        resource_id=conflict.resource_id,
        start=_timestamp(conflict.start),
        end=_timestamp(conflict.end),
        kind=_CONFLICT_KINDS.get(conflict.kind, slots_pb2.CONFLICT_KIND_BUSY),
    )
    details = visible_details(conflict, viewer)
    if details is not None:
        message.details.CopyFrom(slots_pb2.EventDetails(
            title=details.title, event_id=details.event_id, location=details.location))
    return message


def slot_to_proto(slot: Slot, seats: tuple[Seat, ...], viewer: str) -> slots_pb2.Slot:
    """One slot; conflict details only for the calendars ``viewer`` owns."""
    return slots_pb2.Slot(
        start=_timestamp(slot.start),
        end=_timestamp(slot.end),
        seats=[slots_pb2.SeatFill(label=seats[i].label if i < len(seats) else "",
                                  resource_ids=fill.resource_ids, cost=fill.cost)
               for i, fill in enumerate(slot.assignment.seats)],
        free_candidates=[slots_pb2.SeatCandidates(resource_ids=ids) for ids in slot.free_candidates],
        optional_members=[slots_pb2.OptionalMemberStatus(member_id=o.member_id, free=o.free)
                          for o in slot.optional],
        cost=slot.cost,
        score=slot.score,
        conflicts=[_conflict(c, viewer) for c in slot.conflicts],
        conflict_cost=slot.conflict_cost,
    )


def _unavailable(unavailable: tuple[Unavailable, ...]) -> list[slots_pb2.UnavailableCalendar]:
    return [slots_pb2.UnavailableCalendar(resource_id=u.resource_id, reason=u.reason) for u in unavailable]


def find_slots_response(result: SlotResult, query: Query, unavailable: tuple[Unavailable, ...],
                        viewer: str) -> scheduling_service_pb2.FindSlotsResponse:
    seats = query.request.seats
    return scheduling_service_pb2.FindSlotsResponse(
        slots=[slot_to_proto(s, seats, viewer) for s in result.slots],
        alternatives=[slot_to_proto(s, seats, viewer) for s in result.alternatives],
        next_page_token=(paging.encode(result.next_offset, query.page_fingerprint)
                         if result.next_offset is not None else ""),
        total_available=result.total_available,
        candidates_considered=result.candidates_considered,
        unavailable_calendars=_unavailable(unavailable),
        partial=not result.complete,
        diagnosis=_diagnosis(result.diagnosis) if result.diagnosis is not None else None,
    )


def _diagnosis(diagnosis: Diagnosis) -> slots_pb2.Diagnosis:
    return slots_pb2.Diagnosis(
        seats=[slots_pb2.SeatDiagnosis(
            seat_index=s.seat_index, starts_without_candidate=s.starts_without_candidate,
            rules=[slots_pb2.RuleCount(rule=rule, starts=n) for rule, n in s.rules]) for s in diagnosis.seats],
        before_notice=diagnosis.before_notice,
        no_joint_assignment=diagnosis.no_joint_assignment,
    )


def check_time_response(check: TimeCheck, query: Query, unavailable: tuple[Unavailable, ...],
                        viewer: str) -> scheduling_service_pb2.CheckTimeResponse:
    response = scheduling_service_pb2.CheckTimeResponse(
        available=check.available, reason=check.reason, unavailable_calendars=_unavailable(unavailable))
    if check.slot is not None:
        response.slot.CopyFrom(slot_to_proto(check.slot, query.request.seats, viewer))
    return response
