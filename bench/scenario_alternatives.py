"""Minimal-conflict alternatives on a nearly full calendar: the busy-week scenario.

``busy_week`` is panel-4w with every calendar about 90% full, so fewer than
``MIN_AVAILABLE`` starts are free and ``find_slots`` must also rank every
unavailable start by conflict cost and return the best ``MAX_ALTERNATIVES``
with their conflicts. Busy time is in memory as the engine keeps it (a
``BusyTable``, converted once): this times the solver alone, p50 / p95 over
``FIND_RUNS`` runs after a warm-up, beside the same request without
alternatives (what conflict mode adds) and with busy time as a plain list.

The naive way, for scale: one CP-SAT model per start in conflict mode (each
candidate priced by scanning its own calendar), timed on ``BASELINE_STARTS``
starts spread over the window and extrapolated to all of them (its setup
counted once). It must agree with every alternative ``find_slots`` returned
and with ``check_time`` at those starts (conflict and seat cost of the
least-conflict assignment), and none of those starts may beat the last
alternative; any difference counts in ``baseline mismatches``.
"""

from __future__ import annotations

import bisect
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from ortools.sat.python import cp_model

# The naive find_slots' seat costs and calendars: reused so both baselines price seats alike.
from bench.baseline import (
    COST_SCALE,
    _Calendars,
    _Candidate,
    _candidate_starts,
    _inside,
    _Loads,
    _unit_seats,
    _widen,
)
from bench.scenarios import _working_ranges, busy_week
from solver import Booking, BusyInterval, BusyKind, Directory, Slot, SlotRequest, check_time, find_slots
from solver.busy import BusyTable
from solver.plan import make_plan

SCENARIO = "alternatives-busy-week"
FIND_RUNS = int(os.environ.get("BENCH_FIND_RUNS", "30"))
BASELINE_STARTS = int(os.environ.get("BENCH_ALTERNATIVES_BASELINE_STARTS", "40"))
MAX_ALTERNATIVES = 10
MIN_AVAILABLE = 3
P50_TARGET_MS = 150.0


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(metric: str, value: float, unit: str, target: str = "") -> dict[str, object]:
    row: dict[str, object] = {"scenario": SCENARIO, "metric": metric, "value": round(value, 3), "unit": unit}
    if target:
        row["target"] = target
    return row


def _timed(directory: Directory, busy: BusyTable | list[BusyInterval], request: SlotRequest,
           bookings: list[Booking]) -> list[float]:
    times = []
    for _ in range(FIND_RUNS):
        t0 = time.perf_counter()
        find_slots(directory, busy, request, bookings)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def _working_time_busy(directory: Directory, busy: list[BusyInterval], request: SlotRequest) -> float:
    """The share of members' working time inside the window that their events cover."""
    by_member: dict[str, list[BusyInterval]] = {}
    for b in busy:
        by_member.setdefault(b.resource_id, []).append(b)
    worked = covered = timedelta(0)
    day = request.window_start.date()
    while day < request.window_end.date():
        for member in directory.members.values():
            assert member.working_hours is not None
            for lo, hi in _working_ranges(member.working_hours, day):
                worked += hi - lo
                # A member's events never overlap each other (back-to-back blocks), so they add up.
                covered += sum((min(hi, b.end) - max(lo, b.start) for b in by_member.get(member.id, ())
                                if b.start < hi and b.end > lo), timedelta(0))
        day += timedelta(days=1)
    return covered / worked if worked else 0.0


def _busy_share(directory: Directory, busy: BusyTable, request: SlotRequest, bookings: list[Booking]) -> float:
    """Of the (member, start) pairs inside the member's hours, the share at which the member is not free."""
    plan = make_plan(directory, busy, bookings, request)
    members = np.array([r in directory.members for r in plan.mask.resource_ids], dtype=np.bool_)
    in_hours = plan.mask.in_hours[members]
    return float((in_hours & ~plan.mask.free[members]).sum() / max(1, in_hours.sum()))


# --- The naive way: one CP-SAT model per start, in conflict mode ------------------------------


@dataclass(frozen=True)
class _Least:
    conflict: float  # points
    seat_cost: float  # points


