"""Cheapest assignment of unit seats at every candidate start.

Input: per unit seat, its candidates' resource rows and ``cost[c, s]``
(``INFEASIBLE`` where the candidate may not take the seat at start ``s``).
Output per start: whether every unit seat can get a distinct candidate, the
candidate position chosen for each unit, and the total cost. Among the
cheapest assignments the one with the lexicographically smallest vector of
candidate positions (units in request order) wins.

Units that share no resource are independent, so the work splits into
components of units linked by shared candidates:
- a single unit: a vectorized argmin over its candidates, all starts at once;
- any component, at starts where filling the units in request order, each with
  its cheapest candidate still free, reaches the sum of the per-unit minima (a
  lower bound): that greedy choice is the answer, found vectorized;
- k units of one pool seat (same candidates, same costs): the k cheapest, in
  position order, also vectorized;
- everything else: one exact solve per distinct pattern of costs, shared by
  every start with that pattern. At one start the problem is a min-cost
  assignment, so a min-cost flow answers it (solver/matching.py, tie-break
  included); CP-SAT, the general solver, takes the patterns whose costs are too
  wide for int64 flows, and is the reference the tests compare with
  (``exact=Exact.CP_SAT``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from ortools.sat.python import cp_model

from solver.grid import BoolArray, IntArray
from solver.matching import Unrepresentable, cheapest_assignment, some_assignments
from solver.seats import INFEASIBLE

__all__ = ["Assigned", "DeadlineExceeded", "Exact", "SeatCosts", "assign"]


class Exact(StrEnum):
    """How the starts whose seats interact are solved."""

    MATCHING = "matching"  # min-cost flow; CP-SAT only where costs do not fit int64 flows
    CP_SAT = "cp-sat"  # CP-SAT for every pattern: the reference


class DeadlineExceeded(TimeoutError):
    """The deadline passed (or the call was cancelled) before every start was decided."""


@dataclass(frozen=True)
class SeatCosts:
    """One unit seat: ``rows[c]`` is candidate c's resource row, ``cost[c, s]`` its cost at start s."""

    rows: IntArray
    cost: IntArray


@dataclass(frozen=True)
class Assigned:
    """Per start ``s``: ``feasible[s]``; ``choice[u, s]`` the position chosen for unit u
    (-1 when infeasible); ``total[s]`` the summed cost; ``decided[s]`` False when
    the deadline stopped the work before start s was solved."""

    feasible: BoolArray
    choice: IntArray
    total: IntArray
    decided: BoolArray


def assign(
    units: Sequence[SeatCosts],
    n_starts: int,
    *,
    deadline: float | None = None,
    cancelled: Callable[[], bool] | None = None,
    exact: Exact = Exact.MATCHING,
) -> Assigned:
    """The cheapest assignment at every start (see the module docstring)."""
    choice = np.full((len(units), n_starts), -1, dtype=np.int64)
    feasible = np.ones(n_starts, dtype=np.bool_)
    decided = np.ones(n_starts, dtype=np.bool_)
    for component in _components(units):
        part = [units[u] for u in component]
        sub_choice, sub_feasible, sub_decided = _solve_component(part, n_starts, deadline, cancelled, exact)
        choice[component] = sub_choice
        feasible &= sub_feasible
        decided &= sub_decided
    choice[:, ~feasible] = -1
    total = np.zeros(n_starts, dtype=np.int64)
    for u, unit in enumerate(units):
        picked = np.clip(choice[u], 0, None)
        if len(unit.rows):
            total += np.where(feasible, unit.cost[picked, np.arange(n_starts)], 0)
    return Assigned(feasible & decided, choice, total, decided)


