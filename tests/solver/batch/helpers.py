"""Small factories for batch tests: a day in UTC, members and rooms with hours, items."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from solver import Member, Room, Seat, SlotRequest, WorkingHours
from solver.batch import BatchItem

HOURS = WorkingHours.weekdays(time(9), time(17), "UTC", 7)


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    """An instant on 2026-03-{day} (a Monday for day=2) in UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def member(member_id: str, **kw: Any) -> Member:
    kw.setdefault("working_hours", HOURS)
    return Member(member_id, **kw)


def room(room_id: str, capacity: int = 4) -> Room:
    return Room(room_id, capacity=capacity)


def item(item_id: str, seats: tuple[Seat, ...], start: datetime, end: datetime, *, priority: int = 1,
         minutes: int = 60, **kw: Any) -> BatchItem:
    """An item of ``minutes`` minutes in ``[start, end)`` with starts every 30 minutes, no customers."""
    kw.setdefault("start_interval", 30)
    kw.setdefault("customers", 0)
    return BatchItem(item_id, SlotRequest(start, end, timedelta(minutes=minutes), "UTC", seats, **kw), priority)
