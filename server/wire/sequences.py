"""Proto <-> domain for sequences (interview loops), as pure functions.

    request -> **proto to SequenceRequest** -> validate -> fetch busy -> find_sequences -> **result to proto**

In: FindSequences / CheckSequence / BookSequence carry a ``SequenceRules``: its
segments (each a meeting's rules inline or a template with overrides, read
exactly as FindSlots reads a meeting: ``server.wire.slots``) and how they
follow each other. Each becomes a ``SequenceQuery``: the solver's
``SequenceRequest`` plus a ``SequencePaths`` that renames the solver's paths
(``segments[1].seats[0].candidates[2]``, ``max_gap``) into the request's own
(``rules.segments[1].rules.seats[0].member.candidates[2]``, ``rules.max_gap``).
BookSequence also becomes one ``BookingRequest`` per segment, built the way
CreateBooking builds one (``server.wire.booking``), each with the request id
``<request_id>/segment-<k>`` and the whole request's body hash.

Out: options become ``SequenceOption``s, each segment a ``Slot``; every conflict
passes ``privacy.visible_details`` (``slots.slot_to_proto``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message

from convene.v1 import meeting_pb2, sequences_pb2
from convene.v1 import scheduling_service_pb2 as api
from server.booking.desk import DEFAULT_TITLE, BookingRequest
from server.booking.sequences import SEGMENT_SUFFIX, SequenceBooking
from server.calendars.busy import Unavailable
from server.config import LoopConfig
from server.wire import bounds, paging
from server.wire import slots as convert
from server.wire.booking import MAX_DESCRIPTION, MAX_ID, MAX_TEXT
from server.wire.booking import _check_text as check_text
from server.wire.booking import _customers as customers_of
from solver.domain import Order, Slot, SlotRequest
from solver.errors import FieldViolation, InvalidRequest, UnknownResource
from solver.sequences import Segment, SequenceOption, SequenceRequest, SequenceResult

__all__ = [
    "MAX_SEGMENTS",
    "SequencePaths",
    "SequenceQuery",
    "book_sequence_request",
    "check_sequence_query",
    "check_sequence_response",
    "find_sequences_response",
    "loop_to_proto",
    "loops_to_proto",
    "merge_sequence_overrides",
    "option_to_proto",
    "sequence_query",
]

MAX_SEGMENTS = 8
# The window after a first start (CheckSequence, BookSequence) without max_span: the default
# span is one day in the request's zone, 25 hours across a clock change (solver.sequences.span_limit).
DEFAULT_SPAN_BOUND = timedelta(hours=25)
MAX_REQUEST_ID = MAX_ID - 10  # room for the segment suffix

# SequenceRequest fields that are SequenceRules fields on the wire.
_SEQUENCE_FIELDS = {
    "segments": "segments",
    "any_order": "any_order",
    "free_order": "free_order",
    "min_gap": "min_gap",
    "max_gap": "max_gap",
    "max_span": "max_span",
    "allow_member_repeat": "allow_member_repeat",
    "gap_weight": "gap_weight",
    "resolution": "resolution_minutes",
    "start_interval": "start_interval_minutes",
    "minimum_notice": "minimum_notice",
    "preferred_hours": "preferred_hours",
    "weights": "weights",
}
_FIND_FIELDS = {
    "window_start": "window_start",
    "window_end": "window_end",
    "time_zone": "time_zone",
    "order": "order",
    "now": "now",
    "max_results": "page_size",
    "page_offset": "page_token",
}
_CHECK_FIELDS = {"window_start": "start", "window_end": "start", "time_zone": "time_zone", "now": "now"}
_SEGMENT = re.compile(r"^segments\[(?P<k>\d+)\]\.(?P<rest>.+)$")
_HEAD = re.compile(r"^(?P<head>[a-z_]+)(?P<rest>.*)$")


@dataclass(frozen=True)
class SequencePaths(convert.PathTranslator):
    """Renames the solver's sequence paths to the request's: a segment's paths go under its
    rules (``rules.segments[k].rules`` or ``.template.overrides``), the sequence's under
    ``rules``, the request's own as ``request_fields`` says."""

    segment_prefixes: tuple[str, ...]
    request_fields: Mapping[str, str]
    root: str = "rules"  # where the sequence's own fields are: ``rules`` or ``template.overrides``

    def proto_path(self, path: str) -> str:
        segment = _SEGMENT.match(path)
        if segment is not None and int(segment["k"]) < len(self.segment_prefixes):
            return convert.FieldPaths(self.segment_prefixes[int(segment["k"])], {}).proto_path(segment["rest"])
        match = _HEAD.match(path)
        if match is None:
            return path
        head, rest = match["head"], match["rest"]
        if head in self.request_fields:
            return self.request_fields[head] + rest
        if head in _SEQUENCE_FIELDS:
            return f"{self.root}.{_SEQUENCE_FIELDS[head]}{rest}"
        return path