def _components(units: Sequence[SeatCosts]) -> list[list[int]]:
    """Groups of units linked by a shared candidate resource (union-find)."""
    parent = list(range(len(units)))

    def find(u: int) -> int:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    owner: dict[int, int] = {}
    for u, unit in enumerate(units):
        for r in unit.rows.tolist():
            if r in owner:
                parent[find(u)] = find(owner[r])
            else:
                owner[r] = u
    groups: dict[int, list[int]] = {}
    for u in range(len(units)):
        groups.setdefault(find(u), []).append(u)
    return list(groups.values())


def _solve_component(
    units: list[SeatCosts], n: int, deadline: float | None, cancelled: Callable[[], bool] | None, exact: Exact,
) -> tuple[IntArray, BoolArray, BoolArray]:
    k = len(units)
    choice = np.full((k, n), -1, dtype=np.int64)
    decided = np.ones(n, dtype=np.bool_)
    if any(len(u.rows) == 0 for u in units):
        return choice, np.zeros(n, dtype=np.bool_), decided

    # Each unit's own cheapest candidate (argmin takes the lowest position on ties).
    own = np.stack([np.argmin(u.cost, axis=0) for u in units])
    own_cost = np.stack([u.cost[own[i], np.arange(n)] for i, u in enumerate(units)])
    feasible: BoolArray = np.asarray((own_cost < INFEASIBLE).all(axis=0), dtype=np.bool_)
    if k == 1:
        choice[0] = np.where(feasible, own[0], -1)
        return choice, feasible, decided

    starts = np.flatnonzero(feasible)
    greedy, upper = _greedy(units, starts)
    lower = own_cost[:, starts].sum(axis=0)
    # Where the greedy reaches the lower bound it is the answer, tie-break included: each
    # unit took, in request order, the lowest position among the cheapest still free.
    settled = upper == lower
    choice[:, starts[settled]] = greedy[:, settled]
    todo, upper = starts[~settled], upper[~settled]
    if len(todo) == 0:
        return choice, feasible, decided

    if _same_pool(units):
        picked, ok = _k_cheapest(units[0].cost[:, todo], k)
        choice[:, todo] = np.where(ok, picked, -1)
        feasible[todo] = ok
        return choice, feasible, decided

    _exact(units, todo, upper, choice, feasible, decided, deadline, cancelled, exact)
    return choice, feasible, decided


