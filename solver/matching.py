"""The exact cheapest assignment at one start as a min-cost flow (OR-Tools), tie-break included.

At one start the problem is: unit seats, each with candidates (in position order)
and their costs, every resource at most once, every unit filled. As a flow, each
unit seat sends one unit through one of its candidates' resources to a sink, every
arc of capacity 1; a min-cost flow answers it exactly in polynomial time, where
CP-SAT searches.

The tie-break (lowest candidate position, unit by unit in request order) is folded
into the arc costs. With ``n_i`` the number of candidates unit ``i`` still has and
``rank`` a candidate's place among them, the first ``g`` units' arcs cost

    cost * W + rank * (n_{i+1} * ... * n_{g-1})      with W = n_0 * ... * n_{g-1}

(later units: ``cost * W``). The rank terms of one assignment are a mixed-radix
number below ``W``, one digit per unit, so the objective orders assignments by
(cost, rank_0, ..., rank_{g-1}) exactly. OR-Tools multiplies costs by the number of
nodes and keeps node potentials in int64, which bounds ``W``: ``g`` is the most
units that fit. When ``g`` is short of all units, the first ``g`` are fixed (their
choice is the lexicographic optimum's: the objective decides them uniquely) and the
rest are solved again without the fixed resources, whose optimum is the rest of the
same lexicographic optimum: lexicographic re-solves, exact at any size, never an
overflow.

Three reductions keep ``W`` small so that one pass usually does it all: each unit's
costs are shifted by the unit's own minimum (every unit takes exactly one candidate,
so every assignment shifts alike) and divided by the common divisor of all of them;
interchangeable units (a pool seat's) keep only the candidates the increasing order
of the optimum leaves them (``_in_group_order``); a unit with a single candidate is a
digit of radix 1 and costs nothing.

``some_assignments`` answers the other question, whether a start has any assignment
at all, for many starts in one maximum flow.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

from solver.grid import BoolArray, IntArray

__all__ = ["Unrepresentable", "cheapest_assignment", "some_assignments"]

_INT64_MAX = 2**63 - 1
# Headroom below OR-Tools' own cost limit for the node potentials (measured on 16-unit
# weeks: none of 265 solves overflowed at 4; 8 of 265 did at 1).
_POTENTIAL_MARGIN = 4


class Unrepresentable(ArithmeticError):
    """The costs are too far apart for int64 arc costs even one unit per pass."""


def cheapest_assignment(res: IntArray, cost: IntArray, allowed: BoolArray, n_resources: int) -> IntArray | None:
    """The exact assignment: minimum total cost, then the smallest candidate position unit by unit.

    Unit u's candidate at position j is resource ``res[u, j]`` (0 to ``n_resources - 1``)
    at cost ``cost[u, j]``, where ``allowed[u, j]``. Returns the position per unit, or
    None when no assignment fills every unit with distinct resources. Raises
    ``Unrepresentable`` when one unit's costs times its candidate count do not fit the
    solver's int64 range.
    """
    k = len(res)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    allowed = _in_group_order(res, cost, allowed)
    if not allowed.any(axis=1).all():
        return None
    # Shift each unit by its own minimum and divide by the common divisor: same order, smaller W.
    low = np.where(allowed, cost, np.iinfo(np.int64).max).min(axis=1)
    reduced = np.where(allowed, cost - low[:, None], 0)
    divisor = int(np.gcd.reduce(reduced, axis=None)) or 1
    if divisor > 1:
        reduced //= divisor

    free = np.ones(n_resources, dtype=np.bool_)
    remaining = np.arange(k)
    chosen = np.full(k, -1, dtype=np.int64)
    while len(remaining):
        # Candidates still free: the fixed units' resources are gone.
        left = allowed[remaining] & free[res[remaining]]
        counts = left.sum(axis=1)
        if (counts == 0).any():
            return None  # only on the first pass: later passes extend an assignment found
        picked = _pass(res[remaining], reduced[remaining], left, counts, n_resources, free)
        if picked is None:
            return None
        g, pick = picked
        chosen[remaining[:g]] = pick[:g]
        free[res[remaining[:g], pick[:g]]] = False
        remaining = remaining[g:]
    return chosen


def _in_group_order(res: IntArray, cost: IntArray, allowed: BoolArray) -> BoolArray:
    """``allowed`` without what the lexicographic optimum never uses among interchangeable units.

    Consecutive units with the same candidates at the same costs (a pool seat's) can swap
    their picks at no cost, so the lexicographic optimum seats them in increasing position
    order: the i-th of q such units takes neither one of their first i candidates nor one
    of their last q - 1 - i. The optimum stays allowed, so it stays the optimum, and each
    such unit's digit shrinks from n to n - q + 1 values.
    """
    k = len(res)
    same = np.zeros(k, dtype=np.bool_)
    same[1:] = (res[1:] == res[:-1]).all(axis=1) & (cost[1:] == cost[:-1]).all(axis=1) \
        & (allowed[1:] == allowed[:-1]).all(axis=1)
    if not same.any():
        return allowed
    group = np.cumsum(~same) - 1
    first = np.flatnonzero(~same)
    index = np.arange(k) - first[group]  # place within the group
    size = np.bincount(group)[group]
    rank = np.cumsum(allowed, axis=1) - 1
    count = allowed.sum(axis=1)
    window = (rank >= index[:, None]) & (rank <= (count - size + index)[:, None])
    return np.asarray(allowed & window, dtype=np.bool_)


def some_assignments(res: IntArray, allowed: BoolArray, n_resources: int) -> tuple[BoolArray, IntArray]:
    """Whether each start has an assignment at all, and one (any) where it has.

    ``allowed[u, j, t]``: unit u may take its candidate at position j (resource
    ``res[u, j]``) at start t. Every start is its own bipartite graph; all of them go
    into one maximum flow (source -> units -> resources -> sink, capacity 1), which
    fills every unit of a start exactly when that start has an assignment. Returns
    (found per start, the position per unit and start, -1 where not found).
    """
    k, _, n = allowed.shape
    block = k + n_resources  # nodes per start: its units, then its resources
    source, sink = n * block, n * block + 1
    u, j, t = np.nonzero(allowed)
    first = np.arange(n)[:, None] * block
    unit_nodes = (first + np.arange(k)).ravel()
    resource_nodes = (first + k + np.arange(n_resources)).ravel()
    tails = np.concatenate([t * block + u, np.full(len(unit_nodes), source), resource_nodes]).astype(np.int32)
    heads = np.concatenate([t * block + k + res[u, j], unit_nodes, np.full(len(resource_nodes), sink)])
    flow = max_flow.SimpleMaxFlow()
    arcs = flow.add_arcs_with_capacity(tails, heads.astype(np.int32), np.ones(len(tails), dtype=np.int64))
    if flow.solve(source, sink) != flow.OPTIMAL:
        raise RuntimeError("maximum flow over the assignment graphs failed")
    used = flow.flows(arcs[:len(u)]) > 0
    pick = np.full((k, n), -1, dtype=np.int64)
    pick[u[used], t[used]] = j[used]
    found: BoolArray = np.asarray((pick >= 0).all(axis=0), dtype=np.bool_)
    return found, pick


def _pass(res: IntArray, cost: IntArray, allowed: BoolArray, counts: IntArray, n_resources: int,
          free: BoolArray) -> tuple[int, IntArray] | None:
    """One min-cost flow ranking the first g units (as many as fit): (g, pick per unit) or None."""
    r = len(res)
    nodes = r + n_resources + 1
    # OR-Tools refuses arc costs above int64_max / (2 * (nodes + 1)) (it scales costs by the
    # node count, its own source and sink included) and stops with BAD_COST_RANGE when node
    # potentials would overflow, which then costs a retry with fewer units ranked.
    limit = _INT64_MAX // (2 * (nodes + 3)) // _POTENTIAL_MARGIN
    top = int(cost[allowed].max(initial=0)) + 1
    g = _units_that_fit([int(n) for n in counts], top, limit)
    if g == 0:
        raise Unrepresentable(f"assignment costs span {top - 1} steps; int64 flow costs cannot rank them")
    rank = np.cumsum(allowed, axis=1) - 1
    unit, slot = np.nonzero(allowed)
    heads = r + res[unit, slot]
    sink = r + n_resources
    resource_nodes = r + np.flatnonzero(free)
    tails = np.concatenate([unit, resource_nodes])
    heads = np.concatenate([heads, np.full(len(resource_nodes), sink, dtype=np.int64)])
    capacities = np.ones(len(tails), dtype=np.int64)
    supplies = np.zeros(nodes, dtype=np.int64)
    supplies[:r] = 1
    supplies[sink] = -r
    while True:
        weight, scale = _digits([int(n) for n in counts], g)
        arc_cost = cost[unit, slot] * scale + rank[unit, slot] * weight[unit]
        flow = min_cost_flow.SimpleMinCostFlow()
        arcs = flow.add_arcs_with_capacity_and_unit_cost(
            tails, heads, capacities, np.concatenate([arc_cost, np.zeros(len(resource_nodes), dtype=np.int64)]))
        flow.set_nodes_supplies(np.arange(nodes), supplies)
        status = flow.solve()
        if status == flow.OPTIMAL:
            break
        if status == flow.INFEASIBLE:
            return None
        if status == flow.BAD_COST_RANGE and g > 1:
            g = max(1, g // 2)  # the potentials' bound was too optimistic here: rank fewer units
            continue
        raise Unrepresentable(f"min-cost flow status {status.name}")
    used = flow.flows(arcs[:len(unit)]) > 0
    pick = np.full(r, -1, dtype=np.int64)
    pick[unit[used]] = slot[used]
    # The flow's cost must be the decoded assignment's, in exact integers.
    if (pick < 0).any() or int(arc_cost[used].sum()) != flow.optimal_cost():
        raise Unrepresentable("min-cost flow result does not decode to an assignment")
    return g, pick


def _units_that_fit(counts: list[int], top: int, limit: int) -> int:
    """The most leading units whose digits, times the costs below ``top``, stay within ``limit``."""
    g = 0
    radix = 1
    for n in counts:
        if top * radix * n > limit:
            break
        radix *= n
        g += 1
    return g


def _digits(counts: list[int], g: int) -> tuple[IntArray, int]:
    """(weight of one rank step per unit, the cost multiplier W) for ranking the first g units."""
    weight = np.zeros(len(counts), dtype=np.int64)
    place = 1
    for i in range(g - 1, -1, -1):
        weight[i] = place
        place *= counts[i]
    return weight, place