@dataclass(frozen=True)
class SequenceQuery:
    """A sequence request in the solver's terms plus what its reply needs."""

    request: SequenceRequest
    fields: SequencePaths
    rules: tuple[meeting_pb2.MeetingRules, ...]  # per segment, its effective rules
    page_fingerprint: str = ""
    start: datetime | None = None  # CheckSequence / BookSequence: the first start


# --- Requests in ---------------------------------------------------------------------


def _segment_rules(problems: convert._Problems, spec: sequences_pb2.SegmentSpec, k: int,
                   templates: Mapping[str, meeting_pb2.Template],
                   root: str) -> tuple[meeting_pb2.MeetingRules, str] | None:
    """Segment k's effective rules and the path prefix its rule fields are reported under."""
    base = f"{root}.segments[{k}]"
    which = spec.WhichOneof("meeting")
    if which == "template":
        template = templates.get(spec.template.template_id)
        if template is None:
            if not spec.template.template_id:
                problems.add(f"{base}.template.template_id", "is required")
                return None
            raise UnknownResource(f"{base}.template.template_id", spec.template.template_id)
        return convert.merge_overrides(template.rules, spec.template.overrides), f"{base}.template.overrides"
    if which is None:
        problems.add(base, "set either rules or template")
        return None
    return spec.rules, f"{base}.rules"


def merge_sequence_overrides(base: sequences_pb2.SequenceRules,
                             overrides: sequences_pb2.SequenceRules) -> sequences_pb2.SequenceRules:
    """``base`` with every field *set* in ``overrides`` replacing its own (see LoopTemplateRef)."""
    merged = sequences_pb2.SequenceRules()
    merged.CopyFrom(base)
    for descriptor, value in overrides.ListFields():
        if descriptor.name == "weights":
            merged.weights.MergeFrom(value)
        elif descriptor.is_repeated:
            merged.ClearField(descriptor.name)
            getattr(merged, descriptor.name).extend(value)
        elif descriptor.message_type is not None:
            getattr(merged, descriptor.name).CopyFrom(value)
        else:
            setattr(merged, descriptor.name, value)
    return merged


@dataclass(frozen=True)
class _Parsed:
    fields: dict[str, object]  # SequenceRequest fields
    prefixes: tuple[str, ...]  # per segment, where its rule fields are reported
    rules: tuple[meeting_pb2.MeetingRules, ...]  # per segment, its effective rules
    root: str  # where the sequence's own fields are reported
    count: int  # segments listed


