"""Plain data of the scheduling domain.

Every interval in Convene is half-open, ``[start, end)``, and every instant is a
timezone-aware ``datetime``. Durations are ``timedelta``; the grid resolution and
the start interval are whole minutes (the contract speaks of them in minutes).

These types are what the solver takes and returns. They carry no behaviour
beyond tiny derived properties: rules live in the modules that apply them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

__all__ = [
    "Assignment",
    "Booking",
    "BusyInterval",
    "BusyKind",
    "Conflict",
    "Cycle",
    "DayRange",
    "Diagnosis",
    "Directory",
    "Distribution",
    "EventDetails",
    "Member",
    "MemberSeat",
    "OptionalStatus",
    "Order",
    "Pool",
    "PoolSeat",
    "Room",
    "RoomSeat",
    "Seat",
    "SeatDiagnosis",
    "SeatFill",
    "Slot",
    "SlotRequest",
    "SlotResult",
    "Weights",
    "WorkingHours",
]


# --- Calendars ---------------------------------------------------------------


class BusyKind(StrEnum):
    """Why a resource is not free. Only blocking kinds ever reach the solver:
    providers drop free/transparent, cancelled and declined events."""

    BUSY = "busy"
    TENTATIVE = "tentative"
    OUT_OF_OFFICE = "out_of_office"
    BOOKING = "booking"  # a confirmed booking of this engine
    OUTSIDE_HOURS = "outside_hours"  # only in conflicts: the meeting leaves working hours


@dataclass(frozen=True)
class EventDetails:
    """What an event is. Shown only to the principal who owns the calendar."""

    title: str = ""
    event_id: str = ""
    location: str = ""


@dataclass(frozen=True)
class BusyInterval:
    """One blocking interval ``[start, end)`` on a resource's calendar.

    ``owner`` is the principal who owns the calendar it came from; ``details``
    is None when the source gave free/busy only.
    """

    resource_id: str
    start: datetime
    end: datetime
    kind: BusyKind = BusyKind.BUSY
    owner: str = ""
    details: EventDetails | None = None


@dataclass(frozen=True)
class Booking:
    """A confirmed booking of this engine: it holds each resource for
    ``[start, end)``. A new meeting's own buffers are checked against it.

    ``pool_members`` records which members were drawn from which pool, so the
    pools' round-robin order and load follow from the bookings alone.
    """

    id: str
    start: datetime
    end: datetime
    resources: tuple[str, ...]
    pool_members: tuple[tuple[str, str], ...] = ()  # (pool_id, member_id)


# --- Directory ---------------------------------------------------------------


@dataclass(frozen=True)
class DayRange:
    """Wall-clock minutes of a day, ``[start_minute, end_minute)``; 1440 is midnight at the end."""

    start_minute: int
    end_minute: int

    @staticmethod
    def of(start: time, end: time) -> DayRange:
        """A range from two wall-clock times; an end of 00:00 means the end of the day."""
        end_minute = end.hour * 60 + end.minute
        return DayRange(start.hour * 60 + start.minute, end_minute or 1440)


@dataclass(frozen=True)
class WorkingHours:
    """Weekly wall-clock hours in ``time_zone`` plus per-date overrides.

    ``weekly[d]`` holds the ranges of weekday ``d`` (0 = Monday). An override
    replaces a date's ranges entirely; an empty override is a day off.
    """

    time_zone: str
    weekly: tuple[tuple[DayRange, ...], ...] = ((),) * 7
    overrides: tuple[tuple[date, tuple[DayRange, ...]], ...] = ()

    @staticmethod
    def weekdays(start: time, end: time, time_zone: str, days: int = 5) -> WorkingHours:
        """The same hours on the first ``days`` weekdays (Monday first)."""
        day = (DayRange.of(start, end),)
        return WorkingHours(time_zone, tuple(day if d < days else () for d in range(7)))

    def ranges_on(self, day: date) -> tuple[DayRange, ...]:
        for d, ranges in self.overrides:
            if d == day:
                return ranges
        return self.weekly[day.weekday()]


@dataclass(frozen=True)
class Member:
    """A person who can sit on a panel. No working hours means always available."""

    id: str
    name: str = ""
    email: str = ""
    time_zone: str = "UTC"
    working_hours: WorkingHours | None = None
    daily_limit: int | None = None  # most confirmed bookings per local day
    weekly_limit: int | None = None  # most confirmed bookings per local week (Mon-Sun)


@dataclass(frozen=True)
class Room:
    """A room. No opening hours means always open."""

    id: str
    name: str = ""
    capacity: int = 1
    time_zone: str = "UTC"
    opening_hours: WorkingHours | None = None
    email: str = ""


class Distribution(StrEnum):
    """How a pool seat chooses among the pool's members (see SCHEDULING.md)."""

    ROUND_ROBIN = "round_robin"
    STRICT_ROUND_ROBIN = "strict_round_robin"
    LOAD_BALANCED = "load_balanced"
    PRIORITY = "priority"


