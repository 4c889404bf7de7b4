"""OptimizeBatch against the spec's "Batch optimization" and docs/objective.md, read as an
outside test writer would: tiny batches whose optimum is known by hand, over the real server.

The directory: members ana, ben, cal, dev (working 08:00-18:00 UTC, Monday to Friday), a
round-robin pool ``panel`` of cal and dev (no history: cal rank 0, dev rank 1), rooms r1
and r2. Every item is in UTC with one-hour starts, so each start is a whole number of hours
from its window start. June 4th: ana holds a confirmed booking 09:00-10:00; June 5th: ben's
calendar is busy 09:00-10:00.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from convene.v1 import batch_pb2, meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.calendars.busy import MemoryCalendars
from server.config import parse_config
from server.tenants import MemoryBookings, Tenant, load_tenants
from solver.domain import Booking, BusyInterval, BusyKind
from tests.server.batch.test_rpc import violations
from tests.server.booking_world import key, member, room, rules
from tests.server.conftest import serve

API_KEY = "contract-key-0123456789"
NOW = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday, before every window
HOURS = {"weekly": {"mon-fri": "08:00-18:00"}}
DIRECTORY = {
    "members": [{"id": m, "name": m.title(), "email": f"{m}@example.com", "time_zone": "UTC",
                 "working_hours": HOURS} for m in ("ana", "ben", "cal", "dev")]
    + [{"id": "lim", "name": "Lim", "email": "lim@example.com", "time_zone": "UTC", "working_hours": HOURS,
        "daily_limit": 1, "weekly_limit": 2}],
    "rooms": [{"id": r, "name": r.upper(), "capacity": 2, "time_zone": "UTC"} for r in ("r1", "r2")],
    "pools": [{"id": "panel", "name": "Panel", "members": ["cal", "dev"], "distribution": "round_robin"}],
}
MAX_ITEMS = 8


def at(hour: int, minute: int = 0, day: int = 3) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)  # June 3rd 2026: a Wednesday


BOOKINGS = [Booking("held", at(9, day=4), at(10, day=4), ("ana",))]
BUSY = [BusyInterval("ben", at(9, day=5), at(10, day=5), BusyKind.BUSY)]


@pytest.fixture(scope="module")
def stub() -> Iterator[api_grpc.SchedulingServiceStub]:
    config = parse_config({
        "server": {"plaintext": True},
        "api_keys": [{"key": API_KEY, "tenant": "ops", "principal": "ops@example.com"}],
        "tenants": {"ops": {}},
        "batch": {"max_items": MAX_ITEMS},
    })
    loaded = load_tenants(parse_config({"tenants": {"ops": DIRECTORY}}))["ops"]
    tenant = Tenant("ops", loaded.directory, loaded.templates, MemoryCalendars(BUSY), MemoryBookings(BOOKINGS))
    with serve(config, {"ops": tenant}, NOW) as running:
        yield running.stub


def item(item_id: str, seats: list[meeting_pb2.Seat], start: datetime, end: datetime, priority: int = 1,
         minutes: int = 60, **buffers: timedelta) -> batch_pb2.BatchItem:
    meeting = rules(*seats, minutes=minutes, resolution_minutes=60, start_interval_minutes=60)
    for name, value in buffers.items():
        getattr(meeting, name).FromTimedelta(value)
    made = batch_pb2.BatchItem(id=item_id, time_zone="UTC", rules=meeting, priority=priority)
    made.window_start.FromDatetime(start)
    made.window_end.FromDatetime(end)
    return made


def batch(*items: batch_pb2.BatchItem, time_limit: float = 10, allow_conflicts: bool = False,
          **weights: float) -> api.OptimizeBatchRequest:
    request = api.OptimizeBatchRequest(items=items, weights=batch_pb2.BatchWeights(**weights),
                                       allow_conflicts=allow_conflicts)
    request.now.FromDatetime(NOW)
    request.time_limit.FromTimedelta(timedelta(seconds=time_limit))
    return request


def solve(stub: api_grpc.SchedulingServiceStub, request: api.OptimizeBatchRequest) -> batch_pb2.BatchResult:
    replies = list(stub.OptimizeBatch(request, metadata=key(API_KEY), timeout=30))
    assert replies[-1].WhichOneof("event") == "result"
    result = replies[-1].result
    check_reported(request, result)
    return result


def check_reported(request: api.OptimizeBatchRequest, result: batch_pb2.BatchResult) -> None:
    """What every result must say, and its objective recomputed with docs/objective.md's formula."""
    assert [i.id for i in result.items] == [i.id for i in request.items]
    assert result.status in (batch_pb2.BATCH_STATUS_OPTIMAL, batch_pb2.BATCH_STATUS_FEASIBLE)
    assert result.wall_time.ToTimedelta() > timedelta(0)
    assert 0 <= result.best_bound <= result.objective + 1e-6
    if result.objective > 0:
        assert result.gap == pytest.approx((result.objective - result.best_bound) / result.objective, abs=1e-6)
    if result.status == batch_pb2.BATCH_STATUS_OPTIMAL:
        assert result.gap == 0 and result.best_bound == pytest.approx(result.objective, abs=1e-6)
    priority = {i.id: max(i.priority, 1) for i in request.items}
    left_out = 0
    costs = 0.0
    earliness = request.weights.earliness if request.weights.HasField("earliness") else 0.1
    for outcome in result.items:
        if outcome.WhichOneof("outcome") == "unscheduled":
            assert outcome.unscheduled.reason != batch_pb2.UNSCHEDULED_REASON_UNSPECIFIED
            assert outcome.unscheduled.rule != batch_pb2.UNSCHEDULED_RULE_UNSPECIFIED
            assert outcome.unscheduled.detail
            left_out += priority[outcome.id]
            continue
        placed = outcome.scheduled
        assert outcome.WhichOneof("outcome") == "scheduled"
        assert placed.cost == pytest.approx(placed.seat_cost + placed.conflict_cost + placed.earliness_cost
                                            + placed.move_cost)
        assert placed.earliness_cost == pytest.approx(earliness * placed.hours_from_window_start)
        costs += placed.cost + placed.fairness_cost
    assert result.objective == pytest.approx(result.priority_weight * left_out + costs, abs=1e-3)


