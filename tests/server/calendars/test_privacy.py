"""The privacy rule: an event's details go only to the principal who owns its calendar,
matched exactly (principals are ids, not patterns)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.calendars.privacy import visible_details
from solver.domain import BusyKind, Conflict, EventDetails

DETAILS = EventDetails("Board prep", "evt-1", "Room 5")


def _conflict(owner: str, details: EventDetails | None = DETAILS) -> Conflict:
    return Conflict("ann", datetime(2026, 12, 7, 10, tzinfo=UTC), datetime(2026, 12, 7, 11, tzinfo=UTC),
                    BusyKind.BUSY, owner, details)


def test_the_owner_sees_the_details() -> None:
    assert visible_details(_conflict("ann@x.example"), "ann@x.example") == DETAILS


@pytest.mark.parametrize("owner, viewer", [
    ("joann@x.example", "ann@x.example"),    # the viewer's id inside the owner's
    ("ann@x.example", "nn@x.example"),       # the other way round
    ("ann@x.example", "ann@x.example.org"),  # a longer id with the owner's as its prefix
    ("ANN@x.example", "ann@x.example"),      # another principal id
    ("ann@x.example", ""),                   # no principal
    ("", ""),                                # no owner: a room calendar
    ("", "ann@x.example"),
])
def test_nobody_else_does(owner: str, viewer: str) -> None:
    assert visible_details(_conflict(owner), viewer) is None


def test_an_event_without_details_has_none_to_show() -> None:
    assert visible_details(_conflict("ann@x.example", None), "ann@x.example") is None
