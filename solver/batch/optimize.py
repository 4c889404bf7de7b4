"""Batch optimization: many booking requests over one directory, solved together.

    from solver.batch import BatchItem, BatchRequest, optimize_batch
    result = optimize_batch(directory, busy, bookings, BatchRequest(items))

The flow, per independent part of the batch (solver.batch.decompose):

    validate -> split -> per item: make_plan + assign alone (prepare)
             -> greedy first fit (board): the baseline and first schedule
             -> greedy cheapest fit, if better
             -> small repairs for items left out (repair)
             -> the time-indexed LP by column generation (rows, lp):
                the proven bound, and a dive for a schedule near it
             -> one CP-SAT model over the part (cpsat), hinted with the best
             -> scheduled items, reasons, KPIs (result) -> merge

``optimize_batch`` solves the parts in this process, ``workers`` of them at a
time in threads (the LP solver and CP-SAT release the GIL; each part then gets
``workers // lanes`` CP-SAT workers). ``server.batch.runner`` runs
``solve_part`` on a process pool or a Dask cluster instead. The objective is in solver.batch.objective and
docs/objective.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from solver.batch.board import Board, LimitBook, Placement, cheapest_fit, first_fit
from solver.batch.cpsat import SolverSettings, solve_model
from solver.batch.decompose import ProgressTally, merge_results, split_batch, with_pinned
from solver.batch.lp import relax_and_dive
from solver.batch.objective import Breakdown, TermWeights, cost_ceiling, evaluate, term_weights
from solver.batch.prepare import PreparedItem, plan_items, prepare_item, with_options, with_weights
from solver.batch.repair import repair
from solver.batch.result import kpis_of, scheduled_item, unscheduled_reasons, with_fairness_shares
from solver.batch.types import (
    TICKS_PER_POINT,
    BatchItem,
    BatchKpis,
    BatchLimits,
    BatchProgress,
    BatchRequest,
    BatchResult,
    BatchStatus,
    IncompletePart,
    ScheduledItem,
    Score,
    Unscheduled,
    UnscheduledReason,
    UnscheduledRule,
    points,
)
from solver.batch.validate import batch_grid, validate_batch
from solver.batch.work import WorkBudget
from solver.busy import BusyTable
from solver.domain import Booking, BusyInterval, Directory
from solver.validate import Limits

__all__ = [
    "BatchItem",
    "BatchKpis",
    "BatchLimits",
    "BatchProgress",
    "BatchRequest",
    "BatchResult",
    "BatchStatus",
    "IncompletePart",
    "PreparedPart",
    "ScheduledItem",
    "Score",
    "Unscheduled",
    "UnscheduledReason",
    "UnscheduledRule",
    "merge_results",
    "optimize_batch",
    "prepare_part",
    "solve_part",
    "solve_prepared",
    "split_batch",
    "unsolved_part",
    "validate_batch",
]

# Below this many seconds left, CP-SAT is not started: the greedy schedule is the answer.
_MIN_SOLVE_SECONDS = 0.02
# The share of a part's time left after the greedy and repairs that the LP (bound and dive) may take.
_LP_SHARE = 0.85
# The share of a part's time (work) the first repairs may take at most.
_REPAIR_SHARE = 0.5
# Deterministic mode: CP-SAT is not started with less work than this left.
_MIN_SOLVE_WORK = 0.01

# (score so far, items scheduled, source) -> None
ScoreReport = Callable[[Score, int, str], None]


@dataclass(frozen=True)
class PreparedPart:
    """A part planned and greedily scheduled, ready for CP-SAT."""

    batch: BatchRequest
    directory: Directory
    items: list[PreparedItem]
    terms: TermWeights
    ceiling: int
    baseline: dict[int, Placement]  # the greedy first fit: the first schedule, and what results compare with
    baseline_breakdown: Breakdown
    busy: BusyTable
    bookings_by: dict[str, list[Booking]]


def optimize_batch(
    directory: Directory,
    busy: Sequence[BusyInterval] | BusyTable,
    bookings: Sequence[Booking],
    batch: BatchRequest,
    *,
    on_progress: Callable[[BatchProgress], None] | None = None,
    deadline: float | None = None,
    cancelled: Callable[[], bool] | None = None,
    limits: Limits | None = None,
    batch_limits: BatchLimits | None = None,
) -> BatchResult:
    """Schedule as much of ``batch`` as is worth it (see the module docstring).

    Every part is planned and greedily scheduled first (the first progress
    report is that whole schedule); then the parts are improved, up to
    ``batch.workers`` at once, each for a share of the time left proportional to
    its size (times the parts running at once, capped at all of it). ``deadline`` is a
    ``time.monotonic()`` instant; past it or ``batch.time_limit``, the best
    schedule found is returned and the status says it is not proven optimal.
    """
    began = time.monotonic()
    validate_batch(directory, batch, limits, batch_limits)
    stop = _stop_at(began, batch.time_limit, deadline)
    parts = split_batch(directory, batch)
    bookings = with_pinned(batch, bookings)
    busy = BusyTable.coerce(busy)
    tally = ProgressTally(len(parts), on_progress, began)
    prepared: list[PreparedPart | None] = []
    for n, part in enumerate(parts):
        ready = prepare_part(directory, busy, bookings, part, deadline=stop, cancelled=cancelled)
        prepared.append(ready)
        if ready is not None:
            tally.update(n, _baseline_score(ready), len(ready.baseline), "greedy")
    # Parts run ``lanes`` at a time, each in a thread (the LP and CP-SAT release the GIL), the
    # CP-SAT workers shared among them.
    lanes = max(1, min(batch.workers, len(parts)))
    lock = threading.Lock()
    waiting = [sum(len(p.items) for p in parts)]  # items of the parts not started yet

    def solve(n: int) -> BatchResult:
        part, ready = parts[n], prepared[n]
        with lock:
            share = min(1.0, lanes * len(part.items) / waiting[0])
            waiting[0] -= len(part.items)
        if ready is None:
            return unsolved_part(directory, part, time.monotonic() - began, _planning_ran_out(part, stop - began))

        def report(score: Score, scheduled: int, source: str) -> None:
            with lock:
                tally.update(n, score, scheduled, source)

        # A share of the time left in proportion to the items left; unused time carries over. In the
        # deterministic mode the work decides: the clock only guards the whole call's stop.
        until = stop if batch.work_limit is not None else time.monotonic() + (stop - time.monotonic()) * share
        result = solve_prepared(ready, stop=until, report=report,
                                cancelled=cancelled, workers=max(1, batch.workers // lanes))
        with lock:
            tally.update(n, result.score, result.kpis.scheduled, "part", done=True)
        return result

    if lanes == 1:
        results = [solve(n) for n in range(len(parts))]
    else:
        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="batch-part") as pool:
            results = list(pool.map(solve, range(len(parts))))
    return merge_results(directory, batch, results, time.monotonic() - began)


def solve_part(
    directory: Directory,
    busy: Sequence[BusyInterval] | BusyTable,
    bookings: Sequence[Booking],
    part: BatchRequest,
    *,
    on_progress: Callable[[BatchProgress], None] | None = None,
    on_score: ScoreReport | None = None,
    deadline: float | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> BatchResult:
    """Plan, greedily schedule and optimize one part (or a whole batch as one
    model) within ``part.time_limit`` and ``deadline``. Assumes a validated batch.

    ``on_score`` gets each improvement as a Score (what a runner adds up over
    parts); ``on_progress`` the same as a BatchProgress of this part alone.
    """
    began = time.monotonic()
    stop = _stop_at(began, part.time_limit, deadline)
    tally = ProgressTally(1, on_progress, began)
    ready = prepare_part(directory, busy, bookings, part, deadline=stop, cancelled=cancelled)
    if ready is None:
        gone = cancelled is not None and cancelled()
        why = "the call was cancelled" if gone else _planning_ran_out(part, stop - began)
        return unsolved_part(directory, part, time.monotonic() - began, why)

    def report(score: Score, scheduled: int, source: str) -> None:
        tally.update(0, score, scheduled, source)
        if on_score is not None:
            on_score(score, scheduled, source)

    report(_baseline_score(ready), len(ready.baseline), "greedy")

    return solve_prepared(ready, stop=stop, report=report, cancelled=cancelled)


def prepare_part(
    directory: Directory,
    busy: Sequence[BusyInterval] | BusyTable,
    bookings: Sequence[Booking],
    part: BatchRequest,
    *,
    deadline: float | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> PreparedPart | None:
    """Every item of ``part`` planned alone, and the greedy first fit; None when
    the deadline passed (or the caller cancelled) first."""
    # Busy time as one table (converting intervals is the costly step of a FreeMask); a
    # caller solving several parts builds it once and passes it.
    table = BusyTable.coerce(busy)
    bookings_by: dict[str, list[Booking]] = {}
    # A movable item's booking is no obstacle: the item itself says where it goes.
    moving = {item.current.booking_id for item in part.items if item.movable and item.current is not None}
    for bk in bookings:
        if bk.id in moving:
            continue
        for r in bk.resources:
            bookings_by.setdefault(r, []).append(bk)
    grid = batch_grid(part)
    plans = plan_items(directory, table, bookings_by, [with_weights(item, part.weights) for item in part.items])
    items: list[PreparedItem] = []
    for index, (item, plan) in enumerate(zip(part.items, plans, strict=True)):
        if (deadline is not None and time.monotonic() > deadline) or (cancelled is not None and cancelled()):
            return None
        items.append(prepare_item(index, item, plan, directory, allow_conflicts=part.allow_conflicts, grid=grid,
                                  fairness=part.weights.fairness > 0, deadline=deadline, cancelled=cancelled))
    provisional = term_weights(part.weights, 0)
    ceiling = cost_ceiling(items, provisional)
    # Lexicographic unless the batch names a priority weight: one more than any cost can reach.
    priority = round(part.priority_weight * TICKS_PER_POINT) if part.priority_weight is not None else ceiling + 1
    terms = replace(provisional, priority=priority)
    baseline = first_fit(items, Board(LimitBook(directory, bookings_by)))
    return PreparedPart(part, directory, items, terms, ceiling, baseline, evaluate(items, baseline, directory, terms),
                        table, bookings_by)


def solve_prepared(
    ready: PreparedPart,
    *,
    stop: float,
    report: ScoreReport | None = None,
    cancelled: Callable[[], bool] | None = None,
    workers: int | None = None,
) -> BatchResult:
    """Improve a prepared part until ``stop`` (a ``time.monotonic()`` instant): a
    cheapest-fit greedy, repairs for items left out, the LP bound and dive
    (solver.batch.lp), then CP-SAT hinted with the best schedule so far; the best
    schedule found is kept, the best bound proven (LP or CP-SAT) reported.
    ``workers``: CP-SAT workers (default ``batch.workers``).

    In the deterministic mode (``batch.work_limit``) the same phases share the
    part's work instead of its time, in the same proportions (solver.batch.work):
    each stops on the work it did, so the same part gives the same schedule and
    bound at any load; ``stop`` then only guards the deadline."""
    began = time.monotonic()
    batch = ready.batch
    placements, greedy = ready.baseline, ready.baseline_breakdown
    status = BatchStatus.FEASIBLE
    bound_ticks = 0  # nothing proven until the LP or CP-SAT says so
    # Where waiting is cheaper than an alternate, placing each item where it costs least does better.
    items = [with_options(item) for item in ready.items]
    cheapest = cheapest_fit(items, Board(LimitBook(ready.directory, ready.bookings_by)), ready.terms)
    cheapest_breakdown = evaluate(items, cheapest, ready.directory, ready.terms)
    if cheapest_breakdown.total < greedy.total:
        placements, greedy = cheapest, cheapest_breakdown
        if report is not None:
            report(_score(ready, (greedy.unscheduled_priority, greedy.cost), (0, 0)), len(placements), "greedy")
    settings = SolverSettings(stop - began, batch.workers if workers is None else workers, batch.seed,
                              batch.work_limit)
    lexicographic = batch.priority_weight is None
    # Deterministic mode: every phase spends work, not time (the clock only guards ``stop``).
    work = WorkBudget(batch.work_limit) if batch.work_limit is not None else None

    def share(until: float, fraction: float) -> tuple[float, WorkBudget | None]:
        # The instant a phase should end by and its budget: a share of the time, or of the work, left.
        if work is None:
            return time.monotonic() + (until - time.monotonic()) * fraction, None
        return until, work.share(fraction)

    if lexicographic and greedy.unscheduled_priority and stop - began >= _MIN_SOLVE_SECONDS:
        # Small repairs first: they find room for left-out items far faster than the whole model.
        until, budget = (began + (stop - began) * _REPAIR_SHARE, None) if work is None else (stop, work.share(
            _REPAIR_SHARE))
        repaired = repair(items, placements, ready.directory, ready.bookings_by, ready.terms, settings,
                          until, cancelled, budget)
        fixed = evaluate(items, repaired, ready.directory, ready.terms)
        if fixed.total < greedy.total:
            placements, greedy = repaired, fixed
            if report is not None:
                report(_score(ready, (fixed.unscheduled_priority, fixed.cost), (0, 0)), len(repaired), "repair")
    lp_bound = 0
    if all(len(item.starts) == 0 for item in items):
        status, bound_ticks = BatchStatus.OPTIMAL, greedy.total  # nothing can be scheduled
    elif stop - time.monotonic() >= _MIN_SOLVE_SECONDS and not (cancelled is not None and cancelled()):
        # The LP of the time-indexed model: the bound CP-SAT's own LP cannot reach, and a dive
        # for a schedule near it. CP-SAT then polishes the best schedule for the time left.
        until, budget = share(stop, _LP_SHARE)
        tail = 0.0 if work is None else work.left * (1 - _LP_SHARE)
        relaxed = relax_and_dive(items, ready.directory, ready.bookings_by, ready.terms, placements,
                                 stop=until, cancelled=cancelled, work=budget)
        if work is not None:
            # What the LP leaves of its share is not passed on: a unit of CP-SAT's deterministic
            # time runs longer than the LP's on these models, so the part would only take longer.
            work.limit = min(work.limit, work.spent + tail)
        # A Lagrangian bound may be below 0 (early duals): costs never are, so it proves nothing.
        lp_bound = max(0, relaxed.bound) if relaxed.bound is not None else 0
        bound_ticks = lp_bound
        if relaxed.placements is not None:
            dived_at = relaxed.placements
            dived = evaluate(items, dived_at, ready.directory, ready.terms)
            if lexicographic and dived.unscheduled_priority > greedy.unscheduled_priority:
                # The dive fixed its way into a corner for an item or two: small repairs find them room.
                until, budget = share(stop, 1 / 2)
                dived_at = repair(items, dived_at, ready.directory, ready.bookings_by, ready.terms, settings,
                                  until, cancelled, budget)
                dived = evaluate(items, dived_at, ready.directory, ready.terms)
            if dived.total < greedy.total:
                placements, greedy = dived_at, dived
                if report is not None:
                    report(_score(ready, (dived.unscheduled_priority, dived.cost), _split(lp_bound, ready)),
                           len(placements), "lp")

    if status is not BatchStatus.OPTIMAL and stop - time.monotonic() >= _MIN_SOLVE_SECONDS and \
            not (cancelled is not None and cancelled()) and greedy.total > bound_ticks and \
            (work is None or work.left >= _MIN_SOLVE_WORK):

        def on_solution(objective: int, bound: int, scheduled: int, _: float) -> None:
            if report is not None:
                # Costs are never negative: a bound below 0 (before the first LP) says nothing.
                report(_score(ready, _split(objective, ready), _split(max(bound, lp_bound, 0), ready)), scheduled,
                       "cp-sat")

        outcome = solve_model(items, ready.directory, LimitBook(ready.directory, ready.bookings_by),
                              ready.terms, placements, replace(settings, time_limit=stop - time.monotonic(),
                                                               work=None if work is None else work.left),
                              explicit_priority=not lexicographic, report=on_solution, cancelled=cancelled)
        bound_ticks = max(outcome.bound, lp_bound, 0)
        if outcome.placements is not None:
            found = evaluate(items, outcome.placements, ready.directory, ready.terms)
            if found.total <= greedy.total:
                placements, status = outcome.placements, outcome.status
        if status is BatchStatus.OPTIMAL:
            bound_ticks = evaluate(items, placements, ready.directory, ready.terms).total
    if evaluate(items, placements, ready.directory, ready.terms).total <= bound_ticks:
        status = BatchStatus.OPTIMAL  # the schedule meets a proven bound

    final = evaluate(items, placements, ready.directory, ready.terms)
    score = _score(ready, (final.unscheduled_priority, final.cost), _split(min(bound_ticks, final.total), ready))
    scheduled = {items[i].id: scheduled_item(items[i], p, ready.directory, ready.terms, ready.busy,
                                                   ready.bookings_by)
                 for i, p in sorted(placements.items())}
    board = Board(LimitBook(ready.directory, ready.bookings_by))
    for i, p in placements.items():
        board.place(items[i], p)
    unscheduled = unscheduled_reasons(items, placements, board, status, ready.terms)
    return _result(ready.directory, batch, status, score, scheduled, unscheduled, time.monotonic() - began)


def _stop_at(began: float, time_limit: float, deadline: float | None) -> float:
    stop = began + time_limit
    return stop if deadline is None else min(stop, deadline)


def _split(objective: int, ready: PreparedPart) -> tuple[int, int]:
    """A CP-SAT objective (or bound) as (unscheduled priority, cost).

    Lexicographic: the weight exceeds any cost, so the split is exact. With an
    explicit weight the split is not unique; the whole value goes to cost.

    A value below 0 (a bound that proves nothing) is (0, 0): ``divmod`` would make
    it (-1, weight - x), which parts merged under a larger weight turn into a
    bound far below 0 (the negative bounds and huge gaps seen at short limits).
    """
    if objective <= 0:
        return 0, 0
    if ready.batch.priority_weight is not None:
        return 0, objective
    return divmod(objective, ready.terms.priority)


def _score(ready: PreparedPart, found: tuple[int, int], bound: tuple[int, int]) -> Score:
    b = ready.baseline_breakdown
    explicit = ready.terms.priority if ready.batch.priority_weight is not None else None
    return Score(found[0], found[1], bound[0], bound[1], ready.ceiling, b.unscheduled_priority, b.cost, explicit)


def _baseline_score(ready: PreparedPart) -> Score:
    b = ready.baseline_breakdown
    return _score(ready, (b.unscheduled_priority, b.cost), (0, 0))


def _result(directory: Directory, batch: BatchRequest, status: BatchStatus, score: Score,
            scheduled: dict[str, ScheduledItem], unscheduled: dict[str, Unscheduled], wall: float) -> BatchResult:
    return BatchResult(
        status=status,
        objective=points(score.objective),
        best_bound=points(score.bound),
        gap=round(score.gap, 6),
        wall_time=wall,
        scheduled=with_fairness_shares(directory, scheduled, batch.weights),
        unscheduled=unscheduled,
        kpis=kpis_of(directory, batch.items, scheduled, batch.weights),
        priority_weight=score.weight / TICKS_PER_POINT,  # unrounded: it multiplies priorities
        baseline_objective=points(score.baseline),
        score=score,
    )


def _planning_ran_out(part: BatchRequest, seconds: float) -> str:
    return (f"the time ran out while the part's {len(part.items)} items were being planned, before any schedule "
            f"(the part had {max(0.0, seconds):.2f} s)")


def unsolved_part(directory: Directory, part: BatchRequest, wall: float, reason: str) -> BatchResult:
    """The result of a part with no schedule at all (``reason``: why, e.g. the time ran out
    while it was being planned): every item unscheduled with reason DEADLINE, the part
    listed in ``incomplete``, status UNKNOWN."""
    unscheduled = {item.id: Unscheduled(item.id, UnscheduledReason.DEADLINE, f"its part got no schedule: {reason}",
                                            UnscheduledRule.TIME_LIMIT)
                   for item in part.items}
    left = sum(item.priority for item in part.items)
    explicit = round(part.priority_weight * TICKS_PER_POINT) if part.priority_weight is not None else None
    score = Score(left, 0, 0, 0, 0, left, 0, explicit)
    result = _result(directory, part, BatchStatus.UNKNOWN, score, {}, unscheduled, wall)
    return replace(result, incomplete=(IncompletePart(tuple(item.id for item in part.items), reason),))
