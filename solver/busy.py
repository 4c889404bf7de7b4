"""BusyTable: busy intervals as parallel numpy arrays, converted once.

Turning thousands of ``BusyInterval`` objects into epoch minutes is the costliest
step of building a FreeMask from Python objects. A caller that asks many
questions of the same calendars (a warm cache, a benchmark, a batch) builds the
table once and passes it to ``find_slots`` instead of the list. A cache keeps one
table per calendar and answers a request with ``overlapping`` pieces of them,
joined by ``concat``: numpy slicing, no conversion.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain

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

    def __post_init__(self) -> None:
        # A cache shares one table among requests and threads: nothing may write to it.
        for array in (self.resource, self.start, self.end, self.tentative):
            array.flags.writeable = False

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

    @staticmethod
    def concat(tables: Sequence[BusyTable]) -> BusyTable:
        """The intervals of every table in order: equal to ``BusyTable.of`` of their joined intervals."""
        if len(tables) == 1:
            return tables[0]
        index: dict[str, int] = {}
        resource = [np.array([index.setdefault(r, len(index)) for r in t.resource_ids], dtype=np.int64)[t.resource]
                    for t in tables]
        return BusyTable(
            intervals=tuple(chain.from_iterable(t.intervals for t in tables)),
            resource_ids=tuple(index),
            resource=np.concatenate([np.zeros(0, dtype=np.int64), *resource]),
            start=np.concatenate([np.zeros(0, dtype=np.float64), *(t.start for t in tables)]),
            end=np.concatenate([np.zeros(0, dtype=np.float64), *(t.end for t in tables)]),
            tentative=np.concatenate([np.zeros(0, dtype=np.bool_), *(t.tentative for t in tables)]),
        )

    def overlapping(self, lo: float, hi: float) -> BusyTable:
        """The intervals overlapping ``[lo, hi)`` epoch minutes, in order; equal to ``BusyTable.of`` of them."""
        picked = np.flatnonzero((self.start < hi) & (self.end > lo))
        if len(picked) == len(self.intervals):
            return self
        resource = self.resource[picked]
        # Only the resources still holding an interval, in first-seen order, as ``of`` numbers them.
        present, first = np.unique(resource, return_index=True)
        kept = present[np.argsort(first, kind="stable")]
        renumber = np.full(len(self.resource_ids), -1, dtype=np.int64)
        renumber[kept] = np.arange(len(kept), dtype=np.int64)
        return BusyTable(
            intervals=tuple(self.intervals[k] for k in picked.tolist()),
            resource_ids=tuple(self.resource_ids[k] for k in kept.tolist()),
            resource=renumber[resource],
            start=self.start[picked],
            end=self.end[picked],
            tentative=self.tentative[picked],
        )

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
