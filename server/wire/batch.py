"""Proto <-> domain for OptimizeBatch, as pure functions.

In: each item's meeting goes through exactly the conversion FindSlots uses
(``convert.slot_query`` on a FindSlotsRequest made of the item: rules inline
or a template with overrides), so its problems carry FindSlots' paths under
``items[i].``. The batch's own fields (request id, weights, time limit,
workers, scheduler) are checked here. ``BatchQuery.solver_errors`` renames the
solver's paths (``items[2].request.seats[0].candidates[1]``) into the
request's (``items[2].rules.seats[0].member.candidates[1]``).

Out: progress reports and the result as messages, one item result per item
in the request's order; conflicts pass ``privacy.visible_details``.

Also the other way, for Python clients and tests: ``batch_request_to_proto``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta

from google.protobuf import duration_pb2, timestamp_pb2

from convene.v1 import batch_pb2, meeting_pb2, slots_pb2
from convene.v1 import scheduling_service_pb2 as api
from server.booking.desk import BookingRequest
from server.booking.store import BookingRecord
from server.calendars.busy import Unavailable
from server.calendars.privacy import visible_details
from server.config.batch import BatchPolicy
from server.wire import bounds
from server.wire import slots as convert
from server.wire.booking import booking_request, meeting_of
from solver.batch.types import (
    BatchItem,
    BatchProgress,
    BatchRequest,
    BatchResult,
    BatchStatus,
    Current,
    ScheduledItem,
    UnscheduledReason,
    UnscheduledRule,
)
from solver.domain import BusyKind, Conflict, Weights
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, SchedulingError, UnknownResource, quote

__all__ = [
    "MAX_ITEM_ID",
    "MAX_REQUEST_ID",
    "BatchQuery",
    "batch_query",
    "batch_request_to_proto",
    "booking_drafts",
    "booking_request_id",
    "progress_to_proto",
    "replay_to_proto",
    "result_to_proto",
]

MAX_REQUEST_ID = 100
MAX_ITEM_ID = 64  # "<request id>/<fingerprint>/<item id>" stays within a booking's 200
DEFAULT_TIME_LIMIT = 10.0

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ITEM_PATH = re.compile(r"^items\[(?P<index>\d+)\]\.request\.(?P<rest>.+)$")
# The batch's own solver fields that have another name on the wire.
_BATCH_FIELDS = {"priority_weight": "weights.priority"}
_WEIGHT_FIELDS = tuple(f.name for f in fields(Weights) if f.name != "time_of_day")
_STATUSES = {
    BatchStatus.OPTIMAL: batch_pb2.BATCH_STATUS_OPTIMAL,
    BatchStatus.FEASIBLE: batch_pb2.BATCH_STATUS_FEASIBLE,
    BatchStatus.INFEASIBLE: batch_pb2.BATCH_STATUS_INFEASIBLE,
    BatchStatus.UNKNOWN: batch_pb2.BATCH_STATUS_UNKNOWN,
}
_REASONS = {
    UnscheduledReason.NO_AVAILABLE_START: batch_pb2.UNSCHEDULED_REASON_NO_AVAILABLE_START,
    UnscheduledReason.LOST_TO_OTHER_ITEMS: batch_pb2.UNSCHEDULED_REASON_LOST_TO_OTHER_ITEMS,
    UnscheduledReason.NOT_WORTH_ITS_COST: batch_pb2.UNSCHEDULED_REASON_NOT_WORTH_ITS_COST,
    UnscheduledReason.DEADLINE: batch_pb2.UNSCHEDULED_REASON_DEADLINE,
}
_RULES = {rule: batch_pb2.UnscheduledRule.Value(f"UNSCHEDULED_RULE_{rule.name}") for rule in UnscheduledRule}
_CONFLICT_KINDS = {
    BusyKind.BUSY: slots_pb2.CONFLICT_KIND_BUSY,
    BusyKind.TENTATIVE: slots_pb2.CONFLICT_KIND_TENTATIVE,
    BusyKind.OUT_OF_OFFICE: slots_pb2.CONFLICT_KIND_OUT_OF_OFFICE,
    BusyKind.BOOKING: slots_pb2.CONFLICT_KIND_BOOKING,
    BusyKind.OUTSIDE_HOURS: slots_pb2.CONFLICT_KIND_OUTSIDE_HOURS,
}


@dataclass(frozen=True)
class BatchQuery(convert.PathTranslator):
    """An OptimizeBatch request in the solver's terms plus what solving, committing and
    the reply need."""

    batch: BatchRequest
    paths: tuple[convert.FieldPaths, ...]
    request_id: str
    fingerprint: str  # identifies what the batch books (items, weights, conflict mode) for idempotency
    commit: bool
    scheduler: str | None
    now: datetime
    records: Mapping[int, BookingRecord] = field(default_factory=dict)  # item index -> the booking it names

    def proto_path(self, path: str) -> str:
        """A solver path as a path of the request on the wire."""
        match = _ITEM_PATH.match(path)
        if match is None:
            return _BATCH_FIELDS.get(path, path)
        index, rest = int(match["index"]), match["rest"]
        if rest.split(".", 1)[0].split("[", 1)[0] == "now":
            return "now"  # one `now` for the whole batch
        return f"items[{index}].{self.paths[index].proto_path(rest)}"


# --- In ------------------------------------------------------------------------------------


# How a call runs, not what it books: a retry may change them and still be the same batch.
_RUN_FIELDS = ("request_id", "now", "time_limit", "workers", "scheduler", "work_limit", "seed")


def _fingerprint(request: api.OptimizeBatchRequest) -> str:
    """12 hex digits of SHA-256 over what the batch books (its items, weights and conflict
    mode), deterministically serialized."""
    body = api.OptimizeBatchRequest()
    body.CopyFrom(request)
    for name in _RUN_FIELDS:
        body.ClearField(name)
    return hashlib.sha256(body.SerializeToString(deterministic=True)).hexdigest()[:12]


def _check_id(problems: list[FieldViolation], path: str, value: str, limit: int, *, slash: bool) -> None:
    if len(value) > limit:
        problems.append(FieldViolation(path, f"must be at most {limit} characters"))
    if _CONTROL.search(value):
        problems.append(FieldViolation(path, "must not contain control characters"))
    if not slash and "/" in value:
        problems.append(FieldViolation(path, "must not contain '/' (it separates the parts of the bookings' ids)"))


def _item_slots(item: batch_pb2.BatchItem, now: timestamp_pb2.Timestamp | None) -> api.FindSlotsRequest:
    """The FindSlots request an item's meeting and window amount to."""
    slots = api.FindSlotsRequest(time_zone=item.time_zone)
    which = item.WhichOneof("meeting")
    if which == "rules":
        slots.rules.CopyFrom(item.rules)
    elif which == "template":
        slots.template.CopyFrom(item.template)
    for name in ("window_start", "window_end"):
        if item.HasField(name):
            getattr(slots, name).CopyFrom(getattr(item, name))
    if now is not None:
        slots.now.CopyFrom(now)
    return slots


