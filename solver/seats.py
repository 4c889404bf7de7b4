"""Seats expanded into unit seats, each with its candidates and their costs.

A unit seat is filled by exactly one resource: a member seat is one unit, a
pool seat of ``count`` k is k units with the same candidates, a room seat is
one unit. Costs are integers in **milli-points** (weights x 1000) so that every
path (vectorized, CP-SAT, brute force) compares them exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from solver.domain import (
    Booking,
    Cycle,
    Directory,
    Distribution,
    MemberSeat,
    Pool,
    PoolSeat,
    RoomSeat,
    SlotRequest,
)
from solver.grid import IntArray, iso_week, to_minutes, zone_clock

__all__ = ["INFEASIBLE", "MILLI", "UnitSeat", "attendee_count", "milli", "room_candidates", "unit_seats"]

MILLI = 1000
# The cost of a candidate that may not take a seat (busy, or excluded by a rule).
# Far below int64's end so sums of a few never overflow.
INFEASIBLE = np.iinfo(np.int64).max // 64


def milli(weight: float, amount: npt.ArrayLike) -> IntArray:
    """Cost in milli-points of ``amount`` units at ``weight`` points each."""
    return np.rint(np.asarray(amount, dtype=np.float64) * weight * MILLI).astype(np.int64)


@dataclass(frozen=True)
class UnitSeat:
    """One resource to choose for seat ``seat_index``.

    ``cost[c, s]`` is the cost of candidate ``candidates[c]`` at start ``s``
    (free or not: freedom is applied later).
    """

    seat_index: int
    candidates: tuple[str, ...]
    cost: IntArray


def attendee_count(request: SlotRequest, directory: Directory) -> int:
    """Members filling seats + optional members + customers."""
    seated = 0
    for seat in request.seats:
        if isinstance(seat, MemberSeat):
            seated += 1
        elif isinstance(seat, PoolSeat):
            seated += seat.count
    return seated + len(request.optional_members) + request.customers


def room_candidates(seat: RoomSeat, directory: Directory, attendees: int) -> list[tuple[str, str | None]]:
    """(room id, pool id or None) in preference order, dropping rooms too small."""
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for room_id in seat.rooms:
        if room_id not in seen:
            seen.add(room_id)
            out.append((room_id, None))
    for pool_id in seat.pools:
        for room_id in directory.pools[pool_id].members:
            if room_id not in seen:
                seen.add(room_id)
                out.append((room_id, pool_id))
    return [(r, p) for r, p in out if directory.rooms[r].capacity >= attendees]


def unit_seats(
    directory: Directory,
    request: SlotRequest,
    bookings: Sequence[Booking],
    starts: IntArray,
) -> list[UnitSeat]:
    """The unit seats of ``request`` in request order, with per-start costs."""
    w = request.weights
    n = len(starts)
    attendees = attendee_count(request, directory)
    units: list[UnitSeat] = []
    for i, seat in enumerate(request.seats):
        if isinstance(seat, MemberSeat):
            cost = milli(w.alternate, np.arange(len(seat.candidates)))
            units.append(UnitSeat(i, seat.candidates, _per_start(cost, n)))
        elif isinstance(seat, PoolSeat):
            pool = directory.pools[seat.pool_id]
            members, cost = _pool_costs(pool, request, bookings, starts, seat.count)
            units.extend(UnitSeat(i, members, cost) for _ in range(seat.count))
        else:
            rooms = room_candidates(seat, directory, attendees)
            costs = np.zeros((len(rooms), n), dtype=np.int64)
            for c, (room_id, pool_id) in enumerate(rooms):
                fit = milli(w.room_fit, directory.rooms[room_id].capacity - attendees)
                if pool_id is None:
                    # Position in the request's own list, before rooms too small were dropped.
                    costs[c] = milli(w.alternate, seat.rooms.index(room_id)) + fit
                else:
                    pool = directory.pools[pool_id]
                    ids, pcost = _pool_costs(pool, request, bookings, starts, 1)
                    costs[c] = pcost[ids.index(room_id)] + fit if room_id in ids else INFEASIBLE
            units.append(UnitSeat(i, tuple(r for r, _ in rooms), costs))
    return units


def _per_start(cost: IntArray, n: int) -> IntArray:
    return np.ascontiguousarray(np.broadcast_to(cost[:, None], (len(cost), n)))


def _pool_costs(
    pool: Pool, request: SlotRequest, bookings: Sequence[Booking], starts: IntArray, count: int
) -> tuple[tuple[str, ...], IntArray]:
    """(candidates, cost[c, s]) of a pool by its distribution rule."""
    w = request.weights
    n = len(starts)
    members = pool.members
    rule = pool.distribution
    if rule in (Distribution.ROUND_ROBIN, Distribution.STRICT_ROUND_ROBIN):
        rank = _round_robin_rank(pool, bookings)
        cost = milli(w.pool_balance, rank)
        if rule is Distribution.STRICT_ROUND_ROBIN:
            # Only the next `count` in line may take the seat.
            cost = np.where(rank < count, cost, INFEASIBLE)
        return members, _per_start(cost, n)
    if rule is Distribution.PRIORITY:
        prio = dict(pool.priorities)
        values = np.array([prio.get(m, 0) for m in members], dtype=np.float64)
        return members, _per_start(milli(w.pool_priority, values.max(initial=0) - values), n)
    # LOAD_BALANCED: confirmed bookings of the member through this pool in the slot's cycle.
    return members, milli(w.pool_balance, _loads(pool, request, bookings, starts))


def _round_robin_rank(pool: Pool, bookings: Sequence[Booking]) -> IntArray:
    """rank[c]: 0 for the member assigned least recently (never first), ties by pool order."""
    last: dict[str, datetime] = {}
    for b in bookings:
        for pool_id, member_id in b.pool_members:
            if pool_id == pool.id and (member_id not in last or b.start > last[member_id]):
                last[member_id] = b.start
    order = sorted(
        range(len(pool.members)),
        key=lambda c: (pool.members[c] in last, last.get(pool.members[c], datetime.min), c),
    )
    rank = np.empty(len(pool.members), dtype=np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(order))
    return rank


def _cycle_keys(minutes: IntArray, cycle: Cycle, zone_name: str) -> IntArray:
    """The cycle (local day, ISO week or month in ``zone_name``) of each instant."""
    if len(minutes) == 0:
        return minutes
    clock = zone_clock(zone_name, int(minutes.min()), int(minutes.max()) + 1)
    local = clock.local(minutes)
    day = local // 1440
    if cycle is Cycle.DAY:
        return day
    if cycle is Cycle.WEEK:
        return iso_week(day)
    return local.astype("datetime64[m]").astype("datetime64[M]").astype(np.int64)


def _loads(pool: Pool, request: SlotRequest, bookings: Sequence[Booking], starts: IntArray) -> IntArray:
    load = np.zeros((len(pool.members), len(starts)), dtype=np.int64)
    start_keys = _cycle_keys(starts, pool.cycle, request.time_zone)
    index = {m: c for c, m in enumerate(pool.members)}
    per_member: dict[int, list[int]] = {}
    for b in bookings:
        for pool_id, member_id in b.pool_members:
            if pool_id == pool.id and member_id in index:
                per_member.setdefault(index[member_id], []).append(int(to_minutes(b.start)))
    for c, minutes in per_member.items():
        keys = np.sort(_cycle_keys(np.array(minutes, dtype=np.int64), pool.cycle, request.time_zone))
        load[c] = np.searchsorted(keys, start_keys, side="right") - np.searchsorted(keys, start_keys)
    return load
