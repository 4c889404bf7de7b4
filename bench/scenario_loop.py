"""Interview loops: the loop-4 scenario (issue 18).

Four segments of 45, 60, 60 and 30 minutes, each with one interviewer from a
20-member round-robin pool (four pools drawn from the same 30 interviewers, so
segments compete for people) and one member seat with two alternates; rooms
for the first and the third; 0-15 minutes between segments; the middle two in
any order; over two weeks at 15-minute first starts. Busy time as in
bench/scenarios.py (about 40% of working time, some off-grid).

``find_sequences`` is timed in-process (p50 over ``FIND_RUNS`` runs after a
warm-up, busy time as a ``BusyTable``).

The naive way, in the same run: one CP-SAT model per first start over the
whole loop (a boolean per order and gap vector, a boolean per candidate per
segment, a candidate barred at every segment start where it is not free, as
bench/baseline.py decides freeness: sorted intervals and bisect). It solves
every first start (or, with ``BENCH_LOOP_BASELINE_STARTS``, that many spread
over the window, extrapolated to all of them); its minimum cost must equal ``find_sequences``' option cost at
every first start it solved (and be infeasible where find_sequences has none),
also at ``CHECKED_OPTIONS`` of the options returned; any difference counts in
``baseline mismatches``.
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

from bench.baseline import COST_SCALE, _Calendars, _Candidate, _Loads, _unit_seats
from bench.scenarios import ROOM_DAY, _busy_time, _member
from solver import (
    Booking,
    BusyInterval,
    Directory,
    Distribution,
    MemberSeat,
    Pool,
    PoolSeat,
    Room,
    RoomSeat,
    WorkingHours,
)
from solver.busy import BusyTable
from solver.sequences import Segment, SequenceRequest, find_sequences, segment_request

__all__ = ["loop_4", "run"]

SCENARIO = "loop-4"
FIND_RUNS = int(os.environ.get("BENCH_FIND_RUNS", "20"))
BASELINE_STARTS = int(os.environ.get("BENCH_LOOP_BASELINE_STARTS", "0"))  # 0: every first start
CHECKED_OPTIONS = int(os.environ.get("BENCH_LOOP_CHECKED_OPTIONS", "30"))
P50_TARGET_MS = 100.0
SPEED_UP_TARGET = 20.0

ZONE = "Europe/Berlin"
FIRST_DAY = date(2025, 3, 3)  # a Monday
DAYS = 14
SEGMENT_MINUTES = (45, 60, 60, 30)
ROOMED = (0, 2)  # the segments that need a room
INTERVIEWERS = 30
POOL_SIZE = 20
ROOMS = 10
ROOM_CAPACITIES = (2, 4, 4, 6, 8)

Instance = tuple[Directory, list[BusyInterval], SequenceRequest, list[Booking]]


def loop_4(seed: int = 0) -> Instance:
    """The loop-4 problem (see the module docstring); the same seed builds the same problem."""
    rng = random.Random(seed)
    panel = [_member(rng, f"panel-{i:02d}") for i in range(3 * len(SEGMENT_MINUTES))]
    interviewers = [_member(rng, f"interviewer-{i:02d}") for i in range(INTERVIEWERS)]
    rooms = [Room(f"room-{i:02d}", capacity=ROOM_CAPACITIES[i % len(ROOM_CAPACITIES)], time_zone=ZONE,
                  opening_hours=WorkingHours(ZONE, (ROOM_DAY,) * 5 + ((), ())))
             for i in range(ROOMS)]
    pools = [Pool(f"pool-{k}", tuple(sorted(m.id for m in rng.sample(interviewers, POOL_SIZE))),
                  Distribution.ROUND_ROBIN) for k in range(len(SEGMENT_MINUTES))]
    room_pool = Pool("hq-rooms", tuple(r.id for r in rooms), Distribution.ROUND_ROBIN)
    directory = Directory.of(panel + interviewers, rooms, [*pools, room_pool])

    days = [FIRST_DAY + timedelta(days=d) for d in range(-1, DAYS + 1)]
    busy: list[BusyInterval] = []
    for person in panel + interviewers:
        assert person.working_hours is not None
        busy += _busy_time(rng, person.id, person.working_hours, days)
    for room in rooms:
        assert room.opening_hours is not None
        busy += _busy_time(rng, room.id, room.opening_hours, days)
    bookings = _bookings(rng, pools, days)

    segments = []
    for k, minutes in enumerate(SEGMENT_MINUTES):
        seats: list[MemberSeat | PoolSeat | RoomSeat] = [
            PoolSeat(pools[k].id, 1, label="interviewer"),
            MemberSeat(tuple(p.id for p in panel[3 * k:3 * k + 3]), label="panelist"),
        ]
        if k in ROOMED:
            seats.append(RoomSeat(pools=("hq-rooms",), label="room"))
        segments.append(Segment(timedelta(minutes=minutes), tuple(seats), label=f"segment {k + 1}"))
    zone = ZoneInfo(ZONE)
    request = SequenceRequest(
        window_start=datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=zone),
        window_end=datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, tzinfo=zone) + timedelta(days=DAYS),
        time_zone=ZONE, segments=tuple(segments), any_order=True, free_order=(1, 2),
        min_gap=timedelta(0), max_gap=timedelta(minutes=15),
    )
    return directory, busy, request, bookings


def _bookings(rng: random.Random, pools: list[Pool], days: list[date]) -> list[Booking]:
    """Past bookings of the pools, so that each pool's round-robin ranks differ."""
    out = []
    for k in range(40):
        pool = rng.choice(pools)
        member = rng.choice(pool.members)
        day = days[0] - timedelta(days=rng.randint(1, 10))
        start = datetime(day.year, day.month, day.day, rng.randint(9, 15), tzinfo=ZoneInfo(ZONE))
        out.append(Booking(f"booking-{k:03d}", start, start + timedelta(minutes=60), (member,),
                           ((pool.id, member),)))
    return out


