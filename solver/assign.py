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
- any component, at starts where each unit's own cheapest candidate is
  distinct from the others': that choice is optimal (it reaches the sum of the
  per-unit minima, a lower bound), found vectorized;
- k units of one pool seat (same candidates, same costs): the k cheapest, in
  position order, also vectorized;
- everything else: CP-SAT, one model per distinct pattern of costs, shared by
  every start with that pattern.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from solver.grid import BoolArray, IntArray
from solver.seats import INFEASIBLE

__all__ = ["Assigned", "DeadlineExceeded", "SeatCosts", "assign"]


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
) -> Assigned:
    """The cheapest assignment at every start (see the module docstring)."""
    choice = np.full((len(units), n_starts), -1, dtype=np.int64)
    feasible = np.ones(n_starts, dtype=np.bool_)
    decided = np.ones(n_starts, dtype=np.bool_)
    for component in _components(units):
        part = [units[u] for u in component]
        sub_choice, sub_feasible, sub_decided = _solve_component(part, n_starts, deadline, cancelled)
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
    units: list[SeatCosts], n: int, deadline: float | None, cancelled: Callable[[], bool] | None
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

    rows = np.stack([u.rows[own[i]] for i, u in enumerate(units)])
    clash = np.zeros(n, dtype=np.bool_)
    for i in range(k):
        for j in range(i + 1, k):
            clash |= rows[i] == rows[j]
    settled = feasible & ~clash
    choice[:, settled] = own[:, settled]
    todo = np.flatnonzero(feasible & clash)
    if len(todo) == 0:
        return choice, feasible, decided

    if _same_pool(units):
        picked, ok = _k_cheapest(units[0].cost[:, todo], k)
        choice[:, todo] = np.where(ok, picked, -1)
        feasible[todo] = ok
        return choice, feasible, decided

    _exact(units, todo, own_cost, choice, feasible, decided, deadline, cancelled)
    return choice, feasible, decided


def _exact(
    units: list[SeatCosts], todo: IntArray, own_cost: IntArray, choice: IntArray, feasible: BoolArray,
    decided: BoolArray, deadline: float | None, cancelled: Callable[[], bool] | None,
) -> None:
    """CP-SAT for the starts ``todo``: one model per distinct pattern of kept candidates.

    A candidate that can be in no optimal assignment is dropped first: an optimal
    assignment costs at most a greedy one (``upper``), so no unit pays more than its
    own minimum plus ``upper - lower`` (``lower``: every unit at its own minimum).
    Every optimal assignment survives, so the answer, tie-break included, is unchanged,
    while models shrink and more starts share a pattern.
    """
    upper = _greedy_total(units, todo)
    lower = own_cost[:, todo].sum(axis=0)
    patterns: dict[bytes, list[IntArray]] = {}  # key -> kept candidates per unit (positions; costs)
    key_of: list[bytes | None] = []  # None: no assignment exists at that start
    for j, s in enumerate(todo.tolist()):
        if upper[j] >= INFEASIBLE:
            # The greedy ran out of candidates; a matching tells whether any assignment exists.
            matched = _perfect_matching(units, s)
            if matched is None:
                key_of.append(None)
                continue
            upper[j] = sum(int(u.cost[c, s]) for u, c in zip(units, matched, strict=True))
        kept: list[IntArray] = []
        for i, unit in enumerate(units):
            col = unit.cost[:, s]
            kept.append(np.flatnonzero((col < INFEASIBLE) & (col <= own_cost[i, s] + (upper[j] - lower[j]))))
        key = b"|".join(k.tobytes() + units[i].cost[k, s].tobytes() for i, k in enumerate(kept))
        key_of.append(key)
        if key not in patterns:
            patterns[key] = [np.stack([k, units[i].cost[k, s]]) for i, k in enumerate(kept)]

    answers: dict[bytes, IntArray | None] = {}
    try:
        for key, block in patterns.items():
            _check_time(deadline, cancelled)
            answers[key] = _cp_sat(units, block, deadline)
    except DeadlineExceeded:
        pass
    for j, s in enumerate(todo.tolist()):
        found = key_of[j]
        if found is None:
            feasible[s] = False
            continue
        if found not in answers:
            decided[s] = False
            feasible[s] = False
            continue
        answer = answers[found]
        if answer is None:
            feasible[s] = False
        else:
            choice[:, s] = answer


def _perfect_matching(units: list[SeatCosts], s: int) -> list[int] | None:
    """Some assignment of distinct free candidates to every unit at start ``s``, or None.

    Kuhn's augmenting paths: a few units and tens of candidates make this far cheaper
    than letting CP-SAT prove infeasibility, which it does by search.
    """
    owner: dict[int, int] = {}  # resource row -> unit holding it
    pick: list[int] = [-1] * len(units)
    options = [np.flatnonzero(u.cost[:, s] < INFEASIBLE).tolist() for u in units]

    def augment(u: int, seen: set[int]) -> bool:
        for c in options[u]:
            row = int(units[u].rows[c])
            if row in seen:
                continue
            seen.add(row)
            if row not in owner or augment(owner[row], seen):
                owner[row] = u
                pick[u] = c
                return True
        return False

    for u in range(len(units)):
        if not augment(u, set()):
            return None
    return pick


