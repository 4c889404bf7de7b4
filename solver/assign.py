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

    solved: dict[bytes, IntArray | None] = {}
    for s in todo.tolist():
        key = b"".join(u.cost[:, s].tobytes() for u in units)
        if key not in solved:
            try:
                if (deadline is not None and time.monotonic() > deadline) or (cancelled and cancelled()):
                    raise DeadlineExceeded("stopped before every start was decided")
                solved[key] = _cp_sat(units, s, deadline)
            except DeadlineExceeded:
                decided[s] = False
                feasible[s] = False
                continue
        answer = solved[key]
        if answer is None:
            feasible[s] = False
        else:
            choice[:, s] = answer
    return choice, feasible, decided


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


def _cp_sat(units: list[SeatCosts], s: int, deadline: float | None) -> IntArray | None:
    """Exact assignment for one start: minimum cost, then lexicographically smallest positions."""
    model = cp_model.CpModel()
    # x[u, c] is 1 when candidate position c fills unit seat u; only free candidates get a variable.
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for u, unit in enumerate(units):
        for c in np.flatnonzero(unit.cost[:, s] < INFEASIBLE).tolist():
            x[u, c] = model.new_bool_var(f"x[{u},{c}]")

    # Each unit seat gets exactly one candidate.
    for u in range(len(units)):
        model.add_exactly_one(x[key] for key in x if key[0] == u)

    # No resource fills two unit seats.
    by_row: dict[int, list[cp_model.IntVar]] = {}
    for (u, c), var in x.items():
        by_row.setdefault(int(units[u].rows[c]), []).append(var)
    for group in by_row.values():
        if len(group) > 1:
            model.add_at_most_one(group)

    # Minimize cost; among equal costs, earlier units take earlier positions.
    # Encoded as one objective cost * base^k + sum(position_u * base^(k-1-u)) when it fits in int64.
    base = max(len(unit.rows) for unit in units) + 1
    lex_span = base ** len(units)
    max_cost = sum(int(unit.cost[:, s][unit.cost[:, s] < INFEASIBLE].max(initial=0)) for unit in units)
    cost_expr = sum(int(units[u].cost[c, s]) * var for (u, c), var in x.items())
    lex_expr = sum(c * base ** (len(units) - 1 - u) * var for (u, c), var in x.items())
    one_objective = (max_cost + 1) * lex_span < 2**62
    if one_objective:
        model.minimize(cost_expr * lex_span + lex_expr)
    else:
        model.minimize(cost_expr)

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # tiny models: one worker is fastest and deterministic
    if deadline is not None:
        solver.parameters.max_time_in_seconds = max(0.001, deadline - time.monotonic())
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return None
    if status != cp_model.OPTIMAL:
        raise DeadlineExceeded("the assignment solver hit the deadline")
    if not one_objective:
        # Second pass: fix the cost, then take positions seat by seat.
        best = round(solver.objective_value)
        model.add(cost_expr == best)
        for u in range(len(units)):
            model.minimize(sum(c * var for (uu, c), var in x.items() if uu == u))
            status = solver.solve(model)
            if status != cp_model.OPTIMAL:
                raise DeadlineExceeded("the assignment solver hit the deadline")
            pos = round(solver.objective_value)
            model.add(sum(c * var for (uu, c), var in x.items() if uu == u) == pos)
    picked = np.full(len(units), -1, dtype=np.int64)
    for (u, c), var in x.items():
        if solver.boolean_value(var):
            picked[u] = c
    return picked
