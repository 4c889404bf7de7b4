"""Seats that share candidates: the matching path against the CP-SAT path.

Three requests whose seats interact, so that most starts need an exact solve:

- ``shared panel``: panel-4w with three pool interviewers also eligible for each
  member seat (``bench.scenarios.shared_panel``);
- ``12 units week``: three seats from each of four round-robin pools of 35 out of
  the same 40 members, one week at 5-minute starts (``overlapping_pools``);
- ``16 units week``: the same with four seats per pool.

Busy time is in memory (a ``BusyTable``), so this times the solver alone: the
find_slots p50 over ``FIND_RUNS`` runs after a warm-up. The reference is the
CP-SAT path (``assign(..., exact=Exact.CP_SAT)``) on a sample of starts spread
over the window (``SAMPLE_STARTS`` per request, every start of the small
one): every sampled start must get the same availability, the same
assignment (tie-break included) and the same cost, else it counts in
``mismatches``. Both paths are timed on the sample, in the same run, for the
speed-up. ``check_time`` at one interacting start of the 16-unit request is timed
too (it used to take a CP-SAT model of its own).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from bench.scenarios import Instance, overlapping_pools, shared_panel
from solver import check_time, find_slots
from solver.assign import Assigned, Exact, SeatCosts, assign
from solver.busy import BusyTable
from solver.grid import from_minutes
from solver.plan import make_plan

SCENARIO = "interacting"
FIND_RUNS = int(os.environ.get("BENCH_FIND_RUNS", "30"))
SAMPLE_STARTS = int(os.environ.get("BENCH_INTERACTING_SAMPLE", "24"))

# metric prefix -> (builder, target p50 in ms, sample every start?)
REQUESTS: dict[str, tuple[Callable[[], Instance], float, bool]] = {
    "shared panel": (shared_panel, 25.0, True),
    "12 units week": (lambda: overlapping_pools(count=3), 100.0, False),
    "16 units week": (lambda: overlapping_pools(count=4), 250.0, False),
}


def _row(metric: str, value: float, unit: str, target: str = "") -> dict[str, object]:
    row: dict[str, object] = {"scenario": SCENARIO, "metric": metric, "value": round(value, 3), "unit": unit}
    if target:
        row["target"] = target
    return row


def _sample(costs: list[SeatCosts], starts: np.ndarray) -> list[SeatCosts]:
    return [SeatCosts(u.rows, np.ascontiguousarray(u.cost[:, starts])) for u in costs]


def _differences(a: Assigned, b: Assigned) -> int:
    """Sampled starts where the two paths disagree on availability, assignment or cost."""
    return int(((a.feasible != b.feasible) | (a.total != b.total) | (a.choice != b.choice).any(axis=0)).sum())


def _timed(units: list[SeatCosts], exact: Exact) -> tuple[Assigned, float]:
    t0 = time.perf_counter()
    out = assign(units, units[0].cost.shape[1], exact=exact)
    return out, (time.perf_counter() - t0) * 1000


def run() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    mismatches = 0
    for name, (build, target, every_start) in REQUESTS.items():
        directory, busy, request, bookings = build()
        table = BusyTable.of(busy)
        result = find_slots(directory, table, request, bookings)  # warm-up
        times = []
        for _ in range(FIND_RUNS):
            t0 = time.perf_counter()
            find_slots(directory, table, request, bookings)
            times.append((time.perf_counter() - t0) * 1000)
        rows.append(_row(f"{name} p50", statistics.median(times), "ms", f"<= {target:g}"))
        rows.append(_row(f"{name} available slots", result.total_available, "slots"))

        plan = make_plan(directory, table, bookings, request)
        costs = plan.seat_costs()
        available = np.flatnonzero(assign(costs, len(plan.starts)).feasible)
        if every_start:
            sample = np.arange(len(plan.starts))
        else:  # spread over the available starts, where the seats interact
            sample = available[np.linspace(0, len(available) - 1, min(SAMPLE_STARTS, len(available))).astype(int)]
        sampled = _sample(costs, sample)
        matched, matching_ms = _timed(sampled, Exact.MATCHING)
        reference, cp_sat_ms = _timed(sampled, Exact.CP_SAT)
        differ = _differences(matched, reference)
        mismatches += differ
        rows.append(_row(f"{name} sample", len(sample), "starts"))
        rows.append(_row(f"{name} sample mismatches", differ, "starts", "== 0"))
        rows.append(_row(f"{name} CP-SAT path on the sample", cp_sat_ms, "ms"))
        rows.append(_row(f"{name} speed-up vs CP-SAT on the sample", cp_sat_ms / max(matching_ms, 1e-6), "x"))

        if name == "16 units week" and len(available):
            start = from_minutes(int(plan.starts[available[len(available) // 2]]))
            check_times = []
            for _ in range(FIND_RUNS):
                t0 = time.perf_counter()
                check_time(directory, table, request, start, bookings)
                check_times.append((time.perf_counter() - t0) * 1000)
            rows.append(_row("check_time 16 units p50", statistics.median(check_times), "ms"))
    rows.append(_row("mismatches", mismatches, "starts", "== 0"))
    rows.append(_row("load average (1 min) at the end", os.getloadavg()[0], ""))
    return rows
