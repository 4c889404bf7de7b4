"""The core solver: find_slots on the panel-4w and pool-50 scenarios, against the naive baseline.

Busy time is already in memory, so this times the solver alone: p50 and p95
over ``FIND_RUNS`` runs after a warm-up (whose time is reported too, as the
first call). The baseline (one CP-SAT model per
start) runs fewer times; it must find the same available starts and costs,
and any difference is reported as ``baseline_mismatches``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable

from bench.baseline import baseline_slots
from bench.scenarios import Instance, panel_4w, pool_50
from solver import SlotResult, find_slots
from solver.busy import BusyTable

FIND_RUNS = int(os.environ.get("BENCH_FIND_RUNS", "30"))
BASELINE_RUNS = int(os.environ.get("BENCH_BASELINE_RUNS", "3"))

# name -> (builder, target p50 in ms, target speed-up over the baseline or None)
SCENARIOS: dict[str, tuple[Callable[[], Instance], float, float | None]] = {
    "panel-4w": (panel_4w, 25.0, 20.0),
    "pool-50": (pool_50, 50.0, None),
}


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(scenario: str, metric: str, value: float, unit: str, target: str = "") -> dict[str, object]:
    row: dict[str, object] = {"scenario": scenario, "metric": metric, "value": round(value, 3), "unit": unit}
    if target:
        row["target"] = target
    return row


def _mismatches(result: SlotResult, baseline: list[tuple[object, float]]) -> list[str]:
    ours = {s.start: s.cost for s in result.slots}
    theirs = dict(baseline)
    out = [f"only find_slots: {t.isoformat()}" for t in sorted(ours.keys() - theirs.keys())]
    out += [f"only baseline: {t}" for t in sorted(str(t) for t in theirs.keys() - ours.keys())]
    out += [f"cost at {t.isoformat()}: find_slots {ours[t]} baseline {theirs[t]}"
            for t in sorted(ours.keys() & theirs.keys()) if abs(ours[t] - theirs[t]) > 1e-6]
    return out


def _time_find(directory, busy, request, bookings) -> list[float]:
    times = []
    for _ in range(FIND_RUNS):
        t0 = time.perf_counter()
        find_slots(directory, busy, request, bookings)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def bench_scenario(name: str) -> list[dict[str, object]]:
    build, p50_target, speedup_target = SCENARIOS[name]
    directory, busy, request, bookings = build()

    t0 = time.perf_counter()
    result = find_slots(directory, busy, request, bookings)  # warm-up: the solver's caches fill here
    first_ms = (time.perf_counter() - t0) * 1000
    # Busy in memory as the engine keeps it (a BusyTable, converted once), and as a plain list.
    table = BusyTable.of(busy)
    times = _time_find(directory, table, request, bookings)
    list_times = _time_find(directory, busy, request, bookings)
    p50, p95 = statistics.median(times), _percentile(times, 0.95)

    baseline_times = []
    for _ in range(BASELINE_RUNS):
        t0 = time.perf_counter()
        starts, slots = baseline_slots(directory, busy, request, bookings)
        baseline_times.append((time.perf_counter() - t0) * 1000)
    baseline_ms = statistics.median(baseline_times)

    mismatches = _mismatches(result, [(s.start, s.cost) for s in slots])
    for line in mismatches[:20]:
        print(f"[{name}] baseline mismatch: {line}", file=sys.stderr)
    if len(starts) != result.candidates_considered:
        print(f"[{name}] candidate starts: find_slots {result.candidates_considered}, baseline {len(starts)}",
              file=sys.stderr)

    speedup = baseline_ms / p50 if p50 > 0 else float("inf")
    return [
        _row(name, "find_slots p50", p50, "ms", f"<= {p50_target:g}"),
        _row(name, "find_slots p95", p95, "ms"),
        _row(name, "find_slots p50, busy as a list", statistics.median(list_times), "ms"),
        _row(name, "find_slots first call", first_ms, "ms"),
        _row(name, "baseline (CP-SAT per start)", baseline_ms, "ms"),
        _row(name, "speed-up vs baseline", speedup, "x", f">= {speedup_target:g}" if speedup_target else ""),
        _row(name, "candidate starts", result.candidates_considered, "starts"),
        _row(name, "available slots", result.total_available, "slots"),
        _row(name, "baseline mismatches", len(mismatches), "starts", "== 0"),
        _row(name, "busy intervals", len(busy), "intervals"),
    ]


def run() -> list[dict[str, object]]:
    """Rows for both scenarios (see bench/__main__.py for the row format)."""
    return [row for name in SCENARIOS for row in bench_scenario(name)]