def _item_path(index: int, field: str) -> str:
    """A path of an item's FindSlots-shaped request, under ``items[index].`` (``now`` is the batch's)."""
    return "now" if field == "now" else f"items[{index}].{field}"


def _prefixed(index: int, exc: SchedulingError) -> SchedulingError:
    if isinstance(exc, UnknownResource):
        return UnknownResource(_item_path(index, exc.field), exc.resource_id)
    if isinstance(exc, LimitExceeded):
        return LimitExceeded(_item_path(index, exc.field), exc.limit_name, exc.limit, exc.actual)
    return exc


def _customers_count(item: batch_pb2.BatchItem, templates: Mapping[str, meeting_pb2.Template]) -> int | None:
    """Room capacity counts the customers actually invited, unless the rules give a number."""
    if not item.customers:
        return None
    which = item.WhichOneof("meeting")
    if which == "template":
        template = templates.get(item.template.template_id)
        if template is None:
            return None
        rules = convert.merge_overrides(template.rules, item.template.overrides)
    else:
        rules = item.rules
    return None if rules.HasField("customers") else len(item.customers)


def _weights(problems: list[FieldViolation], message: batch_pb2.BatchWeights) -> tuple[Weights, float | None]:
    values = {d.name: v for d, v in message.ListFields()}
    for name, value in values.items():
        if not math.isfinite(value):
            problems.append(FieldViolation(f"weights.{name}", "must be a finite number"))
    priority = values.pop("priority", None)
    return Weights(**{k: v for k, v in values.items() if math.isfinite(v)}), priority