# --- The naive way: one CP-SAT model per first start over the whole loop ----------------------


class _Naive:
    """What the naive solver knows once per request: per segment its unit seats and calendars."""

    def __init__(self, directory: Directory, busy: Sequence[BusyInterval], request: SequenceRequest,
                 bookings: Sequence[Booking]) -> None:
        self.request = request
        self.directory = directory
        self.requests = [segment_request(request, k) for k in range(len(request.segments))]
        self.units: list[list[list[_Candidate]]] = [_unit_seats(directory, r, bookings) for r in self.requests]
        self.calendars = [_Calendars(directory, busy, r, bookings, {c.resource for u in units for c in u})
                          for r, units in zip(self.requests, self.units, strict=True)]
        self.loads = [_Loads(r, bookings) for r in self.requests]
        for units in self.units:
            assert all(c.load_pool is None for u in units for c in u), "costs must not depend on the start"
        self.combos = _naive_combos(request)

    def cost_at(self, first: datetime) -> float | None:
        """The minimum cost of a loop starting at ``first``, or None when there is none."""
        request = self.request
        n = len(request.segments)
        combos = [(order, gaps, starts) for order, gaps, starts in self.combos
                  if first + starts[order[-1]] + request.segments[order[-1]].duration <= request.window_end]
        if not combos:
            return None
        model = cp_model.CpModel()
        # y[c] is 1 when the loop takes order and gaps c.
        y = [model.new_bool_var(f"y[{c}]") for c in range(len(combos))]
        model.add_exactly_one(y)
        # z[k, t] is 1 when segment k starts t after the first start.
        z: dict[tuple[int, timedelta], cp_model.IntVar] = {}
        takers: dict[tuple[int, timedelta], list[cp_model.IntVar]] = {}
        for c, (_, _, starts) in enumerate(combos):
            for k in range(n):
                takers.setdefault((k, starts[k]), []).append(y[c])
        for key, ys in takers.items():
            z[key] = model.new_bool_var(f"z[{key[0]},{key[1]}]")
            model.add(z[key] == sum(ys))
        # x[k, u, r] is 1 when resource r fills unit seat u of segment k; free at some start or absent.
        x: dict[tuple[int, int, str], cp_model.IntVar] = {}
        cost: dict[tuple[int, int, str], int] = {}
        offsets = sorted({t for (_, t) in z})
        for k in range(n):
            mine = [t for t in offsets if (k, t) in z]
            free = {c.resource: [self.calendars[k].is_free(c.resource, first + t) for t in mine]
                    for u in self.units[k] for c in u}
            for u, unit in enumerate(self.units[k]):
                for cand in unit:
                    if not any(free[cand.resource]):
                        continue
                    var = model.new_bool_var(f"x[{k},{u},{cand.resource}]")
                    x[k, u, cand.resource] = var
                    cost[k, u, cand.resource] = round(cand.base_cost * COST_SCALE)
                    # A candidate not free at a segment start bars that start.
                    for t, ok in zip(mine, free[cand.resource], strict=True):
                        if not ok:
                            model.add_bool_or([var.Not(), z[k, t].Not()])
        # Each unit seat of each segment gets exactly one candidate.
        for k in range(n):
            for u in range(len(self.units[k])):
                model.add_exactly_one(v for (kk, uu, _), v in x.items() if (kk, uu) == (k, u))
        # No resource fills two unit seats of one segment; no member sits in two segments.
        by_segment: dict[tuple[int, str], list[cp_model.IntVar]] = {}
        by_member: dict[str, list[cp_model.IntVar]] = {}
        for (k, _, r), v in x.items():
            by_segment.setdefault((k, r), []).append(v)
            if r in self.directory.members and not request.allow_member_repeat:
                by_member.setdefault(r, []).append(v)
        for group in [*by_segment.values(), *by_member.values()]:
            if len(group) > 1:
                model.add_at_most_one(group)
        # A room serves two segments only when their buffered windows do not overlap.
        for c, (_, _, starts) in enumerate(combos):
            for a in range(n):
                for b in range(a + 1, n):
                    if _overlap(request, a, starts[a], b, starts[b]):
                        for (k, _, r), v in x.items():
                            if k == a and r in self.directory.rooms:
                                for (k2, _, r2), v2 in x.items():
                                    if k2 == b and r2 == r:
                                        model.add_bool_or([y[c].Not(), v.Not(), v2.Not()])
        gap_cost = [round(request.gap_weight * sum(gaps, timedelta(0)) / timedelta(hours=1) * COST_SCALE)
                    for _, gaps, _ in combos]
        model.minimize(sum(cost[k] * v for k, v in x.items()) + sum(g * v for g, v in zip(gap_cost, y, strict=True)))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        status = solver.solve(model)
        if status == cp_model.INFEASIBLE:
            return None
        assert status == cp_model.OPTIMAL, solver.status_name(status)
        return solver.objective_value / COST_SCALE


