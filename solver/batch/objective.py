"""The batch objective, term by term, for any schedule (the greedy's, CP-SAT's, a test's).

Minimized, in ticks (solver.batch.types: 1 point = 60,000 ticks):

    priority_weight x sum of the priorities of unscheduled items
  + sum of seat costs of the chosen candidates            (solver.seats rules)
  + sum of conflict costs of the chosen candidates        (conflict mode only)
  + w.fairness  x sum over (pool, cycle period) of (max - min load)
  + w.earliness x sum of hours from each scheduled item's window start
  + w.move      x the movable items placed at another start than their booking's

A pool member's *load* in a period is the number of the batch's items in which
they fill a seat of that pool, with the start in that period of the pool's cycle
(day, ISO week or month; default week) in the item's time zone; every member of
the pool counts, so an idle member makes the minimum 0.

Lexicographic by default: with no explicit priority weight, it is one more
than the largest sum the other terms can reach (``cost_ceiling``), so one more
unit of priority scheduled always beats any saving in cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from solver.batch.board import Placement
from solver.batch.prepare import PreparedItem
from solver.domain import Directory, Weights
from solver.grid import IntArray
from solver.seats import milli

__all__ = ["Breakdown", "TermWeights", "cost_ceiling", "evaluate", "term_weights"]


@dataclass(frozen=True)
class TermWeights:
    """Ticks per unit of each term."""

    priority: int  # per unit of priority left unscheduled
    per_milli: int  # per milli-point of seat or conflict cost (60)
    earliness: int  # per minute from the window start
    fairness: int  # per unit of load spread
    move: int = 0  # per movable item moved

    def start_costs(self, item: PreparedItem) -> IntArray:
        """What each start of ``item`` costs by itself (earliness and moves), in ticks."""
        return item.delay * self.earliness + item.moves * self.move


def term_weights(weights: Weights, priority_ticks: int) -> TermWeights:
    return TermWeights(priority_ticks, 60, int(milli(weights.earliness, 1)), int(milli(weights.fairness, 60)),
                       int(milli(weights.move, 60)))


@dataclass(frozen=True)
class Breakdown:
    """A schedule's objective in ticks, term by term."""

    unscheduled_priority: int
    seat: int
    conflict: int
    earliness: int
    fairness: int
    spread: int  # sum over (pool, period) of max - min load
    priority_ticks: int
    move: int = 0

    @property
    def cost(self) -> int:
        return self.seat + self.conflict + self.earliness + self.fairness + self.move

    @property
    def total(self) -> int:
        return self.priority_ticks * self.unscheduled_priority + self.cost


def loads(items: Sequence[PreparedItem], placements: Mapping[int, Placement]) -> dict[tuple[str, int], dict[str, int]]:
    """Per (pool, cycle period): each member's count of items seated through that pool."""
    out: dict[tuple[str, int], dict[str, int]] = {}
    for item in items:
        placement = placements.get(item.index)
        if placement is None:
            continue
        for g, picks in enumerate(placement.picks):
            group = item.groups[g]
            if group.pool_id is None or group.pool_id not in item.cycle_keys:
                continue
            key = (group.pool_id, int(item.cycle_keys[group.pool_id][placement.position]))
            counts = out.setdefault(key, {})
            for c in picks:
                counts[group.candidates[c]] = counts.get(group.candidates[c], 0) + 1
    return out


def spread_of(directory: Directory, per_period: Iterable[tuple[str, Mapping[str, int]]]) -> int:
    """Sum over (pool, period) of the max - min load over every member of the pool,
    given (pool id, member -> load) per period."""
    total = 0
    for pool_id, counts in per_period:
        values = [counts.get(m, 0) for m in directory.pools[pool_id].members]
        total += max(values) - min(values)
    return total


def evaluate(items: Sequence[PreparedItem], placements: Mapping[int, Placement], directory: Directory,
             terms: TermWeights) -> Breakdown:
    """The objective of ``placements`` (item index -> placement), term by term."""
    seat = conflict = earliness = unscheduled = moves = 0
    for item in items:
        placement = placements.get(item.index)
        if placement is None:
            unscheduled += item.priority
            continue
        p = placement.position
        for g, picks in enumerate(placement.picks):
            group = item.groups[g]
            seat += sum(int(group.seat_cost[c, p]) for c in picks)
            conflict += sum(int(group.conflict_cost[c, p]) for c in picks)
        earliness += int(item.delay[p])
        moves += int(item.moves[p])
    spread = spread_of(directory, ((pool_id, c) for (pool_id, _), c in loads(items, placements).items()))
    return Breakdown(unscheduled, seat * terms.per_milli, conflict * terms.per_milli,
                     earliness * terms.earliness, spread * terms.fairness, spread, terms.priority,
                     moves * terms.move)


def cost_ceiling(items: Sequence[PreparedItem], terms: TermWeights) -> int:
    """An upper bound (ticks) of every cost term together over any schedule of ``items``."""
    total = 0
    for item in items:
        if len(item.starts) == 0:
            continue
        for group in item.groups:
            worst = (group.seat_cost + group.conflict_cost).max(axis=0, initial=0)
            # A seat of count k takes k candidates: at most k times the dearest one.
            total += group.count * int(worst.max(initial=0)) * terms.per_milli
            if group.pool_id is not None and group.pool_id in item.cycle_keys:
                total += group.count * terms.fairness  # each pool pick raises one maximum by one at most
        total += int(terms.start_costs(item).max(initial=0))
    return total
