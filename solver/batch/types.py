"""Plain data of batch optimization: the request, the progress reports, the result.

A batch is many booking requests over one directory. The solver picks for
each item a start and an assignment, or leaves it unscheduled with a reason.
The objective and the rule that keeps items apart are written out in
docs/objective.md; ``solver.batch`` is the entry point.

Costs inside the batch solver are integer **ticks**: 1 point = 60,000 ticks
(the milli-points of ``solver.seats`` times 60), so that ``w.earliness`` per
hour is a whole number of ticks per minute. Results report points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from solver.domain import Assignment, Conflict, SlotRequest, Weights
from solver.seats import MILLI

__all__ = [
    "TICKS_PER_POINT",
    "BatchItem",
    "BatchKpis",
    "BatchLimits",
    "BatchProgress",
    "BatchRequest",
    "BatchResult",
    "BatchStatus",
    "Current",
    "IncompletePart",
    "ScheduledItem",
    "Score",
    "Unscheduled",
    "UnscheduledReason",
    "UnscheduledRule",
    "points",
]

# Milli-points per minute of an hourly weight: ticks are milli-points x 60.
TICKS_PER_POINT = MILLI * 60


def points(ticks: int | float) -> float:
    """Ticks as points, rounded to what a tick can say."""
    return round(ticks / TICKS_PER_POINT, 6)


@dataclass(frozen=True)
class Current:
    """An existing booking a batch item stands for (re-optimization): where it is now.

    ``seats`` are the resources filling each seat of the item's request, in seat order.
    Pinned (``movable`` False): the item keeps ``[start, end)`` and its seats; it is not
    solved, its booking (which the caller passes among ``bookings``) stays an obstacle,
    and the result lists it as scheduled there, at no cost. Movable: the booking is no
    obstacle for anyone (the caller leaves its calendar events out of ``busy``; the
    solver drops it from ``bookings`` by id); the item may take any candidate start of
    its request, paying ``weights.move`` at every start but ``start``, where it keeps
    ``seats`` (so a move is exactly a change of start).
    """

    booking_id: str
    start: datetime
    end: datetime
    seats: tuple[tuple[str, ...], ...]
    movable: bool = False


@dataclass(frozen=True)
class BatchItem:
    """One booking request of a batch. ``priority`` (>= 1) is what scheduling it is worth.
    ``current``: the existing booking it stands for (None: a new booking)."""

    id: str
    request: SlotRequest
    priority: int = 1
    current: Current | None = None

    @property
    def pinned(self) -> bool:
        return self.current is not None and not self.current.movable

    @property
    def movable(self) -> bool:
        return self.current is not None and self.current.movable


@dataclass(frozen=True)
class BatchRequest:
    """Many items over one directory, solved together.

    - ``weights`` apply to every item (an item's own ``request.weights`` are ignored),
      including the batch terms ``fairness`` and ``earliness``.
    - ``allow_conflicts``: members may be assigned while busy or out of hours, at the
      conflict weights' price; rooms, booking limits and the other items stay hard.
    - ``time_limit``: seconds for the whole call (planning, greedy, CP-SAT).
    - ``workers``: CP-SAT search workers for one model; a parallel runner runs up to
      this many parts at once and shares the workers among them.
    - ``priority_weight``: points per unit of priority left unscheduled. None (the
      default) makes the objective lexicographic: priority first, cost second.
    - ``work_limit``: deterministic mode. Every phase (repairs, the LP bound and
      dive, CP-SAT) stops on its share of this much work instead of the clock
      (solver.batch.work: CP-SAT's deterministic time, the LP's iterations counted
      in the same unit, about 4 s of a core), with the search interleaved over
      ``workers`` and ``seed`` fixed: the same input, limit, seed and workers give
      the same schedule and bound at any load.
      ``time_limit`` (and the call's deadline) still bound the call; a result cut
      by them is not reproducible and is FEASIBLE or UNKNOWN like any other.
    - ``grid_minutes``: the grid the items' held time is widened to (None: the least
      common multiple of the items' resolutions). Parts of a batch keep the batch's.
    """

    items: tuple[BatchItem, ...]
    weights: Weights = field(default_factory=Weights)
    allow_conflicts: bool = False
    time_limit: float = 10.0
    workers: int = 1
    seed: int = 0
    priority_weight: float | None = None
    grid_minutes: int | None = None
    work_limit: float | None = None


@dataclass(frozen=True)
class BatchLimits:
    """Work a batch call accepts (per-item limits are solver.Limits)."""

    max_items: int = 5_000
    max_time_limit: float = 3_600.0
    max_workers: int = 64
    max_work_limit: float = 36_000.0


class BatchStatus(StrEnum):
    """CP-SAT's verdict, merged over parts (the worst part wins)."""

    OPTIMAL = "OPTIMAL"  # proven best
    FEASIBLE = "FEASIBLE"  # a valid schedule, not proven best (the time limit or deadline came first)
    INFEASIBLE = "INFEASIBLE"  # never for a valid batch: leaving every item out is always allowed
    UNKNOWN = "UNKNOWN"  # the deadline came before any schedule was found


class UnscheduledReason(StrEnum):
    """Why an item has no start."""

    NO_AVAILABLE_START = "no_available_start"  # alone, no start of its window can fill its seats
    LOST_TO_OTHER_ITEMS = "lost_to_other_items"  # each of its starts clashes with items worth more together
    NOT_WORTH_ITS_COST = "not_worth_its_cost"  # it fits, but costs more than its priority weighs
    DEADLINE = "deadline"  # the time ran out before the solver could place it


class UnscheduledRule(StrEnum):
    """The rule that stopped an unscheduled item: what to widen, add or drop."""

    WINDOW = "window"  # no candidate start: window shorter than the meeting, or before the notice
    CALENDAR_BUSY = "calendar_busy"  # calendars and existing bookings busy at every start
    BUFFERS = "buffers"  # the buffers around events and bookings
    WORKING_HOURS = "working_hours"
    BOOKING_LIMITS = "booking_limits"  # daily/weekly limits, used up before or by the batch
    ROOM_CAPACITY = "room_capacity"  # every free room too small
    SEVERAL = "several"  # lifting any one rule alone frees no start
    NO_JOINT_ASSIGNMENT = "no_joint_assignment"  # each seat has someone, never all at once
    CLASHES_WITH_ITEMS = "clashes_with_items"  # every start clashes with scheduled items
    COST = "cost"  # it fits but costs more than its priority weighs
    TIME_LIMIT = "time_limit"  # the time or work limit came first


@dataclass(frozen=True)
class ScheduledItem:
    """Where and with whom an item meets, and what that costs (points).

    ``cost`` = ``seat_cost`` + ``conflict_cost`` + ``earliness_cost`` + ``move_cost``. ``pool_fills``
    names each member drawn from a pool as (pool id, member id, the pool's cycle
    period holding the start, e.g. "2026-W23"), which is what fairness counts.
    ``fairness_cost`` is the item's share of the schedule-wide fairness term
    (``result.with_fairness_shares``): apart from ``cost``, since it depends on
    every other item.
    """

    item_id: str
    start: datetime
    end: datetime
    assignment: Assignment
    cost: float
    seat_cost: float
    conflict_cost: float
    earliness_cost: float
    hours_from_window_start: float
    alternates: int  # member seats filled by someone other than the primary
    conflicts: tuple[Conflict, ...] = ()
    pool_fills: tuple[tuple[str, str, str], ...] = ()
    fairness_cost: float = 0.0
    move_cost: float = 0.0  # an item with a booking placed at another start: weights.move
    moved: bool = False  # its start or seats differ from its booking's


@dataclass(frozen=True)
class Unscheduled:
    """Why an item is left out: ``reason`` says how the solver decided,
    ``rule`` what stopped it, ``blocking_item_ids`` every scheduled item in its way."""

    item_id: str
    reason: UnscheduledReason
    detail: str = ""
    rule: UnscheduledRule = UnscheduledRule.TIME_LIMIT
    blocking_item_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncompletePart:
    """A part of the batch left with no schedule at all, and why: the time ran out
    while it was being planned, or its task did not come back from the workers.
    Its items are unscheduled with reason ``DEADLINE``."""

    item_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class BatchKpis:
    """What an analyst compares across weight settings (costs in points)."""

    items: int = 0
    scheduled: int = 0
    total_priority: int = 0
    scheduled_priority: int = 0
    alternates_used: int = 0
    conflicts: int = 0  # conflicting events (and hours left) over every scheduled member
    seat_cost: float = 0.0
    conflict_cost: float = 0.0
    earliness_cost: float = 0.0
    fairness_cost: float = 0.0
    pool_load_spread: int = 0  # sum over (pool, cycle period) of max - min load
    mean_hours_from_window_start: float = 0.0
    moves: int = 0  # re-optimization: items whose booking the schedule moves
    move_cost: float = 0.0


@dataclass(frozen=True)
class BatchProgress:
    """A report on the way: an improved schedule, or a finished part.

    ``objective``, ``best_bound`` and ``scheduled`` add up the latest schedule of
    each part heard from so far; ``complete`` says every part is in (from then
    on they describe a schedule of the whole batch). ``source``: "greedy",
    "repair", "lp" (the LP dive), "cp-sat" (an improving solution) or "part" (a part finished).
    """

    objective: float
    best_bound: float
    gap: float
    scheduled: int
    elapsed: float
    source: str
    parts_done: int = 0
    parts_total: int = 1
    complete: bool = False


@dataclass(frozen=True)
class Score:
    """A schedule's objective and the proven bound in ticks, term by term, so that
    the results of independent parts add up exactly.

    Every objective is ``weight x unscheduled priority + cost``. With no explicit
    priority weight (``priority_ticks`` None) the weight is ``cost_ceiling + 1``:
    more than any schedule's cost can reach, which makes priority come first. A
    bound ``(u, c)`` means no schedule leaves less than ``u`` priority out, and
    none leaving exactly ``u`` out costs less than ``c``; it holds for every
    weight at least as large as the one it was proven with, so it adds up over
    parts. With an explicit weight the whole bound sits in ``bound_cost``.
    """

    unscheduled_priority: int
    cost: int
    bound_unscheduled_priority: int
    bound_cost: int
    cost_ceiling: int
    baseline_unscheduled_priority: int
    baseline_cost: int
    priority_ticks: int | None = None

    @property
    def weight(self) -> int:
        return self.priority_ticks if self.priority_ticks is not None else self.cost_ceiling + 1

    @property
    def objective(self) -> int:
        return self.weight * self.unscheduled_priority + self.cost

    @property
    def bound(self) -> int:
        # Never below 0: no schedule costs less than nothing (a guard; the terms are >= 0).
        return max(0, self.weight * self.bound_unscheduled_priority + self.bound_cost)

    @property
    def baseline(self) -> int:
        return self.weight * self.baseline_unscheduled_priority + self.baseline_cost

    @property
    def gap(self) -> float:
        return max(0.0, (self.objective - self.bound) / max(abs(self.objective), 1))

    def __add__(self, other: Score) -> Score:
        return Score(
            self.unscheduled_priority + other.unscheduled_priority,
            self.cost + other.cost,
            self.bound_unscheduled_priority + other.bound_unscheduled_priority,
            self.bound_cost + other.bound_cost,
            self.cost_ceiling + other.cost_ceiling,
            self.baseline_unscheduled_priority + other.baseline_unscheduled_priority,
            self.baseline_cost + other.baseline_cost,
            self.priority_ticks,
        )


@dataclass(frozen=True)
class BatchResult:
    """The schedule and how good it is.

    ``objective`` (points, minimized) = ``priority_weight`` x the priority left
    unscheduled + seat, conflict, fairness and earliness costs. ``gap`` is
    ``(objective - best_bound) / objective`` (0 when proven). ``baseline_objective``
    is the greedy first-fit schedule's objective in the same run. ``incomplete``
    lists the parts that got no schedule at all (a result with any is incomplete).
    """

    status: BatchStatus
    objective: float
    best_bound: float
    gap: float
    wall_time: float
    scheduled: Mapping[str, ScheduledItem]
    unscheduled: Mapping[str, Unscheduled]
    kpis: BatchKpis
    priority_weight: float
    baseline_objective: float
    score: Score
    parts: int = 1
    incomplete: tuple[IncompletePart, ...] = ()