def _sequence(problems: convert._Problems, message: Message, templates: Mapping[str, meeting_pb2.Template],
              loops: Mapping[str, sequences_pb2.LoopTemplate]) -> _Parsed:
    """The SequenceRequest fields a request's SequenceRules (inline or a loop template with
    overrides) carries, with each segment's path prefix and effective rules."""
    which = message.WhichOneof("sequence")
    if which is None:
        raise InvalidRequest([FieldViolation("rules", "is required: the sequence's segments and order")])
    if which == "template":
        loop = loops.get(message.template.template_id)
        if loop is None:
            if not message.template.template_id:
                raise InvalidRequest([FieldViolation("template.template_id", "is required")])
            raise UnknownResource("template.template_id", message.template.template_id)
        rules = merge_sequence_overrides(loop.rules, message.template.overrides)
        root = "template.overrides"
    else:
        rules = message.rules
        root = "rules"
    if len(rules.segments) > MAX_SEGMENTS:
        raise InvalidRequest([FieldViolation(f"{root}.segments",
                                             f"at most {MAX_SEGMENTS} segments, got {len(rules.segments)}")])
    segments: list[Segment] = []
    prefixes: list[str] = []
    effective: list[meeting_pb2.MeetingRules] = []
    for k, spec in enumerate(rules.segments):
        convert.check_label(problems, f"{root}.segments[{k}].label", spec.label)
        found = _segment_rules(problems, spec, k, templates, root)
        if found is None:
            continue
        meeting, prefix = found
        fields = convert._rules(problems, meeting, prefix)
        segments.append(Segment(
            duration=fields["duration"], seats=fields["seats"],  # type: ignore[arg-type]
            buffer_before=fields["buffer_before"], buffer_after=fields["buffer_after"],  # type: ignore[arg-type]
            optional_members=fields["optional_members"], customers=fields["customers"],  # type: ignore[arg-type]
            label=spec.label,
        ))
        prefixes.append(prefix)
        effective.append(meeting)
    sequence: dict[str, object] = {
        "segments": tuple(segments),
        "any_order": rules.any_order,
        "free_order": tuple(rules.free_order),
        "min_gap": convert._span(problems, f"{root}.min_gap", rules.min_gap),
        "max_gap": convert._span(problems, f"{root}.max_gap", rules.max_gap),
        "max_span": convert._span(problems, f"{root}.max_span", rules.max_span) if rules.HasField("max_span") else None,
        "allow_member_repeat": rules.allow_member_repeat,
        "gap_weight": rules.gap_weight if rules.HasField("gap_weight") else 1.0,
        "resolution": rules.resolution_minutes if rules.HasField("resolution_minutes") else 5,
        "start_interval": rules.start_interval_minutes if rules.HasField("start_interval_minutes") else 15,
        "minimum_notice": convert._span(problems, f"{root}.minimum_notice", rules.minimum_notice),
        "preferred_hours": (convert._preferred_hours(problems, f"{root}.preferred_hours", rules.preferred_hours)
                            if rules.HasField("preferred_hours") else None),
        "weights": convert._weights(rules.weights),
    }
    return _Parsed(sequence, tuple(prefixes), tuple(effective), root, len(rules.segments))


def sequence_query(request: api.FindSequencesRequest, templates: Mapping[str, meeting_pb2.Template],
                   loops: Mapping[str, sequences_pb2.LoopTemplate], *, now: datetime) -> SequenceQuery:
    """A FindSequences request as a SequenceRequest; ``now`` is the server's clock unless the request sets one."""
    problems = convert._Problems()
    parsed = _sequence(problems, request, templates, loops)
    sequence = parsed.fields
    fingerprint = paging.fingerprint(request)
    try:
        offset = paging.decode(request.page_token, fingerprint)
    except paging.InvalidPageToken as exc:
        problems.add("page_token", str(exc))
        offset = 0
    if request.order not in convert._ORDERS:
        problems.add("order", f"unknown value {request.order}")
    for name in ("page_size", "max_alternatives", "min_available"):
        if getattr(request, name) < 0:
            problems.add(name, "must not be negative")
    query = SequenceRequest(
        window_start=convert._required_instant(problems, request, "window_start", "window_start"),
        window_end=convert._required_instant(problems, request, "window_end", "window_end"),
        time_zone=request.time_zone,
        now=convert._instant(problems, "now", request.now) if request.HasField("now") else now,
        order=convert._ORDERS.get(request.order, Order.CHRONOLOGICAL),
        max_results=max(0, request.page_size),
        page_offset=offset,
        max_alternatives=max(0, request.max_alternatives),
        min_available=max(0, request.min_available),
        want_alternatives=request.want_alternatives,
        **sequence,  # type: ignore[arg-type]
    )
    problems.raise_any()
    return SequenceQuery(query, SequencePaths(parsed.prefixes, _FIND_FIELDS, parsed.root), parsed.rules, fingerprint)


