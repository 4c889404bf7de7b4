"""Readable terminal tables of replies (``convene slots``, ``convene check``, the demo)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from google.protobuf import timestamp_pb2

from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import slots_pb2

__all__ = ["check_report", "slots_report", "table"]

_KINDS = {
    slots_pb2.CONFLICT_KIND_BUSY: "busy",
    slots_pb2.CONFLICT_KIND_TENTATIVE: "tentative",
    slots_pb2.CONFLICT_KIND_OUT_OF_OFFICE: "out of office",
    slots_pb2.CONFLICT_KIND_BOOKING: "booked",
    slots_pb2.CONFLICT_KIND_OUTSIDE_HOURS: "outside hours",
}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, two spaces apart, with a rule under the headers."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def _local(ts: timestamp_pb2.Timestamp, zone: ZoneInfo) -> datetime:
    instant: datetime = ts.ToDatetime(tzinfo=UTC)
    return instant.astimezone(zone)


def _cost(value: float) -> str:
    return f"{value:g}"


def _slot_rows(slots: Sequence[slots_pb2.Slot], zone: ZoneInfo, with_conflicts: bool) -> list[list[str]]:
    rows = []
    for n, slot in enumerate(slots, 1):
        start, end = _local(slot.start, zone), _local(slot.end, zone)
        row = [str(n), start.strftime("%a %d %b %H:%M"), end.strftime("%H:%M")]
        row += [", ".join(fill.resource_ids) for fill in slot.seats]
        row.append(_cost(slot.cost))
        if with_conflicts:
            row += [_cost(slot.conflict_cost), str(len(slot.conflicts))]
        rows.append(row)
    return rows


def _seat_headers(slots: Sequence[slots_pb2.Slot]) -> list[str]:
    first = slots[0] if slots else None
    return [fill.label or f"seat {i + 1}" for i, fill in enumerate(first.seats)] if first else []


def slots_report(response: api.FindSlotsResponse, time_zone: str) -> str:
    """The slots (and any alternatives) of a FindSlots reply, times in ``time_zone``."""
    zone = ZoneInfo(time_zone)
    out: list[str] = []
    headers = ["#", f"Start ({time_zone})", "End", *_seat_headers(response.slots), "Cost"]
    if response.slots:
        out.append(table(headers, _slot_rows(response.slots, zone, with_conflicts=False)))
    else:
        out.append("No available start in the window.")
    out.append(f"{len(response.slots)} of {response.total_available} available starts shown"
               f" ({response.candidates_considered} considered).")
    if response.HasField("diagnosis"):
        out += _diagnosis_lines(response.diagnosis)
    if response.partial:
        out.append("The deadline ended the search early: the list may be incomplete.")
    if response.alternatives:
        alt_headers = ["#", f"Start ({time_zone})", "End", *_seat_headers(response.alternatives), "Cost",
                       "Conflict cost", "Conflicts"]
        out += ["", "Least-conflict alternatives:",
                table(alt_headers, _slot_rows(response.alternatives, zone, with_conflicts=True))]
    out += _unavailable_lines(response.unavailable_calendars)
    return "\n".join(out)


def _diagnosis_lines(diagnosis: slots_pb2.Diagnosis) -> list[str]:
    lines = ["Why:"]
    for seat in diagnosis.seats:
        rules = ", ".join(f"{r.rule} {r.starts}" for r in seat.rules)
        lines.append(f"  seat {seat.seat_index + 1} had no free candidate at {seat.starts_without_candidate} starts"
                     + (f" (lifting one rule alone would free: {rules})" if rules else ""))
    if diagnosis.before_notice:
        lines.append(f"  {diagnosis.before_notice} starts were before the minimum notice")
    if diagnosis.no_joint_assignment:
        lines.append(f"  {diagnosis.no_joint_assignment} starts had a candidate per seat but not all at once")
    return lines


def _conflict_rows(slot: slots_pb2.Slot, zone: ZoneInfo) -> list[list[str]]:
    rows = []
    for c in slot.conflicts:
        what = c.details.title if c.HasField("details") else ""
        rows.append([c.resource_id, _KINDS.get(c.kind, "busy"),
                     f"{_local(c.start, zone):%a %d %b %H:%M}-{_local(c.end, zone):%H:%M}", what])
    return rows


def check_report(response: api.CheckTimeResponse, time_zone: str) -> str:
    """A CheckTime reply: the verdict, the assignment and what is in the way."""
    zone = ZoneInfo(time_zone)
    out = ["Available." if response.available else f"Not available: {response.reason or 'see conflicts'}."]
    if response.HasField("slot"):
        slot = response.slot
        out.append(f"{_local(slot.start, zone):%a %d %b %Y %H:%M}-{_local(slot.end, zone):%H:%M} ({time_zone})")
        out.append(table(["Seat", "Who", "Cost", "Also free"], [
            [fill.label or f"seat {i + 1}", ", ".join(fill.resource_ids), _cost(fill.cost),
             ", ".join(r for r in free.resource_ids if r not in fill.resource_ids)]
            for i, (fill, free) in enumerate(zip(slot.seats, slot.free_candidates, strict=False))]))
        if slot.optional_members:
            out.append("Optional: " + ", ".join(
                f"{o.member_id} ({'free' if o.free else 'busy'})" for o in slot.optional_members))
        if slot.conflicts:
            out += ["", f"Conflicts (conflict cost {_cost(slot.conflict_cost)}):",
                    table(["Resource", "Kind", "When", "Event"], _conflict_rows(slot, zone))]
    out += _unavailable_lines(response.unavailable_calendars)
    return "\n".join(out)


def _unavailable_lines(unavailable: Sequence[slots_pb2.UnavailableCalendar]) -> list[str]:
    if not unavailable:
        return []
    return ["", "Calendars that could not be read (counted as busy):",
            *(f"  {u.resource_id}: {u.reason}" for u in unavailable)]
