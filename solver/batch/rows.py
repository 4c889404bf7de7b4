"""The rows of the batch's time-indexed relaxation, and the pricing of columns against them.

A *column* is one way to schedule one item: a start and the candidates filling
its seats (a Placement). The exact model of a part is: per item at most one
column, and these rows, each a linear inequality over the columns:

- **Time** (per resource): the rule between items (solver.batch.board) is
  exactly "no two holders' ``[core_lo, post_hi)`` overlap, and no two holders'
  ``[pre_lo, core_hi)`` overlap". (Overlap of the first kind puts the later
  meeting inside the earlier one's meeting or after-buffer; of the second, the
  earlier meeting inside the later one's before-buffer or meeting; and every
  clash is one of the two.) Intervals that pairwise overlap share a point, so
  each rule is "at most one holder per point", written once per *maximal*
  clique: at a left end where some interval ends before the next left end.
  The second family is needed only where some holder has a before-buffer.
- **Booking limits**: the batch's items holding a member in one local day
  (ISO week) fit the room its bookings leave (``LimitBook.capacity``).
- **Fairness**: per (pool, cycle period) and member, ``top - load >= 0`` and
  ``load - bottom >= 0``; the objective adds ``w.fairness x (top - bottom)``.

Its LP relaxation is far tighter than that of the interval model CP-SAT
searches (solver.batch.cpsat): it sees that one panelist cannot sit in two
meetings at once, so the cheapest panelists and rooms run out. Pricing a
column needs no LP: given row duals, an item's cheapest column at each start
is each seat group's ``count`` cheapest candidates under costs raised by the
duals of the rows they would enter (vectorized over starts).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from solver.assign import SeatCosts, assign
from solver.batch.board import LimitBook, Placement
from solver.batch.objective import TermWeights
from solver.batch.prepare import PreparedItem
from solver.domain import Directory
from solver.grid import BoolArray, IntArray
from solver.seats import INFEASIBLE

__all__ = ["Column", "FairnessBlock", "Pricing", "Rows", "build_rows", "price"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Column:
    """Item ``k`` (position in ``Rows.items``) at its ``position``-th start with
    ``picks`` per seat group; ``cost`` in ticks (seats, conflicts, earliness)."""

    k: int
    position: int
    picks: tuple[tuple[int, ...], ...]
    cost: int

    def placement(self) -> Placement:
        return Placement(self.position, self.picks)


@dataclass(frozen=True)
class FairnessBlock:
    """One (pool, cycle period): rows ``top - load_m >= 0`` and ``load_m - bottom >= 0``
    for each member m that some item could draw there. ``bottom`` is pinned to 0
    when some member of the pool cannot be drawn at all (an idle member keeps the
    minimum at 0). ``most``: no load can exceed it (a bound for top and bottom)."""

    top_rows: IntArray
    bottom_rows: IntArray
    free_bottom: bool
    most: int


@dataclass(frozen=True)
class _GroupData:
    """One seat group of one item over ``[candidate, start]``."""

    count: int
    cost: FloatArray  # ticks; inf where the candidate may not take the seat
    cell: IntArray  # the (resource, start) cell of the candidate; the last cell (no rows) where not allowed
    fair: IntArray  # the fairness slot (pool, period, member); the last slot (none) where not counted


@dataclass(frozen=True)
class Rows:
    """Every row of a part's relaxation and how each (resource, start) of each item enters them.

    ``items`` are the part's items with a feasible start (``k`` indexes them).
    Row ``j`` reads ``sum(coefficient x column) <= rhs[j]``, or ``>=`` where
    ``at_least[j]``. A *cell* is one (resource, item, start); cell ``c`` enters
    rows ``cell_rows[cell_ptr[c]:cell_ptr[c + 1]]`` with coefficient 1. A fairness
    *slot* is one (pool, period, member): it enters its block's top row with -1 and
    its bottom row with +1.
    """

    items: list[PreparedItem]
    rhs: FloatArray
    at_least: BoolArray
    cell_ptr: IntArray
    cell_rows: IntArray
    row_cells: IntArray  # the cell of each entry of cell_rows
    slot_top: IntArray
    slot_bottom: IntArray
    blocks: list[FairnessBlock]
    groups: list[list[_GroupData]]
    earliness: list[FloatArray]  # per item, ticks per start (earliness and moves)
    skip_cost: FloatArray  # per item: its priority times the priority weight
    shared: BoolArray  # per item: two of its seat groups share a candidate
    fairness: int  # ticks per unit of load spread

    @property
    def n_rows(self) -> int:
        return len(self.rhs)

    def column_rows(self, column: Column) -> dict[int, float]:
        """The rows ``column`` enters, with their coefficients."""
        out: dict[int, float] = {}
        for data, picks in zip(self.groups[column.k], column.picks, strict=True):
            for c in picks:
                cell = int(data.cell[c, column.position])
                for row in self.cell_rows[self.cell_ptr[cell]:self.cell_ptr[cell + 1]].tolist():
                    out[row] = out.get(row, 0.0) + 1.0
                slot = int(data.fair[c, column.position])
                if slot < len(self.slot_top):
                    top, bottom = int(self.slot_top[slot]), int(self.slot_bottom[slot])
                    out[top] = out.get(top, 0.0) - 1.0
                    out[bottom] = out.get(bottom, 0.0) + 1.0
        return out

    def column(self, k: int, placement: Placement) -> Column:
        """The column of item ``k`` placed as ``placement``, priced."""
        p = placement.position
        cost = self.earliness[k][p] + sum(float(data.cost[c, p]) for data, picks in
                                          zip(self.groups[k], placement.picks, strict=True) for c in picks)
        return Column(k, p, placement.picks, round(cost))


def build_rows(items: Sequence[PreparedItem], directory: Directory, limits: LimitBook,
               terms: TermWeights) -> Rows:
    """The rows of ``items`` (only those with a feasible start take part)."""
    live = [item for item in items if len(item.starts)]
    cells = _Cells(live)
    rows = _RowList()
    for resource, holders in cells.holders.items():
        _time_rows(rows, live, cells, resource, holders)
    _limit_rows(rows, live, cells, limits)
    n_le = len(rows.rhs)
    slots, slot_top, slot_bottom, blocks = _fairness_rows(rows, live, directory, terms)

    # Cells -> rows, compressed (cell n_cells enters no row: it stands where a candidate is not allowed).
    cell_arr = np.concatenate(rows.cells) if rows.cells else np.zeros(0, dtype=np.int64)
    row_arr = np.concatenate(rows.rows) if rows.rows else np.zeros(0, dtype=np.int64)
    order = np.argsort(cell_arr, kind="stable")
    cell_ptr = np.zeros(cells.count + 2, dtype=np.int64)
    np.cumsum(np.bincount(cell_arr, minlength=cells.count + 1), out=cell_ptr[1:])
    at_least = np.zeros(len(rows.rhs), dtype=np.bool_)
    at_least[n_le:] = True
    groups = [_group_data(k, item, cells, slots, terms) for k, item in enumerate(live)]
    return Rows(
        items=live,
        rhs=np.array(rows.rhs, dtype=np.float64),
        at_least=at_least,
        cell_ptr=cell_ptr,
        cell_rows=row_arr[order],
        row_cells=cell_arr[order],
        slot_top=slot_top,
        slot_bottom=slot_bottom,
        blocks=blocks,
        groups=groups,
        earliness=[terms.start_costs(item).astype(np.float64) for item in live],
        skip_cost=np.array([item.priority * terms.priority for item in live], dtype=np.float64),
        shared=np.array([_shares_candidates(item) for item in live], dtype=np.bool_),
        fairness=terms.fairness,
    )


class _Cells:
    """One cell per (resource, item, start) that some seat group of the item allows there."""

    def __init__(self, live: Sequence[PreparedItem]) -> None:
        self.of: dict[tuple[str, int], IntArray] = {}  # (resource, k) -> cell per start, -1 where none
        self.holders: dict[str, list[tuple[int, IntArray]]] = {}  # resource -> (k, starts allowed)
        self.count = 0
        for k, item in enumerate(live):
            allowed: dict[str, BoolArray] = {}
            for group in item.groups:
                for c, resource in enumerate(group.candidates):
                    before = allowed.get(resource)
                    allowed[resource] = group.allowed[c] if before is None else before | group.allowed[c]
            for resource, where in allowed.items():
                positions = np.flatnonzero(where)
                per_start = np.full(len(item.starts), -1, dtype=np.int64)
                per_start[positions] = np.arange(self.count, self.count + len(positions))
                self.count += len(positions)
                self.of[resource, k] = per_start
                self.holders.setdefault(resource, []).append((k, positions))


class _RowList:
    """Rows as they are made: right-hand sides and (cells, row) pairs."""

    def __init__(self) -> None:
        self.rhs: list[float] = []
        self.cells: list[IntArray] = []
        self.rows: list[IntArray] = []

    def add(self, cells: IntArray, rhs: float) -> None:
        self.cells.append(cells)
        self.rows.append(np.full(len(cells), len(self.rhs), dtype=np.int64))
        self.rhs.append(rhs)


def _time_rows(rows: _RowList, live: Sequence[PreparedItem], cells: _Cells, resource: str,
               holders: list[tuple[int, IntArray]]) -> None:
    """The cliques of ``resource``'s time (see the module docstring)."""
    if len(holders) < 2:
        return
    owner = np.concatenate([np.full(len(positions), k, dtype=np.int64) for k, positions in holders])
    held = np.concatenate([cells.of[resource, k][positions] for k, positions in holders])
    spans = {name: np.concatenate([getattr(live[k], name)[positions] for k, positions in holders])
             for name in ("pre_lo", "core_lo", "core_hi", "post_hi")}
    families = [("core_lo", "post_hi")]
    if (spans["pre_lo"] < spans["core_lo"]).any():
        families.append(("pre_lo", "core_hi"))
    for lo, hi in families:
        for members in _cliques(spans[lo], spans[hi], owner):
            rows.add(held[members], 1.0)