def _naive_combos(request: SequenceRequest) -> list[tuple[tuple[int, ...], tuple[timedelta, ...],
                                                          tuple[timedelta, ...]]]:
    """(order, gaps, start offset per listed segment) for every order and gap vector within max_span."""
    n = len(request.segments)
    free = sorted(request.free_order) if request.free_order else list(range(n))
    orders: list[tuple[int, ...]] = []
    for perm in itertools.permutations(free) if request.any_order else [tuple(free)]:
        placed = list(range(n))
        for pos, seg in zip(free, perm, strict=True):
            placed[pos] = seg
        orders.append(tuple(placed))
    step = timedelta(minutes=request.resolution)
    gap_values = []
    g = request.min_gap
    while g <= request.max_gap:
        gap_values.append(g)
        g += step
    span_limit = request.max_span or timedelta(days=1)
    out = []
    for order in orders:
        for gaps in itertools.product(gap_values, repeat=n - 1):
            starts = [timedelta(0)] * n
            t = timedelta(0)
            for i, k in enumerate(order):
                starts[k] = t
                t += request.segments[k].duration + (gaps[i] if i < n - 1 else timedelta(0))
            if t <= span_limit:
                out.append((order, gaps, tuple(starts)))
    return out


def _overlap(request: SequenceRequest, a: int, sa: timedelta, b: int, sb: timedelta) -> bool:
    seg_a, seg_b = request.segments[a], request.segments[b]
    return (sa - seg_a.buffer_before < sb + seg_b.duration + seg_b.buffer_after
            and sb - seg_b.buffer_before < sa + seg_a.duration + seg_a.buffer_after)


