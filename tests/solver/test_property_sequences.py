"""find_sequences against the exhaustive oracle (tests/solver/brute_sequences.py).

Tiny instances: 2 or 3 segments, fixed order, any order or a named subset,
gaps, a member eligible in two segments (with and without repeats allowed),
a round-robin pool, rooms with capacity, buffers and off-grid busy time. The
solver must find the same first starts with the same minimum cost, and the
same tie-broken option (offsets, order and people). Every returned option is
checked valid on its own terms too.

Conflict mode (calendars busier): the alternatives are the least-conflict first
starts without an option, with the conflict and seat-and-gap cost of an
exhaustive conflict-mode oracle (``brute_least_conflict_sequences``).

``make test`` runs the ci profile (300 examples); ``-m slow`` runs 2000.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from solver import Booking, BusyInterval, Directory, Member, MemberSeat, Pool, PoolSeat, Room, RoomSeat, Seat
from solver.sequences import Segment, SequenceRequest, SequenceResult, find_sequences
from tests.solver.brute_sequences import brute_least_conflict_sequences, brute_sequences, orders

DAY = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
MEMBERS = tuple(f"m{i}" for i in range(5))
ROOMS = (Room("r0", capacity=3), Room("r1", capacity=5))
POOL = Pool("p", ("m2", "m3", "m4"))


@st.composite
def seats(draw: st.DrawFn) -> tuple[Seat, ...]:
    out: list[Seat] = []
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(("member", "pool", "room")))
        if kind == "member":
            out.append(MemberSeat(tuple(draw(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=2,
                                                      unique=True)))))
        elif kind == "pool":
            out.append(PoolSeat("p", 1))
        elif not any(isinstance(s, RoomSeat) for s in out):
            out.append(RoomSeat(tuple(draw(st.lists(st.sampled_from(("r0", "r1")), min_size=1, max_size=2,
                                                    unique=True)))))
    return tuple(out)


@st.composite
def problems(draw: st.DrawFn, busy_count: int = 5) -> dict[str, Any]:
    n = draw(st.integers(2, 3))
    segments = tuple(
        Segment(timedelta(minutes=draw(st.sampled_from((15, 30)))), draw(seats()),
                buffer_before=timedelta(minutes=draw(st.sampled_from((0, 0, 5)))),
                buffer_after=timedelta(minutes=draw(st.sampled_from((0, 0, 10)))))
        for _ in range(n)
    )
    order = draw(st.sampled_from(("fixed", "any", "subset")))
    free_order: tuple[int, ...] = (0, 1) if order == "subset" and n == 3 else ()
    min_gap = draw(st.sampled_from((0, 0, 5)))
    max_gap = min_gap + draw(st.sampled_from((0, 5, 10)))
    busy = [
        BusyInterval(draw(st.sampled_from((*MEMBERS, "r0", "r1"))),
                     DAY + timedelta(minutes=a), DAY + timedelta(minutes=a + draw(st.integers(3, 50))))
        for a in draw(st.lists(st.integers(0, 150), min_size=busy_count // 2 if busy_count > 5 else 0,
                               max_size=busy_count))
    ]
    bookings = [Booking(f"b{i}", DAY - timedelta(days=1), DAY - timedelta(days=1, minutes=-30), (m,),
                        (("p", m),)) for i, m in enumerate(draw(st.lists(st.sampled_from(("m2", "m3", "m4")),
                                                                         max_size=2)))]
    request = SequenceRequest(
        window_start=DAY, window_end=DAY + timedelta(minutes=draw(st.sampled_from((90, 120, 150)))),
        time_zone="UTC", segments=segments, any_order=order != "fixed", free_order=free_order,
        min_gap=timedelta(minutes=min_gap), max_gap=timedelta(minutes=max_gap),
        max_span=timedelta(minutes=draw(st.sampled_from((60, 90, 1440)))),
        allow_member_repeat=draw(st.booleans()), start_interval=30, gap_weight=draw(st.sampled_from((0.0, 1.0, 6.0))),
    )
    directory = Directory.of([Member(m) for m in MEMBERS], ROOMS, [POOL])
    return {"directory": directory, "busy": busy, "request": request, "bookings": bookings}


def _chained_buffers(request: SequenceRequest) -> bool:
    """Whether some order puts three segments in a chain of buffer overlaps (a overlaps b, b
    overlaps c, a not c): the solver then keeps the resource out of all three (a documented,
    conservative departure), so the oracle's answer may differ there."""
    lo = request.min_gap
    for order in orders(request):
        segs = [request.segments[k] for k in order]
        for a, b, c in zip(segs, segs[1:], segs[2:], strict=False):
            ab = a.buffer_after + b.buffer_before > lo
            bc = b.buffer_after + c.buffer_before > lo
            ac = a.buffer_after + c.buffer_before > lo + b.duration + lo
            if ab and bc and not ac:
                return True
    return False


