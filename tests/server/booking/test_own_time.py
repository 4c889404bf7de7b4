"""Which busy intervals are a moving booking's own (``desk.without_own_busy``), in pairs: what
is set aside, and what at the same time still stands in the way (docs/semantics.md,
"Changing a booking"). The same rule over the real server: test_change_contract.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.booking.desk import without_own_busy
from server.booking.store import TaskKind
from solver import BusyInterval, BusyKind
from solver.domain import EventDetails
from tests.server.booking.test_change_effects import START, done, snapshot

END = START + timedelta(hours=1)
BOOKING = snapshot(side_effects={TaskKind.CREATE_EVENT.value: done(TaskKind.CREATE_EVENT, "graph-id-1")})


def busy(details: EventDetails | None, resource_id: str = "bob", start: datetime = START) -> BusyInterval:
    """A busy interval on ``resource_id`` from ``start`` to the booking's end."""
    return BusyInterval(resource_id, start, END, BusyKind.BUSY, details=details)


@pytest.mark.parametrize(("interval", "own"), [
    (busy(EventDetails("Panel interview", "bk_1@convene")), True),  # its event, by UID
    (busy(EventDetails("Panel interview", "graph-id-1")), True),  # by the id create_event got back
    (busy(None), True),  # free/busy only: cannot be told apart at exactly its time
    (busy(EventDetails("", "")), True),  # details without an id: likewise
    (busy(EventDetails("Panel interview", "outlook-copy-7")), True),  # an attendee's copy: its title
    (busy(EventDetails("Dentist", "dentist")), False),  # another event at exactly its time
    (busy(None, resource_id="dan"), False),  # a resource it does not hold
    (busy(None, start=START - timedelta(minutes=15)), False),  # not exactly its time
])
def test_only_the_bookings_own_meeting_is_set_aside(interval: BusyInterval, own: bool) -> None:
    assert (without_own_busy([BOOKING], [interval]) == []) is own