def _check_window(problems: convert._Problems, message: Message, templates: Mapping[str, meeting_pb2.Template],
                  loops: Mapping[str, sequences_pb2.LoopTemplate], now: datetime) -> SequenceQuery:
    """The sequence at one first start (``start``): a window from it, one span long."""
    parsed = _sequence(problems, message, templates, loops)
    sequence = parsed.fields
    start = convert._required_instant(problems, message, "start", "start")
    if (message.HasField("start") and bounds.instant(message.start) is not None
            and (message.start.seconds % 60 or message.start.nanos)):
        # The engine's starts are whole minutes: one between two would be answered for another
        # (an out-of-bounds start gets its bounds violation alone).
        problems.add("start", "must be a whole minute")
    span = sequence["max_span"] or DEFAULT_SPAN_BOUND
    assert isinstance(span, timedelta)
    query = SequenceRequest(
        window_start=start,
        window_end=start + max(span, timedelta(minutes=1)),
        time_zone=message.time_zone,
        now=(convert._instant(problems, "now", message.now)
             if message.HasField("now") else now),
        last_first_start=start, first_start=start, want_alternatives=True, max_alternatives=1,
        **sequence,  # type: ignore[arg-type]
    )
    problems.raise_any()
    return SequenceQuery(query, SequencePaths(parsed.prefixes, _CHECK_FIELDS, parsed.root), parsed.rules, start=start)


def check_sequence_query(request: api.CheckSequenceRequest, templates: Mapping[str, meeting_pb2.Template],
                         loops: Mapping[str, sequences_pb2.LoopTemplate], *, now: datetime) -> SequenceQuery:
    """A CheckSequence request: the sequence at its one first start (a window from it, one span
    long), in conflict mode there when no option is free."""
    return _check_window(convert._Problems(), request, templates, loops, now)


def body_hash(request: api.BookSequenceRequest) -> str:
    """SHA-256 (hex) of the request without its ``request_id``, deterministically serialized."""
    body = api.BookSequenceRequest()
    body.CopyFrom(request)
    body.ClearField("request_id")
    return hashlib.sha256(body.SerializeToString(deterministic=True)).hexdigest()