def _limit_rows(rows: _RowList, live: Sequence[PreparedItem], cells: _Cells, limits: LimitBook) -> None:
    """Per (member, weekly, period): the items holding the member fit its room, where
    more items could hold it than it has room for."""
    periods: dict[tuple[str, bool, int], list[IntArray]] = {}
    for k, item in enumerate(live):
        for weekly, keys in ((False, item.day_keys), (True, item.week_keys)):
            for member, per_start in keys.items():
                held = cells.of.get((member, k))
                if held is None:
                    continue
                where = held >= 0
                for key in np.unique(per_start[where]).tolist():
                    periods.setdefault((member, weekly, key), []).append(held[where & (per_start == key)])
    for (member, weekly, key), per_item in periods.items():
        room = limits.capacity(member, weekly, key)
        if len(per_item) > room:
            rows.add(np.concatenate(per_item), float(room))


def _fairness_rows(rows: _RowList, live: Sequence[PreparedItem], directory: Directory,
                   terms: TermWeights) -> tuple[dict[tuple[str, int, str], int], IntArray, IntArray,
                                                list[FairnessBlock]]:
    """Slots per (pool, period, member) that some pool seat could fill, their rows, and the blocks."""
    slots: dict[tuple[str, int, str], int] = {}
    most: dict[tuple[str, int], int] = {}  # pool picks that could fall in the period
    if terms.fairness > 0:
        for item in live:
            for group in item.groups:
                if group.pool_id is None or group.pool_id not in item.cycle_keys:
                    continue
                periods = item.cycle_keys[group.pool_id]
                for key in np.unique(periods).tolist():
                    most[group.pool_id, key] = most.get((group.pool_id, key), 0) + group.count
                for c, member in enumerate(group.candidates):
                    for key in np.unique(periods[group.allowed[c]]).tolist():
                        slots.setdefault((group.pool_id, key, member), len(slots))
    by_block: dict[tuple[str, int], list[int]] = {}
    for (pool_id, key, _), slot in slots.items():
        by_block.setdefault((pool_id, key), []).append(slot)
    slot_top = np.zeros(len(slots), dtype=np.int64)
    slot_bottom = np.zeros(len(slots), dtype=np.int64)
    blocks: list[FairnessBlock] = []
    for (pool_id, key), members in by_block.items():
        tops = np.arange(len(rows.rhs), len(rows.rhs) + len(members), dtype=np.int64)
        bottoms = tops + len(members)
        rows.rhs.extend([0.0] * 2 * len(members))
        slot_top[members] = tops
        slot_bottom[members] = bottoms
        blocks.append(FairnessBlock(tops, bottoms, len(members) == len(directory.pools[pool_id].members),
                                    most[pool_id, key]))
    return slots, slot_top, slot_bottom, blocks


