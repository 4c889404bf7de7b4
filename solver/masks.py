"""FreeMask: which resource is free at which candidate start, as numpy arrays.

Per resource, the grid's cells are marked busy (blocking events and confirmed
bookings, widened outward) and in-hours (narrowed inward). Prefix sums then
answer "is any cell of this window busy / out of hours" for every (resource,
start) pair at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from solver.domain import Booking, BusyInterval, BusyKind, Directory, WorkingHours
from solver.grid import Grid, IntArray, iso_week, to_minutes, zone_clock
from solver.hours import hours_mask

__all__ = ["BoolMatrix", "FreeMask", "Window", "build_free_mask"]

BoolMatrix = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Window:
    """The meeting at each candidate start, in epoch minutes: ``[start, end)`` plus buffers."""

    starts: IntArray
    duration: int
    buffer_before: int
    buffer_after: int

    @property
    def ends(self) -> IntArray:
        return self.starts + self.duration


@dataclass(frozen=True)
class FreeMask:
    """``free[r, s]``: resource ``resource_ids[r]`` is free for the meeting at start ``s``.

    The three rules are kept apart so a reply can say which one removed a start.
    """

    resource_ids: tuple[str, ...]
    in_hours: BoolMatrix
    unblocked: BoolMatrix
    under_limit: BoolMatrix
    free: BoolMatrix

    def row(self, resource_id: str) -> int:
        return self.resource_ids.index(resource_id)


def build_free_mask(
    directory: Directory,
    resource_ids: Sequence[str],
    busy: Sequence[BusyInterval],
    bookings: Sequence[Booking],
    window: Window,
    resolution: int,
) -> FreeMask:
    """The FreeMask of ``resource_ids`` for every start of ``window``."""
    ids = tuple(resource_ids)
    n_res, n_starts = len(ids), len(window.starts)
    if n_starts == 0 or n_res == 0:
        empty = np.zeros((n_res, n_starts), dtype=np.bool_)
        return FreeMask(ids, empty, empty, empty, empty)
    lo = int(window.starts.min()) - window.buffer_before
    hi = int(window.ends.max()) + window.buffer_after
    grid = Grid.covering(lo, hi, resolution)
    row = {r: i for i, r in enumerate(ids)}

    unblocked = ~_any_in(_busy_cells(grid, row, busy, bookings), grid,
                         window.starts - window.buffer_before, window.ends + window.buffer_after)
    out_of_hours = np.stack([~hours_mask(_hours_of(directory, r), grid) for r in ids])
    in_hours = ~_any_in(out_of_hours, grid, window.starts, window.ends)
    under_limit = _under_limits(directory, ids, bookings, window.starts)
    return FreeMask(ids, in_hours, unblocked, under_limit, in_hours & unblocked & under_limit)


def _hours_of(directory: Directory, resource_id: str) -> WorkingHours | None:
    member = directory.members.get(resource_id)
    if member is not None:
        return member.working_hours
    return directory.rooms[resource_id].opening_hours


def _busy_cells(grid: Grid, row: dict[str, int], busy: Sequence[BusyInterval],
                bookings: Sequence[Booking]) -> BoolMatrix:
    """cells[r, i]: some blocking event or booking of resource r touches cell i."""
    rows: list[int] = []
    starts: list[float] = []
    ends: list[float] = []
    for b in busy:
        r = row.get(b.resource_id)
        if r is not None and b.kind is not BusyKind.OUTSIDE_HOURS:
            rows.append(r)
            starts.append(to_minutes(b.start))
            ends.append(to_minutes(b.end))
    for bk in bookings:
        s, e = to_minutes(bk.start), to_minutes(bk.end)
        for resource_id in bk.resources:
            r = row.get(resource_id)
            if r is not None:
                rows.append(r)
                starts.append(s)
                ends.append(e)
    diff = np.zeros((len(row), grid.cells + 1), dtype=np.int32)
    if rows:
        r_arr = np.array(rows, dtype=np.int64)
        first = grid.floor_cell(np.array(starts))
        stop = grid.ceil_cell(np.array(ends))
        keep = stop > first
        np.add.at(diff, (r_arr[keep], first[keep]), 1)
        np.add.at(diff, (r_arr[keep], stop[keep]), -1)
    return np.cumsum(diff[:, :-1], axis=1) > 0


def _any_in(cells: BoolMatrix, grid: Grid, lo: IntArray, hi: IntArray) -> BoolMatrix:
    """any(cells[r, cell]) over the cells overlapping ``[lo[s], hi[s])``, for every r and s."""
    prefix = np.zeros((cells.shape[0], cells.shape[1] + 1), dtype=np.int32)
    np.cumsum(cells, axis=1, out=prefix[:, 1:])
    a = grid.floor_cell(lo)
    b = grid.ceil_cell(hi)
    # Parts of a window beyond the grid count as busy/out of hours (never the case for
    # windows the grid was built for; the guard keeps the rule "never round inward").
    outside = (lo < grid.origin) | (hi > grid.origin + grid.cells * grid.resolution)
    return (prefix[:, b] - prefix[:, a] > 0) | outside[None, :]


def _under_limits(directory: Directory, ids: tuple[str, ...], bookings: Sequence[Booking],
                  starts: IntArray) -> BoolMatrix:
    """Daily/weekly booking limits of members, counted on the member's local calendar."""
    ok = np.ones((len(ids), len(starts)), dtype=np.bool_)
    for r, resource_id in enumerate(ids):
        member = directory.members.get(resource_id)
        if member is None or (member.daily_limit is None and member.weekly_limit is None):
            continue
        held = [int(to_minutes(b.start)) for b in bookings if resource_id in b.resources]
        limits = ((member.daily_limit, False), (member.weekly_limit, True))
        if not held and all(limit is None or limit > 0 for limit, _ in limits):
            continue
        span = [int(starts.min()), int(starts.max()), *held]
        clock = zone_clock(member.time_zone, min(span), max(span) + 1)
        start_days = clock.local_day(starts)
        held_days = clock.local_day(np.array(held, dtype=np.int64))
        for limit, weekly in limits:
            if limit is None:
                continue
            want, keys = (iso_week(start_days), iso_week(held_days)) if weekly else (start_days, held_days)
            keys = np.sort(keys)
            count = np.searchsorted(keys, want, side="right") - np.searchsorted(keys, want)
            ok[r] &= count < limit
    return ok
