"""From a request to arrays: candidate starts, unit seats, the FreeMask and the
cost of every candidate of every unit seat at every start."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from solver.assign import SeatCosts
from solver.busy import BusyTable
from solver.domain import Booking, BusyInterval, Directory, RoomSeat, SlotRequest
from solver.grid import IntArray, candidate_starts, grid_phase, to_minutes
from solver.masks import FreeMask, Window, build_free_mask
from solver.seats import INFEASIBLE, UnitSeat, unit_seats

__all__ = ["Plan", "make_plan", "minutes_of", "too_small_rooms"]


def minutes_of(td_seconds: float) -> int:
    return math.ceil(td_seconds / 60.0)


@dataclass(frozen=True)
class Plan:
    """Everything the assignment needs, for the starts of one request."""

    request: SlotRequest
    window: Window
    units: list[UnitSeat]
    mask: FreeMask
    too_small: dict[int, tuple[str, ...]]  # per room seat, rooms dropped for capacity (in the mask too)

    @property
    def starts(self) -> IntArray:
        return self.window.starts

    def seat_costs(self) -> list[SeatCosts]:
        """Costs with every candidate that is not free at a start made infeasible."""
        row = {r: i for i, r in enumerate(self.mask.resource_ids)}
        out = []
        for unit in self.units:
            rows = np.array([row[c] for c in unit.candidates], dtype=np.int64)
            free = self.mask.free[rows] if len(rows) else np.zeros((0, len(self.starts)), dtype=np.bool_)
            out.append(SeatCosts(rows, np.where(free, unit.cost, INFEASIBLE)))
        return out


def earliest_start(request: SlotRequest) -> float:
    """The first instant a meeting may start: the window's start or now + minimum notice."""
    first = to_minutes(request.window_start)
    if request.now is not None:
        first = max(first, to_minutes(request.now + request.minimum_notice))
    return first


def make_plan(
    directory: Directory,
    busy: BusyTable | Sequence[BusyInterval],
    bookings: Sequence[Booking],
    request: SlotRequest,
    starts: IntArray | None = None,
) -> Plan:
    """The plan of ``request`` over its candidate starts (or the ``starts`` given)."""
    duration = minutes_of(request.duration.total_seconds())
    if starts is None:
        first = math.ceil(earliest_start(request))
        last = math.floor(to_minutes(request.window_end)) - duration
        starts = candidate_starts(request.time_zone, first, last, request.start_interval)
    window = Window(
        starts,
        duration,
        minutes_of(request.buffer_before.total_seconds()),
        minutes_of(request.buffer_after.total_seconds()),
    )
    units = unit_seats(directory, request, bookings, starts)
    too_small = too_small_rooms(directory, request, units)
    resources = [c for u in units for c in u.candidates] + list(request.optional_members)
    resources += [r for rooms in too_small.values() for r in rooms]
    phase = grid_phase(request.time_zone, request.window_start, request.resolution)
    mask = build_free_mask(directory, list(dict.fromkeys(resources)), busy, bookings, window, request.resolution,
                           phase)
    return Plan(request, window, units, mask, too_small)


def too_small_rooms(directory: Directory, request: SlotRequest, units: list[UnitSeat]) -> dict[int, tuple[str, ...]]:
    """Per room seat, the listed rooms (and room-pool rooms) its units dropped for capacity."""
    out: dict[int, tuple[str, ...]] = {}
    for unit in units:
        seat = request.seats[unit.seat_index]
        if isinstance(seat, RoomSeat):
            listed = list(seat.rooms) + [r for p in seat.pools for r in directory.pools[p].members]
            out[unit.seat_index] = tuple(r for r in dict.fromkeys(listed) if r not in unit.candidates)
    return out


def start_minutes(start: datetime) -> IntArray:
    return np.array([math.floor(to_minutes(start))], dtype=np.int64)
