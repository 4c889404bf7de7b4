"""The time-indexed LP of a batch part by column generation: a proven lower bound, and a schedule.

    rows  = build_rows(items, ...)            (solver.batch.rows: time, limits, fairness)
    master: min cost x columns + priority weight x skips
            each item: its columns + its skip = 1; every row of ``rows``
    loop:   solve the master (GLOP) -> duals -> price every item's cheapest
            columns -> Lagrangian bound -> add the columns with a negative
            reduced cost -> until none is left or the bound meets the LP
    dive:   fix the items whose best column is (nearly) whole, price again, repeat

**The bound.** For *any* row duals of the right sign, the sum over items of
their cheapest column's reduced cost (or their skip, if cheaper), plus the
duals times the right-hand sides, is at most the cost of every schedule
(weak duality: a schedule is one column per item that obeys every row, and
the pricing is exact, or a relaxation where seat groups share candidates).
So the bound holds at every iteration, whatever the LP solver's tolerances,
and at convergence it is the LP optimum. On the benchmark instances it lies
within about 1% of the best schedules, where CP-SAT's own bound (its LP of
the interval model) stays 40% below.

**The dive** (price-and-dive): the LP's columns are mostly fractional, but
its duals say what each panelist and room hour is worth. Fixing the items
whose best column is (nearly) whole, then pricing the others again around
them, gives schedules within a few percent of the bound.

**Deterministic mode** (a ``WorkBudget``, solver.batch.work): the phases stop
on work, not on the clock. Each master solve is held to the simplex iterations
the budget has left (GLOP's ``max_number_of_iterations``) and charged for those
it took, times the size of the master; each pricing round is charged for the
cells it prices and the columns it adds. GLOP and the pricing are
deterministic, so the bound, the dive and its schedule come out the same at
any load; the clock then only guards the caller's deadline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import linear_solver_pb2, pywraplp

from solver.batch.board import Board, LimitBook, Placement, cheapest_fit
from solver.batch.objective import TermWeights
from solver.batch.prepare import PreparedItem
from solver.batch.rows import Column, FloatArray, Rows, build_rows, price
from solver.batch.types import TICKS_PER_POINT
from solver.batch.work import WorkBudget
from solver.domain import Booking, Directory

__all__ = ["LpOutcome", "relax_and_dive"]

# Columns priced per item and round: the cheapest starts, while their reduced cost is negative.
_PER_ITEM = 5
# Before the first LP: each item's cheapest columns with no duals (at this many starts).
_FIRST = 2
# The dive starts once the LP is this close to the bound (relative), or at this share of the time.
_DIVE_FROM = 0.002
_BOUND_SHARE = 0.6
# Columns per item the dive starts from (those of least reduced cost).
_KEEP = 8
# Pricing rounds after each fixing step of the dive.
_DIVE_ROUNDS = 1
# Each step fixes every item whose best column is at least _WHOLE, and the first share of the
# others whose best column is at least _LEAST; the share starts at _DIVE_SHARE and grows by
# _GROW after a step that left room for every item (measured on batch-150: bench/scenario_batch.py).
_WHOLE = 0.99
_LEAST = 0.7
_DIVE_SHARE = 0.5
_GROW = 1.5
# Deterministic mode: the LP's work in units of CP-SAT's deterministic time, a unit taken as
# _SECONDS_PER_UNIT of a core (CP-SAT's own runs 2 to 10 s on these models). The costs in
# seconds, measured on batch-150 (bench/scenario_batch.py, 2 shared cores): a simplex
# iteration, per row and column of the master; a solve's fixed cost (reading the solution,
# the dive's bookkeeping), per row and column; a pricing round, per (candidate, start) entry
# of the items' seat groups; adding a column to the master.
_SECONDS_PER_UNIT = 4.0
_ITERATION_WORK = 3.8e-8 / _SECONDS_PER_UNIT
_SOLVE_WORK = 1e-6 / _SECONDS_PER_UNIT
_CELL_WORK = 1.0e-7 / _SECONDS_PER_UNIT
_COLUMN_WORK = 4e-5 / _SECONDS_PER_UNIT

@dataclass(frozen=True)
class LpOutcome:
    """``bound``: ticks no schedule of the part goes below (the whole objective,
    priority left out included), None when no LP was solved in time.
    ``placements``: the dive's schedule by item index (completed greedily if the
    time ran out in the middle), None when no LP was solved in time.
    ``lp``: the last LP value (ticks); ``rounds``: pricing rounds."""

    bound: int | None
    placements: dict[int, Placement] | None
    lp: float
    rounds: int


def relax_and_dive(items: Sequence[PreparedItem], directory: Directory, bookings_by: Mapping[str, Sequence[Booking]],
                   terms: TermWeights, hint: Mapping[int, Placement], *, stop: float,
                   cancelled: Callable[[], bool] | None = None, work: WorkBudget | None = None) -> LpOutcome:
    """The LP bound of ``items`` (with options) by column generation, then a dive
    for a schedule, both by ``stop``. ``hint``'s placements are the first columns.

    The dive starts once the LP is within ``_DIVE_FROM`` of the bound (or at
    ``_BOUND_SHARE`` of the time): pricing goes on inside the dive, and every
    pricing round may still raise the bound.

    With ``work`` (deterministic mode) both phases stop on the work the budget
    allows (the bound at ``_BOUND_SHARE`` of it), charged to it; ``stop`` then
    only guards the deadline.
    """
    began = time.monotonic()
    rows = build_rows(items, directory, LimitBook(directory, bookings_by), terms)
    # Items with no start are left out in every schedule: their priority is a constant of the bound.
    dead = sum(item.priority for item in items if len(item.starts) == 0) * terms.priority
    master = _Master(rows)
    k_of = {item.index: k for k, item in enumerate(rows.items)}
    master.add_all([rows.column(k_of[index], placement) for index, placement in hint.items() if index in k_of])
    # Each item's cheapest columns with no duals yet: starts the LP can use without skipping.
    first = price(rows, np.zeros(rows.n_rows), rows.skip_cost, per_item=_FIRST).columns
    master.add_all(first)
    tracker = _Tracker(rows, master, cancelled, work)
    tracker.charge_pricing(len(first))
    if work is None:
        bound_stop = began + (stop - began) * _BOUND_SHARE
    else:
        bound_stop, tracker.cap = stop, work.spent + work.left * _BOUND_SHARE
    while tracker.solve(bound_stop):
        found = tracker.price(per_item=_PER_ITEM)
        if tracker.lp - tracker.bound <= _DIVE_FROM * max(1.0, abs(tracker.lp)) or not master.add_all(found):
            break
    placements = None
    if tracker.bound > -math.inf:
        # The dive re-solves the LP often, and each solve costs in proportion to its columns:
        # it keeps only the columns the LP could still use (reduced cost near 0).
        tracker.master = tracker.master.trimmed(_KEEP)
        if work is not None:
            tracker.cap = work.limit
        placements = _dive(tracker, rows, directory, bookings_by, stop)
        if len(placements) < len(rows.items):
            # Items the dive could not fix go where they cost least around the others.
            board = Board(LimitBook(directory, bookings_by))
            for index, placement in placements.items():
                board.place(rows.items[k_of[index]], placement)
            rest = [item for item in rows.items if item.index not in placements]
            placements.update(cheapest_fit(rest, board, terms))
    # Objectives are whole ticks: round the bound up, less what floating point may have added.
    bound = None if tracker.bound == -math.inf else dead + math.ceil(tracker.bound - 1e-3 - 1e-9 * abs(tracker.bound))
    return LpOutcome(bound, placements, tracker.lp, tracker.rounds)


class _Tracker:
    """Solves the master and prices against its duals, keeping the best bound any duals gave."""

    def __init__(self, rows: Rows, master: _Master, cancelled: Callable[[], bool] | None,
                 work: WorkBudget | None) -> None:
        self.rows = rows
        self.master = master
        self.cancelled = cancelled
        self.work = work
        self.cap = math.inf  # deterministic mode: the work spent at which the present phase ends
        self.bound = -math.inf
        self.lp = math.inf
        self.rounds = 0
        self.done: set[int] = set()  # items the dive fixed: no more columns for them
        self._entries = sum(data.cost.size for groups in rows.groups for data in groups)

    def out_of_time(self, until: float) -> bool:
        return (time.monotonic() >= until or (self.cancelled is not None and self.cancelled())
                or (self.work is not None and self.work.spent >= self.cap))

    def solve(self, until: float, *, dual: bool = False) -> bool:
        """Solve the master; False when the time (or the work) is up or no optimal LP came out."""
        if self.out_of_time(until):
            return False
        iterations = None
        size = self.master.size()
        if self.work is not None:
            iterations = int((self.cap - self.work.spent) / (_ITERATION_WORK * size))
            if iterations < 1:
                return False
        solved = self.master.solve(until, dual=dual, iterations=iterations)
        if self.work is not None:
            self.work.charge((_SOLVE_WORK + _ITERATION_WORK * self.master.iterations()) * size)
        if not solved:
            return False
        self.lp = self.master.value()
        return True

    def price(self, *, per_item: int) -> list[Column]:
        """Columns with a negative reduced cost under the LP's duals; the bound they prove is kept."""
        duals, convexity = self.master.duals()
        pricing = price(self.rows, duals, convexity, per_item=per_item, done=self.done)
        self.rounds += 1
        self.bound = max(self.bound, _lagrangian(self.rows, duals, pricing.least))
        self.charge_pricing(len(pricing.columns))
        return pricing.columns

    def charge_pricing(self, columns: int) -> None:
        """Deterministic mode: charge one pricing round that found ``columns`` columns."""
        if self.work is not None:
            self.work.charge(_CELL_WORK * self._entries + _COLUMN_WORK * columns)

    def pace(self, began: float, steps: int, until: float) -> float:
        """How many more steps like the ``steps`` since ``began`` the time (or the work) left allows.

        ``began``: a ``time.monotonic()`` instant, or in deterministic mode the work spent then."""
        if self.work is None:
            now = time.monotonic()
            return max(1.0, (until - now) / max(1e-9, (now - began) / steps))
        return max(1.0, (self.cap - self.work.spent) / max(1e-12, (self.work.spent - began) / steps))