def _group_data(k: int, item: PreparedItem, cells: _Cells, slots: Mapping[tuple[str, int, str], int],
                terms: TermWeights) -> list[_GroupData]:
    """Item ``k``'s seat groups as pricing reads them."""
    out: list[_GroupData] = []
    for group in item.groups:
        cost = np.where(group.allowed, (group.seat_cost + group.conflict_cost) * terms.per_milli, np.inf)
        cell = np.full(group.allowed.shape, cells.count, dtype=np.int64)
        fair = np.full(group.allowed.shape, len(slots), dtype=np.int64)
        pool_id = group.pool_id if terms.fairness > 0 and group.pool_id in item.cycle_keys else None
        for c, resource in enumerate(group.candidates):
            where = group.allowed[c]
            cell[c, where] = cells.of[resource, k][where]
            if pool_id is not None:
                periods = item.cycle_keys[pool_id]
                for key in np.unique(periods[where]).tolist():
                    fair[c, where & (periods == key)] = slots[pool_id, key, resource]
        out.append(_GroupData(group.count, cost.astype(np.float64), cell, fair))
    return out


def _shares_candidates(item: PreparedItem) -> bool:
    """Whether two seat groups of ``item`` list one resource (pricing must keep them apart)."""
    listed = [c for group in item.groups for c in group.candidates]
    return len(listed) != len(set(listed))


