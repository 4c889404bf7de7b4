"""Cost against the length of the window: panel-4w over 4 and over 13 weeks.

The same panel, calendars and bookings (``panel_4w(weeks=...)``), busy time in
memory as a ``BusyTable``: find_slots p50 over ``FIND_RUNS`` runs after a
warm-up, the two lengths interleaved so that both see the same load. 13 weeks
hold 3.25 times the starts; a cost linear in the window keeps ``ratio 13w/4w``
near that (target <= 3.6). The minor page faults per call say whether large
temporary arrays are faulted in afresh each time; the CPU-time ratio is the
figure least disturbed by other work on the machine.
"""

from __future__ import annotations

import os
import resource
import statistics
import time

from bench.scenarios import panel_4w
from solver import find_slots
from solver.busy import BusyTable

SCENARIO = "horizon"
FIND_RUNS = int(os.environ.get("BENCH_FIND_RUNS", "30"))
WEEKS = (4, 13)
RATIO_TARGET = 3.6


def _row(metric: str, value: float, unit: str, target: str = "") -> dict[str, object]:
    row: dict[str, object] = {"scenario": SCENARIO, "metric": metric, "value": round(value, 3), "unit": unit}
    if target:
        row["target"] = target
    return row


def run() -> list[dict[str, object]]:
    requests = {}
    for weeks in WEEKS:
        directory, busy, request, bookings = panel_4w(weeks=weeks)
        table = BusyTable.of(busy)
        result = find_slots(directory, table, request, bookings)  # warm-up
        requests[weeks] = (directory, table, request, bookings, result)
    wall: dict[int, list[float]] = {w: [] for w in WEEKS}
    cpu: dict[int, list[float]] = {w: [] for w in WEEKS}
    faults: dict[int, list[int]] = {w: [] for w in WEEKS}
    for _ in range(FIND_RUNS):
        for weeks, (directory, table, request, bookings, _) in requests.items():
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t0, c0 = time.perf_counter(), time.process_time()
            find_slots(directory, table, request, bookings)
            wall[weeks].append((time.perf_counter() - t0) * 1000)
            cpu[weeks].append((time.process_time() - c0) * 1000)
            faults[weeks].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    rows = []
    for weeks in WEEKS:
        result = requests[weeks][4]
        rows += [
            _row(f"find_slots p50 {weeks}w", statistics.median(wall[weeks]), "ms"),
            _row(f"find_slots cpu p50 {weeks}w", statistics.median(cpu[weeks]), "ms"),
            _row(f"minor page faults per call {weeks}w", statistics.median(faults[weeks]), "faults"),
            _row(f"candidate starts {weeks}w", result.candidates_considered, "starts"),
            _row(f"available slots {weeks}w", result.total_available, "slots"),
        ]
    first, last = WEEKS
    rows.append(_row(f"ratio {last}w/{first}w", statistics.median(wall[last]) / statistics.median(wall[first]), "x",
                     f"<= {RATIO_TARGET:g}"))
    rows.append(_row(f"ratio {last}w/{first}w cpu", statistics.median(cpu[last]) / statistics.median(cpu[first]), "x"))
    rows.append(_row("load average (1 min) at the end", os.getloadavg()[0], ""))
    return rows
