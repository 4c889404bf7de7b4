"""The CP-SAT model of one batch part: data, variables, constraints, objective, solve, read.

Variables (created only where they can be true):

- ``present[i]``: item i is scheduled.
- ``at[i, p]``: item i starts at its p-th feasible start (solver.batch.prepare);
  ``start[i]`` is that start in epoch minutes.
- ``x[i, k]``: option k of item i is taken: its candidate fills its seat group, at
  one of the option's starts (solver.batch.prepare.Option).
- ``use[i, r]``: item i holds resource r (an option of r is taken).

Rules (one constraint group each, in the order below): a scheduled item takes
one start; each seat group gets its count of candidates exactly when the item is
scheduled; a candidate is taken only at a start where it is allowed; no resource
fills two seats of one item; no resource is held by two items whose meeting and
padded span meet (solver.batch.board); booking limits count the batch's items;
pool loads feed the fairness term.

"Items apart" per resource is one cumulative of capacity 2: each holder puts
demand 2 on its meeting and 1 on each buffer. Two meetings (4), or a meeting and
another item's buffer (3), exceed it; two buffers (2) may share time (two items'
buffers may overlap, as a booking's buffers do not block). With no buffers on a
resource it is a plain no-overlap; a redundant no-overlap over the meetings
helps propagation either way.

The objective is solver.batch.objective's. Lexicographic (no explicit priority
weight), it is solved in two steps on the same model: first the most priority
that can be scheduled, costs aside, then the least cost with at least that much
scheduled. The first step is a far easier problem, so the search does not trade
items away for cost while it looks for room for one more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from solver.batch.board import LimitBook, Placement
from solver.batch.objective import TermWeights
from solver.batch.prepare import PreparedItem
from solver.batch.types import BatchStatus
from solver.domain import Directory
from solver.grid import IntArray

__all__ = ["CpOutcome", "SolverSettings", "solve_model"]

# CP-SAT's statuses in ours; MODEL_INVALID would be a bug here, so it is not mapped.
_STATUS = {
    cp_model.OPTIMAL: BatchStatus.OPTIMAL,
    cp_model.FEASIBLE: BatchStatus.FEASIBLE,
    cp_model.INFEASIBLE: BatchStatus.INFEASIBLE,
    cp_model.UNKNOWN: BatchStatus.UNKNOWN,
}


@dataclass(frozen=True)
class SolverSettings:
    """The few CP-SAT parameters the batch sets (see ``_parameters`` for the fixed ones)."""

    time_limit: float
    workers: int = 1
    seed: int = 0
    # Deterministic mode: CP-SAT's deterministic time for the whole solve (``time_limit``
    # then only guards the caller's deadline); the search is interleaved so that the
    # workers' schedule does not depend on the host's load.
    work: float | None = None


@dataclass(frozen=True)
class CpOutcome:
    """CP-SAT's answer: placements by item index when a solution was found; the
    objective and bound in ticks (with the constant term); ``work``: the
    deterministic time its solves took (what the deterministic mode charges)."""

    status: BatchStatus
    placements: dict[int, Placement] | None
    objective: int | None
    bound: int
    wall_time: float
    work: float = 0.0


# (objective ticks, bound ticks, items scheduled, seconds since the solve began)
SolutionReport = Callable[[int, int, int, float], None]


def solve_model(
    items: Sequence[PreparedItem],
    directory: Directory,
    limits: LimitBook,
    terms: TermWeights,
    hint: Mapping[int, Placement],
    settings: SolverSettings,
    *,
    explicit_priority: bool = False,
    priority_only: bool = False,
    report: SolutionReport | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> CpOutcome:
    """Best placements of ``items`` (only those with a feasible start take part).

    With ``explicit_priority`` the objective is ``terms.priority`` x priority left
    out + cost, in one solve. Otherwise ``terms.priority`` exceeds any cost and the
    objective is solved lexicographically in two solves (see the end of the body);
    ``priority_only`` stops after the first. ``limits`` gives the room left under
    booking limits (``LimitBook.capacity``).
    """
    began = time.monotonic()
    model = cp_model.CpModel()
    hints: dict[cp_model.IntVar, int] = {}
    live = [item for item in items if len(item.starts) > 0]

    # --- Variables --------------------------------------------------------------------
    present: dict[int, cp_model.IntVar] = {}
    at: dict[tuple[int, int], cp_model.IntVar] = {}
    start: dict[int, cp_model.IntVar] = {}
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for item in live:
        i = item.index
        placed = hint.get(i)
        present[i] = model.new_bool_var(f"present[{item.id}]")
        hints[present[i]] = int(placed is not None)
        for p, minute in enumerate(item.starts.tolist()):
            at[i, p] = model.new_bool_var(f"at[{item.id},{minute}]")
            hints[at[i, p]] = int(placed is not None and placed.position == p)
        start[i] = model.new_int_var_from_domain(cp_model.Domain.from_values(item.starts.tolist()),
                                                 f"start[{item.id}]")
        hints[start[i]] = int(item.starts[placed.position if placed is not None else 0])
        chosen = {(g, c) for g, picks in enumerate(placed.picks) for c in picks} if placed is not None else set()
        for k, option in enumerate(item.options):
            x[i, k] = model.new_bool_var(f"x[{item.id},{option.resource(item)}@{option.group}#{k}]")
            hints[x[i, k]] = int(placed is not None and (option.group, option.candidate) in chosen
                                 and placed.position in option.starts)

    # --- Constraints ------------------------------------------------------------------
    # A scheduled item starts at exactly one of its feasible starts; start[i] is that start.
    for item in live:
        i = item.index
        ats = [at[i, p] for p in range(len(item.starts))]
        model.add(sum(ats) == present[i])
        model.add(start[i] == cp_model.LinearExpr.weighted_sum(ats, item.starts.tolist())).only_enforce_if(present[i])

    # Each seat group gets `count` candidates when the item is scheduled, none otherwise.
    for item in live:
        i = item.index
        for g, group in enumerate(item.groups):
            takes = [x[i, k] for k, o in enumerate(item.options) if o.group == g]
            model.add(sum(takes) == group.count * present[i])

    # A candidate takes its seat only at a start where it is allowed and its option's costs hold.
    for item in live:
        i = item.index
        for k, option in enumerate(item.options):
            model.add_bool_or([at[i, p] for p in option.starts.tolist()]).only_enforce_if(x[i, k])

    # No resource fills two seats of one item; use[i, r] says the item holds r.
    use: dict[tuple[int, str], cp_model.IntVar] = {}
    for item in live:
        i = item.index
        by_resource: dict[str, list[cp_model.IntVar]] = {}
        for k, option in enumerate(item.options):
            by_resource.setdefault(option.resource(item), []).append(x[i, k])
        for resource, takes in by_resource.items():
            if len(takes) == 1:
                use[i, resource] = takes[0]
            else:
                use[i, resource] = model.new_bool_var(f"use[{item.id},{resource}]")
                model.add(sum(takes) == use[i, resource])
                hints[use[i, resource]] = sum(hints[t] for t in takes)

    # No resource is held by two items whose meeting and padded span meet (buffers included).
    holders: dict[str, list[int]] = {}
    for (i, resource) in use:
        holders.setdefault(resource, []).append(i)
    spans = {item.index: _Spans(model, item, [at[item.index, p] for p in range(len(item.starts))],
                                present[item.index], start[item.index], hints) for item in live
             if any(len(holders[r]) > 1 for r in item.resources() if r in holders)}
    for resource, held_by in holders.items():
        if len(held_by) < 2:
            continue
        cores, buffers = [], []
        for i in held_by:
            core, pre, post = spans[i].intervals(model, use[i, resource], resource)
            cores.append(core)
            buffers += [b for b in (pre, post) if b is not None]
        model.add_no_overlap(cores)
        if buffers:
            model.add_cumulative(cores + buffers, [2] * len(cores) + [1] * len(buffers), 2)

    # Booking limits: the batch's items on a member's local day (week) fit the room the bookings leave.
    periods: dict[tuple[str, bool, int], list[cp_model.IntVar]] = {}
    for item in live:
        for k, option in enumerate(item.options):
            resource = option.resource(item)
            if option.day is not None:
                periods.setdefault((resource, False, option.day), []).append(x[item.index, k])
            if option.week is not None:
                periods.setdefault((resource, True, option.week), []).append(x[item.index, k])
    for (member, weekly, key), takes in periods.items():
        room = limits.capacity(member, weekly, key)
        if len(takes) > room:
            model.add(sum(takes) <= room)

    # Pool loads: per (pool, cycle period), max_load >= each member's load >= min_load
    # (min_load is 0 while some member cannot be drawn in that period at all).
    spreads: list[tuple[cp_model.IntVar, cp_model.IntVar | int]] = []
    if terms.fairness > 0:
        load_terms: dict[tuple[str, int], dict[str, list[cp_model.IntVar]]] = {}
        for item in live:
            for k, option in enumerate(item.options):
                pool_id = item.groups[option.group].pool_id
                if option.cycle is not None and pool_id is not None:
                    per_member = load_terms.setdefault((pool_id, option.cycle), {})
                    per_member.setdefault(option.resource(item), []).append(x[item.index, k])
        for (pool_id, key), per_member in load_terms.items():
            members = directory.pools[pool_id].members
            loads = {m: sum(hints[t] for t in per_member.get(m, ())) for m in members}
            top = model.new_int_var(0, max(len(t) for t in per_member.values()), f"max_load[{pool_id},{key}]")
            hints[top] = max(loads.values())
            for takes in per_member.values():
                model.add(top >= sum(takes))
            bottom: cp_model.IntVar | int = 0  # an idle member keeps the minimum at 0
            if all(m in per_member for m in members):
                bottom = model.new_int_var(0, min(len(t) for t in per_member.values()), f"min_load[{pool_id},{key}]")
                hints[bottom] = min(loads.values())
                for takes in per_member.values():
                    model.add(bottom <= sum(takes))
            spreads.append((top, bottom))

    # --- Objective --------------------------------------------------------------------
    # Priority left unscheduled first (by its weight), then seat, conflict, fairness, earliness and move costs.
    left_out = sum(item.priority for item in items)
    unscheduled = left_out - cp_model.LinearExpr.weighted_sum([present[i.index] for i in live],
                                                              [i.priority for i in live])
    variables: list[cp_model.IntVar] = []
    coefficients: list[int] = []
    for item in live:
        i = item.index
        for k, option in enumerate(item.options):
            price = (option.seat_cost + option.conflict_cost) * terms.per_milli
            if price:
                variables.append(x[i, k])
                coefficients.append(price)
        if terms.earliness or (terms.move and item.moves.any()):
            # What a start costs by itself: earliness, and a move of a movable item's booking.
            variables += [at[i, p] for p in range(len(item.starts))]
            coefficients += terms.start_costs(item).tolist()
    cost = cp_model.LinearExpr.weighted_sum(variables, coefficients)
    for top, bottom in spreads:
        cost += terms.fairness * (top - bottom)

    def read(solver: cp_model.CpSolver) -> dict[int, Placement]:
        placements: dict[int, Placement] = {}
        for item in live:
            i = item.index
            if not solver.boolean_value(present[i]):
                continue
            picks: list[list[int]] = [[] for _ in item.groups]
            for k, option in enumerate(item.options):
                if solver.boolean_value(x[i, k]):
                    picks[option.group].append(option.candidate)
            position = next(p for p in range(len(item.starts)) if solver.boolean_value(at[i, p]))
            placements[i] = Placement(position, tuple(tuple(sorted(p)) for p in picks))
        return placements

    # --- Solve and read the result ----------------------------------------------------
    if not live:  # nothing to place: the empty schedule is optimal
        empty = terms.priority * left_out
        return CpOutcome(BatchStatus.OPTIMAL, {}, empty, empty, time.monotonic() - began)
    stop = began + settings.time_limit
    run = _Runner(model, list(present.values()), unscheduled, cost, terms.priority, report, cancelled, settings)
    hint_left_out = left_out - sum(item.priority for item in live if item.index in hint)
    if explicit_priority:
        # One objective: the analyst's priority weight trades priority against cost.
        found = run.solve(hints, stop, phase=None)
        return found.outcome(read, began)
    if priority_only:
        return run.solve(hints, stop, phase="priority").outcome(read, began)

    # Lexicographic in two solves. 1: the most priority that can be scheduled (costs
    # ignored: a much easier problem); skipped when the hint leaves nothing out.
    best, proven = hint_left_out, hint_left_out == 0
    start_from = hints
    used = 0.0  # deterministic time of the first solve
    if not proven:
        # With a work limit, the clock only guards the deadline: the work splits the solves.
        first = run.solve(hints, began + (stop - began) * 2 / 3 if settings.work is None else stop, phase="priority",
                          work=None if settings.work is None else settings.work * 2 / 3)
        if first.values is not None and first.left_out is not None and first.left_out <= best:
            best, start_from = first.left_out, first.values if first.left_out < best else hints
        proven = first.status is BatchStatus.OPTIMAL
        used = first.solver.response_proto.deterministic_time
    # 2: the least cost among schedules leaving at most that much out (then, while
    # that is not proven least, less left out still counts first).
    model.add(unscheduled <= best)
    second = run.solve(start_from, stop, phase="cost" if proven else None, left_out=best if proven else None,
                       work=None if settings.work is None else max(0.01, settings.work - used))
    return second.outcome(read, began, used)


@dataclass
class _Solved:
    status: BatchStatus
    solver: cp_model.CpSolver
    values: dict[cp_model.IntVar, int] | None  # every variable, when a solution was found
    objective: int | None  # ticks of the whole objective (priority weight x left out + cost)
    bound: int
    left_out: int | None

    def outcome(self, read: Callable[[cp_model.CpSolver], dict[int, Placement]], began: float,
                before: float = 0.0) -> CpOutcome:
        """The outcome, ``before``: the deterministic time of an earlier solve of the same model."""
        wall = time.monotonic() - began
        work = before + self.solver.response_proto.deterministic_time
        if self.values is None:
            return CpOutcome(self.status, None, None, self.bound, wall, work)
        return CpOutcome(self.status, read(self.solver), self.objective, self.bound, wall, work)


class _Runner:
    """Solves the model under one objective at a time, reporting in whole-objective ticks."""

    def __init__(self, model: cp_model.CpModel, present: list[cp_model.IntVar], unscheduled: cp_model.LinearExpr,
                 cost: cp_model.LinearExpr, priority: int, report: SolutionReport | None,
                 cancelled: Callable[[], bool] | None, settings: SolverSettings) -> None:
        self.model = model
        self.present = present
        self.unscheduled = unscheduled
        self.cost = cost
        self.priority = priority
        self.report = report
        self.cancelled = cancelled
        self.settings = settings

    def solve(self, hints: Mapping[cp_model.IntVar, int], stop: float, *, phase: str | None,
              left_out: int | None = None, work: float | None = None) -> _Solved:
        """``phase`` "priority": minimize what is left out; "cost": minimize cost with
        ``left_out`` proven least; None: the whole objective."""
        model = self.model
        if phase == "priority":
            model.minimize(self.unscheduled)
        elif phase == "cost":
            model.minimize(self.cost)
        else:
            model.minimize(self.priority * self.unscheduled + self.cost)
        model.clear_hints()  # type: ignore[no-untyped-call]
        for var, value in hints.items():
            model.add_hint(var, value)
        solver = cp_model.CpSolver()
        _parameters(solver, self.settings, stop - time.monotonic(), presolve=phase == "priority",
                    work=self.settings.work if work is None else work)

        def whole(objective: float, bound: float, left: int | None) -> tuple[int, int]:
            # This solve's objective and bound in whole-objective ticks.
            if phase == "priority":
                return self.priority * round(objective) + (left or 0), self.priority * int(np.ceil(bound))
            if phase == "cost":
                assert left_out is not None
                return self.priority * left_out + round(objective), self.priority * left_out + int(np.ceil(bound))
            return round(objective), int(np.ceil(bound))

        callback = _OnSolution(self, whole)
        status = _STATUS.get(_solve_until_cancelled(solver, model, callback, self.cancelled), BatchStatus.UNKNOWN)
        if status not in (BatchStatus.OPTIMAL, BatchStatus.FEASIBLE):
            return _Solved(status, solver, None, None, whole(0, solver.best_objective_bound, 0)[1], None)
        values = {var: solver.value(var) for var in hints}
        left = round(solver.value(self.unscheduled))
        cost = round(solver.value(self.cost))
        objective, bound = whole(solver.objective_value, solver.best_objective_bound, cost)
        return _Solved(status, solver, values, objective, bound, left)


class _OnSolution(cp_model.CpSolverSolutionCallback):
    """Reports each improved solution; stops the search when the caller cancels."""

    def __init__(self, runner: _Runner, whole: Callable[[float, float, int | None], tuple[int, int]]) -> None:
        super().__init__()
        self._runner = runner
        self._whole = whole

    def on_solution_callback(self) -> None:
        runner = self._runner
        if runner.report is not None:
            scheduled = sum(1 for v in runner.present if self.boolean_value(v))
            objective, bound = self._whole(self.objective_value, self.best_objective_bound,
                                           round(self.value(runner.cost)))
            runner.report(objective, bound, scheduled, self.wall_time)
        if runner.cancelled is not None and runner.cancelled():
            self.stop_search()


# How often a running search looks at the caller's cancel flag (between improving solutions too).
_CANCEL_POLL_SECONDS = 0.1


def _solve_until_cancelled(solver: cp_model.CpSolver, model: cp_model.CpModel, callback: _OnSolution,
                           cancelled: Callable[[], bool] | None) -> cp_model.CpSolverStatus:
    """``solver.solve``, stopped within ``_CANCEL_POLL_SECONDS`` of ``cancelled()`` turning true,
    not only at the next improving solution (a search may find none for a long time)."""
    if cancelled is None:
        return solver.solve(model, callback)
    done = threading.Event()

    def watch() -> None:
        # Asked again at every poll: a stop asked before the search began would be lost.
        while not done.wait(_CANCEL_POLL_SECONDS):
            if cancelled():
                solver.stop_search()

    watcher = threading.Thread(target=watch, name="batch-cancel-watch", daemon=True)
    watcher.start()
    try:
        return solver.solve(model, callback)
    finally:
        done.set()
        watcher.join()


def _parameters(solver: cp_model.CpSolver, settings: SolverSettings, seconds: float, *, presolve: bool,
                work: float | None = None) -> None:
    """Presolve tuned for these models (measured on bench/batch_instances.py):

    - Searching for more scheduled priority (costs aside), presolve is kept but
      short: one pass, no probing, no symmetry search. Full presolve spends
      seconds on these large, mostly-Boolean models (probing alone took 8 s of 10
      on batch-150) before the hint even counts; with no presolve at all the
      search rarely finds room for the last items.
    - Minimizing cost (or priority and cost together, with an explicit priority
      weight), presolve is off: the root LP then keeps the seat-count and
      booking-limit rows as written and bounds the cost far higher (1,555 against
      731 points after 10 s on batch-150), and the hint is the first solution at once.
    """
    params = solver.parameters
    params.max_time_in_seconds = max(0.01, seconds)
    params.num_workers = max(1, settings.workers)
    params.random_seed = settings.seed
    if work is not None:
        # Deterministic: the work limit stops the search, the same on any host at any load.
        params.max_deterministic_time = max(0.01, work)
        params.interleave_search = True
    params.cp_model_presolve = presolve
    params.cp_model_probing_level = 0
    params.max_presolve_iterations = 1
    params.symmetry_level = 0


class _Spans:
    """Item i's meeting and buffers on the batch grid, as expressions of its start.

    When every start lies at the same offset from the grid, each bound is the
    start plus a constant; otherwise (a zone whose offset is not a multiple of
    the grid) each bound is its own variable, read from a table by position.
    """

    def __init__(self, model: cp_model.CpModel, item: PreparedItem, ats: list[cp_model.IntVar],
                 present: cp_model.IntVar, start: cp_model.IntVar, hints: dict[cp_model.IntVar, int]) -> None:
        self.item = item
        self.bounds: dict[str, cp_model.LinearExprT] = {}
        self.sizes: dict[str, cp_model.LinearExprT] = {}
        arrays = {"pre_lo": item.pre_lo, "core_lo": item.core_lo, "core_hi": item.core_hi, "post_hi": item.post_hi}
        offsets = {name: values - item.starts for name, values in arrays.items()}
        self.affine = all(len(np.unique(o)) == 1 for o in offsets.values())
        taken = next((p for p, v in enumerate(ats) if hints[v]), 0)

        def by_start(values: IntArray, name: str) -> cp_model.IntVar:
            # values[p] when the item starts at its p-th start (any of them when unscheduled).
            var = model.new_int_var_from_domain(cp_model.Domain.from_values(values.tolist()), f"{name}[{item.id}]")
            model.add(var == cp_model.LinearExpr.weighted_sum(ats, values.tolist())).only_enforce_if(present)
            hints[var] = int(values[taken])
            return var

        for name, values in arrays.items():
            self.bounds[name] = start + int(offsets[name][0]) if self.affine else by_start(values, name)
        for name, (lo, hi) in {"pre": ("pre_lo", "core_lo"), "core": ("core_lo", "core_hi"),
                               "post": ("core_hi", "post_hi")}.items():
            size = arrays[hi] - arrays[lo]
            self.sizes[name] = int(size[0]) if len(np.unique(size)) == 1 else by_start(size, name)

    def intervals(self, model: cp_model.CpModel, held: cp_model.IntVar, resource: str) -> tuple[
            cp_model.IntervalVar, cp_model.IntervalVar | None, cp_model.IntervalVar | None]:
        """The (meeting, pre-buffer, post-buffer) intervals of the item on ``resource``,
        present when it holds it; a buffer that is always empty is None."""
        name = f"{self.item.id},{resource}"
        out: list[cp_model.IntervalVar | None] = []
        for part, (lo, hi) in (("core", ("core_lo", "core_hi")), ("pre", ("pre_lo", "core_lo")),
                               ("post", ("core_hi", "post_hi"))):
            size = self.sizes[part]
            if part != "core" and isinstance(size, int) and size == 0:
                out.append(None)
            elif isinstance(size, int):
                out.append(model.new_optional_fixed_size_interval_var(self.bounds[lo], size, held, f"{part}[{name}]"))
            else:
                out.append(model.new_optional_interval_var(self.bounds[lo], size, self.bounds[hi], held,
                                                           f"{part}[{name}]"))
        core, pre, post = out
        assert core is not None
        return core, pre, post
