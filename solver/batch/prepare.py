"""Step 1 of a batch part: each item alone, as arrays over its individually feasible starts.

    items -> plans (candidate starts, unit seats, FreeMask: what make_plan gives)
          -> assign (which starts work for the item alone)
          -> seat groups, options, held spans, period keys

Everything later (greedy, CP-SAT model, evaluation) reads these arrays only.

``plan_items`` gives each item exactly the Plan ``make_plan`` would, but builds
one FreeMask per meeting *shape* (duration, buffers, resolution) over the union
of the items' starts and hands each item its columns: whether a resource is
free at a start depends on nothing else, and the batch's items mostly share a
few shapes.

- A *seat group* is one seat of the request: its unit seats share candidates and
  costs (a pool seat of count k is k identical units), so the model picks
  ``count`` distinct candidates for it at once instead of k symmetric units.
- An *option* is one candidate of one seat group over the starts at which it is
  allowed and at which its costs and the periods it counts in (booking-limit day
  and week, the pool's fairness cycle) are the same. The model has one Boolean per
  option, so every cost and count is a constant times that Boolean.
- *Held span*: a scheduled item holds each of its resources for its meeting
  ``[s, e)`` (the *core*) and keeps ``[s - buffer_before, e + buffer_after)`` (the
  *padded* span) clear of other meetings; both widened outward to the batch grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from solver.assign import SeatCosts, assign
from solver.batch.types import BatchItem
from solver.busy import BusyTable
from solver.conflicts import conflict_costs
from solver.domain import Booking, Cycle, Directory, MemberSeat, PoolSeat, RoomSeat, SlotRequest, Weights
from solver.grid import IntArray, candidate_starts, from_minutes, iso_week, to_minutes, zone_clock
from solver.masks import BoolMatrix, FreeMask, Window, build_free_mask
from solver.plan import Plan, earliest_start, minutes_of, too_small_rooms
from solver.seats import INFEASIBLE, unit_seats

__all__ = [
    "Option",
    "PreparedItem",
    "SeatGroup",
    "cycle_keys",
    "cycle_label",
    "plan_items",
    "prepare_item",
    "resources_of",
    "with_options",
    "with_weights",
]


@dataclass(frozen=True)
class SeatGroup:
    """Seat ``seat_index`` of the request: ``count`` distinct candidates to pick.

    Arrays are ``[candidate, start]`` over the item's feasible starts; costs in
    milli-points; ``rows`` are the candidates' rows in the item's FreeMask.
    """

    seat_index: int
    count: int
    candidates: tuple[str, ...]
    rows: IntArray
    allowed: BoolMatrix
    seat_cost: IntArray
    conflict_cost: IntArray
    pool_id: str | None  # the member pool of a pool seat (what fairness counts)
    member_seat: bool  # a MemberSeat: candidate 0 is the primary, others are alternates


@dataclass(frozen=True)
class Option:
    """Candidate ``candidate`` of seat group ``group`` at ``starts`` (positions in the
    item's feasible starts), which share one cost and one period of each count.

    ``day`` / ``week``: the member's local day / ISO week when the member has a
    daily / weekly booking limit; ``cycle``: the pool's cycle period when fairness
    counts the seat's pool. None where it does not apply.
    """

    group: int
    candidate: int
    starts: IntArray
    seat_cost: int  # milli-points
    conflict_cost: int  # milli-points
    day: int | None
    week: int | None
    cycle: int | None

    def resource(self, item: PreparedItem) -> str:
        return item.groups[self.group].candidates[self.candidate]


@dataclass(frozen=True)
class PreparedItem:
    """One batch item over its feasible starts (epoch minutes, chronological).

    ``pre_lo <= core_lo < core_hi <= post_hi`` per start: the padded span is
    ``[pre_lo, post_hi)``, the core ``[core_lo, core_hi)``, both on the batch grid.
    ``delay`` is minutes from the window start. ``moves`` is 1 at every start of a
    movable item but its booking's current one (where its seats are the booking's).
    """

    index: int
    item: BatchItem
    plan: Plan
    starts: IntArray
    start_index: IntArray  # positions in plan.starts
    groups: tuple[SeatGroup, ...]
    options: tuple[Option, ...]
    pre_lo: IntArray
    core_lo: IntArray
    core_hi: IntArray
    post_hi: IntArray
    delay: IntArray
    moves: IntArray  # per start: 1 where placing the item moves its booking (a movable item), else 0
    day_keys: Mapping[str, IntArray]  # members with a daily limit
    week_keys: Mapping[str, IntArray]  # members with a weekly limit
    cycle_keys: Mapping[str, IntArray]  # pools fairness counts

    @property
    def id(self) -> str:
        return self.item.id

    @property
    def priority(self) -> int:
        return self.item.priority

    def resources(self) -> list[str]:
        """Every candidate resource, in seat order, once each."""
        return list(dict.fromkeys(c for g in self.groups for c in g.candidates))


def resources_of(request: SlotRequest, directory: Directory) -> list[str]:
    """Every member and room the request could seat (rooms of any capacity), once each."""
    out: list[str] = []
    for seat in request.seats:
        if isinstance(seat, MemberSeat):
            out.extend(seat.candidates)
        elif isinstance(seat, PoolSeat):
            out.extend(directory.pools[seat.pool_id].members)
        elif isinstance(seat, RoomSeat):
            out.extend(seat.rooms)
            for pool_id in seat.pools:
                out.extend(directory.pools[pool_id].members)
    return list(dict.fromkeys(out))


def cycle_keys(starts: IntArray, cycle: Cycle, zone_name: str) -> IntArray:
    """The pool cycle period holding each start: local day, ISO week or month in ``zone_name``."""
    if len(starts) == 0:
        return starts
    clock = zone_clock(zone_name, int(starts.min()), int(starts.max()) + 1)
    day = clock.local_day(starts)
    if cycle is Cycle.DAY:
        return day
    if cycle is Cycle.WEEK:
        return iso_week(day)
    return (day * 1440).astype("datetime64[m]").astype("datetime64[M]").astype(np.int64)


def cycle_label(key: int, cycle: Cycle) -> str:
    """A cycle key for people: "2026-06-01", "2026-W23", "2026-06"."""
    if cycle is Cycle.DAY:
        return from_minutes(key * 1440).date().isoformat()
    if cycle is Cycle.WEEK:
        monday = from_minutes((key * 7 - 3) * 1440).date()
        year, week, _ = monday.isocalendar()
        return f"{year}-W{week:02d}"
    return str(np.datetime64(key, "M"))


def plan_items(directory: Directory, busy: BusyTable, bookings_by: Mapping[str, Sequence[Booking]],
               requests: Sequence[SlotRequest]) -> list[Plan]:
    """The Plan of each request, as ``make_plan`` makes it (see the module docstring).

    ``busy`` may hold anyone's intervals: only the requests' resources are read.
    """
    shapes: dict[tuple[int, int, int, int], list[int]] = {}
    starts: list[IntArray] = []
    for n, request in enumerate(requests):
        duration = minutes_of(request.duration.total_seconds())
        first = math.ceil(earliest_start(request))
        last = math.floor(to_minutes(request.window_end)) - duration
        starts.append(candidate_starts(request.time_zone, first, last, request.start_interval))
        shape = (duration, minutes_of(request.buffer_before.total_seconds()),
                 minutes_of(request.buffer_after.total_seconds()), request.resolution)
        shapes.setdefault(shape, []).append(n)
    plans: dict[int, Plan] = {}
    for (duration, before, after, resolution), members in shapes.items():
        union = np.unique(np.concatenate([starts[n] for n in members]))
        resources = list(dict.fromkeys(r for n in members
                                       for r in [*resources_of(requests[n], directory), *requests[n].optional_members]))
        # Bookings of these resources all count, wherever they are (limits, round-robin ranks, loads).
        held = list({id(bk): bk for r in resources for bk in bookings_by.get(r, ())}.values())
        shared = build_free_mask(directory, resources, busy, held, Window(union, duration, before, after), resolution)
        for n in members:
            own = starts[n]
            cols = np.searchsorted(union, own)
            mask = FreeMask(shared.resource_ids, shared.in_hours[:, cols], shared.unblocked[:, cols],
                            shared.under_limit[:, cols], shared.free[:, cols], shared.unblocked_unbuffered[:, cols],
                            shared.events)
            units = unit_seats(directory, requests[n], held, own)
            plans[n] = Plan(requests[n], Window(own, duration, before, after), units, mask,
                            too_small_rooms(directory, requests[n], units))
    return [plans[n] for n in range(len(requests))]


def prepare_item(
    index: int,
    item: BatchItem,
    plan: Plan,
    directory: Directory,
    *,
    allow_conflicts: bool,
    grid: int,
    fairness: bool,
    deadline: float | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> PreparedItem:
    """The arrays of ``item`` from its ``plan`` (made with the batch's weights)."""
    request = plan.request
    n = len(plan.starts)
    if allow_conflicts:
        costs, scale = conflict_costs(plan, directory)
    else:
        costs, scale = plan.seat_costs(), 0
    stay = _stay_position(item, plan)
    if stay is not None and item.current is not None:
        costs = _keep_seats(costs, plan, stay, item.current.seats)
    assigned = assign(costs, n, deadline=deadline, cancelled=cancelled)
    # Starts the deadline left undecided stay in: the model decides them.
    feasible = np.flatnonzero(assigned.feasible | ~assigned.decided)
    starts = plan.starts[feasible]

    groups = _groups(plan, costs, scale, feasible)
    window = plan.window
    ws = math.ceil(to_minutes(request.window_start))
    day_keys: dict[str, IntArray] = {}
    week_keys: dict[str, IntArray] = {}
    local_days: dict[str, IntArray] = {}  # per time zone
    for member_id in dict.fromkeys(c for g in groups for c in g.candidates):
        member = directory.members.get(member_id)  # rooms have no booking limits
        if member is None or (member.daily_limit is None and member.weekly_limit is None) or len(starts) == 0:
            continue
        if member.time_zone not in local_days:
            clock = zone_clock(member.time_zone, int(starts.min()), int(starts.max()) + 1)
            local_days[member.time_zone] = clock.local_day(starts)
        local_day = local_days[member.time_zone]
        if member.daily_limit is not None:
            day_keys[member_id] = local_day
        if member.weekly_limit is not None:
            week_keys[member_id] = iso_week(local_day)
    pools = {g.pool_id for g in groups if g.pool_id is not None} if fairness else set()
    cycles = {p: cycle_keys(starts, directory.pools[p].cycle, request.time_zone) for p in sorted(pools)}
    return PreparedItem(
        index=index,
        item=item,
        plan=plan,
        starts=starts,
        start_index=feasible,
        groups=groups,
        options=(),  # with_options adds them when a model needs them
        pre_lo=_floor(starts - window.buffer_before, grid),
        core_lo=_floor(starts, grid),
        core_hi=_ceil(starts + window.duration, grid),
        post_hi=_ceil(starts + window.duration + window.buffer_after, grid),
        delay=starts - ws,
        moves=(_moves(item, starts, plan, stay)),
        day_keys=day_keys,
        week_keys=week_keys,
        cycle_keys=cycles,
    )


def _stay_position(item: BatchItem, plan: Plan) -> int | None:
    """The position in ``plan.starts`` of a movable item's current start (None: not a candidate, or no booking)."""
    if not item.movable or item.current is None:
        return None
    minute = to_minutes(item.current.start)
    q = int(np.searchsorted(plan.starts, minute))
    return q if q < len(plan.starts) and plan.starts[q] == minute else None


def _keep_seats(costs: list[SeatCosts], plan: Plan, stay: int, seats: Sequence[tuple[str, ...]]) -> list[SeatCosts]:
    """``costs`` with every candidate but the booking's own made infeasible at the current start."""
    out: list[SeatCosts] = []
    for unit, seat_costs in zip(plan.units, costs, strict=True):
        kept = set(seats[unit.seat_index]) if unit.seat_index < len(seats) else set()
        cost = seat_costs.cost.copy()
        for c, candidate in enumerate(unit.candidates):
            if candidate not in kept:
                cost[c, stay] = INFEASIBLE
        out.append(SeatCosts(seat_costs.rows, cost))
    return out


def _moves(item: BatchItem, starts: IntArray, plan: Plan, stay: int | None) -> IntArray:
    """1 at each start that moves a movable item's booking, else 0."""
    if not item.movable:
        return np.zeros(len(starts), dtype=np.int64)
    moves = np.ones(len(starts), dtype=np.int64)
    if stay is not None:
        moves[starts == plan.starts[stay]] = 0
    return moves


def with_options(item: PreparedItem) -> PreparedItem:
    """``item`` with its options (the greedy schedules need none, so the first comes sooner)."""
    return replace(item, options=_options(item.groups, item.day_keys, item.week_keys, item.cycle_keys))


def with_weights(item: BatchItem, weights: Weights) -> SlotRequest:
    """The item's request as the batch solves it: with the batch's weights."""
    return replace(item.request, weights=weights)


def _floor(minutes: IntArray, grid: int) -> IntArray:
    return minutes // grid * grid


def _ceil(minutes: IntArray, grid: int) -> IntArray:
    return -(-minutes // grid) * grid


def _groups(plan: Plan, costs: list[SeatCosts], scale: int, feasible: IntArray) -> tuple[SeatGroup, ...]:
    """Units of one seat merged: they share candidates and costs by construction (seats.unit_seats)."""
    seats = plan.request.seats
    out: list[SeatGroup] = []
    for seat_index, seat in enumerate(seats):
        units = [u for u, unit in enumerate(plan.units) if unit.seat_index == seat_index]
        first = units[0]
        cost = costs[first].cost[:, feasible]
        allowed = cost < INFEASIBLE
        if scale:
            seat_cost = np.where(allowed, cost % scale, 0)
            conflict = np.where(allowed, cost // scale, 0)
        else:
            seat_cost = np.where(allowed, cost, 0)
            conflict = np.zeros_like(cost)
        out.append(SeatGroup(
            seat_index=seat_index,
            count=len(units),
            candidates=plan.units[first].candidates,
            rows=costs[first].rows,
            allowed=allowed,
            seat_cost=seat_cost,
            conflict_cost=conflict,
            pool_id=seat.pool_id if isinstance(seat, PoolSeat) else None,
            member_seat=isinstance(seat, MemberSeat),
        ))
    return tuple(out)


def _options(groups: tuple[SeatGroup, ...], day_keys: Mapping[str, IntArray], week_keys: Mapping[str, IntArray],
             cycles: Mapping[str, IntArray]) -> tuple[Option, ...]:
    out: list[Option] = []
    for g, group in enumerate(groups):
        cand, where = np.nonzero(group.allowed)
        if len(cand) == 0:
            continue
        # Per (candidate, start): everything an option holds constant; -1 where it does not apply.
        shape = group.allowed.shape
        day = np.full(shape, -1, dtype=np.int64)
        week = np.full(shape, -1, dtype=np.int64)
        for c, resource in enumerate(group.candidates):
            if resource in day_keys:
                day[c] = day_keys[resource]
            if resource in week_keys:
                week[c] = week_keys[resource]
        counted = group.pool_id is not None and group.pool_id in cycles
        cycle = np.broadcast_to(cycles[group.pool_id], shape) if counted and group.pool_id else np.full(shape, -1)
        keys = np.stack([cand, group.seat_cost[cand, where], group.conflict_cost[cand, where], day[cand, where],
                         week[cand, where], cycle[cand, where]])
        # Sorted by the keys (then start), each run of equal keys is one option.
        order = np.lexsort((where, *keys[::-1]))
        ordered = keys[:, order]
        runs = np.flatnonzero((ordered[:, 1:] != ordered[:, :-1]).any(axis=0)) + 1
        heads = [0, *runs.tolist()]
        positions = where[order]
        for head, end, (c, seat_cost, conflict, d, w, y) in zip(heads, [*heads[1:], len(order)],
                                                                  ordered[:, heads].T.tolist(), strict=True):
            out.append(Option(g, c, positions[head:end], seat_cost, conflict,
                              d if d >= 0 else None, w if w >= 0 else None, y if y >= 0 else None))
    return tuple(out)
