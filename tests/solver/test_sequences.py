"""find_sequences: paging, best-first order, the deadline flag and bad input."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from solver import BusyInterval, BusyKind, Directory, InvalidRequest, Member, MemberSeat, Order, Room, RoomSeat
from solver.sequences import Segment, SequenceRequest, find_sequences

DAY = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
DIRECTORY = Directory.of([Member("a"), Member("b"), Member("c")])


def _request(**kw: object) -> SequenceRequest:
    base: dict[str, object] = {
        "window_start": DAY, "window_end": DAY + timedelta(hours=3), "time_zone": "UTC",
        "segments": (Segment(timedelta(minutes=30), (MemberSeat(("a", "c")),)),
                     Segment(timedelta(minutes=30), (MemberSeat(("b", "c")),))),
        "max_gap": timedelta(minutes=15),
    }
    base.update(kw)
    return SequenceRequest(**base)  # type: ignore[arg-type]


def test_pages_chronologically_and_best_first() -> None:
    busy = [BusyInterval("a", DAY, DAY + timedelta(minutes=30))]  # 09:00 needs the alternate c
    everything = find_sequences(DIRECTORY, busy, _request())
    assert [o.start.hour * 60 + o.start.minute for o in everything.options][:3] == [540, 555, 570]
    assert everything.options[0].cost == 10.0  # c instead of a
    assert everything.options[2].segments[0].assignment.resource_ids == ("a",)  # 09:30: a is free
    page = find_sequences(DIRECTORY, busy, _request(max_results=2, page_offset=1))
    assert [o.start for o in page.options] == [o.start for o in everything.options[1:3]]
    assert page.next_offset == 3
    ranked = find_sequences(DIRECTORY, busy, _request(order=Order.BEST_FIRST))
    assert ranked.options[0].cost == 0.0 and ranked.options[-1].cost == 10.0


def test_gap_costs_per_hour_and_back_to_back_wins() -> None:
    busy = [BusyInterval("b", DAY + timedelta(minutes=30), DAY + timedelta(minutes=40))]
    first = find_sequences(DIRECTORY, busy, _request(gap_weight=6.0)).options[0]
    # b is busy right after the first segment: 10 minutes of gap (1 point) beat c (10 points).
    assert first.gap_minutes == 10 and first.cost == 1.0
    assert first.segments[1].assignment.resource_ids == ("b",)


def test_a_past_deadline_flags_the_result_partial() -> None:
    result = find_sequences(DIRECTORY, [], _request(), deadline=time.monotonic() - 1)
    assert not result.complete


def test_bad_gaps_name_the_field() -> None:
    with pytest.raises(InvalidRequest) as err:
        find_sequences(DIRECTORY, [], _request(min_gap=timedelta(minutes=20), max_gap=timedelta(minutes=10)))
    assert [v.field for v in err.value.violations] == ["max_gap"]


def test_conflict_mode_lists_the_least_conflict_first_starts_with_each_segments_conflicts() -> None:
    busy = [BusyInterval("a", DAY + timedelta(minutes=15), DAY + timedelta(minutes=40)),
            BusyInterval("a", DAY - timedelta(minutes=10), DAY + timedelta(minutes=5), BusyKind.TENTATIVE)]
    loop = _request(segments=(Segment(timedelta(minutes=30), (MemberSeat(("a",)),)),
                              Segment(timedelta(minutes=30), (MemberSeat(("b",)),))),
                    max_gap=timedelta(0), window_end=DAY + timedelta(hours=2), min_available=5, max_alternatives=2)
    result = find_sequences(DIRECTORY, busy, loop)
    assert [o.start for o in result.options] == [DAY + timedelta(minutes=45), DAY + timedelta(minutes=60)]
    # 09:00 has a busy and a tentative event (130), 09:15 and 09:30 one busy event each (100).
    assert [o.start for o in result.alternatives] == [DAY + timedelta(minutes=15), DAY + timedelta(minutes=30)]
    first = result.alternatives[0]
    assert first.conflict_cost == 100.0 and first.cost == 0.0
    coding, design = first.segments
    assert [(c.resource_id, c.kind) for c in coding.conflicts] == [("a", BusyKind.BUSY)]
    assert coding.conflict_cost == 100.0 and design.conflicts == () and design.conflict_cost == 0.0
    # Enough options: no alternatives unless asked for.
    assert find_sequences(DIRECTORY, busy, replace(loop, min_available=2)).alternatives == ()
    assert len(find_sequences(DIRECTORY, busy, replace(loop, min_available=0, want_alternatives=True))
               .alternatives) == 2


def test_conflict_mode_keeps_rooms_hard_and_a_member_out_of_two_segments() -> None:
    directory = Directory.of([Member("a"), Member("b")], [Room("r", capacity=4)])
    busy = [BusyInterval("r", DAY, DAY + timedelta(hours=3))]
    roomed = _request(segments=(Segment(timedelta(minutes=30), (MemberSeat(("a",)), RoomSeat(("r",)))),
                                Segment(timedelta(minutes=30), (MemberSeat(("a", "b")),))),
                      max_gap=timedelta(0), want_alternatives=True, max_alternatives=3)
    assert find_sequences(directory, busy, roomed).alternatives == ()  # the busy room is never taken
    both = replace(roomed, segments=(roomed.segments[1], Segment(timedelta(minutes=30), (MemberSeat(("a",)),))))
    taken = [BusyInterval("b", DAY, DAY + timedelta(hours=3))]
    result = find_sequences(directory, taken, both)
    assert result.options == ()
    # a may not sit in both: the first segment seats b although b is busy (100), never a twice.
    assert [s.assignment.resource_ids for s in result.alternatives[0].segments] == [("b",), ("a",)]
    assert result.alternatives[0].conflict_cost == 100.0
