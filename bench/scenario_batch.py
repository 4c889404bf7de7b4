"""Batch optimization benchmarks (bench/batch_instances.py instances).

- ``batch-150``: 150 interview requests, 40 members, 10 rooms, 2 weeks (2
  parts), solved by ``optimize_batch`` in this process with ``workers=2`` (the
  two parts side by side, one CP-SAT worker each) and a 10 s limit: time to the
  first feasible schedule (target <= 0.5 s), the gap at 10 s (target <= 5%), and
  the greedy first-fit baseline's objective from the same run. Then in the
  deterministic mode (``work_limit`` 3.5, about 10 s on an idle machine with 2
  workers: 2 parts side by side; seed and workers fixed), three runs, the last
  with a process spinning on a core: ``gap at work limit`` (against the run's
  own bound, target <= 3%) and ``objective spread over 3 runs`` (target 0), the
  metric names issue 20 gives,
  with the CPU time and the load average the runs met (the wall time depends on
  the load; the schedule must not).
- ``batch-2000``: 2,000 requests, 300 members in 15 teams, 60 rooms, 4 weeks
  (60 independent parts), with 1 and with 2 local worker processes: the share
  of requests scheduled, the wall time and the gap.

``run()`` returns rows ``{"scenario", "metric", "value", "unit"}``.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import replace
from typing import Any

from bench.batch_instances import interview_weeks
from server.batch.runner import run_batch
from solver.batch import BatchProgress, optimize_batch

__all__ = ["run"]

LARGE_TIME_LIMIT = 30.0
WORK_LIMIT = 3.5  # work units (docs/objective.md#deterministic-mode) for batch-150: about 10 s idle, 2 workers


def _spin(until: float) -> None:
    while time.monotonic() < until:
        pass


def _row(scenario: str, metric: str, value: float, unit: str, target: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"scenario": scenario, "metric": metric, "value": round(value, 4), "unit": unit}
    if target is not None:
        row["target"] = target
    return row


def batch_150() -> list[dict[str, Any]]:
    directory, busy, bookings, batch = interview_weeks(requests=150, members=40, rooms=10, weeks=2, seed=7)
    batch = replace(batch, time_limit=10.0, workers=2)
    first: list[float] = []
    began = time.monotonic()

    def progress(p: BatchProgress) -> None:
        # The first schedule of the whole batch: every part has reported one.
        if p.complete and not first:
            first.append(time.monotonic() - began)

    result = optimize_batch(directory, busy, bookings, batch, on_progress=progress)
    name = "batch-150"
    return [
        _row(name, "time_to_first_feasible", first[0], "s", "<= 0.5"),
        _row(name, "gap_at_10s", 100 * result.gap, "%", "<= 5"),
        _row(name, "objective_at_10s", result.objective, "points"),
        _row(name, "best_bound_at_10s", result.best_bound, "points"),
        _row(name, "greedy_first_fit_objective", result.baseline_objective, "points"),
        _row(name, "scheduled", result.kpis.scheduled, "requests"),
        _row(name, "parts", result.parts, "parts"),
        _row(name, "wall_time", result.wall_time, "s"),
        *_deterministic(name),
    ]


def _deterministic(name: str) -> list[dict[str, Any]]:
    """Three runs at one work limit and seed, the last under CPU load (see the module docstring)."""
    directory, busy, bookings, batch = interview_weeks(requests=150, members=40, rooms=10, weeks=2, seed=7)
    batch = replace(batch, time_limit=300.0, workers=2, work_limit=WORK_LIMIT)
    runs = []
    cpu: list[float] = []
    load = os.getloadavg()[0]
    for n in range(3):
        spinner = None
        if n == 2:
            spinner = multiprocessing.get_context("spawn").Process(target=_spin, args=(time.monotonic() + 600,),
                                                                   daemon=True)
            spinner.start()
        try:
            began = time.process_time()
            runs.append(optimize_batch(directory, busy, bookings, batch))
            cpu.append(time.process_time() - began)
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.join()
    objectives = [r.objective for r in runs]
    bounds = [r.best_bound for r in runs]
    return [
        _row(name, "gap at work limit", 100 * runs[0].gap, "%", "<= 3"),
        _row(name, "objective_at_work_limit", runs[0].objective, "points"),
        _row(name, "best_bound_at_work_limit", runs[0].best_bound, "points"),
        _row(name, "objective spread over 3 runs", max(objectives) - min(objectives), "points", "== 0"),
        _row(name, "bound_spread_over_3_runs", max(bounds) - min(bounds), "points", "== 0"),
        _row(name, "wall_time_at_work_limit", runs[0].wall_time, "s"),
        _row(name, "cpu_time_at_work_limit", cpu[0], "s"),
        _row(name, "wall_time_at_work_limit_under_load", runs[2].wall_time, "s"),
        _row(name, "load_average_before_the_runs", load, "runnable"),
    ]


def batch_2000() -> list[dict[str, Any]]:
    directory, busy, bookings, batch = interview_weeks(requests=2000, members=300, rooms=60, weeks=4, teams=15,
                                                       seed=7)
    rows = []
    for workers in (1, 2):
        began = time.monotonic()
        result = run_batch(directory, busy, bookings, replace(batch, time_limit=LARGE_TIME_LIMIT, workers=workers))
        wall = time.monotonic() - began
        label = f"{workers}_worker{'s' if workers > 1 else ''}"
        rows += [
            _row("batch-2000", f"scheduled_share_{label}", 100 * result.kpis.scheduled / result.kpis.items, "%"),
            _row("batch-2000", f"wall_time_{label}", wall, "s"),
            _row("batch-2000", f"gap_{label}", 100 * result.gap, "%"),
        ]
    rows.append(_row("batch-2000", "parts", result.parts, "parts"))
    return rows


def run() -> list[dict[str, Any]]:
    return batch_150() + batch_2000()