def outcome(result: batch_pb2.BatchResult, item_id: str) -> batch_pb2.BatchItemResult:
    return next(i for i in result.items if i.id == item_id)


def start_of(result: batch_pb2.BatchResult, item_id: str) -> datetime | None:
    found = outcome(result, item_id)
    return found.scheduled.start.ToDatetime(UTC) if found.WhichOneof("outcome") == "scheduled" else None


def who(result: batch_pb2.BatchResult, item_id: str) -> list[list[str]]:
    return [list(s.resource_ids) for s in outcome(result, item_id).scheduled.seats]


# --- No double booking, buffers included -----------------------------------------------------------


def test_two_items_clashing_only_through_a_buffer_are_kept_apart(stub: api_grpc.SchedulingServiceStub) -> None:
    # A meets 09:00-10:00 and keeps ana's 10:00-10:30 clear; B's only start is 10:00.
    first = item("A", [member("ana")], at(9), at(10), priority=2, buffer_after=timedelta(minutes=30))
    second = item("B", [member("ana")], at(10), at(11))
    result = solve(stub, batch(first, second, earliness=0))
    assert start_of(result, "A") == at(9) and start_of(result, "B") is None
    left = outcome(result, "B").unscheduled
    assert left.reason == batch_pb2.UNSCHEDULED_REASON_LOST_TO_OTHER_ITEMS
    assert list(left.blocking_item_ids) == ["A"]

    # The same through B's before-buffer; with a wider window B goes to 11:00, not 10:00.
    first = item("A", [member("ana")], at(9), at(10), priority=2)
    second = item("B", [member("ana")], at(10), at(12), buffer_before=timedelta(minutes=30))
    result = solve(stub, batch(first, second, earliness=0))
    assert start_of(result, "A") == at(9) and start_of(result, "B") == at(11)
    assert result.status == batch_pb2.BATCH_STATUS_OPTIMAL and result.objective == 0

    # Buffers do not stack: 10:00-11:00 with 30 min after, and 11:30-12:30 with 30 min before.
    first = item("A", [member("ana")], at(10), at(11), buffer_after=timedelta(minutes=30))
    second = item("B", [member("ana")], at(11, 30), at(12, 30), buffer_before=timedelta(minutes=30))
    for made in (first, second):
        made.rules.resolution_minutes = made.rules.start_interval_minutes = 30
    result = solve(stub, batch(first, second))
    assert start_of(result, "A") == at(10) and start_of(result, "B") == at(11, 30)


