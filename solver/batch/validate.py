"""Validation of a BatchRequest before any work.

The batch's own fields first (one FieldViolation each), then every item's
request through ``validate_request`` with the batch's weights, its field paths
prefixed with ``items[i].request.``. Problems of all items are reported
together; an unknown id or a limit stops at the first.
"""

from __future__ import annotations

import math
from dataclasses import replace

from solver.batch.types import BatchLimits, BatchRequest
from solver.domain import Directory
from solver.errors import FieldViolation, InvalidRequest, LimitExceeded, UnknownResource, quote
from solver.validate import MAX_WEIGHT, Limits, validate_request

__all__ = ["MAX_TOTAL_PRIORITY", "batch_grid", "validate_batch"]

# The items' priorities together: the result's KPIs (total and scheduled priority) are int32.
MAX_TOTAL_PRIORITY = 2**31 - 1


def batch_grid(batch: BatchRequest) -> int:
    """The grid (minutes) held spans are widened to: the batch's, or the items' resolutions' lcm."""
    if batch.grid_minutes is not None:
        return batch.grid_minutes
    return math.lcm(*(item.request.resolution for item in batch.items)) if batch.items else 1


def validate_batch(directory: Directory, batch: BatchRequest, limits: Limits | None = None,
                   batch_limits: BatchLimits | None = None) -> None:
    """Raises InvalidRequest / UnknownResource / LimitExceeded; returns None when the batch is sound."""
    batch_limits = batch_limits or BatchLimits()
    problems: list[FieldViolation] = []

    def bad(field: str, description: str) -> None:
        problems.append(FieldViolation(field, description))

    if not batch.items:
        bad("items", "at least one item is required")
    if not (math.isfinite(batch.time_limit) and batch.time_limit > 0):
        bad("time_limit", "must be a positive number of seconds")
    if batch.work_limit is not None and not (math.isfinite(batch.work_limit) and batch.work_limit > 0):
        bad("work_limit", "must be a positive amount of deterministic time")
    if batch.workers < 1:
        bad("workers", "must be at least 1")
    if batch.priority_weight is not None and not (math.isfinite(batch.priority_weight) and batch.priority_weight >= 0):
        bad("priority_weight", "must be a finite number >= 0 (or unset for priority first)")
    elif batch.priority_weight is not None and batch.priority_weight > MAX_WEIGHT:
        bad("priority_weight", f"must be at most {MAX_WEIGHT:.0f} points (the limit of a weight)")
    if batch.grid_minutes is not None and (batch.grid_minutes <= 0 or 60 % batch.grid_minutes):
        bad("grid_minutes", "must be a divisor of 60 minutes")
    seen: dict[str, int] = {}
    bookings: dict[str, int] = {}  # booking id -> the item naming it
    total_priority = 0
    for i, item in enumerate(batch.items):
        if not item.id:
            bad(f"items[{i}].id", "must not be empty")
        elif item.id in seen:
            bad(f"items[{i}].id", f"{quote(item.id)} is also the id of items[{seen[item.id]}]")
        else:
            seen[item.id] = i
        if isinstance(item.priority, bool) or not isinstance(item.priority, int) or item.priority < 1:
            bad(f"items[{i}].priority", "must be a whole number >= 1")
        elif total_priority <= MAX_TOTAL_PRIORITY:
            total_priority += item.priority
            if total_priority > MAX_TOTAL_PRIORITY:
                bad(f"items[{i}].priority", f"the priorities of items[0] to items[{i}] sum to {total_priority}, "
                                            f"more than the limit of a batch's total priority ({MAX_TOTAL_PRIORITY})")
        if item.current is not None:
            current = item.current
            if current.booking_id in bookings:
                bad(f"items[{i}].booking_id", f"booking {quote(current.booking_id)} is also named by "
                                              f"items[{bookings[current.booking_id]}]")
            else:
                bookings[current.booking_id] = i
            if len(current.seats) != len(item.request.seats):
                bad(f"items[{i}].booking_id", f"the booking fills {len(current.seats)} seat(s), the item's "
                                              f"meeting has {len(item.request.seats)}")
            if not current.start < current.end:
                bad(f"items[{i}].booking_id", "the booking must end after it starts")
        resolution = item.request.resolution
        if batch.grid_minutes is not None and resolution > 0 and batch.grid_minutes % resolution:
            bad(f"items[{i}].request.resolution", f"must divide the batch's grid_minutes ({batch.grid_minutes})")
    if problems:
        raise InvalidRequest(problems)

    if len(batch.items) > batch_limits.max_items:
        raise LimitExceeded("items", "max_items", batch_limits.max_items, len(batch.items))
    if batch.time_limit > batch_limits.max_time_limit:
        raise LimitExceeded("time_limit", "max_time_limit", int(batch_limits.max_time_limit),
                            math.ceil(batch.time_limit))
    if batch.work_limit is not None and batch.work_limit > batch_limits.max_work_limit:
        raise LimitExceeded("work_limit", "max_work_limit", int(batch_limits.max_work_limit),
                            math.ceil(batch.work_limit))
    if batch.workers > batch_limits.max_workers:
        raise LimitExceeded("workers", "max_workers", batch_limits.max_workers, batch.workers)

    for i, item in enumerate(batch.items):
        if item.pinned:
            continue  # not solved: it stays where its booking is, whatever its meeting's rules say now
        prefix = f"items[{i}].request."
        try:
            validate_request(directory, replace(item.request, weights=batch.weights), limits)
        except InvalidRequest as exc:
            for v in exc.violations:
                # Weights are the batch's, not the item's: name them where they were given.
                field = v.field if v.field.startswith("weights.") else prefix + v.field
                problems.append(FieldViolation(field, v.description))
        except UnknownResource as exc:
            raise UnknownResource(prefix + exc.field, exc.resource_id) from exc
        except LimitExceeded as exc:
            raise LimitExceeded(prefix + exc.field, exc.limit_name, exc.limit, exc.actual) from exc
    if problems:
        # The batch's weights are checked once per item: report each problem once.
        raise InvalidRequest(list(dict.fromkeys(problems)))
