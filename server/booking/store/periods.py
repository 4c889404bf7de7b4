"""The local day and week holding an instant, as UTC bounds, for booking limits.

Limits count on the member's own calendar (SCHEDULING.md, "Who is free",
rule 4): a day runs from local midnight to the next local midnight (23 or 25
hours on DST days), a week from Monday 00:00 to the next Monday 00:00.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

__all__ = ["local_day", "local_week"]


def local_day(instant: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of the local day in ``time_zone`` that holds ``instant``."""
    zone = ZoneInfo(time_zone)
    day = instant.astimezone(zone).date()
    return _midnight(day.year, day.month, day.day, zone), _midnight_after(day.toordinal() + 1, zone)


def local_week(instant: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of the local Monday-to-Sunday week holding ``instant``."""
    zone = ZoneInfo(time_zone)
    monday = instant.astimezone(zone).date().toordinal() - instant.astimezone(zone).weekday()
    return _midnight_after(monday, zone), _midnight_after(monday + 7, zone)


def _midnight_after(ordinal: int, zone: ZoneInfo) -> datetime:
    day = datetime.fromordinal(ordinal)
    return _midnight(day.year, day.month, day.day, zone)


def _midnight(year: int, month: int, day: int, zone: ZoneInfo) -> datetime:
    # Aware-datetime arithmetic is wall-clock and ignores DST, so each midnight is
    # built from its own date (a midnight inside a DST gap resolves as zoneinfo does).
    return datetime(year, month, day, tzinfo=zone).astimezone(UTC)