def _time_limit(problems: list[FieldViolation], request: api.OptimizeBatchRequest) -> float:
    if not request.HasField("time_limit"):
        return DEFAULT_TIME_LIMIT
    limit = bounds.span(request.time_limit)
    if limit is None:
        problems.append(FieldViolation("time_limit", bounds.BAD_SPAN))
        return DEFAULT_TIME_LIMIT
    return limit.total_seconds()


def _booked_item(problems: list[FieldViolation], i: int, item: batch_pb2.BatchItem, record: BookingRecord,
                 weights: Weights, now: datetime) -> BatchItem | None:
    """An item naming a booking: the booking's meeting, over the item's window (unset: the
    booking's own time), with where the booking is now (``Current``)."""
    before = len(problems)
    if item.WhichOneof("meeting") is not None:
        problems.append(FieldViolation(f"items[{i}].{item.WhichOneof('meeting')}",
                                       "must be unset: an item naming a booking has the booking's meeting"))
    if item.time_zone and item.time_zone != record.time_zone:
        problems.append(FieldViolation(f"items[{i}].time_zone", f"must be unset or the booking's "
                                                                f"({quote(record.time_zone)})"))
    if item.HasField("window_start") != item.HasField("window_end"):
        problems.append(FieldViolation(f"items[{i}].window_end" if item.HasField("window_start")
                                       else f"items[{i}].window_start", "set both ends of the window, or neither"))
    if item.HasField("window_start") and not item.movable:
        problems.append(FieldViolation(f"items[{i}].window_start", "a pinned item keeps its booking's time: "
                                                                   "leave its window unset (or set movable)"))
    if len(problems) > before:
        return None
    meeting = meeting_of(record, record.start, now)
    if item.HasField("window_start"):
        meeting = replace(meeting, window_start=item.window_start.ToDatetime(tzinfo=UTC),
                          window_end=item.window_end.ToDatetime(tzinfo=UTC))
    current = Current(record.id, record.start, record.end, tuple(tuple(s.resource_ids) for s in record.seats),
                      movable=item.movable)
    return BatchItem(item.id, replace(meeting, weights=weights), item.priority or 1, current)