def book_sequence_request(request: api.BookSequenceRequest, templates: Mapping[str, meeting_pb2.Template],
                          loops: Mapping[str, sequences_pb2.LoopTemplate], *,
                          now: datetime) -> tuple[SequenceBooking, SequenceQuery]:
    """The request in domain terms and its sequence's query (for its field paths); raises
    ``InvalidRequest`` with every wire-level problem."""
    problems = convert._Problems()
    violations: list[FieldViolation] = []
    if not request.request_id:
        violations.append(FieldViolation("request_id", "is required: an id of your choice that makes retries safe"))
    else:
        check_text(violations, "request_id", request.request_id, MAX_REQUEST_ID)
    customers = customers_of(violations, request.customers)
    check_text(violations, "title", request.title, MAX_TEXT)
    check_text(violations, "location", request.location, MAX_TEXT)
    check_text(violations, "description", request.description, MAX_DESCRIPTION, newlines=True)
    check_text(violations, "organizer_member_id", request.organizer_member_id, MAX_ID)
    parsed = _sequence(problems, request, templates, loops)
    sequence, effective = parsed.fields, parsed.rules
    segments: tuple[Segment, ...] = sequence["segments"]  # type: ignore[assignment]
    if len(request.segments) != parsed.count:
        violations.append(FieldViolation("segments", f"one choice per segment of {parsed.root}.segments is required: "
                                                     f"{parsed.count} segments, "
                                                     f"{len(request.segments)} choices"))
    starts: list[datetime] = []
    choices: list[tuple[tuple[str, ...], ...]] = []
    for k, choice in enumerate(request.segments[:MAX_SEGMENTS]):
        path = f"segments[{k}]"
        starts.append(convert._required_instant(problems, choice, "start", f"{path}.start"))
        if choice.HasField("start") and (choice.start.seconds % 60 or choice.start.nanos):
            violations.append(FieldViolation(f"{path}.start", "must be a whole minute"))
        for i, seat in enumerate(choice.seats):
            if not seat.resource_ids:
                violations.append(FieldViolation(f"{path}.seats[{i}].resource_ids", "must name who fills the seat"))
        choices.append(tuple(tuple(seat.resource_ids) for seat in choice.seats))
    problems.violations.extend(violations)
    problems.raise_any()
    first = min(starts, default=datetime(1970, 1, 1, tzinfo=UTC))
    span = sequence["max_span"] or DEFAULT_SPAN_BOUND
    assert isinstance(span, timedelta)
    query = SequenceQuery(
        SequenceRequest(window_start=first, window_end=first + span, time_zone=request.time_zone,
                        now=convert._instant(problems, "now", request.now) if request.HasField("now") else now,
                        **sequence),  # type: ignore[arg-type]
        SequencePaths(parsed.prefixes, _CHECK_FIELDS, parsed.root), effective, start=first)
    problems.raise_any()
    digest = body_hash(request)
    title = request.title or DEFAULT_TITLE
    bookings = []
    for k, segment in enumerate(segments):
        meeting = replace(
            query.request, segments=(), window_start=starts[k], window_end=starts[k] + segment.duration)
        slot_request = SlotRequest(
            window_start=starts[k], window_end=starts[k] + max(segment.duration, timedelta(minutes=1)),
            duration=segment.duration, time_zone=request.time_zone, seats=segment.seats,
            optional_members=segment.optional_members,
            customers=(segment.customers if effective[k].HasField("customers") or not customers
                       else len(customers)),
            resolution=meeting.resolution, start_interval=meeting.start_interval,
            buffer_before=segment.buffer_before, buffer_after=segment.buffer_after,
            minimum_notice=meeting.minimum_notice, now=meeting.now, weights=meeting.weights,
        )
        label = segment.label or f"({k + 1}/{len(segments)})"
        bookings.append(BookingRequest(
            request_id=f"{request.request_id}{SEGMENT_SUFFIX}{k}",
            body_hash=digest,
            meeting=slot_request,
            start=starts[k],
            choices=choices[k],
            customers=customers,
            title=f"{title}: {label}" if segment.label else f"{title} {label}",
            organizer_id=request.organizer_member_id,
            allow_conflicts=request.allow_conflicts,
            description=request.description,
            location=request.location,
        ))
    return SequenceBooking(request.request_id, digest, query.request, tuple(starts), tuple(choices),
                           tuple(bookings)), query


# --- Replies out ---------------------------------------------------------------------


def option_to_proto(option: SequenceOption, request: SequenceRequest, viewer: str) -> sequences_pb2.SequenceOption:
    """One option; conflict details only for the calendars ``viewer`` owns."""
    segments = []
    for part in option.segments:
        segment = request.segments[part.segment_index]
        slot = Slot(part.start, part.end, part.assignment, (), (), 0.0, part.conflicts,
                    part.conflict_cost)
        segments.append(sequences_pb2.SequenceSegment(
            segment_index=part.segment_index, label=segment.label,
            slot=convert.slot_to_proto(slot, segment.seats, viewer)))
    return sequences_pb2.SequenceOption(
        start=convert._timestamp(option.start), end=convert._timestamp(option.end), segments=segments,
        cost=option.cost, score=option.score, gap_minutes=option.gap_minutes, conflict_cost=option.conflict_cost)