def _exact(
    units: list[SeatCosts], todo: IntArray, upper: IntArray, choice: IntArray, feasible: BoolArray,
    decided: BoolArray, deadline: float | None, cancelled: Callable[[], bool] | None, exact: Exact,
) -> None:
    """The exact assignment at the starts ``todo``, one solve per distinct pattern of kept candidates.

    A candidate that can be in no optimal assignment is dropped first. Units with the
    same candidates and costs (a pool seat's) form a group; a group of q units pays at
    least its q cheapest candidates, and the sum over groups (``lower``) bounds every
    assignment from below, while a greedy one (``upper``) bounds the optimum from above.
    A unit taking candidate c makes its group pay at least ``cost(c) - floor`` more than
    its bound (``floor``: the group's q-th cheapest), so a candidate costing more than
    ``floor + upper - lower`` is in no optimal assignment. Every optimal assignment
    survives, so the answer, tie-break included, is unchanged, while problems shrink and
    more starts share a pattern. Where the greedy ran out of candidates, some assignment
    found by a maximum flow is the bound instead (or there is none, and the start is not
    available).
    """
    # Unit u's candidate at position j is resource res[u, j] (a node of this component).
    sizes = [len(unit.rows) for unit in units]
    width = max(sizes)
    positions = np.arange(width)
    present = positions[None, :] < np.array(sizes)[:, None]
    resource_ids, nodes = np.unique(np.concatenate([unit.rows for unit in units]), return_inverse=True)
    res = np.zeros((len(units), width), dtype=np.int64)
    res[present] = nodes

    # Where the greedy ran out of candidates, one maximum flow over all those starts tells
    # which have an assignment at all, and gives one: its cost bounds theirs.
    short = np.flatnonzero(upper >= INFEASIBLE)
    if len(short):
        cost3 = np.full((len(units), width, len(short)), INFEASIBLE, dtype=np.int64)
        for i, unit in enumerate(units):
            cost3[i, :sizes[i]] = unit.cost[:, todo[short]]
        has, pick = some_assignments(res, cost3 < INFEASIBLE, len(resource_ids))
        picked_cost = np.take_along_axis(cost3, np.clip(pick, 0, None)[:, None, :], axis=1)[:, 0, :]
        upper = upper.copy()
        upper[short[has]] = picked_cost[:, has].sum(axis=0)
        feasible[todo[short[~has]]] = False
        keep = np.ones(len(todo), dtype=np.bool_)
        keep[short[~has]] = False
        todo, upper = todo[keep], upper[keep]
        if len(todo) == 0:
            return

    floor, lower = _group_floors(units, todo)
    slack = upper - lower
    kept = np.concatenate([
        np.where((col < INFEASIBLE) & (col <= floor[i] + slack), col, INFEASIBLE)
        for i, col in enumerate(unit.cost[:, todo] for unit in units)
    ])
    # One row per start: its kept costs, unit after unit. Equal rows share one solve.
    by_start = np.ascontiguousarray(kept.T)
    keys = by_start.view(np.dtype((np.void, by_start.dtype.itemsize * by_start.shape[1]))).ravel()
    _, first, which = np.unique(keys, return_index=True, return_inverse=True)

    # Unit u's candidate at position j sits at flat[u, j] of a start's row (the pad: one past the end).
    offsets = np.cumsum([0, *sizes[:-1]])
    flat = np.where(present, offsets[:, None] + positions[None, :], len(kept))

    answers = np.full((len(units), len(first)), -1, dtype=np.int64)
    solved = np.zeros(len(first), dtype=np.bool_)
    found = np.zeros(len(first), dtype=np.bool_)
    try:
        for p, j in enumerate(first.tolist()):
            _check_time(deadline, cancelled)
            cost = np.append(by_start[j], INFEASIBLE)[flat]
            picked = _solve_pattern(res, cost, len(resource_ids), deadline, exact)
            solved[p] = True
            if picked is not None:
                found[p] = True
                answers[:, p] = picked
    except DeadlineExceeded:
        pass
    decided[todo] = solved[which]
    feasible[todo] = found[which]
    choice[:, todo] = np.where(found[which], answers[:, which], -1)


def _group_floors(units: list[SeatCosts], starts: IntArray) -> tuple[IntArray, IntArray]:
    """Per unit and start, its group's q-th cheapest cost (``floor``), and the sum over groups of
    their q cheapest costs (``lower``, clipped at INFEASIBLE). A group: consecutive units with
    the same candidates and costs (q of them)."""
    floor = np.zeros((len(units), len(starts)), dtype=np.int64)
    lower = np.zeros(len(starts), dtype=np.int64)
    u = 0
    while u < len(units):
        q = 1
        while u + q < len(units) and _same_unit(units[u], units[u + q]):
            q += 1
        cost = units[u].cost[:, starts]
        if len(cost) < q:
            cheapest = np.full((q, len(starts)), INFEASIBLE, dtype=np.int64)
        else:
            cheapest = np.partition(cost, q - 1, axis=0)[:q] if q > 1 else cost.min(axis=0, keepdims=True)
        floor[u:u + q] = cheapest.max(axis=0)
        lower = np.minimum(lower + np.minimum(cheapest.sum(axis=0), INFEASIBLE), INFEASIBLE)
        u += q
    return floor, lower


def _solve_pattern(res: IntArray, cost: IntArray, n_resources: int, deadline: float | None,
                   exact: Exact) -> IntArray | None:
    """Positions per unit of the exact assignment for one pattern, or None when there is none.

    Unit u's candidate at position j is resource ``res[u, j]`` at ``cost[u, j]``
    (INFEASIBLE: not a candidate here).
    """
    allowed = cost < INFEASIBLE
    if exact is Exact.MATCHING:
        try:
            return cheapest_assignment(res, cost, allowed, n_resources)
        except Unrepresentable:
            pass  # costs wider than int64 flows can rank: CP-SAT, which takes any size, decides
    if not _has_assignment(res, allowed):
        return None
    return _cp_sat(res, cost, allowed, deadline)


