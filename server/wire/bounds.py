"""Bounds on the wire's instants and durations, checked before any arithmetic.

A ``Timestamp`` may say year 1 or 9999 and a ``Duration`` ten thousand years;
the engine adds buffers, widens windows to whole days and steps through
candidate starts, and ``datetime`` overflows near its ends. So every instant a
request carries must lie in ``[EARLIEST, LATEST]`` and every duration within
``MAX_SPAN`` either way; outside, the field is INVALID_ARGUMENT, named, before
anything is computed from it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf import duration_pb2, timestamp_pb2

__all__ = ["BAD_INSTANT", "BAD_SPAN", "EARLIEST", "LATEST", "MAX_SPAN", "instant", "span"]

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MAX_SPAN = timedelta(days=3660)  # ten years: far above any meeting, buffer, notice or hold

BAD_INSTANT = "must be a timestamp between 1900-01-01 and 2200-01-01 (UTC)"
BAD_SPAN = "must be a duration of at most 3660 days, its nanos below one second and of the sign of its seconds"

_EARLIEST_SECONDS = int(EARLIEST.timestamp())
_LATEST_SECONDS = int(LATEST.timestamp())


def instant(ts: timestamp_pb2.Timestamp) -> datetime | None:
    """``ts`` as an aware UTC datetime, or None when it is out of bounds."""
    if not (_EARLIEST_SECONDS <= ts.seconds <= _LATEST_SECONDS and 0 <= ts.nanos < 1_000_000_000):
        return None
    moment: datetime = ts.ToDatetime(tzinfo=UTC)
    return moment


def span(d: duration_pb2.Duration) -> timedelta | None:
    """``d`` as a timedelta, or None when it is out of bounds or malformed."""
    if abs(d.seconds) > MAX_SPAN.total_seconds() or abs(d.nanos) >= 1_000_000_000 or (
            d.seconds and d.nanos and (d.seconds > 0) != (d.nanos > 0)):
        return None
    value: timedelta = d.ToTimedelta()
    return value
