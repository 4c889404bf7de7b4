"""BusyTable: busy intervals as parallel numpy arrays, converted once.

Turning thousands of ``BusyInterval`` objects into epoch minutes is the costliest
step of building a FreeMask from Python objects. A caller that asks many
questions of the same calendars (a warm cache, a benchmark, a batch) builds the
table once and passes it to ``find_slots`` instead of the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from solver.domain import BusyInterval, BusyKind
from solver.grid import BoolArray, IntArray

__all__ = ["BusyTable"]


@dataclass(frozen=True, eq=False)
class BusyTable:
    """Blocking intervals: interval k holds ``resource_ids[resource[k]]`` over
    ``[start[k], end[k])`` epoch minutes; ``tentative[k]`` marks tentative ones."""

    intervals: tuple[BusyInterval, ...]
    resource_ids: tuple[str, ...]
    resource: IntArray
    start: npt.NDArray[np.float64]
    end: npt.NDArray[np.float64]
    tentative: BoolArray

    @staticmethod
    def of(intervals: Iterable[BusyInterval]) -> BusyTable:
        # OUTSIDE_HOURS only ever describes a conflict, and an empty interval holds no
        # instant: neither blocks anything.
        kept = tuple(b for b in intervals if b.kind is not BusyKind.OUTSIDE_HOURS and b.end > b.start)
        index: dict[str, int] = {}
        resource = np.array([index.setdefault(b.resource_id, len(index)) for b in kept], dtype=np.int64)
        return BusyTable(
            intervals=kept,
            resource_ids=tuple(index),
            resource=resource,
            start=np.array([b.start.timestamp() for b in kept], dtype=np.float64) / 60.0,
            end=np.array([b.end.timestamp() for b in kept], dtype=np.float64) / 60.0,
            tentative=np.array([b.kind is BusyKind.TENTATIVE for b in kept], dtype=np.bool_),
        )

    @staticmethod
    def coerce(busy: Iterable[BusyInterval] | BusyTable) -> BusyTable:
        """The table itself, or one built from the intervals."""
        return busy if isinstance(busy, BusyTable) else BusyTable.of(busy)

    def rows(self, row: dict[str, int]) -> IntArray:
        """Each interval's row in ``row`` (-1 for resources not asked about)."""
        lookup = np.array([row.get(r, -1) for r in self.resource_ids] + [-1], dtype=np.int64)
        return lookup[self.resource] if len(self.resource) else np.zeros(0, dtype=np.int64)

    @cached_property
    def positions(self) -> dict[str, IntArray]:
        """Per resource id, the positions of its intervals."""
        order = np.argsort(self.resource, kind="stable")
        bounds = np.searchsorted(self.resource[order], np.arange(len(self.resource_ids) + 1))
        return {r: order[bounds[i]:bounds[i + 1]] for i, r in enumerate(self.resource_ids)}
