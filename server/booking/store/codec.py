"""JSON shapes of the booking columns that hold structures (seats, people).

Both backends store the same JSON (SQLite as TEXT, PostgreSQL as JSONB).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.booking.store.model import BookedSeat, Person, ResourceKind

__all__ = ["people_from_json", "people_to_json", "person_from_json", "person_to_json",
           "seats_from_json", "seats_to_json"]


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
