"""``BusyTable.overlapping`` and ``concat`` build exactly what ``BusyTable.of`` would (property tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from solver.busy import BusyTable
from solver.domain import BusyInterval, BusyKind
from tests.solver.busy_tables import assert_same_table

ORIGIN = datetime(2026, 12, 7, tzinfo=UTC)


@st.composite
def intervals(draw: st.DrawFn) -> list[BusyInterval]:
    """A few resources' intervals on a 15-minute grid; some empty, some OUTSIDE_HOURS (neither blocks)."""
    out = []
    for _ in range(draw(st.integers(0, 12))):
        start = draw(st.integers(0, 40)) * 15
        length = draw(st.integers(0, 8)) * 15
        out.append(BusyInterval(draw(st.sampled_from(["ada", "bob", "cy", "room"])),
                                ORIGIN + timedelta(minutes=start), ORIGIN + timedelta(minutes=start + length),
                                draw(st.sampled_from(list(BusyKind)))))
    return out


@given(intervals(), st.integers(-2, 42), st.integers(0, 12))
def test_overlapping_is_the_table_of_the_overlapping_intervals(busy: list[BusyInterval], first: int,
                                                               cells: int) -> None:
    lo, hi = ORIGIN + timedelta(minutes=15 * first), ORIGIN + timedelta(minutes=15 * (first + cells))
    table = BusyTable.of(busy).overlapping(lo.timestamp() / 60.0, hi.timestamp() / 60.0)
    assert_same_table(table, BusyTable.of(b for b in busy if b.start < hi and b.end > lo))


@given(st.lists(intervals(), max_size=5))
def test_concat_is_the_table_of_the_joined_intervals(parts: list[list[BusyInterval]]) -> None:
    assert_same_table(BusyTable.concat([BusyTable.of(p) for p in parts]), BusyTable.of(b for p in parts for b in p))
