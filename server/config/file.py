"""The server's YAML configuration, as pydantic models (the edge; plain dataclasses inside).

    server:      {address, max_concurrent_rpcs, worker_threads, grace_seconds}
    calendars:   {timeout_seconds, cache_seconds}
    database_url: sqlite:///var/convene.sqlite3   (or postgresql://user@host:5432/db)
    smtp:        {host, port, starttls, username, password_file | password_env, sender}
    outbox:      {poll_seconds, lease_seconds, retry_base_seconds, retry_max_seconds}
    limits:      solver.Limits fields
    api_keys:    [{key | key_sha256, tenant, principal}]
    tenants:
      <tenant id>:
        members:   [{id, name, email, time_zone, working_hours, daily_limit, weekly_limit, calendar}]
        rooms:     [{id, name, capacity, time_zone, opening_hours, email, calendar}]
        pools:     [{id, name, members | rooms, distribution, cycle, priorities}]
        templates: [{id, name, description, duration, seats, ...}]

Hours are written the way people say them::

    working_hours:
      weekly: {mon-fri: "09:00-17:00", sat: "10:00-12:00, 13:00-15:00"}
      overrides: {"2026-12-24": "09:00-13:00", "2026-12-25": ""}   # "" = day off

Durations are "30m", "1h30m", "2d" (or a number of minutes). Relative calendar
paths are resolved against the directory of the config file. ``load_config``
checks every cross-reference (pool members, template seats, API key tenants)
so a bad file fails at start with the field named, never at the first request.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from server.config.batch import BatchSettings
from server.config.booking import OutboxSettings, SmtpConfig
from server.config.calendars import CalendarSource, IcsCalendar
from solver.domain import Cycle, DayRange, Distribution, WorkingHours
from solver.validate import Limits, is_zone

__all__ = [
    "ApiKeyConfig",
    "CalendarSettings",
    "CalendarSource",
    "Config",
    "ConfigError",
    "IcsCalendar",
    "LimitsConfig",
    "MemberConfig",
    "OutboxSettings",
    "PoolConfig",
    "RoomConfig",
    "SeatConfig",
    "ServerSettings",
    "SmtpConfig",
    "TemplateConfig",
    "TenantConfig",
    "load_config",
    "parse_day_ranges",
    "parse_duration",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid; the message names each bad field."""


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


# --- Directory ---------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HoursConfig(_Strict):
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


# A member's or room's ``calendar:`` (ics, caldav, google, graph, exchange) is
# ``CalendarSource``, documented with its kinds in server/calendar_config.py.


def _check_zone(zone: str) -> str:
    if not is_zone(zone):
        raise ValueError(f"{zone!r} is not an IANA time zone")
    return zone


Zone = Annotated[str, BeforeValidator(lambda v: _check_zone(str(v)))]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")]


class MemberConfig(_Strict):
    id: Id
    name: str = ""
    email: str = ""
    time_zone: Zone = "UTC"
    working_hours: HoursConfig | None = None
    daily_limit: int | None = Field(default=None, ge=0)
    weekly_limit: int | None = Field(default=None, ge=0)
    calendar: CalendarSource | None = None


class RoomConfig(_Strict):
    id: Id
    name: str = ""
    capacity: int = Field(default=1, ge=1)
    time_zone: Zone = "UTC"
    opening_hours: HoursConfig | None = None
    email: str = ""
    calendar: CalendarSource | None = None


class PoolConfig(_Strict):
    """A pool of members (``members``) or of rooms (``rooms``), in the pool's order."""

    id: Id
    name: str = ""
    members: list[str] = Field(default_factory=list)
    rooms: list[str] = Field(default_factory=list)
    distribution: Distribution = Distribution.ROUND_ROBIN
    cycle: Cycle = Cycle.WEEK
    priorities: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _members_or_rooms(self) -> PoolConfig:
        if bool(self.members) == bool(self.rooms):
            raise ValueError("a pool lists either members or rooms (one of them, not empty)")
        if len(set(self.resources)) != len(self.resources):
            raise ValueError("a pool lists the same id twice")
        unknown = set(self.priorities) - set(self.resources)
        if unknown:
            raise ValueError(f"priorities name ids not in the pool: {sorted(unknown)}")
        return self

    @property
    def resources(self) -> list[str]:
        return self.members or self.rooms


