"""GetSchedule: proto <-> ``solver.schedule``, as pure functions.

In: the request becomes a ``ScheduleQuery`` (the solver's ``ScheduleRequest``
and a translator that names ``interval`` as ``interval_minutes``); a missing or
invalid timestamp is reported here, the rest by ``solver.schedule.validate_schedule``.

Out: every busy item passes ``privacy.visible_details``, as every conflict does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from convene.v1 import schedule_pb2, slots_pb2
from server.calendars.busy import Unavailable
from server.calendars.privacy import visible_details
from server.wire.slots import _CONFLICT_KINDS, PathTranslator, _Problems, _required_instant, _timestamp
from solver.domain import BusyKind, Conflict
from solver.schedule import DEFAULT_INTERVAL, ResourceSchedule, ScheduleRequest

__all__ = ["ScheduleQuery", "schedule_query", "schedule_response"]


class _SchedulePaths(PathTranslator):
    def proto_path(self, path: str) -> str:
        return "interval_minutes" if path == "interval" else path


@dataclass(frozen=True)
class ScheduleQuery:
    request: ScheduleRequest
    fields: PathTranslator


def schedule_query(request: schedule_pb2.GetScheduleRequest) -> ScheduleQuery:
    """The solver's request; InvalidRequest for what only the wire can get wrong."""
    problems = _Problems()
    start = _required_instant(problems, request, "window_start", "window_start")
    end = _required_instant(problems, request, "window_end", "window_end")
    problems.raise_any()
    interval = timedelta(minutes=request.interval_minutes) if request.interval_minutes else DEFAULT_INTERVAL
    return ScheduleQuery(ScheduleRequest(tuple(request.resource_ids), start, end, interval), _SchedulePaths())


def schedule_response(found: Sequence[ResourceSchedule], unavailable: Sequence[Unavailable],
                      viewer: str) -> schedule_pb2.GetScheduleResponse:
    """The reply; event details only for the calendars ``viewer`` owns."""
    unreadable = {u.resource_id: u for u in unavailable}
    reply = schedule_pb2.GetScheduleResponse()
    for schedule in found:
        out = reply.schedules.add(resource_id=schedule.resource_id, availability_view=schedule.view)
        for item in schedule.items:
            added = out.items.add(start=_timestamp(item.start), end=_timestamp(item.end),
                                  kind=_CONFLICT_KINDS.get(item.kind, _CONFLICT_KINDS[BusyKind.BUSY]))
            details = visible_details(Conflict(item.resource_id, item.start, item.end, item.kind, item.owner,
                                               item.details), viewer)
            if details is not None:
                added.details.CopyFrom(slots_pb2.EventDetails(title=details.title, event_id=details.event_id,
                                                              location=details.location))
        for start, end in schedule.working:
            out.working_hours.add(start=_timestamp(start), end=_timestamp(end))
        if schedule.resource_id in unreadable:
            failed = unreadable[schedule.resource_id]
            out.unavailable.CopyFrom(slots_pb2.UnavailableCalendar(resource_id=failed.resource_id,
                                                                   reason=failed.reason))
    return reply
