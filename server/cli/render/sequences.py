"""A readable table of a FindSequences reply (``convene loop``): one row per option, a
column per segment (its start and people), times in the customer's zone."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import sequences_pb2
from server.cli.render.slots import _cost, _local, _unavailable_lines, table

__all__ = ["loop_report"]


def _segment_headers(options: Sequence[sequences_pb2.SequenceOption]) -> list[str]:
    """Per listed segment its label (options list segments in time order, which may differ)."""
    labels: dict[int, str] = {}
    for option in options:
        for s in option.segments:
            labels.setdefault(s.segment_index, s.label or f"segment {s.segment_index + 1}")
    return [labels[k] for k in sorted(labels)]


def _rows(options: Sequence[sequences_pb2.SequenceOption], zone: ZoneInfo, columns: int,
          with_conflicts: bool) -> list[list[str]]:
    rows = []
    for n, option in enumerate(options, 1):
        start, end = _local(option.start, zone), _local(option.end, zone)
        row = [str(n), start.strftime("%a %d %b %H:%M"), end.strftime("%H:%M")]
        cells = [""] * columns
        for s in option.segments:
            people = "; ".join(", ".join(f.resource_ids) for f in s.slot.seats)
            if s.segment_index < columns:
                cells[s.segment_index] = f"{_local(s.slot.start, zone).strftime('%H:%M')} {people}"
        row += cells
        row += [_cost(option.cost), f"{option.gap_minutes} min"]
        if with_conflicts:
            row += [_cost(option.conflict_cost), str(sum(len(s.slot.conflicts) for s in option.segments))]
        rows.append(row)
    return rows


def loop_report(response: api.FindSequencesResponse, time_zone: str) -> str:
    """The options (and any alternatives) of a FindSequences reply, times in ``time_zone``."""
    zone = ZoneInfo(time_zone)
    out: list[str] = []
    segments = _segment_headers([*response.options, *response.alternatives])
    headers = ["#", f"Start ({time_zone})", "End", *segments, "Cost", "Gaps"]
    if response.options:
        out.append(table(headers, _rows(response.options, zone, len(segments), with_conflicts=False)))
    else:
        out.append("No sequence fits in the window.")
    out.append(f"{len(response.options)} of {response.total_available} first starts with an option shown"
               f" ({response.candidates_considered} considered).")
    for d in response.diagnosis:
        name = d.label or f"segment {d.segment_index + 1}"
        seats = ", ".join(f"seat {s.seat_index + 1} lacked a candidate at {s.starts_without_candidate} starts"
                          for s in d.diagnosis.seats if s.starts_without_candidate)
        out.append(f"  {name}: {'never free alone; ' if d.never_available else ''}{seats or 'each seat had people'}")
    if response.partial:
        out.append("The deadline ended the search early: the list may be incomplete.")
    if response.alternatives:
        out += ["", "Least-conflict alternatives:",
                table([*headers, "Conflict cost", "Conflicts"],
                      _rows(response.alternatives, zone, len(segments), with_conflicts=True))]
    out += _unavailable_lines(response.unavailable_calendars)
    return "\n".join(out)