def _lagrangian(rows: Rows, duals: FloatArray, least: FloatArray) -> float:
    """The Lagrangian bound (ticks) of the duals: what every schedule costs at least."""
    total = float(np.minimum(least, rows.skip_cost).sum()) + float(duals @ rows.rhs)
    for block in rows.blocks:
        # top and bottom range over [0, most]; each contributes its reduced cost there at worst.
        top = rows.fairness - float(duals[block.top_rows].sum())
        total += min(0.0, top * block.most)
        if block.free_bottom:
            bottom = -rows.fairness + float(duals[block.bottom_rows].sum())
            total += min(0.0, bottom * block.most)
    return total


def _dive(tracker: _Tracker, rows: Rows, directory: Directory, bookings_by: Mapping[str, Sequence[Booking]],
          until: float) -> dict[int, Placement]:
    """Fix items to their best column step by step (the schedule, by item index).

    Each step fixes every item whose best column is whole, and a share of the
    others (the surest first, none below ``_LEAST``). Fixing too much at once can
    leave no room for an item the LP still fits: if the LP has to leave more out
    after a step, the step keeps only its surest column and the share shrinks;
    if that column alone did it, it is ruled out. The share also grows when the
    time left would not last at the present pace; when the time is up, every
    open item takes its best column in one last step, if it still fits.
    """
    master = tracker.master
    fixed: dict[int, Column | None] = {}  # None: left out
    step: list[tuple[int, int]] = []  # (item, column) fixed by the last step, surest first
    left_out = 0.0  # how much of the open items the LP left out before the last step
    share = _DIVE_SHARE
    dual = False  # right after fixing, the dual simplex; after new columns, the primal
    began = time.monotonic() if tracker.work is None else tracker.work.spent
    steps = 0
    solved = True
    while len(fixed) < len(rows.items):
        if not tracker.solve(until, dual=dual):
            solved = False
            break
        if step and _left_out(master, fixed) > left_out + 1e-6:
            # Keep the step's surest column only; if that alone did it, rule it out.
            for k, n in step[1:] if len(step) > 1 else step:
                master.fix(n, False)
                del fixed[k]
            if len(step) == 1:
                master.forbid(step[0][1])
            step = step[:1] if len(step) > 1 else []
            tracker.done = set(fixed)
            share = max(_DIVE_SHARE / 8, share / 2)
            dual = False  # freeing columns keeps the basis primal feasible
            continue  # what is left of the step is checked like a new one
        if step:
            share = min(1.0, share * _GROW)
        for _ in range(_DIVE_ROUNDS):
            if not master.add_all(tracker.price(per_item=2)):
                break
            if not tracker.solve(until):
                solved = False
                break
        if not solved:
            break
        values, skips = master.values(), master.skip_values()
        for k in range(len(rows.items)):
            if k not in fixed and skips[k] >= _WHOLE:  # no room left for it at all
                master.fix_skip(k)
                fixed[k] = None
        left_out = _left_out(master, fixed)
        order = _best_columns(master, values, fixed)
        steps += 1
        # At the pace so far, the steps the time (work) left allows, and the share that fixes every item in them.
        allowed = tracker.pace(began, steps, until)
        hurry = 1.0 - (len(order) + 1) ** (-1.0 / allowed)
        take = max(1, math.ceil(max(share, hurry) * len(order)))
        chosen = [(k, n, v) for k, n, v in order if v >= _WHOLE]
        chosen += [(k, n, v) for k, n, v in order[:take] if _LEAST <= v < _WHOLE or (hurry > share and v < _WHOLE)]
        step = _fix(master, rows, fixed, chosen or order[:1], directory, bookings_by)
        if not step and order:
            # Only the LP's tolerances can make the surest column clash: leave it out rather than loop.
            master.fix_skip(order[0][0])
            fixed[order[0][0]] = None
        tracker.done = set(fixed)
        dual = True
    if len(fixed) < len(rows.items):
        # The time is up: every open item takes its best column of the last LP, where it still fits.
        _fix(master, rows, fixed, _best_columns(master, master.values(), fixed), directory, bookings_by)
    return {rows.items[k].index: column.placement() for k, column in fixed.items() if column is not None}