def _has_assignment(res: IntArray, allowed: BoolArray) -> bool:
    """Whether some assignment gives every unit a distinct allowed candidate.

    Kuhn's augmenting paths: a few units and tens of candidates make this far cheaper
    than letting CP-SAT prove infeasibility, which it does by search.
    """
    owner: dict[int, int] = {}  # resource -> unit holding it
    options = [res[u, np.flatnonzero(allowed[u])].tolist() for u in range(len(res))]

    def augment(u: int, seen: set[int]) -> bool:
        for row in options[u]:
            if row in seen:
                continue
            seen.add(row)
            if row not in owner or augment(owner[row], seen):
                owner[row] = u
                return True
        return False

    return all(augment(u, set()) for u in range(len(res)))


def _check_time(deadline: float | None, cancelled: Callable[[], bool] | None) -> None:
    if (deadline is not None and time.monotonic() > deadline) or (cancelled is not None and cancelled()):
        raise DeadlineExceeded("stopped before every start was decided")


def _greedy(units: list[SeatCosts], starts: IntArray) -> tuple[IntArray, IntArray]:
    """Fill the units in request order, each with its cheapest candidate not yet taken (lowest
    position on ties), at every start of ``starts``: (positions per unit, total cost), the
    total INFEASIBLE where that runs out of candidates. The total is an upper bound."""
    n = len(starts)
    n_rows = int(max(int(u.rows.max(initial=0)) for u in units)) + 1
    taken = np.zeros((n_rows, n), dtype=np.bool_)
    picks = np.zeros((len(units), n), dtype=np.int64)
    total = np.zeros(n, dtype=np.int64)
    ok = np.ones(n, dtype=np.bool_)
    cols = np.arange(n)
    for i, unit in enumerate(units):
        cost = np.where(taken[unit.rows], INFEASIBLE, unit.cost[:, starts])
        pick = np.argmin(cost, axis=0)
        best = cost[pick, cols]
        ok &= best < INFEASIBLE
        total += np.where(ok, best, 0)
        taken[unit.rows[pick], cols] |= ok
        picks[i] = pick
    return picks, np.where(ok, total, INFEASIBLE)


# CP-SAT proves optimality against bounds it keeps in doubles: past 2^53 the objective's
# last digits (the tie-break of the last units) are lost and OPTIMAL can be a few units
# off (measured: 93 of 425 starts of a 12-unit week had the last pool's members out of
# order at 2^62). Below 2^53 every objective value is exact in a double.
_EXACT_IN_DOUBLE = 2**53


