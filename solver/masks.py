"""FreeMask: which resource is free at which candidate start, as numpy arrays.

Blocking events and confirmed bookings are widened outward to runs of grid
cells; working hours are checked exactly (the meeting lies inside them). The meeting's
window at consecutive starts only moves forward, so each run blocks one
contiguous range of starts, found by binary search; a difference array over the
starts then marks every (resource, start) pair at once. The work and the
arrays grow with the events and the starts, never with resources times grid
cells (at 13 weeks those arrays were megabytes per call, faulted in afresh).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from solver.busy import BusyTable
from solver.domain import Booking, BusyInterval, Directory, WorkingHours
from solver.grid import BoolArray, Grid, IntArray, iso_week, to_minutes, zone_clock
from solver.hours import within_hours

__all__ = ["BoolMatrix", "FreeMask", "GridEvents", "Window", "build_free_mask"]

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
class GridEvents:
    """Blocking events and bookings on the grid: event k holds resource row
    ``rows[k]`` over cells ``[first[k], stop[k])`` (widened outward)."""

    grid: Grid
    rows: IntArray
    first: IntArray
    stop: IntArray
    tentative: BoolArray

    def overlapping(self, n_rows: int, lo: IntArray, hi: IntArray, tentative: bool) -> IntArray:
        """count[r, s]: events of row r (tentative or not) overlapping ``[lo[s], hi[s])``."""
        a = self.grid.floor_cell(lo)
        b = self.grid.ceil_cell(hi)
        count = np.zeros((n_rows, len(lo)), dtype=np.int64)
        pick = self.tentative == tentative
        for r in np.unique(self.rows[pick]).tolist():
            mine = pick & (self.rows == r)
            firsts = np.sort(self.first[mine])
            stops = np.sort(self.stop[mine])
            # Overlapping: first < b and stop > a; those ending by a all start before b.
            count[r] = np.searchsorted(firsts, b, side="left") - np.searchsorted(stops, a, side="right")
        return count


@dataclass(frozen=True)
class FreeMask:
    """``free[r, s]``: resource ``resource_ids[r]`` is free for the meeting at start ``s``.

    The rules are kept apart so a reply can say which one removed a start;
    ``unblocked_unbuffered`` is ``unblocked`` as if the request had no buffers.
    """

    resource_ids: tuple[str, ...]
    in_hours: BoolMatrix
    unblocked: BoolMatrix
    under_limit: BoolMatrix
    free: BoolMatrix
    unblocked_unbuffered: BoolMatrix
    events: GridEvents | None = None

    def row(self, resource_id: str) -> int:
        return self.resource_ids.index(resource_id)


def build_free_mask(
    directory: Directory,
    resource_ids: Sequence[str],
    busy: BusyTable | Sequence[BusyInterval],
    bookings: Sequence[Booking],
    window: Window,
    resolution: int,
    phase: int = 0,
) -> FreeMask:
    """The FreeMask of ``resource_ids`` for every start of ``window``, on a grid whose cells begin
    ``phase`` minutes past multiples of ``resolution`` (``solver.grid.grid_phase``)."""
    ids = tuple(resource_ids)
    n_res, n_starts = len(ids), len(window.starts)
    if n_starts == 0 or n_res == 0:
        empty = np.zeros((n_res, n_starts), dtype=np.bool_)
        return FreeMask(ids, empty, empty, empty, empty, empty)
    lo = int(window.starts.min()) - window.buffer_before
    hi = int(window.ends.max()) + window.buffer_after
    grid = Grid.covering(lo, hi, resolution, phase)
    row = {r: i for i, r in enumerate(ids)}

    events = _grid_events(grid, row, BusyTable.coerce(busy), bookings)
    buffered = _Windows.of(grid, window.starts - window.buffer_before, window.ends + window.buffer_after)
    meeting = _Windows.of(grid, window.starts, window.ends)
    unblocked = buffered.untouched(n_res, events.rows, events.first, events.stop)
    unbuffered = meeting.untouched(n_res, events.rows, events.first, events.stop)
    # Hours are exact (the meeting inside them), not narrowed to the grid: SCHEDULING.md's rule 1.
    in_hours = _in_hours(directory, ids, window)
    under_limit = _under_limits(directory, ids, bookings, window.starts)
    return FreeMask(ids, in_hours, unblocked, under_limit, in_hours & unblocked & under_limit, unbuffered, events)


def _hours_of(directory: Directory, resource_id: str) -> WorkingHours | None:
    member = directory.members.get(resource_id)
    if member is not None:
        return member.working_hours
    return directory.rooms[resource_id].opening_hours


def _grid_events(grid: Grid, row: dict[str, int], busy: BusyTable, bookings: Sequence[Booking]) -> GridEvents:
    rows = busy.rows(row)
    held = [(row[r], bk) for bk in bookings for r in bk.resources if r in row]
    rows = np.concatenate([rows, np.array([r for r, _ in held], dtype=np.int64)])
    starts = np.concatenate([busy.start, np.array([bk.start.timestamp() / 60.0 for _, bk in held])])
    ends = np.concatenate([busy.end, np.array([bk.end.timestamp() / 60.0 for _, bk in held])])
    tentative = np.concatenate([busy.tentative, np.zeros(len(held), dtype=np.bool_)])
    first = grid.floor_cell(starts)
    stop = grid.ceil_cell(ends)
    keep = (rows >= 0) & (ends > starts) & (stop > first)
    return GridEvents(grid, rows[keep], first[keep], stop[keep], tentative[keep])


@dataclass(frozen=True)
class _Windows:
    """The cells ``[a[s], b[s])`` a window overlaps at each start (``order`` sorts the starts),
    and whether it leaves the grid."""

    a: IntArray
    b: IntArray
    order: IntArray | None  # None: the starts are sorted already (find_slots' are)
    outside: BoolArray

    @staticmethod
    def of(grid: Grid, lo: IntArray, hi: IntArray) -> _Windows:
        outside = (lo < grid.origin) | (hi > grid.origin + grid.cells * grid.resolution)
        if (np.diff(lo) >= 0).all():
            return _Windows(grid.floor_cell(lo), grid.ceil_cell(hi), None, outside)
        order = np.argsort(lo, kind="stable")
        return _Windows(grid.floor_cell(lo[order]), grid.ceil_cell(hi[order]), order, outside[order])

    def untouched(self, n_rows: int, rows: IntArray, first: IntArray, stop: IntArray) -> BoolMatrix:
        """free[r, s]: no run of row r (cells ``[first[k], stop[k])``) overlaps the window at start s.

        Windows of one meeting at sorted starts have non-decreasing ends on both sides, so
        the starts whose window a run overlaps (``b > first`` and ``a < stop``) are one range.
        """
        n = len(self.a)
        lo = np.searchsorted(self.b, first, side="right")
        hi = np.searchsorted(self.a, stop, side="left")
        keep = lo < hi
        width = n + 1
        # count[r, s]: runs of row r whose range of starts holds s (a difference array, summed in place).
        count = np.zeros((n_rows, width), dtype=np.int32)
        flat = count.reshape(-1)
        np.add.at(flat, rows[keep] * width + lo[keep], 1)
        np.add.at(flat, rows[keep] * width + hi[keep], -1)
        np.cumsum(count, axis=1, out=count)
        # Parts of a window beyond the grid count as busy/out of hours (never the case for
        # windows the grid was built for; the guard keeps the rule "never round inward").
        free: BoolMatrix = (count[:, :n] == 0) & ~self.outside[None, :]
        if self.order is None:
            return free
        unsorted = np.empty_like(free)
        unsorted[:, self.order] = free
        return unsorted


def _in_hours(directory: Directory, ids: Sequence[str], window: Window) -> BoolMatrix:
    """Per (resource, start): the meeting lies inside the resource's hours. Worked out once per
    distinct hours (panelists often share them), not once per resource."""
    starts, ends = window.starts, window.ends
    span = (int(starts.min()), int(ends.max()))
    known: dict[WorkingHours | None, npt.NDArray[np.bool_]] = {}
    rows = []
    for r in ids:
        hours = _hours_of(directory, r)
        row = known.get(hours)
        if row is None:
            row = known[hours] = within_hours(hours, starts, ends, span)
        rows.append(row)
    return np.stack(rows)


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