def test_an_existing_booking_blocks_through_the_items_buffer(stub: api_grpc.SchedulingServiceStub) -> None:
    # ana's booking 09:00-10:00 on June 4th: with 30 min before, 10:00 is out; 11:00 is the first start.
    result = solve(stub, batch(item("A", [member("ana")], at(9, day=4), at(13, day=4),
                                    buffer_before=timedelta(minutes=30)), earliness=1))
    assert start_of(result, "A") == at(11, day=4)
    assert result.objective == pytest.approx(2.0)  # 2 hours from its window start, 1 point an hour


# --- The objective, term by term ----------------------------------------------------------------


def test_priority_first_a_contested_slot_goes_to_the_larger_sum(stub: api_grpc.SchedulingServiceStub) -> None:
    def contest(big: int) -> batch_pb2.BatchResult:
        return solve(stub, batch(item("X", [member("ana")], at(9), at(11), priority=big, minutes=120),
                                 item("Y", [member("ana")], at(9), at(10)),
                                 item("Z", [member("ana")], at(10), at(11))))

    won = contest(3)  # 3 > 1 + 1
    assert start_of(won, "X") == at(9) and start_of(won, "Y") is None and start_of(won, "Z") is None
    assert won.objective == pytest.approx(won.priority_weight * 2, abs=1e-3)
    lost = contest(1)  # 1 < 1 + 1
    assert start_of(lost, "X") is None and start_of(lost, "Y") == at(9) and start_of(lost, "Z") == at(10)
    assert lost.objective == pytest.approx(lost.priority_weight, abs=1e-3)
    # An explicit priority weight trades priority against cost, one point per point.
    pair = (item("X", [member("ana", "ben")], at(9), at(10)), item("Y", [member("ana")], at(9), at(10)))
    both = solve(stub, batch(*pair, priority=20))  # ben as X's alternate (10) beats leaving one out (20)
    assert who(both, "X") == [["ben"]] and who(both, "Y") == [["ana"]] and both.objective == pytest.approx(10)
    one = solve(stub, batch(*pair, priority=5))  # leaving one out (5) beats the alternate (10)
    assert len([i for i in one.items if i.WhichOneof("outcome") == "scheduled"]) == 1
    assert one.objective == pytest.approx(5) and one.priority_weight == 5
    # ana is booked 09:00-10:00 on June 4th: N's only start is an hour in, 3 points; its priority is worth 1.5.
    late = item("N", [member("ana")], at(9, day=4), at(11, day=4))
    assert start_of(solve(stub, batch(late, earliness=3, priority=4)), "N") == at(10, day=4)
    dear = solve(stub, batch(late, earliness=3, priority=1.5))
    assert outcome(dear, "N").unscheduled.reason == batch_pb2.UNSCHEDULED_REASON_NOT_WORTH_ITS_COST
    assert outcome(dear, "N").unscheduled.rule == batch_pb2.UNSCHEDULED_RULE_COST
    assert dear.objective == pytest.approx(1.5)


def test_the_reported_priority_weight_recomputes_the_objective_at_large_priorities(
        stub: api_grpc.SchedulingServiceStub) -> None:
    # Nothing costs anything, so priority first weighs one tick (1/60,000 point) per unit; seven
    # of eight items of priority 10^8 are left out. Rounded to 0.000017 the reported weight gave
    # 11,900 points for an objective of 11,666.67.
    items = [item(f"i{n}", [member("ana")], at(9), at(10), priority=10**8) for n in range(MAX_ITEMS)]
    result = solve(stub, batch(*items))  # check_reported recomputes it
    assert result.objective == pytest.approx(7 * 10**8 / 60_000, abs=1e-5)
    assert result.priority_weight * 7 * 10**8 == pytest.approx(result.objective, abs=1e-5)


