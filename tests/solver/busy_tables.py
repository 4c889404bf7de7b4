"""Helpers for tests of ``BusyTable`` reuse: exact table equality, and counting conversions."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from solver.busy import BusyTable
from solver.domain import BusyInterval


def assert_same_table(a: BusyTable, b: BusyTable) -> None:
    """Same intervals in the same order, same resource numbering, same arrays."""
    assert a.intervals == b.intervals and a.resource_ids == b.resource_ids
    for name in ("resource", "start", "end", "tentative"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert {r: p.tolist() for r, p in a.positions.items()} == {r: p.tolist() for r, p in b.positions.items()}


def count_conversions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, how many intervals each ``BusyTable.of`` call converts (in this process)."""
    counted: list[int] = []
    convert = BusyTable.of

    def counting(intervals: Iterable[BusyInterval]) -> BusyTable:
        given = list(intervals)
        counted.append(len(given))
        return convert(given)

    monkeypatch.setattr(BusyTable, "of", staticmethod(counting))
    return counted
