"""The board: what the items placed so far hold, and where another item still fits.

The rule between two items of a batch is the rule between a request and a
confirmed booking, both ways: neither item's padded span (its meeting plus its
own buffers, on the batch grid) may overlap the other's meeting on a shared
resource. So a batch schedule is exactly one that could be booked item by item,
in any order, each passing the commit check against the ones before it.
Booking limits count the batch's items like bookings.

Used by the greedy schedules, the repairs (which fix all but a few items on a
board), the reasons given for unscheduled items, and (``LimitBook``) the CP-SAT
model's limit constraints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from solver.assign import Assigned, SeatCosts, assign
from solver.batch.prepare import PreparedItem
from solver.domain import Booking, Directory
from solver.grid import BoolArray, IntArray, iso_week, to_minutes, zone_clock
from solver.seats import INFEASIBLE

__all__ = ["Board", "LimitBook", "Placement", "cheapest_fit", "clashes", "first_fit", "placement_at"]


@dataclass(frozen=True)
class Placement:
    """An item placed at feasible-start ``position`` with, per seat group, the
    positions of the candidates chosen (ascending)."""

    position: int
    picks: tuple[tuple[int, ...], ...]

    def resources(self, item: PreparedItem) -> list[str]:
        return [item.groups[g].candidates[c] for g, picks in enumerate(self.picks) for c in picks]


def clashes(item: PreparedItem, spans: IntArray) -> BoolArray:
    """Per feasible start of ``item``: True when it clashes with one of ``spans``
    (rows of pre_lo, core_lo, core_hi, post_hi held on the same resource)."""
    if len(spans) == 0:
        return np.zeros(len(item.starts), dtype=np.bool_)
    pre, lo, hi, post = (spans[:, k, None] for k in range(4))
    # Their meeting inside our padded span, or our meeting inside theirs.
    theirs_in_ours = (lo < item.post_hi) & (item.pre_lo < hi)
    ours_in_theirs = (pre < item.core_hi) & (item.core_lo < post)
    return np.asarray((theirs_in_ours | ours_in_theirs).any(axis=0), dtype=np.bool_)


class LimitBook:
    """Room left under members' daily and weekly booking limits, per period.

    Existing bookings are counted once, lazily, per member; the batch's own
    items are added with ``take``.
    """

    def __init__(self, directory: Directory, bookings_by_resource: Mapping[str, Sequence[Booking]]) -> None:
        self._directory = directory
        self._bookings = bookings_by_resource
        self._existing: dict[tuple[str, bool], dict[int, int]] = {}
        self._taken: dict[tuple[str, bool, int], int] = {}
        self._full: dict[tuple[str, bool], list[int]] = {}

    def limit(self, member_id: str, weekly: bool) -> int | None:
        member = self._directory.members[member_id]
        return member.weekly_limit if weekly else member.daily_limit

    def room(self, member_id: str, weekly: bool, key: int) -> int:
        """How many of the batch's items may hold the member in that local day (or ISO week)."""
        limit = self.limit(member_id, weekly)
        assert limit is not None
        return limit - self._existing_counts(member_id, weekly).get(key, 0)

    def capacity(self, member_id: str, weekly: bool, key: int) -> int:
        """The room left once the items taken so far are counted."""
        return self.room(member_id, weekly, key) - self._taken.get((member_id, weekly, key), 0)

    def take(self, member_id: str, weekly: bool, key: int) -> None:
        self._taken[(member_id, weekly, key)] = self._taken.get((member_id, weekly, key), 0) + 1
        if self.capacity(member_id, weekly, key) <= 0:
            self._full.setdefault((member_id, weekly), []).append(key)

    def full(self, member_id: str, weekly: bool) -> list[int]:
        """The periods in which the member has no room left (existing bookings alone
        never fill one: the member would not be free there)."""
        return self._full.get((member_id, weekly), [])

    def _existing_counts(self, member_id: str, weekly: bool) -> dict[int, int]:
        if (member_id, weekly) not in self._existing:
            member = self._directory.members[member_id]
            held = np.array([int(to_minutes(b.start)) for b in self._bookings.get(member_id, ())], dtype=np.int64)
            counts: dict[int, int] = {}
            if len(held):
                days = zone_clock(member.time_zone, int(held.min()), int(held.max()) + 1).local_day(held)
                keys, n = np.unique(iso_week(days) if weekly else days, return_counts=True)
                counts = {int(k): int(c) for k, c in zip(keys, n, strict=True)}
            self._existing[(member_id, weekly)] = counts
        return self._existing[(member_id, weekly)]


