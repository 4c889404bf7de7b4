"""Working and opening hours as a cell mask on the grid.

Hours are wall-clock ranges in the resource's own zone; each day's ranges are
turned into real instants with zoneinfo, so a 09:00-17:00 day is 8 hours of
wall clock on a DST day too. A meeting is in hours when it lies inside the
ranges (``within_hours``: exact, not on the grid). ``hours_mask`` (a cell is
"in hours" only when it lies wholly inside a range) serves views on the grid.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from solver.domain import WorkingHours
from solver.grid import Grid, IntArray, from_minutes, to_minutes

__all__ = ["hours_gaps", "hours_mask", "hours_ranges", "hours_spans", "within_hours"]


def hours_ranges(hours: WorkingHours, start: int, end: int) -> list[tuple[float, float]]:
    """The real intervals (epoch minutes) of ``hours`` overlapping ``[start, end)``."""
    zone = ZoneInfo(hours.time_zone)
    # A day a little before and after the span, so ranges of neighbouring local days are seen.
    first_day = from_minutes(start).astimezone(zone).date() - timedelta(days=1)
    last_day = from_minutes(end).astimezone(zone).date() + timedelta(days=1)
    out: list[tuple[float, float]] = []
    day = first_day
    while day <= last_day:
        for r in hours.ranges_on(day):
            lo = _wall_to_minutes(day, r.start_minute, zone)
            hi = _wall_to_minutes(day, r.end_minute, zone)
            if hi > lo and hi > start and lo < end:
                out.append((lo, hi))
        day += timedelta(days=1)
    return out


def _wall_to_minutes(day: date, minute_of_day: int, zone: ZoneInfo) -> float:
    # fold=0: a wall time in a gap maps forward past it, an ambiguous one to its first instant.
    if minute_of_day >= 1440:
        nxt = day + timedelta(days=1)
        wall = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    else:
        wall = datetime(day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60, tzinfo=zone)
    return to_minutes(wall)


@lru_cache(maxsize=1024)
def hours_spans(hours: WorkingHours, start: int, end: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The merged real intervals of ``hours`` overlapping ``[start, end)`` as sorted arrays (lows, highs);
    touching ranges joined (08:00-12:02 and 12:02-16:00 are one)."""
    merged = _union(hours_ranges(hours, start, end))
    lows = np.array([lo for lo, _ in merged], dtype=np.float64)
    highs = np.array([hi for _, hi in merged], dtype=np.float64)
    lows.setflags(write=False)
    highs.setflags(write=False)
    return lows, highs


def within_hours(hours: WorkingHours | None, starts: IntArray, ends: IntArray,
                 span: tuple[int, int] | None = None) -> npt.NDArray[np.bool_]:
    """Per meeting ``[starts[k], ends[k])``: True when it lies inside the hours (None: always).

    Exact, not on the grid: SCHEDULING.md's rule 1 is "[s, e) lies inside its working hours",
    so a 09:00 meeting at 60-minute resolution is in 09:00-17:00 hours whatever the zone's offset.
    ``span`` is ``(starts.min(), ends.max())`` when the caller has it (it asks for many resources).
    """
    if hours is None or len(starts) == 0:
        return np.ones(len(starts), dtype=np.bool_)
    lo, hi = span if span is not None else (int(starts.min()), int(ends.max()))
    lows, highs = hours_spans(hours, lo, hi)
    if len(lows) == 0:
        return np.zeros(len(starts), dtype=np.bool_)
    k = lows.searchsorted(starts, side="right") - 1
    inside: npt.NDArray[np.bool_] = (k >= 0) & (ends <= highs[np.maximum(k, 0)])
    return inside


@lru_cache(maxsize=1024)
def hours_mask(hours: WorkingHours | None, grid: Grid) -> npt.NDArray[np.bool_]:
    """Per cell: True when the cell lies wholly inside the hours (None: always)."""
    if hours is None:
        return np.ones(grid.cells, dtype=np.bool_)
    diff = np.zeros(grid.cells + 1, dtype=np.int32)
    end = grid.origin + grid.cells * grid.resolution
    # Join touching ranges before narrowing: 08:00-12:02 and 12:02-16:00 leave no gap at 12:00.
    for lo, hi in _union(hours_ranges(hours, grid.origin, end)):
        a = int(grid.ceil_cell(np.array([lo]))[0])
        b = int(grid.floor_cell(np.array([hi]))[0])
        if b > a:
            diff[a] += 1
            diff[b] -= 1
    mask = np.cumsum(diff[:-1]) > 0
    mask.setflags(write=False)
    return mask


@lru_cache(maxsize=1024)
def hours_gaps(hours: WorkingHours | None, grid: Grid) -> tuple[IntArray, IntArray]:
    """The runs of cells outside the hours: (first cells, stop cells), each run ``[first, stop)``."""
    if hours is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    outside = np.concatenate([[0], (~hours_mask(hours, grid)).view(np.int8), [0]])
    edges = np.flatnonzero(np.diff(outside))
    first, stop = edges[0::2].astype(np.int64), edges[1::2].astype(np.int64)
    first.setflags(write=False)
    stop.setflags(write=False)
    return first, stop


def _union(ranges: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping or touching ranges merged into one."""
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
