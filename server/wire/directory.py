"""Proto <-> domain for the directory: members, rooms, pools and meeting templates.

Templates are served as ``convene.v1.Template``, and FindSlots, CheckTime,
CreateBooking and OptimizeBatch merge a request's overrides into them as
protos (``slots.merge_overrides``); ``templates_to_proto`` converts a tenant's
configured templates once, when the service starts.
"""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf import duration_pb2

from convene.v1 import directory_pb2, meeting_pb2
from server.config import SeatConfig, TemplateConfig
from solver.domain import Cycle, DayRange, Directory, Distribution, Member, Pool, Room, WorkingHours

__all__ = ["member_to_proto", "pool_to_proto", "room_to_proto", "template_to_proto", "templates_to_proto"]

_DISTRIBUTIONS = {
    Distribution.ROUND_ROBIN: directory_pb2.DISTRIBUTION_ROUND_ROBIN,
    Distribution.STRICT_ROUND_ROBIN: directory_pb2.DISTRIBUTION_STRICT_ROUND_ROBIN,
    Distribution.LOAD_BALANCED: directory_pb2.DISTRIBUTION_LOAD_BALANCED,
    Distribution.PRIORITY: directory_pb2.DISTRIBUTION_PRIORITY,
}
_WEEKDAYS = (directory_pb2.WEEKDAY_MONDAY, directory_pb2.WEEKDAY_TUESDAY, directory_pb2.WEEKDAY_WEDNESDAY,
             directory_pb2.WEEKDAY_THURSDAY, directory_pb2.WEEKDAY_FRIDAY, directory_pb2.WEEKDAY_SATURDAY,
             directory_pb2.WEEKDAY_SUNDAY)
_CYCLES = {Cycle.DAY: directory_pb2.CYCLE_DAY, Cycle.WEEK: directory_pb2.CYCLE_WEEK,
           Cycle.MONTH: directory_pb2.CYCLE_MONTH}


def _day_ranges(ranges: tuple[DayRange, ...]) -> list[directory_pb2.DayRange]:
    return [directory_pb2.DayRange(start_minute=r.start_minute, end_minute=r.end_minute) for r in ranges]


def _hours(hours: WorkingHours) -> directory_pb2.WorkingHours:
    return directory_pb2.WorkingHours(
        time_zone=hours.time_zone,
        weekly=[directory_pb2.WeekdayHours(weekday=_WEEKDAYS[day], ranges=_day_ranges(ranges))
                for day, ranges in enumerate(hours.weekly) if ranges],
        overrides=[directory_pb2.DateHours(date=d.isoformat(), ranges=_day_ranges(ranges))
                   for d, ranges in hours.overrides],
    )


def member_to_proto(member: Member) -> directory_pb2.Member:
    message = directory_pb2.Member(id=member.id, name=member.name, email=member.email,
                                   time_zone=member.time_zone)
    if member.working_hours is not None:
        message.working_hours.CopyFrom(_hours(member.working_hours))
    if member.daily_limit is not None:
        message.daily_limit = member.daily_limit
    if member.weekly_limit is not None:
        message.weekly_limit = member.weekly_limit
    return message


def room_to_proto(room: Room) -> directory_pb2.Room:
    message = directory_pb2.Room(id=room.id, name=room.name, capacity=room.capacity,
                                 time_zone=room.time_zone, email=room.email)
    if room.opening_hours is not None:
        message.opening_hours.CopyFrom(_hours(room.opening_hours))
    return message


def pool_to_proto(pool: Pool, directory: Directory) -> directory_pb2.Pool:
    of_rooms = bool(pool.members) and all(m in directory.rooms for m in pool.members)
    return directory_pb2.Pool(
        id=pool.id,
        name=pool.name,
        kind=directory_pb2.POOL_KIND_ROOMS if of_rooms else directory_pb2.POOL_KIND_MEMBERS,
        resource_ids=pool.members,
        distribution=_DISTRIBUTIONS[pool.distribution],
        cycle=_CYCLES[pool.cycle],
        priorities=dict(pool.priorities),
    )


# --- Templates out -------------------------------------------------------------------


def templates_to_proto(templates: Mapping[str, TemplateConfig]) -> dict[str, meeting_pb2.Template]:
    """A tenant's templates as the API serves them, by id."""
    return {template_id: template_to_proto(t) for template_id, t in templates.items()}


def template_to_proto(template: TemplateConfig) -> meeting_pb2.Template:
    """A config template as the API serves it (GetTemplate) and merges overrides into."""
    rules = meeting_pb2.MeetingRules(
        duration=duration_pb2.Duration(seconds=int(template.duration.total_seconds())),
        seats=[_seat(s) for s in template.seats],
        optional_member_ids=template.optional_members,
    )
    for name in ("customers", "resolution", "start_interval"):
        value = getattr(template, name)
        if value is not None:
            target = name if name == "customers" else f"{name}_minutes"
            setattr(rules, target, value)
    for name in ("buffer_before", "buffer_after", "minimum_notice"):
        value = getattr(template, name)
        if value is not None:
            getattr(rules, name).FromTimedelta(value)
    if template.preferred_range is not None:
        rules.preferred_hours.CopyFrom(directory_pb2.DayRange(
            start_minute=template.preferred_range.start_minute,
            end_minute=template.preferred_range.end_minute))
    for name, value in template.weights.items():
        setattr(rules.weights, name, value)
    return meeting_pb2.Template(id=template.id, name=template.name, description=template.description,
                                rules=rules)


def _seat(seat: SeatConfig) -> meeting_pb2.Seat:
    if seat.member is not None:
        return meeting_pb2.Seat(label=seat.label, member=meeting_pb2.MemberSeat(candidates=seat.member))
    if seat.pool is not None:
        return meeting_pb2.Seat(label=seat.label, pool=meeting_pb2.PoolSeat(pool_id=seat.pool,
                                                                           count=seat.count or 1))
    return meeting_pb2.Seat(label=seat.label, room=meeting_pb2.RoomSeat(room_ids=seat.rooms or [],
                                                                       pool_ids=seat.room_pools or []))
