"""Values as people write them in the YAML: durations, hours, weekdays, zones, ids.

Durations are "30m", "1h30m", "2d" (or a number of minutes). Hours::

    working_hours:
      weekly: {mon-fri: "09:00-17:00", sat: "10:00-12:00, 13:00-15:00"}
      overrides: {"2026-12-24": "09:00-13:00", "2026-12-25": ""}   # "" = day off
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from solver.domain import DayRange, WorkingHours
from solver.validate import is_zone

__all__ = ["ConfigError", "HoursConfig", "Id", "Minutes", "Strict", "Zone", "check_zone", "parse_day_ranges",
           "parse_duration"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid; the message names each bad field.

    ``problems`` lists them one by one (``convene check-config`` prints each).
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else [message]


# --- Small value parsers -----------------------------------------------------------


def parse_duration(value: object) -> timedelta:
    """"1h30m" / "45m" / "2d" / "90s" or a number of minutes -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration like '30m' or '1h30m'")
    if isinstance(value, int | float):
        return timedelta(minutes=value)
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match and any(match.groups()):
            d, h, m, s = (int(g or 0) for g in match.groups())
            return timedelta(days=d, hours=h, minutes=m, seconds=s)
    raise ValueError(f"{value!r} is not a duration like '30m', '1h30m' or '2d'")


def _clock_minute(hour: str, minute: str) -> int:
    h, m = int(hour), int(minute)
    if m >= 60 or h > 24 or (h == 24 and m):
        raise ValueError(f"{hour}:{minute} is not a time of day")
    return h * 60 + m


def parse_day_ranges(text: str) -> tuple[DayRange, ...]:
    """"09:00-12:00, 13:00-17:00" -> DayRanges; "" is no hours (a day off). "24:00" ends the day."""
    ranges: list[DayRange] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _RANGE.match(part)
        if not match:
            raise ValueError(f"{part!r} is not a range like '09:00-17:00'")
        start = _clock_minute(match[1], match[2])
        end = _clock_minute(match[3], match[4]) or 1440
        if start >= end:
            raise ValueError(f"{part!r}: the start must be before the end")
        ranges.append(DayRange(start, end))
    return tuple(sorted(ranges, key=lambda r: r.start_minute))


def _weekdays(spec: str) -> list[int]:
    """"mon-fri" / "sat,sun" / "wed" -> weekday numbers (0 = Monday)."""
    days: list[int] = []
    for part in (p.strip().lower() for p in spec.split(",")):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"{spec!r} is not a weekday list like 'mon-fri' or 'sat,sun'")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if b < a:
            raise ValueError(f"{part!r}: the range runs backwards")
        days.extend(range(a, b + 1))
    return days


Minutes = Annotated[timedelta, BeforeValidator(parse_duration)]


class Strict(BaseModel):
    """The base of every section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HoursConfig(Strict):
    """Weekly hours plus date overrides, in the owner's zone."""

    weekly: dict[str, str] = Field(default_factory=dict)
    overrides: dict[date, str] = Field(default_factory=dict)

    @field_validator("weekly")
    @classmethod
    def _check_weekly(cls, weekly: dict[str, str]) -> dict[str, str]:
        seen: set[int] = set()
        for spec, ranges in weekly.items():
            days = _weekdays(spec)
            if seen & set(days):
                raise ValueError(f"{spec!r} repeats a weekday named before")
            seen.update(days)
            parse_day_ranges(ranges)
        return weekly

    @field_validator("overrides")
    @classmethod
    def _check_overrides(cls, overrides: dict[date, str]) -> dict[date, str]:
        for ranges in overrides.values():
            parse_day_ranges(ranges)
        return overrides

    def to_domain(self, time_zone: str) -> WorkingHours:
        weekly: list[tuple[DayRange, ...]] = [()] * 7
        for spec, ranges in self.weekly.items():
            for day in _weekdays(spec):
                weekly[day] = parse_day_ranges(ranges)
        overrides = tuple(sorted((d, parse_day_ranges(r)) for d, r in self.overrides.items()))
        return WorkingHours(time_zone, tuple(weekly), overrides)


def check_zone(zone: str) -> str:
    if not is_zone(zone):
        raise ValueError(f"{zone!r} is not an IANA time zone")
    return zone


Zone = Annotated[str, BeforeValidator(lambda v: check_zone(str(v)))]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")]