def batch_query(request: api.OptimizeBatchRequest, templates: Mapping[str, meeting_pb2.Template], *,
                now: datetime, policy: BatchPolicy,
                records: Mapping[int, BookingRecord] | None = None) -> BatchQuery:
    """The request as a BatchRequest; ``now`` is the server's clock, used unless the request sets one.
    ``records``: the booking each item naming one stands for, by item index (looked up and
    checked by ``server.batch.flow.named_bookings``).

    Raises ``InvalidRequest`` with every problem of the wire (every item's
    included), ``UnknownResource`` for an unknown template and ``LimitExceeded``
    for too many items (before any item is read). What the solver checks
    (``validate_batch``) is left to it: call it under ``solver_errors()``.
    """
    if len(request.items) > policy.limits.max_items:
        raise LimitExceeded("items", "max_items", policy.limits.max_items, len(request.items))
    problems: list[FieldViolation] = []
    if request.commit and not request.request_id:
        problems.append(FieldViolation("request_id", "is required with commit: an id of your choice that makes "
                                                     "retries safe"))
    _check_id(problems, "request_id", request.request_id, MAX_REQUEST_ID, slash=False)
    if request.scheduler and request.scheduler not in policy.schedulers:
        # The configured addresses are not listed: they are the operator's business.
        problems.append(FieldViolation(
            "scheduler", f"{quote(request.scheduler)} is not a Dask scheduler this server is configured to use"
                         + ("" if policy.schedulers else " (it uses none: leave the field empty)")))
    weights, priority_weight = _weights(problems, request.weights)
    time_limit = _time_limit(problems, request)
    work_limit: float | None = None
    if request.work_limit != 0:
        if not math.isfinite(request.work_limit) or request.work_limit < 0:
            problems.append(FieldViolation("work_limit", "must be a positive amount of deterministic time "
                                                         "(0: off, the clock decides)"))
        else:
            work_limit = request.work_limit
    if request.seed < 0:
        problems.append(FieldViolation("seed", "must be 0 or more"))
    given_now = request.now if request.HasField("now") else None
    items: list[BatchItem] = []
    paths: list[convert.FieldPaths] = []
    named = records or {}
    for i, item in enumerate(request.items):
        _check_id(problems, f"items[{i}].id", item.id, MAX_ITEM_ID, slash=True)
        if item.booking_id or item.movable:
            record = named.get(i)
            if record is None:
                problems.append(FieldViolation(f"items[{i}].booking_id", "is required with movable"
                                               if not item.booking_id else "names no booking of this tenant"))
                continue
            booked = _booked_item(problems, i, item, record, weights, given_now.ToDatetime(tzinfo=UTC)
                                  if given_now is not None else now)
            if booked is not None:
                items.append(booked)
                paths.append(convert.FieldPaths("booking_id", {"window_start": "window_start",
                                                               "window_end": "window_end"}))
            continue
        try:
            query = convert.slot_query(_item_slots(item, given_now), templates, now=now)
        except InvalidRequest as exc:
            problems.extend(FieldViolation(_item_path(i, v.field), v.description) for v in exc.violations)
            continue
        except SchedulingError as exc:
            raise _prefixed(i, exc) from exc
        slot_request = replace(query.request, weights=weights)
        customers = _customers_count(item, templates)
        if customers is not None:
            slot_request = replace(slot_request, customers=customers)
        items.append(BatchItem(item.id, slot_request, item.priority or 1))
        paths.append(query.fields)
    if problems:
        raise InvalidRequest(list(dict.fromkeys(problems)))
    batch = BatchRequest(items=tuple(items), weights=weights, allow_conflicts=request.allow_conflicts,
                         time_limit=time_limit, workers=request.workers or 1, priority_weight=priority_weight,
                         seed=request.seed, work_limit=work_limit)
    batch_now = items[0].request.now if items and items[0].request.now is not None else now
    return BatchQuery(batch, tuple(paths), request.request_id, _fingerprint(request), request.commit,
                      request.scheduler or None, batch_now, dict(named))


def booking_request_id(query: BatchQuery, item_id: str) -> str:
    """The request id of an item's booking: ``<request_id>/<fingerprint>/<item id>``."""
    return f"{query.request_id}/{query.fingerprint}/{item_id}"


def _create_request(request: api.OptimizeBatchRequest, query: BatchQuery, index: int) -> api.CreateBookingRequest:
    """Item ``index`` as the CreateBooking request that would book it at its window's start,
    the minute standing in for the start the solver will choose (no seats: the solver's)."""
    item = request.items[index]
    create = api.CreateBookingRequest(
        request_id=booking_request_id(query, item.id), time_zone=item.time_zone, customers=item.customers,
        title=item.title, organizer_member_id=item.organizer_member_id, allow_conflicts=request.allow_conflicts,
        description=item.description, location=item.location)
    which = item.WhichOneof("meeting")
    if which == "rules":
        create.rules.CopyFrom(item.rules)
    elif which == "template":
        create.template.CopyFrom(item.template)
    create.start.FromDatetime(query.batch.items[index].request.window_start.replace(second=0, microsecond=0))
    if request.HasField("now"):
        create.now.CopyFrom(request.now)
    return create


