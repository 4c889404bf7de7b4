"""The ``tenants:`` section: each tenant's members, rooms, pools and meeting templates.

    tenants:
      <tenant id>:
        members:   [{id, name, email, time_zone, working_hours, daily_limit, weekly_limit, calendar}]
        rooms:     [{id, name, capacity, time_zone, opening_hours, email, calendar}]
        pools:     [{id, name, members | rooms, distribution, cycle, priorities}]
        templates: [{id, name, description, duration, seats, ...}]

A member's or room's ``calendar:`` (ics, caldav, google, graph, exchange) is a
``CalendarSource`` (``server.config.calendars``). ``TenantConfig`` checks every
cross-reference (pool members, template seats) so a bad file fails at start.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from server.config.calendars import CalendarSource
from server.config.values import HoursConfig, Id, Minutes, Strict, Zone, parse_day_ranges
from solver.domain import Cycle, DayRange, Distribution

__all__ = ["MemberConfig", "PoolConfig", "RoomConfig", "SeatConfig", "TemplateConfig", "TenantConfig"]


class MemberConfig(Strict):
    id: Id
    name: str = ""
    email: str = ""
    time_zone: Zone = "UTC"
    working_hours: HoursConfig | None = None
    daily_limit: int | None = Field(default=None, ge=0)
    weekly_limit: int | None = Field(default=None, ge=0)
    calendar: CalendarSource | None = None


class RoomConfig(Strict):
    id: Id
    name: str = ""
    capacity: int = Field(default=1, ge=1)
    time_zone: Zone = "UTC"
    opening_hours: HoursConfig | None = None
    email: str = ""
    calendar: CalendarSource | None = None


class PoolConfig(Strict):
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


class SeatConfig(Strict):
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


class TemplateConfig(Strict):
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


class TenantConfig(Strict):
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