def _check_time(deadline: float | None, cancelled: Callable[[], bool] | None) -> None:
    if (deadline is not None and time.monotonic() > deadline) or (cancelled is not None and cancelled()):
        raise DeadlineExceeded("stopped before every start was decided")


def _greedy_total(units: list[SeatCosts], todo: IntArray) -> IntArray:
    """Cost of filling the units in order, each with its cheapest candidate not yet taken
    (INFEASIBLE where that runs out), at every start of ``todo``: an upper bound."""
    n = len(todo)
    n_rows = int(max(int(u.rows.max(initial=0)) for u in units)) + 1
    taken = np.zeros((n_rows, n), dtype=np.bool_)
    total = np.zeros(n, dtype=np.int64)
    ok = np.ones(n, dtype=np.bool_)
    cols = np.arange(n)
    for unit in units:
        cost = np.where(taken[unit.rows], INFEASIBLE, unit.cost[:, todo])
        pick = np.argmin(cost, axis=0)
        best = cost[pick, cols]
        ok &= best < INFEASIBLE
        total += np.where(ok, best, 0)
        taken[unit.rows[pick], cols] |= ok
    return np.where(ok, total, INFEASIBLE)


_INT_LIMIT = 2**62


def _units_that_fit(sizes: list[int], base: int, cost_weight: int) -> int:
    """The most leading units whose ranks fit one objective with the cost term (weighted
    ``base^g``): CP-SAT refuses an objective whose sum of |coefficient| can overflow."""
    best = 0
    for g in range(1, len(sizes) + 1):
        ranks = sum(base ** (g - 1 - i) * size * (size - 1) // 2 for i, size in enumerate(sizes[:g]))
        if cost_weight * base**g + ranks >= _INT_LIMIT:
            break
        best = g
    return best


def _same_pool(units: list[SeatCosts]) -> bool:
    first = units[0]
    return all(np.array_equal(u.rows, first.rows) and np.array_equal(u.cost, first.cost) for u in units[1:])


def _k_cheapest(cost: IntArray, k: int) -> tuple[IntArray, BoolArray]:
    """Per column: the k cheapest positions (ties to the lower position), in position order."""
    if cost.shape[0] < k:  # fewer candidates than seats: never fillable
        return np.full((k, cost.shape[1]), -1, dtype=np.int64), np.zeros(cost.shape[1], dtype=np.bool_)
    order = np.argsort(cost, axis=0, kind="stable")[:k]
    ok = np.asarray((np.take_along_axis(cost, order, axis=0) < INFEASIBLE).all(axis=0), dtype=np.bool_)
    return np.sort(order, axis=0), ok


def _cp_sat(units: list[SeatCosts], block: list[IntArray], deadline: float | None) -> IntArray | None:
    """Exact assignment at one start: minimum cost, then lexicographically smallest
    positions. ``block[u]`` holds unit u's kept candidates: row 0 positions, row 1 costs.

    (Measured: one model per pattern beats packing many patterns into one model,
    whose huge tie-break coefficients slow CP-SAT down by orders of magnitude.)
    """
    model = cp_model.CpModel()
    # x[u, j] is 1 when the j-th kept candidate of unit u fills unit u.
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for u, kept in enumerate(block):
        for j in range(kept.shape[1]):
            x[u, j] = model.new_bool_var(f"x[{u},{j}]")

    # Each unit seat gets exactly one candidate.
    for u, kept in enumerate(block):
        model.add_exactly_one(x[u, j] for j in range(kept.shape[1]))

    # No resource fills two unit seats.
    by_row: dict[int, list[cp_model.IntVar]] = {}
    for (u, j), var in x.items():
        by_row.setdefault(int(units[u].rows[block[u][0, j]]), []).append(var)
    for group in by_row.values():
        if len(group) > 1:
            model.add_at_most_one(group)

    # Minimize cost; among equal costs, earlier units take earlier positions. Folded into
    # as few int64 objectives as CP-SAT accepts: the first pass minimizes
    # cost * base^g + sum(rank_u * base^(g-1-u)) over the first g units; each later pass
    # fixes what is decided and ranks the next units. Usually one pass does it all.
    k = len(units)
    base = max(kept.shape[1] for kept in block) + 1
    sizes = [kept.shape[1] for kept in block]
    cost_expr = sum(int(block[u][1, j]) * var for (u, j), var in x.items())
    cost_weight = sum(int(kept[1].sum()) for kept in block)  # CP-SAT bounds sum |coef| * |var|
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
    for (u, j), var in x.items():
        if solver.boolean_value(var):
            picked[u] = block[u][0, j]
    return picked