def booking_drafts(request: api.OptimizeBatchRequest, query: BatchQuery,
                   templates: Mapping[str, meeting_pb2.Template], *,
                   now: datetime) -> tuple[BookingRequest | None, ...]:
    """Each item's booking as CreateBooking reads it (customers, title, organizer, its
    meeting), at its window's start; the commit moves each to its scheduled start. None
    for an item naming a booking (the commit reschedules that booking if it moved).

    Raises ``InvalidRequest`` with every problem of the fields only a commit uses,
    under ``items[i].`` (before any work), or an item's ``UnknownResource``.
    """
    problems: list[FieldViolation] = []
    drafts: list[BookingRequest | None] = []
    for i in range(len(request.items)):
        if i in query.records:
            drafts.append(None)
            continue
        try:
            draft, _ = booking_request(_create_request(request, query, i), templates, now=now)
        except InvalidRequest as exc:
            problems.extend(FieldViolation(_commit_path(i, v.field), v.description) for v in exc.violations)
            continue
        except (UnknownResource, LimitExceeded) as exc:
            raise _prefixed(i, exc) from exc
        drafts.append(draft)
    if problems:
        raise InvalidRequest(list(dict.fromkeys(problems)))
    return tuple(drafts)


def _commit_path(index: int, field: str) -> str:
    """A path of an item's CreateBooking-shaped request (``request_id`` and ``now`` are the batch's)."""
    return field if field in ("request_id", "now") else f"items[{index}].{field}"


# --- Out -------------------------------------------------------------------------------------


