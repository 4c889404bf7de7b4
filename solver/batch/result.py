"""From placements to what a caller reads: scheduled items, reasons, KPIs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from solver.batch.board import Board, Placement, placement_at
from solver.batch.objective import TermWeights, spread_of
from solver.batch.prepare import PreparedItem, cycle_keys, cycle_label
from solver.batch.types import (
    BatchItem,
    BatchKpis,
    BatchStatus,
    ScheduledItem,
    Unscheduled,
    UnscheduledReason,
    UnscheduledRule,
    points,
)
from solver.busy import BusyTable
from solver.conflicts import conflicts_of
from solver.diagnose import stopping_rule
from solver.domain import Assignment, Booking, Conflict, Directory, SeatFill, Weights
from solver.grid import from_minutes
from solver.seats import MILLI, milli

__all__ = ["kpis_of", "pinned_item", "scheduled_item", "unscheduled_reasons", "with_fairness_shares"]


def scheduled_item(item: PreparedItem, placement: Placement, directory: Directory, terms: TermWeights,
                   busy: BusyTable, bookings_by: dict[str, list[Booking]]) -> ScheduledItem:
    """The ScheduledItem of ``item`` placed at ``placement``."""
    p = placement.position
    start = int(item.starts[p])
    fills: list[SeatFill] = []
    seat_total = conflict_total = alternates = 0
    pool_fills: list[tuple[str, str, str]] = []
    for g, picks in enumerate(placement.picks):
        group = item.groups[g]
        seat = sum(int(group.seat_cost[c, p]) for c in picks)
        seat_total += seat
        conflict_total += sum(int(group.conflict_cost[c, p]) for c in picks)
        fills.append(SeatFill(tuple(group.candidates[c] for c in picks), seat / MILLI))
        if group.member_seat:
            alternates += sum(1 for c in picks if c > 0)
        if group.pool_id is not None:
            pool = directory.pools[group.pool_id]
            key = int(cycle_keys(item.starts[p:p + 1], pool.cycle, item.item.request.time_zone)[0])
            pool_fills += [(pool.id, group.candidates[c], cycle_label(key, pool.cycle)) for c in picks]
    assignment = Assignment(tuple(fills))
    conflicts: tuple[Conflict, ...] = ()
    if conflict_total:
        conflicts = tuple(conflicts_of(item.plan, assignment.resource_ids, int(item.start_index[p]), busy,
                                       bookings_by))
    delay = int(item.delay[p])
    earliness = points(delay * terms.earliness)
    move = points(int(item.moves[p]) * terms.move)
    current = item.item.current
    moved = current is not None and (from_minutes(start) != current.start or any(
        set(fill.resource_ids) != set(seat) for fill, seat in zip(assignment.seats, current.seats, strict=False)))
    return ScheduledItem(
        item_id=item.id,
        start=from_minutes(start),
        end=from_minutes(start + item.plan.window.duration),
        assignment=assignment,
        cost=round(seat_total / MILLI + conflict_total / MILLI + earliness + move, 6),
        seat_cost=seat_total / MILLI,
        conflict_cost=conflict_total / MILLI,
        earliness_cost=earliness,
        hours_from_window_start=round(delay / 60, 6),
        alternates=alternates,
        conflicts=conflicts,
        pool_fills=tuple(pool_fills),
        move_cost=move,
        moved=moved,
    )


def pinned_item(item: BatchItem) -> ScheduledItem:
    """A pinned item where its booking is: its time and seats, at no cost."""
    current = item.current
    assert current is not None
    return ScheduledItem(
        item_id=item.id,
        start=current.start,
        end=current.end,
        assignment=Assignment(tuple(SeatFill(tuple(seat), 0.0) for seat in current.seats)),
        cost=0.0,
        seat_cost=0.0,
        conflict_cost=0.0,
        earliness_cost=0.0,
        hours_from_window_start=0.0,
        alternates=0,
    )


# Diagnosis rule names (solver.diagnose) as the rules an unscheduled item reports.
_RULES = {
    "window": UnscheduledRule.WINDOW,
    "busy": UnscheduledRule.CALENDAR_BUSY,
    "buffers": UnscheduledRule.BUFFERS,
    "outside_hours": UnscheduledRule.WORKING_HOURS,
    "booking_limits": UnscheduledRule.BOOKING_LIMITS,
    "room_capacity": UnscheduledRule.ROOM_CAPACITY,
    "several": UnscheduledRule.SEVERAL,
    "no_joint_assignment": UnscheduledRule.NO_JOINT_ASSIGNMENT,
}
_SAID = {
    UnscheduledRule.WINDOW: "its window holds no candidate start (shorter than the meeting, or before the notice)",
    UnscheduledRule.CALENDAR_BUSY: "busy calendars or bookings",
    UnscheduledRule.BUFFERS: "the buffers around events and bookings",
    UnscheduledRule.WORKING_HOURS: "working hours",
    UnscheduledRule.BOOKING_LIMITS: "booking limits",
    UnscheduledRule.ROOM_CAPACITY: "room capacity",
    UnscheduledRule.SEVERAL: "several rules together (lifting any one alone frees no start)",
    UnscheduledRule.NO_JOINT_ASSIGNMENT: "each seat has a candidate, never all at once",
}


def unscheduled_reasons(items: Sequence[PreparedItem], placements: Mapping[int, Placement] | None, board: Board,
                        status: BatchStatus, terms: TermWeights) -> dict[str, Unscheduled]:
    """Why each item left out is left out. ``board`` holds the final schedule;
    ``placements`` is None when no schedule was found in time."""
    out: dict[str, Unscheduled] = {}
    for item in items:
        if placements is not None and item.index in placements:
            continue
        if len(item.starts) == 0:
            out[item.id] = _never_fits(item)
        elif placements is None:
            out[item.id] = Unscheduled(item.id, UnscheduledReason.DEADLINE,
                                       "the time ran out before any schedule was found", UnscheduledRule.TIME_LIMIT)
        else:
            out[item.id] = _why_left_out(item, board, status, terms, items, placements)
    return out


def _never_fits(item: PreparedItem) -> Unscheduled:
    """Alone, no start of its window fills every seat: the rule that stops it."""
    name, freed = stopping_rule(item.plan)
    rule = _RULES[name]
    n = len(item.plan.starts)
    detail = f"none of its {n} candidate starts can fill every seat: {_SAID[rule]}"
    if freed:
        detail += f" (lifting that alone frees {freed} of them)"
    return Unscheduled(item.id, UnscheduledReason.NO_AVAILABLE_START, detail, rule)


def _why_left_out(item: PreparedItem, board: Board, status: BatchStatus, terms: TermWeights,
                  items: Sequence[PreparedItem], placements: Mapping[int, Placement]) -> Unscheduled:
    assigned, counts = board.fit(item)
    fits = np.flatnonzero(assigned.feasible)
    if len(fits) == 0:
        return _lost_to(item, board, items, placements)
    # Its cheapest fit (fairness aside): worth adding when its priority outweighs that cost.
    cost = assigned.total[fits] * terms.per_milli + terms.start_costs(item)[fits]
    best = int(np.argmin(cost))
    at = placement_at(assigned, counts, int(fits[best]))
    when = from_minutes(int(item.starts[at.position])).isoformat()
    if status is BatchStatus.OPTIMAL or terms.priority * item.priority <= int(cost[best]):
        return Unscheduled(item.id, UnscheduledReason.NOT_WORTH_ITS_COST,
                           f"it fits at {when} but costs {points(int(cost[best]))} points, "
                           f"more than its priority weighs ({points(terms.priority * item.priority)})",
                           UnscheduledRule.COST)
    return Unscheduled(item.id, UnscheduledReason.DEADLINE,
                       f"it fits at {when}; the time limit came before the solver placed it",
                       UnscheduledRule.TIME_LIMIT)


_NAMED = 5  # clashing items named in a detail; the rest counted


def _lost_to(item: PreparedItem, board: Board, items: Sequence[PreparedItem],
             placements: Mapping[int, Placement]) -> Unscheduled:
    """Which scheduled items (and on which resources) stand in the way of every start."""
    clashing = board.clashing(item)
    starts = f"each of its {len(item.starts)} available starts"
    if not clashing:
        holders = _limit_holders(item, items, placements)
        return Unscheduled(item.id, UnscheduledReason.LOST_TO_OTHER_ITEMS,
                           f"{starts} is taken by the booking limits the scheduled items use up"
                           + (f": {_listed(holders)}" if holders else ""),
                           UnscheduledRule.BOOKING_LIMITS, tuple(holders))
    named = [f"{other} (on {', '.join(dict.fromkeys(resources))})"
             for other, resources in list(clashing.items())[:_NAMED]]
    more = f" and {len(clashing) - _NAMED} more" if len(clashing) > _NAMED else ""
    return Unscheduled(item.id, UnscheduledReason.LOST_TO_OTHER_ITEMS,
                       f"{starts} clashes with scheduled items: " + ", ".join(named) + more,
                       UnscheduledRule.CLASHES_WITH_ITEMS, tuple(clashing))


def _listed(ids: Sequence[str]) -> str:
    more = f" and {len(ids) - _NAMED} more" if len(ids) > _NAMED else ""
    return ", ".join(ids[:_NAMED]) + more


def _limit_holders(item: PreparedItem, items: Sequence[PreparedItem],
                   placements: Mapping[int, Placement]) -> list[str]:
    """Scheduled items that seat one of ``item``'s limited candidates on a local day
    (daily limit) or week (weekly limit) one of its starts falls in."""
    days = {m: set(keys.tolist()) for m, keys in item.day_keys.items()}
    weeks = {m: set(keys.tolist()) for m, keys in item.week_keys.items()}
    out: list[str] = []
    for other in items:
        placement = placements.get(other.index)
        if placement is None or other.index == item.index:
            continue
        p = placement.position
        seated = {other.groups[g].candidates[c] for g, picks in enumerate(placement.picks) for c in picks}
        if any((m in days and m in other.day_keys and int(other.day_keys[m][p]) in days[m])
               or (m in weeks and m in other.week_keys and int(other.week_keys[m][p]) in weeks[m])
               for m in seated):
            out.append(other.id)
    return out


def with_fairness_shares(directory: Directory, scheduled: Mapping[str, ScheduledItem],
                         weights: Weights) -> dict[str, ScheduledItem]:
    """``scheduled`` with each item's share of the fairness cost: per (pool, cycle
    period), ``w.fairness`` x (max - min load over the pool's members) split equally
    over the seats filled through that pool in that period. The shares add up to
    ``kpis_of(...).fairness_cost``."""
    fills: dict[tuple[str, str], list[str]] = {}  # (pool, period) -> item id per fill
    loads: dict[tuple[str, str], dict[str, int]] = {}
    for s in scheduled.values():
        for pool_id, member, period in s.pool_fills:
            fills.setdefault((pool_id, period), []).append(s.item_id)
            counts = loads.setdefault((pool_id, period), {})
            counts[member] = counts.get(member, 0) + 1
    per_fill = int(milli(weights.fairness, 60))
    share: dict[str, float] = {}
    for key, holders in fills.items():
        ticks = spread_of(directory, [(key[0], loads[key])]) * per_fill
        for item_id in holders:
            share[item_id] = share.get(item_id, 0.0) + ticks / len(holders)
    return {k: replace(s, fairness_cost=points(share.get(k, 0.0))) for k, s in scheduled.items()}


def kpis_of(directory: Directory, items: Iterable[BatchItem], scheduled: Mapping[str, ScheduledItem],
            weights: Weights) -> BatchKpis:
    """The KPIs of a schedule (a whole batch, or parts merged)."""
    items = list(items)
    loads: dict[tuple[str, str], dict[str, int]] = {}
    for s in scheduled.values():
        for pool_id, member, period in s.pool_fills:
            counts = loads.setdefault((pool_id, period), {})
            counts[member] = counts.get(member, 0) + 1
    spread = spread_of(directory, ((pool_id, c) for (pool_id, _), c in loads.items()))
    hours = [s.hours_from_window_start for s in scheduled.values()]
    return BatchKpis(
        items=len(items),
        scheduled=len(scheduled),
        total_priority=sum(i.priority for i in items),
        scheduled_priority=sum(i.priority for i in items if i.id in scheduled),
        alternates_used=sum(s.alternates for s in scheduled.values()),
        conflicts=sum(len(s.conflicts) for s in scheduled.values()),
        seat_cost=round(sum(s.seat_cost for s in scheduled.values()), 6),
        conflict_cost=round(sum(s.conflict_cost for s in scheduled.values()), 6),
        earliness_cost=round(sum(s.earliness_cost for s in scheduled.values()), 6),
        fairness_cost=points(spread * int(milli(weights.fairness, 60))),
        pool_load_spread=spread,
        mean_hours_from_window_start=round(sum(hours) / len(hours), 6) if hours else 0.0,
        moves=sum(1 for s in scheduled.values() if s.moved),
        move_cost=round(sum(s.move_cost for s in scheduled.values()), 6),
    )
