"""The time grid and the clock arithmetic on it.

All solver time is integer **epoch minutes** (UTC). The grid is cells of
``resolution`` minutes aligned to the **local clock of the request's zone**
(``grid_phase``: its UTC offset at the window's start, modulo the resolution),
so that a 10:02-10:07 event blocks 10:00-10:10 at 5-minute resolution, and a
10:00-10:30 event blocks 10:00-11:00 (not 09:30-10:30) at 60-minute resolution
in a +05:30 zone. A cell ``i`` covers ``[origin + i*res, origin + (i+1)*res)``.

Busy time is widened outward to cells (floor the start, ceil the end) and
working hours narrowed inward, so availability never rounds inward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

__all__ = [
    "BoolArray",
    "Grid",
    "IntArray",
    "ZoneClock",
    "candidate_starts",
    "ceil_div",
    "from_minutes",
    "grid_phase",
    "iso_week",
    "to_minutes",
    "zone_clock",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = 1440


def to_minutes(dt: datetime) -> float:
    """Epoch minutes of an aware datetime (fractional when it has seconds)."""
    return (dt - _EPOCH).total_seconds() / 60.0


def from_minutes(minutes: int) -> datetime:
    return _EPOCH + timedelta(minutes=int(minutes))


def iso_week(days: IntArray) -> IntArray:
    """ISO week (Monday to Sunday) of day ordinals; 1970-01-01 was a Thursday."""
    return (days + 3) // 7


def ceil_div(a: IntArray | int, b: int) -> IntArray | int:
    return -((-a) // b)


@dataclass(frozen=True)
class Grid:
    """``cells`` cells of ``resolution`` minutes from ``origin`` (epoch minutes, aligned)."""

    origin: int
    resolution: int
    cells: int

    @staticmethod
    def covering(start: float, end: float, resolution: int, phase: int = 0) -> Grid:
        """The cells covering ``[start, end)``; cell edges lie ``phase`` minutes past multiples of
        ``resolution`` epoch minutes (``grid_phase``)."""
        origin = int((start - phase) // resolution) * resolution + phase
        last = int(-(-(end - phase) // resolution)) * resolution + phase
        return Grid(origin, resolution, max(1, (last - origin) // resolution))

    def floor_cell(self, minutes: npt.NDArray[np.float64] | IntArray) -> IntArray:
        """Index of the cell holding each instant (clipped to the grid's ends)."""
        idx = np.floor((np.asarray(minutes, dtype=np.float64) - self.origin) / self.resolution)
        return np.clip(idx, 0, self.cells).astype(np.int64)

    def ceil_cell(self, minutes: npt.NDArray[np.float64] | IntArray) -> IntArray:
        """Index of the first cell starting at or after each instant (clipped)."""
        idx = np.ceil((np.asarray(minutes, dtype=np.float64) - self.origin) / self.resolution)
        return np.clip(idx, 0, self.cells).astype(np.int64)


@dataclass(frozen=True)
class ZoneClock:
    """A zone's UTC offset over a span: offset ``offsets[k]`` holds from ``breaks[k]`` (epoch minutes).

    Lets whole arrays of instants be turned into local wall-clock minutes at once.
    """

    breaks: IntArray
    offsets: IntArray

    def local(self, utc_minutes: IntArray) -> IntArray:
        """Local wall-clock epoch minutes of each instant."""
        k = np.searchsorted(self.breaks, utc_minutes, side="right") - 1
        return utc_minutes + self.offsets[np.clip(k, 0, len(self.offsets) - 1)]

    def local_day(self, utc_minutes: IntArray) -> IntArray:
        """Local day ordinal (days since 1970-01-01 on the local calendar)."""
        return self.local(utc_minutes) // _DAY


def grid_phase(zone_name: str, at: datetime, resolution: int) -> int:
    """Where the cells of a request's grid begin (epoch minutes modulo ``resolution``): at the
    multiples of ``resolution`` of ``zone_name``'s wall clock at ``at`` (local :00 in +05:45 at
    60-minute resolution is :15 UTC: phase 15), not of UTC."""
    offset = at.astimezone(ZoneInfo(zone_name)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return -minutes % max(resolution, 1)


def _offset(zone: ZoneInfo, minute: int) -> int:
    off = from_minutes(minute).astimezone(zone).utcoffset()
    return int(off.total_seconds() // 60) if off is not None else 0


@lru_cache(maxsize=512)
def zone_clock(zone_name: str, start: int, end: int) -> ZoneClock:
    """The offsets of ``zone_name`` over ``[start, end)`` (epoch minutes).

    Probes every 6 hours and bisects each change to the minute: zones change
    offset at most a few times a year, never twice within 6 hours.
    """
    zone = ZoneInfo(zone_name)
    step = 360
    breaks = [start]
    offsets = [_offset(zone, start)]
    t = start
    while t < end:
        nxt = min(t + step, end)
        off = _offset(zone, nxt)
        if off != offsets[-1]:
            lo, hi = t, nxt  # offset(lo) == previous, offset(hi) == new
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(zone, mid) == offsets[-1]:
                    lo = mid
                else:
                    hi = mid
            breaks.append(hi)
            offsets.append(off)
        t = nxt
    return ZoneClock(np.array(breaks, dtype=np.int64), np.array(offsets, dtype=np.int64))


def candidate_starts(zone_name: str, first: int, last: int, interval: int) -> IntArray:
    """Every instant in ``[first, last]`` (epoch minutes) whose wall clock in the
    zone is a multiple of ``interval`` minutes past local midnight.

    Works per stretch of constant offset, so +05:30 and +05:45 zones get :00,
    :15, :30, :45 local, a fall-back hour yields both of its instants, and a
    spring-forward gap yields none.
    """
    if last < first:
        return np.zeros(0, dtype=np.int64)
    clock = zone_clock(zone_name, first, last + 1)
    parts: list[IntArray] = []
    bounds = [*clock.breaks.tolist()[1:], last + 1]
    for seg_start, seg_end, off in zip(clock.breaks.tolist(), bounds, clock.offsets.tolist(), strict=True):
        lo = max(seg_start, first)
        first_on_clock = lo + (-(lo + off)) % interval
        parts.append(np.arange(first_on_clock, seg_end, interval, dtype=np.int64))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