def _left_out(master: _Master, fixed: Mapping[int, Column | None]) -> float:
    """How much of the items not fixed yet the LP leaves out."""
    skips = master.skip_values()
    return float(sum(skips[k] for k in range(len(skips)) if k not in fixed))


def _best_columns(master: _Master, values: FloatArray, fixed: Mapping[int, Column | None]) -> list[
        tuple[int, int, float]]:
    """Per open item its column of most value (item, column, value), the surest first."""
    best: dict[int, tuple[float, int]] = {}
    for n, column in enumerate(master.columns):
        if column.k not in fixed and values[n] > best.get(column.k, (0.0, -1))[0]:
            best[column.k] = (float(values[n]), n)
    return sorted(((k, n, v) for k, (v, n) in best.items()), key=lambda c: -c[2])


def _fix(master: _Master, rows: Rows, fixed: dict[int, Column | None], chosen: Sequence[tuple[int, int, float]],
         directory: Directory, bookings_by: Mapping[str, Sequence[Booking]]) -> list[tuple[int, int]]:
    """Fix the ``chosen`` columns in order, each one that fits around those fixed before;
    the (item, column) pairs fixed."""
    board = Board(LimitBook(directory, bookings_by))
    for k, column in fixed.items():
        if column is not None:
            board.place(rows.items[k], column.placement())
    step: list[tuple[int, int]] = []
    for k, n, _ in chosen:
        column = master.columns[n]
        item = rows.items[k]
        placement = column.placement()
        if all(board.usable(item, resource)[column.position] for resource in placement.resources(item)):
            board.place(item, placement)
            master.fix(n)
            fixed[k] = column
            step.append((k, n))
        # else: it clashes with a column fixed in this step; the next step decides
    return step


