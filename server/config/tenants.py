"""The ``tenants:`` section: each tenant's members, rooms, pools and meeting templates.

    tenants:
      <tenant id>:
        members:   [{id, name, email, time_zone, working_hours, daily_limit, weekly_limit, calendar}]
        rooms:     [{id, name, capacity, time_zone, opening_hours, email, calendar}]
        pools:     [{id, name, members | rooms, distribution, cycle, priorities}]
        templates: [{id, name, description, duration, seats, ...}]
        loops:     [{id, name, description, segments: [{template, label, duration, ...}], any_order, ...}]

A member's or room's ``calendar:`` (ics, caldav, google, graph, exchange) is a
``CalendarSource`` (``server.config.calendars``). ``TenantConfig`` checks every
cross-reference (pool members, template seats, loop segments' templates) so a
bad file fails at start.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, ModelWrapValidatorHandler, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from server.config.calendars import CalendarSource
from server.config.values import HoursConfig, Id, Minutes, Strict, Zone, parse_day_ranges
from solver.domain import Cycle, DayRange, Distribution

__all__ = ["LoopConfig", "LoopSegmentConfig", "MemberConfig", "PoolConfig", "RoomConfig", "SeatConfig",
           "TemplateConfig", "TenantConfig", "reference_problems"]


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

    @field_validator("start_interval")
    @classmethod
    def _divides_day(cls, value: int | None) -> int | None:
        # The solver's rule (starts on the local clock, every day alike): refused here at start,
        # not on every request as "template.overrides.start_interval_minutes".
        if value is not None and 1440 % value:
            raise ValueError("must be a divisor of 1440 minutes (a day)")
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


class LoopSegmentConfig(Strict):
    """One segment of a loop template: a meeting template, and what this segment changes."""

    template: Id
    label: str = ""
    duration: Minutes | None = None
    buffer_before: Minutes | None = None
    buffer_after: Minutes | None = None
    customers: int | None = Field(default=None, ge=0)


class LoopConfig(Strict):
    """A named sequence (interview loop): the fields of convene.v1.SequenceRules, its segments
    naming meeting templates (see docs/api.md, "Sequences")."""

    id: Id
    name: str = ""
    description: str = ""
    segments: list[LoopSegmentConfig] = Field(min_length=1, max_length=8)
    any_order: bool = False
    free_order: list[int] = Field(default_factory=list)
    min_gap: Minutes | None = None
    max_gap: Minutes | None = None
    max_span: Minutes | None = None
    allow_member_repeat: bool = False
    gap_weight: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _order(self) -> LoopConfig:
        n = len(self.segments)
        if any(not 0 <= p < n for p in self.free_order) or len(set(self.free_order)) != len(self.free_order):
            raise ValueError(f"free_order lists distinct segment positions 0..{n - 1}")
        low, high = self.min_gap or timedelta(0), self.max_gap or timedelta(0)
        if high < low:
            raise ValueError("max_gap must not be below min_gap")
        return self


def _field(item: object, name: str) -> object:
    """``item[name]`` of a mapping from the YAML, or ``item.name`` of a model (None if absent)."""
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _ids(items: object, name: str = "id") -> list[str]:
    """The string ``name`` of each item of a list, as far as the (maybe invalid) input has them."""
    if not isinstance(items, list | tuple):
        return []
    values = (_field(item, name) for item in items)
    return [v for v in values if isinstance(v, str)]


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list | tuple) else []


def reference_problems(tenant: object) -> list[str]:
    """Every cross-reference of one tenant's directory that names an unknown or reused id.

    Works on the raw YAML mapping as well as on a validated ``TenantConfig``, so that a
    file with a bad field elsewhere still gets its unknown pool members reported in the same run.
    """
    problems: list[str] = []
    ids: dict[str, str] = {}
    for kind, field in (("member", "members"), ("room", "rooms"), ("pool", "pools")):
        for item_id in _ids(_field(tenant, field)):
            if item_id in ids:
                problems.append(f"{kind} id {item_id!r} is already used by a {ids[item_id]}")
            ids[item_id] = kind
    members = set(_ids(_field(tenant, "members")))
    rooms = set(_ids(_field(tenant, "rooms")))
    pools = _field(tenant, "pools")
    pool_list = pools if isinstance(pools, list | tuple) else []
    member_pools = {str(_field(p, "id")) for p in pool_list if _strings(_field(p, "members"))}
    room_pools = {str(_field(p, "id")) for p in pool_list if _strings(_field(p, "rooms"))}
    for p in pool_list:
        pool_members, pool_rooms = _strings(_field(p, "members")), _strings(_field(p, "rooms"))
        known = members if pool_members else rooms
        problems += [f"pool {_field(p, 'id')!r}: unknown id {r!r}" for r in pool_members or pool_rooms
                     if r not in known]
    template_ids: set[str] = set()
    templates = _field(tenant, "templates")
    for t in templates if isinstance(templates, list | tuple) else []:
        template_id = _field(t, "id")
        if isinstance(template_id, str) and template_id in template_ids:
            problems.append(f"template id {template_id!r} is used twice")
        if isinstance(template_id, str):
            template_ids.add(template_id)
        where = f"template {template_id!r}"
        seats = _field(t, "seats")
        for i, seat in enumerate(seats if isinstance(seats, list | tuple) else []):
            pool = _field(seat, "pool")
            refs = [(m, members, "member") for m in _strings(_field(seat, "member"))]
            refs += [(pool, member_pools, "member pool")] if isinstance(pool, str) else []
            refs += [(r, rooms, "room") for r in _strings(_field(seat, "rooms"))]
            refs += [(p, room_pools, "room pool") for p in _strings(_field(seat, "room_pools"))]
            problems += [f"{where} seats[{i}]: unknown {k} {ref!r}" for ref, known, k in refs if ref not in known]
        problems += [f"{where} optional_members: unknown member {m!r}"
                     for m in _strings(_field(t, "optional_members")) if m not in members]
    loop_ids: set[str] = set()
    loops = _field(tenant, "loops")
    for loop in loops if isinstance(loops, list | tuple) else []:
        loop_id = _field(loop, "id")
        if isinstance(loop_id, str) and loop_id in loop_ids:
            problems.append(f"loop id {loop_id!r} is used twice")
        if isinstance(loop_id, str):
            loop_ids.add(loop_id)
        segments = _field(loop, "segments")
        for i, segment in enumerate(segments if isinstance(segments, list | tuple) else []):
            template = _field(segment, "template")
            if isinstance(template, str) and template not in template_ids:
                problems.append(f"loop {loop_id!r} segments[{i}]: unknown template {template!r}")
    return problems


class TenantConfig(Strict):
    """One tenant's directory. Ids are scoped to the tenant."""

    members: list[MemberConfig] = Field(default_factory=list)
    rooms: list[RoomConfig] = Field(default_factory=list)
    pools: list[PoolConfig] = Field(default_factory=list)
    templates: list[TemplateConfig] = Field(default_factory=list)
    loops: list[LoopConfig] = Field(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _references(cls, data: Any, handler: ModelWrapValidatorHandler[TenantConfig]) -> TenantConfig:
        """Cross-references are checked even when a field is bad, and reported with its error."""
        try:
            tenant = handler(data)
        except ValidationError as exc:
            problems = reference_problems(data)
            if not problems:
                raise
            errors = [InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e.get("ctx", {}))
                      for e in exc.errors()]
            errors.append(InitErrorDetails(type=PydanticCustomError("references", "{problems}",
                                                                    {"problems": "; ".join(problems)}),
                                           loc=(), input=data))
            raise ValidationError.from_exception_data(exc.title, errors) from None
        problems = reference_problems(tenant)
        if problems:
            raise ValueError("; ".join(problems))
        return tenant