class Board:
    """Placed items: per resource the spans they hold, plus the limit book."""

    def __init__(self, limits: LimitBook) -> None:
        self.limits = limits
        self._spans: dict[str, list[tuple[int, int, int, int]]] = {}
        self._holders: dict[str, list[str]] = {}  # per resource, the item holding each span

    def place(self, item: PreparedItem, placement: Placement) -> None:
        p = placement.position
        span = (int(item.pre_lo[p]), int(item.core_lo[p]), int(item.core_hi[p]), int(item.post_hi[p]))
        for resource in placement.resources(item):
            self._spans.setdefault(resource, []).append(span)
            self._holders.setdefault(resource, []).append(item.id)
            for weekly, keys in ((False, item.day_keys), (True, item.week_keys)):
                if resource in keys:
                    self.limits.take(resource, weekly, int(keys[resource][p]))

    def usable(self, item: PreparedItem, resource: str) -> BoolArray:
        """Per feasible start: the resource is clear of placed items and under its limits."""
        spans = self._spans.get(resource)
        ok = ~clashes(item, np.array(spans, dtype=np.int64)) if spans else np.ones(len(item.starts), dtype=np.bool_)
        for weekly, keys in ((False, item.day_keys), (True, item.week_keys)):
            full = self.limits.full(resource, weekly)
            if resource in keys and full:
                ok &= ~np.isin(keys[resource], full)
        return ok

    def clashing(self, item: PreparedItem) -> dict[str, list[str]]:
        """Placed item id -> the resources on which it clashes with one of ``item``'s
        feasible starts (what an explanation names), in placing order."""
        out: dict[str, list[str]] = {}
        for resource in item.resources():
            spans = self._spans.get(resource, [])
            for span, holder in zip(spans, self._holders.get(resource, []), strict=True):
                if clashes(item, np.array([span], dtype=np.int64)).any():
                    out.setdefault(holder, []).append(resource)
        return out

    def fit(self, item: PreparedItem) -> tuple[Assigned, list[int]]:
        """The cheapest assignment at every feasible start given the board, and the
        number of units per seat group (to read ``Assigned.choice``)."""
        usable = {r: self.usable(item, r) for r in item.resources()}
        units: list[SeatCosts] = []
        counts: list[int] = []
        for group in item.groups:
            free = group.allowed.copy()
            for c, resource in enumerate(group.candidates):
                free[c] &= usable[resource]
            cost = np.where(free, group.seat_cost + group.conflict_cost, INFEASIBLE)
            units.extend(SeatCosts(group.rows, cost) for _ in range(group.count))
            counts.append(group.count)
        return assign(units, len(item.starts)), counts


def placement_at(assigned: Assigned, counts: list[int], position: int) -> Placement:
    """The Placement ``Board.fit`` found at ``position``."""
    picks: list[tuple[int, ...]] = []
    u = 0
    for count in counts:
        picks.append(tuple(sorted(int(assigned.choice[u + k, position]) for k in range(count))))
        u += count
    return Placement(position, tuple(picks))


def first_fit(items: Sequence[PreparedItem], board: Board) -> dict[int, Placement]:
    """Greedy baseline: items by priority (highest first), then fewest feasible starts,
    then input order; each at its earliest start that still fits (a movable item at its
    booking's, when that fits), with the cheapest assignment there. Returns placements by item index."""
    return _greedy(items, board, None)


def cheapest_fit(items: Sequence[PreparedItem], board: Board, terms: StartCosts) -> dict[int, Placement]:
    """As ``first_fit``, but each item at the start where it costs least (its
    assignment plus what the start costs by itself, ``terms.start_costs``: earliness
    and moves; ties to the earliest): a better hint when waiting is cheaper than an alternate."""
    return _greedy(items, board, terms)


class StartCosts(Protocol):
    """What a start of an item costs by itself, in ticks (``objective.TermWeights``)."""

    def start_costs(self, item: PreparedItem) -> IntArray: ...


def _greedy(items: Sequence[PreparedItem], board: Board, terms: StartCosts | None) -> dict[int, Placement]:
    placed: dict[int, Placement] = {}
    for item in sorted(items, key=lambda i: (-i.priority, len(i.starts), i.index)):
        if len(item.starts) == 0:
            continue
        assigned, counts = board.fit(item)
        fits = np.flatnonzero(assigned.feasible)
        if len(fits) == 0:
            continue
        at = int(fits[0])
        staying = fits[item.moves[fits] == 0]
        if terms is None and len(staying) < len(fits) and len(staying):
            at = int(staying[0])  # a movable item stays where its booking is, when it fits there
        if terms is not None:
            # Seat costs are milli-points; ticks are milli-points x 60 (solver.batch.types).
            cost = assigned.total[fits] * 60 + terms.start_costs(item)[fits]
            at = int(fits[int(np.argmin(cost))])
        placement = placement_at(assigned, counts, at)
        board.place(item, placement)
        placed[item.index] = placement
    return placed