# --- Templates ---------------------------------------------------------------------


class SeatConfig(_Strict):
    """One seat: ``member: [primary, alternates...]``, ``pool: id`` (+ ``count``),
    or ``rooms: [...]`` and/or ``room_pools: [...]``."""

    label: str = ""
    member: list[str] | None = None
    pool: str | None = None
    count: int | None = Field(default=None, ge=1)
    rooms: list[str] | None = None
    room_pools: list[str] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SeatConfig:
        kinds = [self.member is not None, self.pool is not None, (self.rooms or self.room_pools) is not None]
        if sum(kinds) != 1:
            raise ValueError("a seat is exactly one of: member, pool, rooms/room_pools")
        if self.count is not None and self.pool is None:
            raise ValueError("count applies to pool seats only")
        return self


class TemplateConfig(_Strict):
    """A named meeting: the fields of convene.v1.MeetingRules (see docs/api.md)."""

    id: Id
    name: str = ""
    description: str = ""
    duration: Minutes
    seats: list[SeatConfig] = Field(min_length=1)
    optional_members: list[str] = Field(default_factory=list)
    customers: int | None = Field(default=None, ge=0)
    resolution: int | None = Field(default=None, ge=1, le=60)
    start_interval: int | None = Field(default=None, ge=1, le=1440)
    buffer_before: Minutes | None = None
    buffer_after: Minutes | None = None
    minimum_notice: Minutes | None = None
    preferred_hours: str | None = None
    weights: dict[
        Literal["alternate", "pool_balance", "pool_priority", "room_fit", "time_of_day",
                "conflict_busy", "conflict_tentative", "outside_hours"],
        float,
    ] = Field(default_factory=dict)

    @field_validator("duration")
    @classmethod
    def _positive_minutes(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0) or value.total_seconds() % 60:
            raise ValueError("must be a positive whole number of minutes")
        return value

    @field_validator("resolution")
    @classmethod
    def _divides_hour(cls, value: int | None) -> int | None:
        if value is not None and 60 % value:
            raise ValueError("must be a divisor of 60")
        return value

    @field_validator("preferred_hours")
    @classmethod
    def _one_range(cls, value: str | None) -> str | None:
        if value is not None and len(parse_day_ranges(value)) != 1:
            raise ValueError("must be one range like '10:00-16:00'")
        return value

    @property
    def preferred_range(self) -> DayRange | None:
        return parse_day_ranges(self.preferred_hours)[0] if self.preferred_hours else None


# --- Tenants, keys, server ---------------------------------------------------------