def test_seat_costs_then_conflicts_when_allowed(stub: api_grpc.SchedulingServiceStub) -> None:
    # One slot, two items that both prefer ana: one of them takes the alternate ben.
    result = solve(stub, batch(item("P", [member("ana", "ben")], at(9), at(10)),
                               item("Q", [member("ana", "ben")], at(9), at(10)), alternate=7))
    assert sorted(who(result, i)[0][0] for i in ("P", "Q")) == ["ana", "ben"]
    assert result.objective == pytest.approx(7) and result.kpis.alternates_used == 1

    # ben is busy 09:00-10:00 on June 5th: without conflicts his only start is out ...
    alone = item("C", [member("ben")], at(9, day=5), at(10, day=5))
    result = solve(stub, batch(alone))
    assert outcome(result, "C").unscheduled.rule == batch_pb2.UNSCHEDULED_RULE_CALENDAR_BUSY
    # ... with conflicts allowed he sits in it, at the conflict weight's price.
    result = solve(stub, batch(alone, allow_conflicts=True, conflict_busy=40))
    assert start_of(result, "C") == at(9, day=5)
    assert outcome(result, "C").scheduled.conflict_cost == pytest.approx(40)
    assert result.objective == pytest.approx(40)


def test_fairness_is_its_weight_times_max_minus_min_load_per_pool(stub: api_grpc.SchedulingServiceStub) -> None:
    # Two panel items at different times: cal (rank 0) is free, dev (rank 1) costs 1.
    items = (item("F1", [meeting_pb2.Seat(pool=meeting_pb2.PoolSeat(pool_id="panel", count=1))], at(9), at(10)),
             item("F2", [meeting_pb2.Seat(pool=meeting_pb2.PoolSeat(pool_id="panel", count=1))], at(11), at(12)))
    balanced = solve(stub, batch(*items, fairness=3))  # cal twice: 3 x (2 - 0) = 6 > dev once: 1
    assert sorted(who(balanced, i)[0][0] for i in ("F1", "F2")) == ["cal", "dev"]
    assert balanced.objective == pytest.approx(1) and balanced.kpis.fairness_cost == 0
    unbalanced = solve(stub, batch(*items, fairness=0.25))  # cal twice: 0.25 x 2 = 0.5 < 1
    assert [who(unbalanced, i)[0][0] for i in ("F1", "F2")] == ["cal", "cal"]
    assert unbalanced.objective == pytest.approx(0.5) and unbalanced.kpis.pool_load_spread == 2
    assert unbalanced.kpis.fairness_cost == pytest.approx(0.5)


def test_earliness_is_its_weight_times_hours_from_each_window_start(stub: api_grpc.SchedulingServiceStub) -> None:
    # ana is free from 09:00 but E1 holds her 09:00-11:00: E2 (window from 09:00) waits 2 hours,
    # E3 (window from 10:00) waits 1 hour.
    result = solve(stub, batch(item("E1", [member("ana")], at(9), at(11), priority=3, minutes=120),
                               item("E2", [member("ana")], at(9), at(13)),
                               item("E3", [member("ana")], at(10), at(14)), earliness=0.5))
    placed = {i: start_of(result, i) for i in ("E1", "E2", "E3")}
    assert placed["E1"] == at(9)
    assert {placed["E2"], placed["E3"]} == {at(11), at(12)}
    hours = {i: outcome(result, i).scheduled.hours_from_window_start for i in ("E2", "E3")}
    assert hours == {"E2": 2, "E3": 2} if placed["E2"] == at(11) else hours == {"E2": 3, "E3": 1}
    assert result.objective == pytest.approx(0.5 * 4)


# --- Independent parts ---------------------------------------------------------------------------------


def test_independent_parts_are_solved_apart_with_the_same_result(stub: api_grpc.SchedulingServiceStub) -> None:
    # ana's items overlap; cal's item shares nothing with them; dev's two items share dev but
    # on different days, so their windows do not overlap.
    items = (item("a1", [member("ana", "ben")], at(9), at(10)),
             item("a2", [member("ana", "ben")], at(9), at(10)),
             item("c1", [member("cal"), room("r1")], at(9), at(12)),
             item("d1", [member("dev")], at(9), at(12)),
             item("d2", [member("dev")], at(9, day=4), at(12, day=4)))
    together = solve(stub, batch(*items))
    assert together.parts == 4 and together.status == batch_pb2.BATCH_STATUS_OPTIMAL
    apart = [solve(stub, batch(*group)) for group in (items[:2], items[2:3], items[3:4], items[4:])]
    assert [r.parts for r in apart] == [1, 1, 1, 1]
    assert together.objective == pytest.approx(sum(r.objective for r in apart)) and together.objective == 10
    assert {i.id: i.scheduled.start for i in together.items} == {
        i.id: i.scheduled.start for r in apart for i in r.items}


