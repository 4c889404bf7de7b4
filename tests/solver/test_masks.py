"""FreeMask at starts in any order: the same answer per start as at the starts sorted.

find_slots asks at sorted starts (and the property tests compare those with the
oracle); a batch or a caller may pass starts in any order, and each start's
freedom must not depend on it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import Booking, BusyInterval, Directory, Member, Room, WorkingHours
from solver.grid import to_minutes
from solver.masks import Window, build_free_mask

DAY = datetime(2024, 6, 10, tzinfo=UTC)


@settings(max_examples=100)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 24 * 60), st.integers(1, 180)), max_size=12),
    st.lists(st.integers(0, 24 * 4 - 1), min_size=1, max_size=30, unique=True),
    st.integers(0, 15),
    st.sampled_from([5, 15]),
    st.randoms(use_true_random=False),
)
def test_each_start_is_free_whatever_the_order_of_the_starts(
    events: list[tuple[int, int, int]], quarters: list[int], buffer: int, resolution: int, rnd: object,
) -> None:
    ids = ["a", "b", "c", "r"]
    hours = WorkingHours.weekdays(time(9), time(17), "Europe/Berlin")
    directory = Directory.of([Member("a", working_hours=hours), Member("b"), Member("c", working_hours=hours)],
                             [Room("r", capacity=4, opening_hours=hours)])
    busy = [BusyInterval(ids[r], DAY + timedelta(minutes=m + 2), DAY + timedelta(minutes=m + 2 + length))
            for r, m, length in events[::2]]
    bookings = [Booking(f"b{k}", DAY + timedelta(minutes=m), DAY + timedelta(minutes=m + length), (ids[r],))
                for k, (r, m, length) in enumerate(events[1::2])]
    starts = np.array(sorted(int(to_minutes(DAY)) + 15 * q for q in quarters), dtype=np.int64)
    shuffled = np.array(starts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]

    def mask(at: np.ndarray):  # type: ignore[no-untyped-def]
        return build_free_mask(directory, ids, busy, bookings, Window(at, 45, buffer, buffer), resolution)

    ordered, mixed = mask(starts), mask(shuffled)
    where = np.searchsorted(starts, shuffled)
    for name in ("in_hours", "unblocked", "under_limit", "free", "unblocked_unbuffered"):
        assert (getattr(mixed, name) == getattr(ordered, name)[:, where]).all(), name


def _window(*hours: int, before: int = 0, after: int = 0) -> Window:
    starts = np.array([int(to_minutes(DAY + timedelta(hours=h))) for h in hours], dtype=np.int64)
    return Window(starts, 60, before, after)


def test_no_starts_or_no_resources_give_empty_masks_of_the_right_shape() -> None:
    directory = Directory.of([Member("a"), Member("b")])
    none = build_free_mask(directory, ["a", "b"], [], [], Window(np.zeros(0, dtype=np.int64), 60, 0, 0), 5)
    assert none.resource_ids == ("a", "b")
    for name in ("in_hours", "unblocked", "under_limit", "free", "unblocked_unbuffered"):
        assert getattr(none, name).shape == (2, 0) and getattr(none, name).dtype == np.bool_, name
    nobody = build_free_mask(directory, [], [], [], _window(9, 10), 5)
    assert nobody.free.shape == (0, 2) and nobody.free.dtype == np.bool_


def test_a_buffer_before_the_first_start_is_read_not_assumed_busy() -> None:
    """The grid reaches back over the first start's buffer: free there when nothing is busy,
    blocked when an event sits inside it."""
    directory = Directory.of([Member("a")])
    free = build_free_mask(directory, ["a"], [], [], _window(9, 10, before=30, after=30), 5)
    assert free.free.tolist() == [[True, True]]
    busy = [BusyInterval("a", DAY + timedelta(hours=8, minutes=40), DAY + timedelta(hours=8, minutes=50))]
    blocked = build_free_mask(directory, ["a"], busy, [], _window(9, 10, before=30, after=30), 5)
    assert blocked.free.tolist() == [[False, True]]
    assert blocked.unblocked_unbuffered.tolist() == [[True, True]]


def test_busy_time_of_a_resource_not_asked_about_blocks_nobody() -> None:
    directory = Directory.of([Member("a"), Member("b"), Member("zed")])
    busy = [BusyInterval("zed", DAY + timedelta(hours=9), DAY + timedelta(hours=11))]
    bookings = [Booking("k", DAY + timedelta(hours=9), DAY + timedelta(hours=11), ("zed",))]
    mask = build_free_mask(directory, ["a", "b"], busy, bookings, _window(9, 10), 5)
    assert mask.free.tolist() == [[True, True], [True, True]]