class TenantConfig(_Strict):
    """One tenant's directory. Ids are scoped to the tenant."""

    members: list[MemberConfig] = Field(default_factory=list)
    rooms: list[RoomConfig] = Field(default_factory=list)
    pools: list[PoolConfig] = Field(default_factory=list)
    templates: list[TemplateConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> TenantConfig:
        problems: list[str] = []
        ids: dict[str, str] = {}
        for kind, items in (("member", self.members), ("room", self.rooms), ("pool", self.pools)):
            for item in items:
                if item.id in ids:
                    problems.append(f"{kind} id {item.id!r} is already used by a {ids[item.id]}")
                ids[item.id] = kind
        members = {m.id for m in self.members}
        rooms = {r.id for r in self.rooms}
        member_pools = {p.id for p in self.pools if p.members}
        room_pools = {p.id for p in self.pools if p.rooms}
        for p in self.pools:
            known = members if p.members else rooms
            problems += [f"pool {p.id!r}: unknown id {r!r}" for r in p.resources if r not in known]
        template_ids: set[str] = set()
        for t in self.templates:
            if t.id in template_ids:
                problems.append(f"template id {t.id!r} is used twice")
            template_ids.add(t.id)
            where = f"template {t.id!r}"
            for i, seat in enumerate(t.seats):
                refs = [(m, members, "member") for m in seat.member or []]
                refs += [(seat.pool, member_pools, "member pool")] if seat.pool else []
                refs += [(r, rooms, "room") for r in seat.rooms or []]
                refs += [(p, room_pools, "room pool") for p in seat.room_pools or []]
                problems += [f"{where} seats[{i}]: unknown {k} {ref!r}" for ref, known, k in refs
                             if ref not in known]
            problems += [f"{where} optional_members: unknown member {m!r}"
                         for m in t.optional_members if m not in members]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ApiKeyConfig(_Strict):
    """An API key (plain ``key`` or its hex ``key_sha256``) -> the tenant and principal it acts as."""

    key: str | None = Field(default=None, min_length=16)
    key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    tenant: str
    principal: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> ApiKeyConfig:
        if (self.key is None) == (self.key_sha256 is None):
            raise ValueError("give exactly one of key, key_sha256")
        return self


class LimitsConfig(_Strict):
    """Work accepted per request (solver.Limits)."""

    max_horizon_days: int = Field(default=Limits.max_horizon_days, ge=1)
    max_seats: int = Field(default=Limits.max_seats, ge=1)
    max_candidates_per_seat: int = Field(default=Limits.max_candidates_per_seat, ge=1)
    max_candidate_starts: int = Field(default=Limits.max_candidate_starts, ge=1)
    max_results: int = Field(default=Limits.max_results, ge=1)
    max_optional_members: int = Field(default=Limits.max_optional_members, ge=0)

    def to_domain(self) -> Limits:
        return Limits(**self.model_dump())


class ServerSettings(_Strict):
    address: str = "127.0.0.1:50051"
    # Beyond this many RPCs in flight, new calls get RESOURCE_EXHAUSTED at once.
    max_concurrent_rpcs: int = Field(default=64, ge=1)
    worker_threads: int = Field(default=8, ge=1)
    # On SIGTERM, calls in flight get this long to finish.
    grace_seconds: float = Field(default=5.0, ge=0)


class CalendarSettings(_Strict):
    """How calendars are read: each source answers within ``timeout_seconds`` (or the call's
    deadline, if sooner); a read is reused for ``cache_seconds`` (0: no cache)."""

    timeout_seconds: float = Field(default=10.0, gt=0)
    cache_seconds: float = Field(default=30.0, ge=0)


class Config(_Strict):
    server: ServerSettings = Field(default_factory=ServerSettings)
    calendars: CalendarSettings = Field(default_factory=CalendarSettings)
    database_url: str = "sqlite:///var/convene.sqlite3"
    # Bookings' side effects (server/booking_config.py): no smtp section, no emails.
    smtp: SmtpConfig | None = None
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    # OptimizeBatch's limits and Dask schedulers (server/batch_config.py).
    batch: BatchSettings = Field(default_factory=BatchSettings)
    api_keys: list[ApiKeyConfig] = Field(default_factory=list)
    tenants: dict[str, TenantConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys_name_tenants(self) -> Config:
        problems = [f"api_keys[{i}]: unknown tenant {k.tenant!r}"
                    for i, k in enumerate(self.api_keys) if k.tenant not in self.tenants]
        plain = [k.key for k in self.api_keys if k.key is not None]
        if len(set(plain)) != len(plain):
            problems.append("api_keys: the same key is listed twice")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def load_config(path: str | Path) -> Config:
    """Reads and checks a YAML config; raises ConfigError naming each bad field."""
    path = Path(path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_config(data or {}, base_dir=path.resolve().parent, source=str(path))


def parse_config(data: Any, *, base_dir: Path | None = None, source: str = "config") -> Config:
    """Checks an already-parsed config mapping (tests build them in code)."""
    try:
        return Config.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"{source}: invalid configuration\n" + "\n".join(lines)) from exc

