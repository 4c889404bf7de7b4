"""Why no start is available: which rule removed how many starts, per seat.

For each seat and each rule, the number of starts at which the seat lacks
enough free candidates now but would have them were that rule alone lifted.
That tells an agent whether to widen the window, add an alternate or drop a
rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solver.assign import Assigned
from solver.domain import Diagnosis, SeatDiagnosis
from solver.grid import BoolArray, candidate_starts, to_minutes
from solver.masks import BoolMatrix
from solver.plan import Plan, earliest_start
from solver.seats import INFEASIBLE

__all__ = ["SeatCheck", "diagnose", "seat_checks", "stopping_rule"]


@dataclass(frozen=True)
class SeatCheck:
    """Per start of one seat: ``has`` enough free candidates now; ``lifted[rule]``
    would have them were that rule alone lifted."""

    seat_index: int
    has: BoolArray
    lifted: dict[str, BoolArray]


def seat_checks(plan: Plan) -> list[SeatCheck]:
    """Every seat's checks, in seat order."""
    mask = plan.mask
    row = {r: i for i, r in enumerate(mask.resource_ids)}
    n = len(plan.starts)
    out: list[SeatCheck] = []
    for seat_index in dict.fromkeys(u.seat_index for u in plan.units):
        units = [u for u in plan.units if u.seat_index == seat_index]
        need = len(units)
        rows = np.array([row[c] for c in units[0].candidates], dtype=np.int64)
        eligible = units[0].cost < INFEASIBLE  # rule exclusions (strict round robin) stay

        def enough(ok: BoolMatrix, rows: np.ndarray = rows, eligible: BoolMatrix = eligible,
                   need: int = need) -> BoolArray:
            if len(rows) == 0:
                return np.zeros(n, dtype=np.bool_)
            return np.asarray((ok[rows] & eligible).sum(axis=0) >= need, dtype=np.bool_)

        lifted = {
            "busy": enough(mask.in_hours & mask.under_limit),
            "buffers": enough(mask.in_hours & mask.under_limit & mask.unblocked_unbuffered),
            "outside_hours": enough(mask.unblocked & mask.under_limit),
            "booking_limits": enough(mask.in_hours & mask.unblocked),
        }
        small = plan.too_small.get(seat_index)
        if small is not None:
            small_rows = np.array([row[r] for r in small], dtype=np.int64)
            lifted["room_capacity"] = np.asarray(mask.free[small_rows].any(axis=0), dtype=np.bool_)
        out.append(SeatCheck(seat_index, enough(mask.free), lifted))
    return out


def diagnose(plan: Plan, assigned: Assigned) -> Diagnosis:
    n = len(plan.starts)
    every_seat_has = np.ones(n, dtype=np.bool_)
    seats: list[SeatDiagnosis] = []
    for check in seat_checks(plan):
        every_seat_has &= check.has
        rules = tuple((name, int((ok & ~check.has).sum())) for name, ok in check.lifted.items())
        seats.append(SeatDiagnosis(check.seat_index, int((~check.has).sum()), rules))
    return Diagnosis(tuple(seats), _before_notice(plan), int((every_seat_has & ~assigned.feasible).sum()))


def stopping_rule(plan: Plan) -> tuple[str, int]:
    """The one rule whose lifting alone frees the most starts of the whole meeting
    (every seat with enough candidates), and how many: ``("window", 0)`` without any
    candidate start, ``("no_joint_assignment", 0)`` when each seat has candidates at
    every start, never all seats at once, ``("several", 0)`` when no rule alone frees
    a start. Ties go to the first of buffers, busy, outside_hours, booking_limits,
    room_capacity: lifting busy lifts its buffers too, so buffers wins when the
    events themselves are not in the way."""
    n = len(plan.starts)
    if n == 0:
        return "window", 0
    checks = seat_checks(plan)
    if all(check.has.all() for check in checks):
        return "no_joint_assignment", 0
    best, freed = "several", 0
    for rule in ("buffers", "busy", "outside_hours", "booking_limits", "room_capacity"):
        joint = np.ones(n, dtype=np.bool_)
        for check in checks:
            joint &= check.has | check.lifted.get(rule, check.has)
        count = int(joint.sum())
        if count > freed:
            best, freed = rule, count
    return best, freed


def _before_notice(plan: Plan) -> int:
    """Candidate starts inside the window that fall before now + minimum notice."""
    request = plan.request
    first = math.ceil(to_minutes(request.window_start))
    earliest = math.ceil(earliest_start(request))
    if earliest <= first:
        return 0
    duration = plan.window.duration
    last = min(earliest - 1, math.floor(to_minutes(request.window_end)) - duration)
    return len(candidate_starts(request.time_zone, first, last, request.start_interval))