class _Events:
    """Per resource, its widened events sorted by start, to count those overlapping a meeting."""

    def __init__(self, busy: Sequence[BusyInterval], bookings: Sequence[Booking], request: SlotRequest) -> None:
        cell = timedelta(minutes=request.resolution)
        raw: dict[str, list[tuple[datetime, datetime, bool]]] = {}
        for b in busy:
            raw.setdefault(b.resource_id, []).append((*_widen(b.start, b.end, cell), b.kind is BusyKind.TENTATIVE))
        for bk in bookings:
            for r in bk.resources:
                raw.setdefault(r, []).append((*_widen(bk.start, bk.end, cell), False))
        self.events = {r: sorted(v) for r, v in raw.items()}
        self.starts = {r: [lo for lo, _, _ in v] for r, v in self.events.items()}
        self.longest = {r: max((hi - lo for lo, hi, _ in v), default=timedelta(0)) for r, v in self.events.items()}

    def overlapping(self, resource: str, lo: datetime, hi: datetime) -> tuple[int, int]:
        """(blocking, tentative) events of ``resource`` overlapping ``[lo, hi)``."""
        events = self.events.get(resource, [])
        i = bisect.bisect_left(self.starts.get(resource, []), hi)  # events[:i] start before hi
        blocking = tentative = 0
        earliest = lo - self.longest.get(resource, timedelta(0))
        while i > 0 and events[i - 1][0] >= earliest:
            i -= 1
            e_lo, e_hi, is_tentative = events[i]
            if e_hi > lo and e_lo < hi:
                tentative += is_tentative
                blocking += not is_tentative
        return blocking, tentative


def _within_limits(directory: Directory, bookings: Sequence[Booking], member_id: str, start: datetime) -> bool:
    member = directory.members[member_id]
    if member.daily_limit is None and member.weekly_limit is None:
        return True
    zone = ZoneInfo(member.time_zone)
    day = start.astimezone(zone).date()
    days = [b.start.astimezone(zone).date() for b in bookings if member_id in b.resources]
    if member.daily_limit is not None and sum(d == day for d in days) >= member.daily_limit:
        return False
    week = day.isocalendar()[:2]
    return member.weekly_limit is None or sum(d.isocalendar()[:2] == week for d in days) < member.weekly_limit