def _cliques(lo: IntArray, hi: IntArray, owner: IntArray) -> list[IntArray]:
    """Maximal sets of intervals ``[lo, hi)`` sharing a point, as index arrays; only
    those holding intervals of two owners or more (one owner takes one start anyway)."""
    points = np.unique(lo)
    first = np.searchsorted(points, lo)  # each interval covers points first .. last - 1
    last = np.searchsorted(points, hi)
    # The clique at a point is maximal when some interval ends before the next point.
    maximal = np.zeros(len(points), dtype=np.bool_)
    maximal[last - 1] = True
    lengths = last - first
    members = np.repeat(np.arange(len(lo)), lengths)
    offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
    at = np.repeat(first, lengths) + np.arange(len(members)) - offsets
    keep = maximal[at]
    members, at = members[keep], at[keep]
    order = np.argsort(at, kind="stable")
    members, at = members[order], at[order]
    bounds = np.flatnonzero(np.diff(at)) + 1
    out: list[IntArray] = []
    for chunk in np.split(members, bounds):
        if len(chunk) > 1 and owner[chunk].min() != owner[chunk].max():
            out.append(chunk)
    return out


@dataclass(frozen=True)
class Pricing:
    """Per item the least reduced cost of any column (ticks, before its convexity
    dual; a lower bound where seat groups share candidates) and the columns found."""

    least: FloatArray
    columns: list[Column]


def price(rows: Rows, duals: FloatArray, convexity: FloatArray, *, per_item: int,
          done: Collection[int] = ()) -> Pricing:
    """The cheapest columns under ``duals`` (one per row, sign-correct) and the
    items' convexity duals: up to ``per_item`` columns per item (at distinct
    starts) with a negative reduced cost. Items in ``done`` get none."""
    # A column's reduced cost: its cost minus the duals of the rows it enters.
    cell_price = -np.bincount(rows.row_cells, weights=duals[rows.cell_rows], minlength=len(rows.cell_ptr))
    slot_price = np.zeros(len(rows.slot_top) + 1, dtype=np.float64)
    slot_price[:-1] = duals[rows.slot_top] - duals[rows.slot_bottom]
    least = np.zeros(len(rows.items), dtype=np.float64)
    columns: list[Column] = []
    for k in range(len(rows.items)):
        total = rows.earliness[k].copy()
        chosen: list[IntArray] = []
        adjusted: list[FloatArray] = []
        for data in rows.groups[k]:
            cost = data.cost + cell_price[data.cell] + slot_price[data.fair]
            if data.count == 1:
                pick = np.argmin(cost, axis=0)[None, :]
            else:
                pick = np.argpartition(cost, data.count - 1, axis=0)[: data.count]
            total += np.take_along_axis(cost, pick, axis=0).sum(axis=0)
            chosen.append(pick)
            adjusted.append(cost)
        least[k] = float(total.min())
        if k in done:
            continue
        reduced = total - convexity[k]
        for p in np.argsort(reduced, kind="stable")[:per_item].tolist():
            if not reduced[p] < -1e-6 * max(1.0, abs(float(convexity[k]))):
                break
            picks = tuple(tuple(sorted(int(c) for c in pick[:, p])) for pick in chosen)
            if rows.shared[k]:
                found = _distinct(adjusted, [d.count for d in rows.groups[k]], rows.groups[k], p)
                if found is None:
                    continue
                picks = found
            column = rows.column(k, Placement(p, picks))
            columns.append(column)
    return Pricing(least, columns)


def _distinct(adjusted: list[FloatArray], counts: list[int], groups: list[_GroupData],
              p: int) -> tuple[tuple[int, ...], ...] | None:
    """The cheapest picks at start ``p`` with no resource in two seat groups (costs
    rounded to whole ticks: a column only has to be good, the bound does not use it)."""
    ids: dict[int, int] = {}
    units: list[SeatCosts] = []
    for cost, count, data in zip(adjusted, counts, groups, strict=True):
        # Cells name the resource at this start: the same resource has one cell per (item, start).
        rows = np.array([ids.setdefault(int(cell), len(ids)) for cell in data.cell[:, p].tolist()], dtype=np.int64)
        column = np.where(np.isfinite(cost[:, p]), np.round(cost[:, p] - cost[:, p][np.isfinite(cost[:, p])].min(
            initial=0.0)), INFEASIBLE).astype(np.int64)[:, None]
        units.extend(SeatCosts(rows, np.minimum(column, INFEASIBLE)) for _ in range(count))
    found = assign(units, 1)
    if not found.feasible[0]:
        return None
    out: list[tuple[int, ...]] = []
    u = 0
    for count in counts:
        out.append(tuple(sorted(int(found.choice[u + j, 0]) for j in range(count))))
        u += count
    return tuple(out)