def _first_starts(request: SequenceRequest) -> list[datetime]:
    zone = ZoneInfo(request.time_zone)
    out = []
    t = request.window_start
    while t < request.window_end:
        local = t.astimezone(zone)
        if (local.hour * 60 + local.minute) % request.start_interval == 0:
            out.append(t)
        t += timedelta(minutes=request.resolution)
    return out


def _row(metric: str, value: float, unit: str, target: str = "") -> dict[str, object]:
    row: dict[str, object] = {"scenario": SCENARIO, "metric": metric, "value": round(value, 3), "unit": unit}
    if target:
        row["target"] = target
    return row


def run() -> list[dict[str, object]]:
    """Rows for loop-4 (see bench/__main__.py for the row format)."""
    directory, busy, request, bookings = loop_4()
    table = BusyTable.of(busy)
    t0 = time.perf_counter()
    result = find_sequences(directory, table, request, bookings)  # warm-up
    first_ms = (time.perf_counter() - t0) * 1000
    times = []
    for _ in range(FIND_RUNS):
        t0 = time.perf_counter()
        find_sequences(directory, table, request, bookings)
        times.append((time.perf_counter() - t0) * 1000)
    p50 = statistics.median(times)

    t0 = time.perf_counter()
    naive = _Naive(directory, busy, request, bookings)
    setup_ms = (time.perf_counter() - t0) * 1000
    firsts = _first_starts(request)
    step = max(1, len(firsts) // BASELINE_STARTS) if BASELINE_STARTS else 1
    sample = firsts[::step][:BASELINE_STARTS or None]
    t0 = time.perf_counter()
    want = {f: naive.cost_at(f) for f in sample}
    per_start_ms = (time.perf_counter() - t0) * 1000 / max(1, len(sample))
    naive_ms = setup_ms + per_start_ms * len(firsts)
    got = {o.start: o.cost for o in result.options}
    picked = random.Random(1).sample(sorted(got), min(CHECKED_OPTIONS, len(got)))
    want |= {f: naive.cost_at(f) for f in picked if f not in want}
    mismatches = []
    for f, cost in sorted(want.items()):
        mine = got.get(f)
        if (mine is None) != (cost is None) or (mine is not None and cost is not None and abs(mine - cost) > 0.0015):
            mismatches.append(f"{f.isoformat()}: find_sequences {mine}, baseline {cost}")
    for line in mismatches[:20]:
        print(f"[{SCENARIO}] baseline mismatch: {line}", file=sys.stderr)

    return [
        _row("find_sequences p50", p50, "ms", f"<= {P50_TARGET_MS:g}"),
        _row("find_sequences p95", sorted(times)[min(len(times) - 1, round(0.95 * (len(times) - 1)))], "ms"),
        _row("find_sequences first call", first_ms, "ms"),
        _row("first starts", result.candidates_considered, "starts"),
        _row("first starts with an option", result.total_available, "starts"),
        _row("joint solves", result.joint_solves, "combos"),
        _row("baseline (CP-SAT per first start)", per_start_ms, "ms/start"),
        _row("baseline over every first start" + (" (extrapolated)" if BASELINE_STARTS else ""), naive_ms, "ms"),
        _row("speed-up vs baseline", naive_ms / p50 if p50 > 0 else float("inf"), "x", f">= {SPEED_UP_TARGET:g}"),
        _row("first starts checked against the baseline", len(want), "starts"),
        _row("baseline mismatches", len(mismatches), "starts", "== 0"),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