def test_limits_and_fairness_join_items_whose_windows_are_apart(stub: api_grpc.SchedulingServiceStub) -> None:
    # lim may take one meeting a day and two a week: the batch's items count, windows apart or not.
    day = solve(stub, batch(item("L1", [member("lim")], at(9), at(10), priority=2),
                            item("L2", [member("lim")], at(14), at(15))))
    assert day.parts == 1 and start_of(day, "L1") == at(9) and start_of(day, "L2") is None
    left = outcome(day, "L2").unscheduled
    assert left.rule == batch_pb2.UNSCHEDULED_RULE_BOOKING_LIMITS and list(left.blocking_item_ids) == ["L1"]
    week = solve(stub, batch(*(item(f"W{d}", [member("lim")], at(9, day=d), at(10, day=d)) for d in (3, 4, 5))))
    assert len([i for i in week.items if i.WhichOneof("outcome") == "scheduled"]) == 2
    assert week.objective == pytest.approx(week.priority_weight, abs=1e-3)
    # One pool, two days of one ISO week: the load spread is the week's, so they are solved together.
    pool = meeting_pb2.Seat(pool=meeting_pb2.PoolSeat(pool_id="panel", count=1))
    fair = solve(stub, batch(item("F1", [pool], at(9), at(10)), item("F2", [pool], at(9, day=4), at(10, day=4)),
                             fairness=3))
    assert sorted(who(fair, i)[0][0] for i in ("F1", "F2")) == ["cal", "dev"] and fair.objective == 1


# --- Bad input ----------------------------------------------------------------------------------------


def test_bad_input_names_each_field_and_the_batch_size_limit(stub: api_grpc.SchedulingServiceStub) -> None:
    good = [item(f"i{n}", [member("ana")], at(9 + n), at(10 + n)) for n in range(4)]
    request = batch(*good)
    request.items[3].window_end.FromDatetime(at(8))  # before its start
    error = fails_here(stub, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "items[3].window_end" in violations(error)

    request = batch(*good)
    request.items[2].id = "i0"
    error = fails_here(stub, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(error)) == {"items[2].id"}
    assert "i0" in violations(error)["items[2].id"]

    request = batch(*[item(f"i{n}", [member("ana")], at(9), at(17)) for n in range(MAX_ITEMS + 1)])
    error = fails_here(stub, request)
    assert error.code() in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INVALID_ARGUMENT)
    assert str(MAX_ITEMS) in (error.details() or "") and "items" in (error.details() or "")


def fails_here(stub: api_grpc.SchedulingServiceStub, request: api.OptimizeBatchRequest) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.OptimizeBatch(request, metadata=key(API_KEY), timeout=30))
    error: grpc.RpcError = caught.value
    return error


def test_extreme_weights_and_priorities_are_refused_by_name_never_internal(
        stub: api_grpc.SchedulingServiceStub) -> None:
    pair = [item(f"i{n}", [member("ana")], at(9), at(17, day=12)) for n in range(2)]
    # A weight so large its costs wrap around 64 bits (the objective came back negative and
    # "optimal"), or overflow the LP's floats (INTERNAL).
    for name in ("earliness", "alternate", "fairness", "priority"):
        error = fails_here(stub, batch(*pair, **{name: 1e300}))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, name
        assert "1000000" in violations(error)[f"weights.{name}"], name
    # The largest weight allowed is solved, and its objective is what the formula says.
    result = solve(stub, batch(*pair, earliness=1e6))
    assert result.objective == pytest.approx(1e6)  # one of them an hour in

    # Priorities whose sum the result's int32 KPIs cannot hold (INTERNAL before).
    request = batch(*pair, item("i2", [member("ben")], at(9), at(10)))
    request.items[0].priority = 2**31 - 1
    request.items[1].priority = 2**31 - 1
    error = fails_here(stub, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(error)) == {"items[1].priority"}
    assert str(2**31 - 1) in violations(error)["items[1].priority"]
    request.items[1].priority = 1  # at the limit exactly: solved
    request.items[0].priority = 2**31 - 3
    result = solve(stub, request)
    assert result.kpis.total_priority == 2**31 - 1 and result.kpis.scheduled_priority == 2**31 - 1