class _Master:
    """The restricted master LP (GLOP), in points (ticks / TICKS_PER_POINT) for its tolerances.

    Variables in creation order: one skip per item, the fairness blocks' top and
    bottom, then the columns; rows: ``rows``' rows, then one convexity row per item.
    """

    def __init__(self, rows: Rows) -> None:
        solver = pywraplp.Solver.CreateSolver("GLOP")
        assert solver is not None
        self.solver = solver
        self.rows = rows
        self._parameters: str | None = None
        self._solution = linear_solver_pb2.MPSolutionResponse()
        infinity = solver.infinity()
        self.constraints = [solver.Constraint(rhs, infinity) if at_least else solver.Constraint(-infinity, rhs)
                            for rhs, at_least in zip(rows.rhs.tolist(), rows.at_least.tolist(), strict=True)]
        self.convexity = [solver.Constraint(1.0, 1.0) for _ in rows.items]
        self.objective = solver.Objective()
        self.objective.SetMinimization()
        self.skips = []
        for k, cost in enumerate(rows.skip_cost.tolist()):
            skip = solver.NumVar(0.0, infinity, "")
            self.convexity[k].SetCoefficient(skip, 1.0)
            self.objective.SetCoefficient(skip, cost / TICKS_PER_POINT)
            self.skips.append(skip)
        weight = rows.fairness / TICKS_PER_POINT
        for block in rows.blocks:
            top = solver.NumVar(0.0, float(block.most), "")
            self.objective.SetCoefficient(top, weight)
            for row in block.top_rows.tolist():
                self.constraints[row].SetCoefficient(top, 1.0)
            bottom = solver.NumVar(0.0, float(block.most) if block.free_bottom else 0.0, "")
            self.objective.SetCoefficient(bottom, -weight)
            for row in block.bottom_rows.tolist():
                self.constraints[row].SetCoefficient(bottom, -1.0)
        self._first_column = solver.NumVariables()
        self.columns: list[Column] = []
        self.vars: list[pywraplp.Variable] = []
        self._known: set[tuple[int, int, tuple[tuple[int, ...], ...]]] = set()

    def add(self, column: Column) -> bool:
        """Add ``column`` unless the master has it already; whether it was new."""
        key = (column.k, column.position, column.picks)
        if key in self._known:
            return False
        self._known.add(key)
        var = self.solver.NumVar(0.0, self.solver.infinity(), "")
        self.objective.SetCoefficient(var, column.cost / TICKS_PER_POINT)
        self.convexity[column.k].SetCoefficient(var, 1.0)
        for row, coefficient in self.rows.column_rows(column).items():
            self.constraints[row].SetCoefficient(var, coefficient)
        self.columns.append(column)
        self.vars.append(var)
        return True

    def add_all(self, columns: Sequence[Column]) -> int:
        """Add the new ones of ``columns``; how many were new."""
        return sum(self.add(column) for column in columns)

    def solve(self, until: float, *, dual: bool = False, iterations: int | None = None) -> bool:
        """Solve within the time left (and at most ``iterations`` simplex iterations);
        False unless an optimal LP came out.

        GLOP starts from the last basis when presolve is off. New columns leave it
        primal feasible (primal simplex: a few pivots); fixing columns leaves it
        dual feasible (dual simplex).
        """
        parameters = f"use_preprocessing: false use_dual_simplex: {'true' if dual else 'false'}"
        if iterations is not None:
            parameters += f" max_number_of_iterations: {iterations}"
        if parameters != self._parameters:
            self._parameters = parameters
            self.solver.SetSolverSpecificParametersAsString(parameters)
        self.solver.SetTimeLimit(max(1, int(1000 * (until - time.monotonic()))))
        if self.solver.Solve() != pywraplp.Solver.OPTIMAL:
            return False
        self._solution.Clear()
        self.solver.FillSolutionResponseProto(self._solution)
        return True

    def size(self) -> int:
        """Rows and columns of the master (what a simplex iteration costs in proportion to)."""
        return int(self.solver.NumVariables() + self.solver.NumConstraints())

    def iterations(self) -> int:
        """Simplex iterations of the last solve."""
        return int(self.solver.iterations())

    def value(self) -> float:
        return float(self._solution.objective_value) * TICKS_PER_POINT

    def duals(self) -> tuple[FloatArray, FloatArray]:
        """Row and convexity duals in ticks, rows clipped to their sign (any such duals give a valid bound)."""
        every = np.array(self._solution.dual_value, dtype=np.float64) * TICKS_PER_POINT
        n = self.rows.n_rows
        duals = np.where(self.rows.at_least, np.maximum(every[:n], 0.0), np.minimum(every[:n], 0.0))
        return duals, every[n:]

    def values(self) -> FloatArray:
        """The columns' values in the last solution (0 for columns added since)."""
        return self._per_column(self._solution.variable_value)

    def _per_column(self, every: Sequence[float]) -> FloatArray:
        out = np.zeros(len(self.columns), dtype=np.float64)
        known = np.array(every, dtype=np.float64)[self._first_column:]
        out[: len(known)] = known
        return out

    def skip_values(self) -> FloatArray:
        return np.array(self._solution.variable_value, dtype=np.float64)[: len(self.skips)]

    def trimmed(self, keep: int) -> _Master:
        """A new master with each item's ``keep`` columns of least reduced cost, those
        the LP uses first."""
        reduced = self._per_column(self._solution.reduced_cost)
        values = self.values()
        by_item: dict[int, list[int]] = {}
        for n, column in enumerate(self.columns):
            by_item.setdefault(column.k, []).append(n)
        out = _Master(self.rows)
        for members in by_item.values():
            ranked = sorted(members, key=lambda n: (values[n] <= 1e-9, reduced[n]))
            out.add_all([self.columns[n] for n in ranked[:keep]])
        return out

    def fix(self, n: int, fixed: bool = True) -> None:
        self.vars[n].SetLb(1.0 if fixed else 0.0)

    def forbid(self, n: int) -> None:
        self.vars[n].SetUb(0.0)

    def fix_skip(self, k: int) -> None:
        self.skips[k].SetLb(1.0)