def _units_that_fit(sizes: list[int], base: int, cost_weight: int) -> int:
    """The most leading units whose ranks fit one objective with the cost term (weighted
    ``base^g``) while every objective value stays exact in a double."""
    best = 0
    for g in range(1, len(sizes) + 1):
        ranks = sum(base ** (g - 1 - i) * size * (size - 1) // 2 for i, size in enumerate(sizes[:g]))
        if cost_weight * base**g + ranks >= _EXACT_IN_DOUBLE:
            break
        best = g
    return best


def _same_unit(a: SeatCosts, b: SeatCosts) -> bool:
    """Same candidates at the same costs (the units of one pool seat share their arrays)."""
    return (a.rows is b.rows or np.array_equal(a.rows, b.rows)) and (a.cost is b.cost or np.array_equal(a.cost, b.cost))


def _same_pool(units: list[SeatCosts]) -> bool:
    return all(_same_unit(units[0], u) for u in units[1:])


def _k_cheapest(cost: IntArray, k: int) -> tuple[IntArray, BoolArray]:
    """Per column: the k cheapest positions (ties to the lower position), in position order."""
    if cost.shape[0] < k:  # fewer candidates than seats: never fillable
        return np.full((k, cost.shape[1]), -1, dtype=np.int64), np.zeros(cost.shape[1], dtype=np.bool_)
    order = np.argsort(cost, axis=0, kind="stable")[:k]
    ok = np.asarray((np.take_along_axis(cost, order, axis=0) < INFEASIBLE).all(axis=0), dtype=np.bool_)
    return np.sort(order, axis=0), ok


def _cp_sat(res: IntArray, cost: IntArray, allowed: BoolArray, deadline: float | None) -> IntArray | None:
    """Exact assignment at one start: minimum cost, then lexicographically smallest
    positions. Unit u's candidate at position j is resource ``res[u, j]`` at
    ``cost[u, j]``, where ``allowed[u, j]``.

    (Measured: one model per pattern beats packing many patterns into one model,
    whose huge tie-break coefficients slow CP-SAT down by orders of magnitude.)
    """
    model = cp_model.CpModel()
    # x[u, i] is 1 when the i-th allowed candidate of unit u (in position order) fills unit u.
    options = [np.flatnonzero(row) for row in allowed]
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for u, kept in enumerate(options):
        for i in range(len(kept)):
            x[u, i] = model.new_bool_var(f"x[{u},{i}]")

    # Each unit seat gets exactly one candidate.
    for u, kept in enumerate(options):
        model.add_exactly_one(x[u, i] for i in range(len(kept)))

    # No resource fills two unit seats.
    by_row: dict[int, list[cp_model.IntVar]] = {}
    for (u, i), var in x.items():
        by_row.setdefault(int(res[u, options[u][i]]), []).append(var)
    for group in by_row.values():
        if len(group) > 1:
            model.add_at_most_one(group)

    # Minimize cost; among equal costs, earlier units take earlier positions. Folded into
    # as few int64 objectives as CP-SAT accepts: the first pass minimizes
    # cost * base^g + sum(rank_u * base^(g-1-u)) over the first g units; each later pass
    # fixes what is decided and ranks the next units. Usually one pass does it all.
    k = len(options)
    sizes = [len(kept) for kept in options]
    base = max(sizes) + 1
    cost_expr = sum(int(cost[u, options[u][i]]) * var for (u, i), var in x.items())
    cost_weight = sum(int(cost[u, kept].sum()) for u, kept in enumerate(options))  # CP-SAT bounds sum |coef| * |var|
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # small models: one worker is fastest and deterministic
    # Measured on pool-heavy panels: presolve costs more than it saves, and the full LP
    # relaxation (integral for assignment problems) proves optimality 10-20x sooner.
    solver.parameters.cp_model_presolve = False
    solver.parameters.linearization_level = 2
    done = 0
    first = True
    while first or done < k:
        g = _units_that_fit(sizes[done:], base, cost_weight if first else 0)
        objective = (cost_expr * base**g if first else 0) + sum(
            j * base ** (g - 1 - i) * x[done + i, j] for i in range(g) for j in range(sizes[done + i]))
        model.minimize(objective)
        if deadline is not None:
            solver.parameters.max_time_in_seconds = max(0.001, deadline - time.monotonic())
        status = solver.solve(model)
        if status == cp_model.INFEASIBLE:
            return None
        if status == cp_model.MODEL_INVALID:
            raise RuntimeError(f"assignment model rejected: {model.validate()}")
        if status != cp_model.OPTIMAL:
            raise DeadlineExceeded("the assignment solver hit the deadline")
        first, done = False, done + g
        if done < k:
            # Fix what this pass decided (exactly: objective_value is a float); the next
            # pass ranks the following units.
            model.add(objective == solver.value(objective))
    picked = np.full(k, -1, dtype=np.int64)
    for (u, i), var in x.items():
        if solver.boolean_value(var):
            picked[u] = options[u][i]
    return picked