def _timestamp(instant: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(instant.astimezone(UTC))
    return ts


def _seconds(value: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromTimedelta(timedelta(seconds=max(0.0, value)))
    return d


def progress_to_proto(progress: BatchProgress) -> api.OptimizeBatchResponse:
    return api.OptimizeBatchResponse(progress=batch_pb2.BatchProgress(
        objective=progress.objective, best_bound=progress.best_bound, gap=progress.gap,
        scheduled=progress.scheduled, elapsed=_seconds(progress.elapsed), source=progress.source,
        parts_done=progress.parts_done, parts_total=progress.parts_total, complete=progress.complete))


def _conflict(conflict: Conflict, viewer: str) -> slots_pb2.Conflict:
    message = slots_pb2.Conflict(resource_id=conflict.resource_id, start=_timestamp(conflict.start),
                                 end=_timestamp(conflict.end),
                                 kind=_CONFLICT_KINDS.get(conflict.kind, slots_pb2.CONFLICT_KIND_BUSY))
    details = visible_details(conflict, viewer)
    if details is not None:
        message.details.CopyFrom(slots_pb2.EventDetails(title=details.title, event_id=details.event_id,
                                                        location=details.location))
    return message


def _placement(scheduled: ScheduledItem, item: BatchItem, viewer: str) -> batch_pb2.BatchPlacement:
    labels = [seat.label for seat in item.request.seats]
    return batch_pb2.BatchPlacement(
        start=_timestamp(scheduled.start), end=_timestamp(scheduled.end),
        seats=[slots_pb2.SeatFill(label=labels[k] if k < len(labels) else "", resource_ids=fill.resource_ids,
                                  cost=fill.cost) for k, fill in enumerate(scheduled.assignment.seats)],
        cost=scheduled.cost, seat_cost=scheduled.seat_cost, conflict_cost=scheduled.conflict_cost,
        earliness_cost=scheduled.earliness_cost, hours_from_window_start=scheduled.hours_from_window_start,
        alternates=scheduled.alternates, conflicts=[_conflict(c, viewer) for c in scheduled.conflicts],
        fairness_cost=scheduled.fairness_cost, move_cost=scheduled.move_cost, moved=scheduled.moved)


def _unavailable(unavailable: Sequence[Unavailable]) -> list[slots_pb2.UnavailableCalendar]:
    return [slots_pb2.UnavailableCalendar(resource_id=u.resource_id, reason=u.reason) for u in unavailable]


def result_to_proto(result: BatchResult, query: BatchQuery, unavailable: Sequence[Unavailable], viewer: str,
                    booking_ids: Mapping[str, str] | None = None) -> api.OptimizeBatchResponse:
    """The final message: the solver's figures and one result per item (with its booking when committed)."""
    booked = booking_ids or {}
    items = []
    for item in query.batch.items:
        scheduled = result.scheduled.get(item.id)
        if scheduled is not None:
            items.append(batch_pb2.BatchItemResult(id=item.id, scheduled=_placement(scheduled, item, viewer),
                                                   booking_id=booked.get(item.id, "")))
        else:
            left = result.unscheduled[item.id]
            items.append(batch_pb2.BatchItemResult(id=item.id, unscheduled=batch_pb2.BatchUnscheduled(
                reason=_REASONS.get(left.reason, batch_pb2.UNSCHEDULED_REASON_UNSPECIFIED), detail=left.detail,
                rule=_RULES[left.rule], blocking_item_ids=left.blocking_item_ids)))
    k = result.kpis
    return api.OptimizeBatchResponse(result=batch_pb2.BatchResult(
        status=_STATUSES[result.status], objective=result.objective, best_bound=result.best_bound, gap=result.gap,
        wall_time=_seconds(result.wall_time), items=items,
        kpis=batch_pb2.BatchKpis(**{f.name: getattr(k, f.name) for f in fields(k)}),
        priority_weight=result.priority_weight, baseline_objective=result.baseline_objective, parts=result.parts,
        unavailable_calendars=_unavailable(unavailable), committed=booking_ids is not None,
        incomplete_parts=[batch_pb2.BatchIncompletePart(item_ids=part.item_ids, reason=part.reason)
                          for part in result.incomplete]))


def replay_to_proto(query: BatchQuery, records: Mapping[str, BookingRecord]) -> api.OptimizeBatchResponse:
    """The final message of a retry after a commit: the bookings that commit made, per item id."""
    items = []
    for item in query.batch.items:
        record = records.get(item.id)
        if record is None:
            items.append(batch_pb2.BatchItemResult(id=item.id, unscheduled=batch_pb2.BatchUnscheduled(
                reason=batch_pb2.UNSCHEDULED_REASON_NOT_BOOKED,
                detail="the first call with this request_id did not book this item")))
            continue
        placement = batch_pb2.BatchPlacement(
            start=_timestamp(record.start), end=_timestamp(record.end),
            seats=[slots_pb2.SeatFill(label=s.label, resource_ids=s.resource_ids) for s in record.seats])
        items.append(batch_pb2.BatchItemResult(id=item.id, scheduled=placement, booking_id=record.id))
    return api.OptimizeBatchResponse(result=batch_pb2.BatchResult(items=items, committed=True, replayed=True))


# --- Requests out (Python clients, tests) ------------------------------------------------------


def batch_request_to_proto(batch: BatchRequest, *, now: datetime | None = None, request_id: str = "",
                           commit: bool = False, scheduler: str = "") -> api.OptimizeBatchRequest:
    """The OptimizeBatch request that asks the server exactly ``batch`` (items' rules inline).

    ``now`` defaults to the earliest item's ``now`` (the inverse of ``batch_query``,
    which gives every item the batch's one ``now``).
    """
    items = []
    earliest: datetime | None = None
    for item in batch.items:
        slots = convert.slot_request_to_proto(item.request)
        item_now = slots.now.ToDatetime(tzinfo=UTC)
        earliest = item_now if earliest is None else min(earliest, item_now)
        if item.current is not None:  # the booking's own meeting
            named = batch_pb2.BatchItem(id=item.id, booking_id=item.current.booking_id, movable=item.current.movable,
                                        priority=item.priority)
            if item.current.movable:
                named.window_start.CopyFrom(slots.window_start)
                named.window_end.CopyFrom(slots.window_end)
            items.append(named)
            continue
        items.append(batch_pb2.BatchItem(id=item.id, rules=slots.rules, window_start=slots.window_start,
                                         window_end=slots.window_end, time_zone=slots.time_zone,
                                         priority=item.priority))
    weights = batch_pb2.BatchWeights(**{name: getattr(batch.weights, name) for name in _WEIGHT_FIELDS})
    if batch.priority_weight is not None:
        weights.priority = batch.priority_weight
    message = api.OptimizeBatchRequest(request_id=request_id, items=items, weights=weights,
                                       allow_conflicts=batch.allow_conflicts, workers=batch.workers,
                                       scheduler=scheduler, commit=commit, seed=batch.seed,
                                       work_limit=batch.work_limit or 0.0)
    message.time_limit.FromTimedelta(timedelta(seconds=batch.time_limit))
    now = now if now is not None else earliest
    if now is not None:
        message.now.CopyFrom(_timestamp(now))
    return message
