"""Room for the items the greedy left out: small CP-SAT repairs before the big model.

For each item left out (highest priority first), the scheduled items that keep
it out are freed, every other item stays where it is (held on a board, so the
freed items may only use what is left), and CP-SAT looks for a schedule of the
freed items that leaves less priority out. A handful of items solves in a
fraction of a second; the same move inside the whole model can take CP-SAT the
whole time limit to find, or never come.

Who is freed, in two tries: first the items holding the item's *scarce*
candidates (seats with few candidates: a named panelist and alternates, a
listed room), then every item in its way, the nearest in time first.

In the deterministic mode (a ``WorkBudget``) each try is held to
``_TRY_WORK`` of CP-SAT's deterministic time and the repairs end when the
budget is spent, not on the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from solver.batch.board import Board, LimitBook, Placement, clashes
from solver.batch.cpsat import SolverSettings, solve_model
from solver.batch.objective import TermWeights
from solver.batch.prepare import PreparedItem
from solver.batch.work import WorkBudget
from solver.domain import Booking, Directory
from solver.grid import BoolArray

__all__ = ["repair"]

# Seconds a try may take at most (deterministic time in the deterministic mode), and how many
# items a wide try frees at most.
_TRY_SECONDS = 2.0
_TRY_WORK = 0.5
_WIDE = 40
# The deterministic mode stops repairing with less work than this left.
_MIN_WORK = 0.01


def repair(items: Sequence[PreparedItem], placements: Mapping[int, Placement], directory: Directory,
           bookings_by: Mapping[str, Sequence[Booking]], terms: TermWeights, settings: SolverSettings,
           stop: float, cancelled: Callable[[], bool] | None = None,
           work: WorkBudget | None = None) -> dict[int, Placement]:
    """``placements`` with items left out fitted in where a small repair finds room, by
    ``stop`` (and, in the deterministic mode, within ``work``, charged to it)."""
    current = dict(placements)
    left_out = sorted((i for i in items if i.index not in current and len(i.starts)),
                      key=lambda i: (-i.priority, len(i.starts), i.index))
    for item in left_out:
        for freed in _neighbourhoods(item, items, current):
            if time.monotonic() + 0.05 > stop or (cancelled is not None and cancelled()) or \
                    (work is not None and work.left < _MIN_WORK):
                return current
            if work is None:
                limits = replace(settings, time_limit=min(_TRY_SECONDS, stop - time.monotonic()), work=None)
            else:  # the clock only guards the deadline
                limits = replace(settings, time_limit=stop - time.monotonic(), work=min(_TRY_WORK, work.left))
            better, spent = _try(item, freed, items, current, directory, bookings_by, terms, limits)
            if work is not None:
                work.charge(spent)
            if better is not None:
                current = better
                break
    return current


def _try(item: PreparedItem, freed: list[int], items: Sequence[PreparedItem], placements: Mapping[int, Placement],
         directory: Directory, bookings_by: Mapping[str, Sequence[Booking]], terms: TermWeights,
         settings: SolverSettings) -> tuple[dict[int, Placement] | None, float]:
    """The schedule with ``item`` and ``freed`` solved again around the rest, if it leaves
    less out; and the deterministic time the try took."""
    board = Board(LimitBook(directory, bookings_by))
    for k, p in placements.items():
        if k not in freed:
            board.place(items[k], p)
    sub = [_restricted(items[k], board) for k in [item.index, *freed]]
    hint = {k: placements[k] for k in freed}
    outcome = solve_model(sub, directory, board.limits, terms, hint, settings, priority_only=True)
    if outcome.placements is None:
        return None, outcome.work
    before = sum(items[k].priority for k in hint)
    after = sum(items[k].priority for k in outcome.placements)
    if after <= before:
        return None, outcome.work
    better = {k: p for k, p in placements.items() if k not in freed}
    better.update(outcome.placements)
    return better, outcome.work


def _restricted(item: PreparedItem, board: Board) -> PreparedItem:
    """``item`` with each option cut to the starts the board leaves its resource."""
    usable: dict[str, BoolArray] = {}
    options = []
    for option in item.options:
        resource = option.resource(item)
        if resource not in usable:
            usable[resource] = board.usable(item, resource)
        starts = option.starts[usable[resource][option.starts]]
        if len(starts):
            options.append(replace(option, starts=starts))
    return replace(item, options=tuple(options))


def _neighbourhoods(item: PreparedItem, items: Sequence[PreparedItem],
                    placements: Mapping[int, Placement]) -> Iterable[list[int]]:
    """The scheduled items keeping ``item`` out: those on its scarce candidates, then all (nearest first)."""
    scarce = {c for g in item.groups if len(g.candidates) <= 2 * g.count + 1 for c in g.candidates}
    wanted = set(item.resources())
    in_way: list[tuple[int, int]] = []  # (distance in minutes, item index)
    on_scarce: list[int] = []
    middle = int(item.starts[len(item.starts) // 2])
    for k, p in placements.items():
        other = items[k]
        shared = wanted & set(p.resources(other))
        if not shared:
            continue
        span = np.array([[other.pre_lo[p.position], other.core_lo[p.position], other.core_hi[p.position],
                          other.post_hi[p.position]]], dtype=np.int64)
        limited = any(r in item.day_keys or r in item.week_keys for r in shared)
        if not (clashes(item, span).any() or limited):
            continue
        in_way.append((abs(int(other.starts[p.position]) - middle), k))
        if shared & scarce:
            on_scarce.append(k)
    if on_scarce:
        yield on_scarce
    wide = [k for _, k in sorted(in_way)[:_WIDE]]
    if wide and set(wide) != set(on_scarce):
        yield wide