class Cycle(StrEnum):
    """The period over which a load-balanced pool counts load."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Pool:
    """A set of interchangeable members (or rooms), in the pool's own order.

    ``priorities`` maps member id to priority (higher is preferred; missing = 0).
    The order of ``members`` breaks every remaining tie.
    """

    id: str
    members: tuple[str, ...]
    distribution: Distribution = Distribution.ROUND_ROBIN
    cycle: Cycle = Cycle.WEEK
    priorities: tuple[tuple[str, int], ...] = ()
    name: str = ""


@dataclass(frozen=True)
class Directory:
    """Everyone and everything that can be scheduled, by id."""

    members: dict[str, Member] = field(default_factory=dict)
    rooms: dict[str, Room] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)

    @staticmethod
    def of(members: tuple[Member, ...] | list[Member] = (), rooms: tuple[Room, ...] | list[Room] = (),
           pools: tuple[Pool, ...] | list[Pool] = ()) -> Directory:
        return Directory({m.id: m for m in members}, {r.id: r for r in rooms}, {p.id: p for p in pools})


# --- Request -----------------------------------------------------------------


@dataclass(frozen=True)
class MemberSeat:
    """A required member: ``candidates[0]`` is the primary, the rest alternates in order."""

    candidates: tuple[str, ...]
    label: str = ""


@dataclass(frozen=True)
class PoolSeat:
    """``count`` distinct members drawn from a member pool."""

    pool_id: str
    count: int = 1
    label: str = ""


@dataclass(frozen=True)
class RoomSeat:
    """One room: listed ``rooms`` in preference order, then the rooms of ``pools``."""

    rooms: tuple[str, ...] = ()
    pools: tuple[str, ...] = ()
    label: str = ""


Seat = MemberSeat | PoolSeat | RoomSeat


@dataclass(frozen=True)
class Weights:
    """Objective weights. Costs are in abstract points; defaults below.

    - ``alternate`` (10): per position down a member seat's or room seat's list.
    - ``pool_balance`` (1): per round-robin rank or per unit of load.
    - ``pool_priority`` (1): per priority step below the pool's highest.
    - ``room_fit`` (1): per seat of room capacity beyond the attendees.
    - ``time_of_day`` (1): per hour away from the preferred hours (best_first).
    - ``conflict_busy`` (100), ``conflict_tentative`` (30), ``outside_hours`` (50):
      conflict mode, per overlapping event / per member outside hours.
    - ``fairness`` (1), ``earliness`` (0.1), ``move`` (10): batch optimization (``move``:
      per movable item placed at another start than its booking's).
    """

    alternate: float = 10.0
    pool_balance: float = 1.0
    pool_priority: float = 1.0
    room_fit: float = 1.0
    time_of_day: float = 1.0
    conflict_busy: float = 100.0
    conflict_tentative: float = 30.0
    outside_hours: float = 50.0
    fairness: float = 1.0
    earliness: float = 0.1
    move: float = 10.0


class Order(StrEnum):
    CHRONOLOGICAL = "chronological"
    BEST_FIRST = "best_first"


@dataclass(frozen=True)
class SlotRequest:
    """Find every start in ``[window_start, window_end)`` at which the seats can be filled.

    A start is a candidate when it lies on the ``start_interval`` on the local
    clock of ``time_zone``, the meeting ends by ``window_end`` and it starts no
    earlier than ``now + minimum_notice``.
    """

    window_start: datetime
    window_end: datetime
    duration: timedelta
    time_zone: str
    seats: tuple[Seat, ...]
    optional_members: tuple[str, ...] = ()
    customers: int = 1
    resolution: int = 5
    start_interval: int = 15
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    minimum_notice: timedelta = timedelta(0)
    now: datetime | None = None
    order: Order = Order.CHRONOLOGICAL
    preferred_hours: tuple[time, time] | None = None
    max_results: int = 0  # 0: all
    page_offset: int = 0
    weights: Weights = Weights()
    # Conflict mode (minimal-conflict alternatives).
    max_alternatives: int = 0
    min_available: int = 0
    want_alternatives: bool = False


# --- Result ------------------------------------------------------------------


@dataclass(frozen=True)
class SeatFill:
    """Who fills one seat: one id, or ``count`` ids for a pool seat (in candidate order)."""

    resource_ids: tuple[str, ...]
    cost: float


@dataclass(frozen=True)
class Assignment:
    """A full assignment of a meeting's seats, in request order."""

    seats: tuple[SeatFill, ...]

    @property
    def cost(self) -> float:
        return round(sum(s.cost for s in self.seats), 6)

    @property
    def resource_ids(self) -> tuple[str, ...]:
        return tuple(r for s in self.seats for r in s.resource_ids)


@dataclass(frozen=True)
class OptionalStatus:
    member_id: str
    free: bool


@dataclass(frozen=True)
class Conflict:
    """Something in the way of one assigned resource at one start."""

    resource_id: str
    start: datetime
    end: datetime
    kind: BusyKind
    owner: str = ""
    details: EventDetails | None = None


@dataclass(frozen=True)
class Slot:
    """One start time: its best assignment, and per seat every free candidate."""

    start: datetime
    end: datetime
    assignment: Assignment
    free_candidates: tuple[tuple[str, ...], ...]
    optional: tuple[OptionalStatus, ...] = ()
    score: float = 0.0  # cost + time-of-day distance (what best_first ranks by)
    conflicts: tuple[Conflict, ...] = ()
    conflict_cost: float = 0.0

    @property
    def cost(self) -> float:
        return self.assignment.cost


@dataclass(frozen=True)
class SeatDiagnosis:
    """Why seat ``seat_index`` had no free candidate at ``starts_without_candidate`` starts.

    ``rules`` pairs each rule (busy, outside_hours, booking_limits, buffers,
    room_capacity) with the number of those starts at which lifting that rule
    alone would give the seat a free candidate.
    """

    seat_index: int
    starts_without_candidate: int
    rules: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Diagnosis:
    """Why no start is available: per seat, plus the starts the minimum notice
    removed and those where every seat had a candidate but not all at once."""

    seats: tuple[SeatDiagnosis, ...]
    before_notice: int
    no_joint_assignment: int


@dataclass(frozen=True)
class SlotResult:
    slots: tuple[Slot, ...]
    total_available: int
    candidates_considered: int
    next_offset: int | None = None
    alternatives: tuple[Slot, ...] = ()
    complete: bool = True  # False: the deadline stopped the work; some starts are undecided
    diagnosis: Diagnosis | None = None  # set when no start is available
