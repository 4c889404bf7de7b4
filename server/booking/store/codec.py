"""JSON shapes of the booking columns that hold structures (seats, people).

Both backends store the same JSON (SQLite as TEXT, PostgreSQL as JSONB).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from server.booking.store.model import (
    BookedSeat,
    BookingRecord,
    BookingStatus,
    Person,
    ResourceKind,
    SideEffect,
    TaskStatus,
)

__all__ = ["people_from_json", "people_to_json", "person_from_json", "person_to_json",
           "record_from_json", "record_to_json", "seats_from_json", "seats_to_json"]


def seats_to_json(seats: Sequence[BookedSeat]) -> list[dict[str, Any]]:
    return [{"kind": str(s.kind), "resource_ids": list(s.resource_ids), "pool_id": s.pool_id,
             "label": s.label} for s in seats]


def seats_from_json(data: Sequence[dict[str, Any]]) -> tuple[BookedSeat, ...]:
    return tuple(BookedSeat(ResourceKind(s["kind"]), tuple(s["resource_ids"]), s.get("pool_id", ""),
                            s.get("label", "")) for s in data)


def person_to_json(person: Person) -> dict[str, str]:
    return {"email": person.email, "name": person.name}


def person_from_json(data: dict[str, str]) -> Person:
    return Person(data.get("email", ""), data.get("name", ""))


def people_to_json(people: Sequence[Person]) -> list[dict[str, str]]:
    return [person_to_json(p) for p in people]


def people_from_json(data: Sequence[dict[str, str]]) -> tuple[Person, ...]:
    return tuple(person_from_json(p) for p in data)


def _instant(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _instant_of(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def record_to_json(record: BookingRecord) -> dict[str, Any]:
    """A whole booking as it stands (a change's first result, kept for replays)."""
    return {
        "id": record.id, "tenant": record.tenant, "request_id": record.request_id, "body_hash": record.body_hash,
        "status": str(record.status), "start": _instant(record.start), "end": _instant(record.end),
        "time_zone": record.time_zone, "seats": seats_to_json(record.seats), "title": record.title,
        "organizer": person_to_json(record.organizer), "customers": people_to_json(record.customers),
        "attendees": people_to_json(record.attendees),
        "buffer_before": record.buffer_before.total_seconds(), "buffer_after": record.buffer_after.total_seconds(),
        "description": record.description, "location": record.location,
        "allow_member_conflicts": record.allow_member_conflicts, "sequence": record.sequence,
        "created_at": _instant(record.created_at), "cancelled_at": _instant(record.cancelled_at),
        "updated_at": _instant(record.updated_at), "version": record.version, "meeting": record.meeting,
        "side_effects": [{"kind": e.kind, "status": str(e.status), "attempts": e.attempts,
                          "last_error": e.last_error, "next_attempt_at": _instant(e.next_attempt_at),
                          "result": e.result, "updated_at": _instant(e.updated_at)}
                         for e in record.side_effects.values()],
    }


def record_from_json(data: dict[str, Any]) -> BookingRecord:
    effects = {e["kind"]: SideEffect(e["kind"], TaskStatus(e["status"]), int(e["attempts"]), e["last_error"],
                                     _instant_of(e["next_attempt_at"]), e["result"], _instant_of(e["updated_at"]))
               for e in data["side_effects"]}
    start, end, created = (datetime.fromisoformat(data[k]) for k in ("start", "end", "created_at"))
    return BookingRecord(
        id=data["id"], tenant=data["tenant"], request_id=data["request_id"], body_hash=data["body_hash"],
        status=BookingStatus(data["status"]), start=start, end=end, time_zone=data["time_zone"],
        seats=seats_from_json(data["seats"]), title=data["title"], organizer=person_from_json(data["organizer"]),
        customers=people_from_json(data["customers"]), attendees=people_from_json(data["attendees"]),
        buffer_before=timedelta(seconds=data["buffer_before"]), buffer_after=timedelta(seconds=data["buffer_after"]),
        description=data["description"], location=data["location"],
        allow_member_conflicts=bool(data["allow_member_conflicts"]), sequence=int(data["sequence"]),
        created_at=created, cancelled_at=_instant_of(data["cancelled_at"]),
        updated_at=_instant_of(data["updated_at"]), version=int(data["version"]), side_effects=effects,
        meeting=data["meeting"])