def _diagnosis(result: SequenceResult, request: SequenceRequest) -> list[sequences_pb2.SegmentDiagnosis]:
    if result.diagnosis is None:
        return []
    out = []
    for k, diagnosis in enumerate(result.diagnosis):
        out.append(sequences_pb2.SegmentDiagnosis(
            segment_index=k, label=request.segments[k].label, diagnosis=convert._diagnosis(diagnosis),
            never_available=k in result.unavailable_segments))
    return out


def find_sequences_response(result: SequenceResult, query: SequenceQuery, unavailable: tuple[Unavailable, ...],
                            viewer: str) -> api.FindSequencesResponse:
    request = query.request
    return api.FindSequencesResponse(
        options=[option_to_proto(o, request, viewer) for o in result.options],
        alternatives=[option_to_proto(o, request, viewer) for o in result.alternatives],
        next_page_token=(paging.encode(result.next_offset, query.page_fingerprint)
                         if result.next_offset is not None else ""),
        total_available=result.total_available,
        candidates_considered=result.candidates_considered,
        unavailable_calendars=convert._unavailable(unavailable),
        partial=not result.complete,
        diagnosis=_diagnosis(result, request),
    )


def check_sequence_response(result: SequenceResult, query: SequenceQuery, unavailable: tuple[Unavailable, ...],
                            viewer: str) -> api.CheckSequenceResponse:
    """The option at the query's first start (or the least-conflict one there), or why there is none."""
    request, start = query.request, query.start
    assert start is not None
    response = api.CheckSequenceResponse(unavailable_calendars=convert._unavailable(unavailable),
                                         partial=not result.complete)
    found = next((o for o in result.options if o.start == start), None)
    if found is not None:
        response.available = True
        response.option.CopyFrom(option_to_proto(found, request, viewer))
        return response
    alternative = next((o for o in result.alternatives if o.start == start), None)
    if alternative is not None:
        response.option.CopyFrom(option_to_proto(alternative, request, viewer))
        kinds = sorted({c.kind.value for part in alternative.segments for c in part.conflicts})
        response.reason = "conflicts: " + ", ".join(kinds)
    elif request.now is not None and start < request.now + request.minimum_notice:
        response.reason = "before the minimum notice"
    else:
        never = [request.segments[k].label or f"segments[{k}]" for k in result.unavailable_segments]
        response.reason = ("no option at this first start" +
                           (f"; never free alone: {', '.join(never)}" if never else ""))
    response.diagnosis.extend(_diagnosis(result, request))
    return response


# --- Loop templates (configuration ``loops:``) ---------------------------------------


def loops_to_proto(loops: Mapping[str, LoopConfig]) -> dict[str, sequences_pb2.LoopTemplate]:
    """A tenant's loop templates as the API merges overrides into, by id."""
    return {loop_id: loop_to_proto(loop) for loop_id, loop in loops.items()}


def loop_to_proto(loop: LoopConfig) -> sequences_pb2.LoopTemplate:
    rules = sequences_pb2.SequenceRules(any_order=loop.any_order, free_order=loop.free_order,
                                        allow_member_repeat=loop.allow_member_repeat)
    for segment in loop.segments:
        overrides = meeting_pb2.MeetingRules()
        for name in ("duration", "buffer_before", "buffer_after"):
            value = getattr(segment, name)
            if value is not None:
                getattr(overrides, name).FromTimedelta(value)
        if segment.customers is not None:
            overrides.customers = segment.customers
        rules.segments.add(label=segment.label, template=meeting_pb2.TemplateRef(template_id=segment.template,
                                                                                 overrides=overrides))
    for name in ("min_gap", "max_gap", "max_span"):
        value = getattr(loop, name)
        if value is not None:
            getattr(rules, name).FromTimedelta(value)
    if loop.gap_weight is not None:
        rules.gap_weight = loop.gap_weight
    return sequences_pb2.LoopTemplate(id=loop.id, name=loop.name, description=loop.description, rules=rules)