def _least_conflict_at(directory: Directory, units: list[list[_Candidate]], calendars: _Calendars, loads: _Loads,
                       events: _Events, bookings: Sequence[Booking], request: SlotRequest,
                       start: datetime) -> _Least | None:
    """The least-conflict assignment at ``start`` from one CP-SAT model: (conflict, seat cost) or None."""
    w = request.weights
    end = start + request.duration
    cell = timedelta(minutes=request.resolution)
    lo, hi = start - request.buffer_before, end + request.buffer_after

    # Conflict and seat cost of every candidate that may take a seat: free rooms, members within limits.
    priced: dict[tuple[int, str], tuple[int, int]] = {}
    for u, unit in enumerate(units):
        for c in unit:
            r = c.resource
            if r in directory.rooms:
                if not calendars.is_free(r, start):
                    continue
                conflict = 0.0
            else:
                if not _within_limits(directory, bookings, r, start):
                    continue
                blocking, tentative = events.overlapping(r, lo, hi)
                outside = not _inside(calendars.hours[r], start, end, cell)
                conflict = w.conflict_busy * blocking + w.conflict_tentative * tentative + w.outside_hours * outside
            load = loads.load(c.load_pool, r, start) if c.load_pool else 0
            seat = c.base_cost + w.pool_balance * load
            priced[u, r] = (round(conflict * COST_SCALE), round(seat * COST_SCALE))
    if not priced:
        return None
    # Conflict first: a scale above any sum of seat costs keeps seat cost a tie-break.
    scale = sum(max((s for (uu, _), (_, s) in priced.items() if uu == u), default=0) for u in range(len(units))) + 1

    model = cp_model.CpModel()
    # x[u, r] is 1 when resource r fills unit seat u.
    x = {key: model.new_bool_var(f"x[{key[0]},{key[1]}]") for key in priced}
    # Each unit seat gets exactly one candidate.
    for u in range(len(units)):
        model.add_exactly_one(v for (uu, _), v in x.items() if uu == u)
    # No resource fills two unit seats.
    by_resource: dict[str, list[cp_model.IntVar]] = {}
    for (_, r), v in x.items():
        by_resource.setdefault(r, []).append(v)
    for group in by_resource.values():
        model.add_at_most_one(group)
    model.minimize(sum((priced[k][0] * scale + priced[k][1]) * v for k, v in x.items()))

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    if solver.solve(model) != cp_model.OPTIMAL:
        return None
    total = round(solver.objective_value)
    return _Least(total // scale / COST_SCALE, total % scale / COST_SCALE)


def _baseline(directory: Directory, busy: list[BusyInterval], request: SlotRequest, bookings: list[Booking],
              sample: list[datetime]) -> tuple[dict[datetime, _Least | None], float, float]:
    """The naive least-conflict answer at each start of ``sample``, the milliseconds of setup
    (seats, calendars, loads: once per request) and the milliseconds per start."""
    t0 = time.perf_counter()
    units = _unit_seats(directory, request, bookings)
    calendars = _Calendars(directory, busy, request, bookings, {c.resource for u in units for c in u})
    loads = _Loads(request, bookings)
    events = _Events(busy, bookings, request)
    t1 = time.perf_counter()
    out = {s: _least_conflict_at(directory, units, calendars, loads, events, bookings, request, s) for s in sample}
    t2 = time.perf_counter()
    return out, (t1 - t0) * 1000, (t2 - t1) * 1000 / max(1, len(sample))


def _mismatches(directory: Directory, busy: BusyTable, request: SlotRequest, bookings: list[Booking],
                naive: dict[datetime, _Least | None], alternatives: Sequence[Slot]) -> list[str]:
    out = []
    for a in alternatives:
        least = naive[a.start]
        want = None if least is None else (least.conflict, least.seat_cost)
        if want != (a.conflict_cost, a.cost):
            out.append(f"{a.start.isoformat()}: alternative {(a.conflict_cost, a.cost)}, baseline {want}")
    chosen = {a.start for a in alternatives}
    last = max((a.conflict_cost, a.start) for a in alternatives) if len(alternatives) == request.max_alternatives \
        else None
    for start, least in naive.items():
        if start in chosen:
            continue
        check = check_time(directory, busy, request, start, bookings)
        if check.available:
            continue  # free: not an alternative
        got = None if check.slot is None else (check.slot.conflict_cost, check.slot.cost)
        want = None if least is None else (least.conflict, least.seat_cost)
        if got != want:
            out.append(f"{start.isoformat()}: check_time {got}, baseline {want}")
        elif want is not None and last is not None and (want[0], start) < last:
            out.append(f"{start.isoformat()}: conflict {want[0]} beats the last alternative {last}")
    return out


def run() -> list[dict[str, object]]:
    """Rows for the busy-week scenario (see bench/__main__.py for the row format)."""
    directory, busy, plain, bookings = busy_week()
    request = replace(plain, max_alternatives=MAX_ALTERNATIVES, min_available=MIN_AVAILABLE)

    table = BusyTable.of(busy)
    t0 = time.perf_counter()
    result = find_slots(directory, table, request, bookings)  # warm-up
    first_ms = (time.perf_counter() - t0) * 1000
    times = _timed(directory, table, request, bookings)
    plain_times = _timed(directory, table, plain, bookings)
    list_times = _timed(directory, busy, request, bookings)
    p50 = statistics.median(times)

    starts = _candidate_starts(request)
    step = max(1, len(starts) // max(1, BASELINE_STARTS))
    sample = starts[::step][:BASELINE_STARTS]
    naive, setup_ms, per_start_ms = _baseline(directory, busy, request, bookings, sample)
    naive_ms = setup_ms + per_start_ms * len(starts)
    # The returned alternatives are checked too (not timed: the sample alone is spread evenly).
    naive |= _baseline(directory, busy, request, bookings, [a.start for a in result.alternatives])[0]
    mismatches = _mismatches(directory, table, request, bookings, naive, result.alternatives)
    for line in mismatches[:20]:
        print(f"[{SCENARIO}] baseline mismatch: {line}", file=sys.stderr)

    conflicts = [a.conflict_cost for a in result.alternatives]
    return [
        _row("find_slots p50", p50, "ms", f"<= {P50_TARGET_MS:g}"),
        _row("find_slots p95", _percentile(times, 0.95), "ms"),
        _row("find_slots first call", first_ms, "ms"),
        _row("find_slots p50 without alternatives", statistics.median(plain_times), "ms"),
        _row("find_slots p50, busy as a list", statistics.median(list_times), "ms"),
        _row("candidate starts", result.candidates_considered, "starts"),
        _row("available slots", result.total_available, "slots", f"< {MIN_AVAILABLE}"),
        _row("alternatives returned", len(result.alternatives), "slots", f"== {MAX_ALTERNATIVES}"),
        _row("least conflict cost", min(conflicts, default=0.0), "points"),
        _row("conflict cost of the last alternative", max(conflicts, default=0.0), "points"),
        _row("members' working time busy", 100 * _working_time_busy(directory, busy, request), "%"),
        _row("member starts not free within hours", 100 * _busy_share(directory, table, request, bookings), "%"),
        _row("busy intervals", len(busy), "intervals"),
        _row("baseline (CP-SAT per start, conflict mode)", per_start_ms, "ms/start"),
        _row("baseline extrapolated to every start", naive_ms, "ms"),
        _row("speed-up vs baseline", naive_ms / p50 if p50 > 0 else float("inf"), "x"),
        _row("starts checked against the baseline", len(naive), "starts"),
        _row("baseline mismatches", len(mismatches), "starts", "== 0"),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