def _check(p: dict[str, Any]) -> None:
    assume(not _chained_buffers(p["request"]))
    got: SequenceResult = find_sequences(p["directory"], p["busy"], p["request"], p["bookings"])
    want = brute_sequences(p["directory"], p["busy"], p["request"], p["bookings"])
    assert got.complete
    assert [o.start for o in got.options] == sorted(want)
    for option in got.options:
        best = want[option.start]
        assert abs(Fraction(option.cost) - best.cost) <= Fraction(1, 1000)  # costs are whole milli-points
        assert tuple(s.segment_index for s in option.segments) == best.order
        assert tuple(int((s.start - option.start).total_seconds() // 60) for s in option.segments) == best.offsets
        by_segment = {s.segment_index: s.assignment.resource_ids for s in option.segments}
        assert tuple(by_segment[k] for k in range(len(best.order))) == best.resources
        _valid(p["request"], option)


def _valid(request: SequenceRequest, option: Any) -> None:
    """Order, gaps and span hold, and no member sits twice unless allowed."""
    segs = option.segments
    for a, b in itertools.pairwise(segs):
        gap = b.start - a.end
        assert request.min_gap <= gap <= request.max_gap
    assert option.end - option.start <= (request.max_span or timedelta(days=1))
    if not request.allow_member_repeat:
        people = [r for s in segs for r in s.assignment.resource_ids if r in MEMBERS]
        assert len(people) == len(set(people))


@given(problems())
@settings(max_examples=300)
def test_find_sequences_matches_brute_force(p: dict[str, Any]) -> None:
    _check(p)


def _check_alternatives(p: dict[str, Any]) -> None:
    """Conflict mode: the alternatives are the first starts without an option of least conflict
    cost (then earliest), with the oracle's conflict and seat-and-gap cost."""
    assume(not _chained_buffers(p["request"]))
    k = 3
    request = dataclasses.replace(p["request"], want_alternatives=True, max_alternatives=k)
    got = find_sequences(p["directory"], p["busy"], request, p["bookings"])
    available = {o.start for o in got.options}
    least = brute_least_conflict_sequences(p["directory"], p["busy"], request, p["bookings"])
    want = sorted(((c, f) for f, (c, _) in least.items() if f not in available))[:k]
    assert [(Fraction(a.conflict_cost).limit_denominator(1000), a.start) for a in got.alternatives] == [
        (c, f) for c, f in want]
    for a in got.alternatives:
        assert abs(Fraction(a.cost) - least[a.start][1]) <= Fraction(1, 1000)
        assert abs(sum(s.conflict_cost for s in a.segments) - a.conflict_cost) < 1e-9
        _valid(request, a)


@given(problems(busy_count=14))
@settings(max_examples=300)
def test_conflict_mode_alternatives_are_minimal(p: dict[str, Any]) -> None:
    _check_alternatives(p)


@pytest.mark.slow
@given(problems())
@settings(max_examples=2000)
def test_find_sequences_matches_brute_force_thorough(p: dict[str, Any]) -> None:
    _check(p)
