"""The worked example of docs/objective.md, number for number, and the repair step on it."""

from __future__ import annotations

from datetime import timedelta

from solver import BusyInterval, Directory, MemberSeat, Pool, PoolSeat, Room, RoomSeat, Weights
from solver.batch import BatchRequest, BatchStatus, optimize_batch, prepare_part
from solver.batch.cpsat import SolverSettings
from solver.batch.objective import evaluate
from solver.batch.prepare import with_options
from solver.batch.repair import repair
from tests.solver.batch.helpers import at, item, member

DIRECTORY = Directory.of([member("ana"), member("ben"), member("dev"), member("eli")],
                         [Room("atlas", capacity=4), Room("cosmos", capacity=8)],
                         [Pool("panel", ("dev", "eli")), Pool("rooms", ("atlas", "cosmos"))])
BUSY = [BusyInterval("ana", at(9), at(10))]


def seats(*manager: str) -> tuple[MemberSeat, PoolSeat, RoomSeat]:
    return MemberSeat(manager, "manager"), PoolSeat("panel", 1, "panelist"), RoomSeat((), ("rooms",), "room")


BATCH = BatchRequest((
    item("A", seats("ana", "ben"), at(9), at(12), priority=2, customers=1, buffer_after=timedelta(minutes=15)),
    item("B", seats("ana"), at(9), at(12), customers=1),
    item("C", seats("ben"), at(9), at(10), customers=1),
), Weights())


def test_the_documented_numbers() -> None:
    result = optimize_batch(DIRECTORY, BUSY, [], BATCH)
    assert result.status is BatchStatus.OPTIMAL
    assert (result.objective, result.best_bound, result.baseline_objective) == (5.3, 5.3, 52.500017)
    assert result.priority_weight == 34.4 + 1 / 60_000  # the cost ceiling + 1 tick
    got = {s.item_id: (s.start.strftime("%H:%M"), s.assignment.resource_ids) for s in result.scheduled.values()}
    # Two optima tie: eli sits with C (as documented) or with whichever of A and B comes at 11:00.
    assert got["C"][0] == "09:00" and sorted((got["A"][0], got["B"][0])) == ["10:00", "11:00"]
    assert sorted(ids[1] for _, ids in got.values()) == ["dev", "dev", "eli"]
    assert result.kpis.seat_cost == 4.0 and result.kpis.earliness_cost == 0.3
    assert result.kpis.pool_load_spread == 1 and result.kpis.fairness_cost == 1.0


def test_first_fit_loses_c_and_a_repair_fits_it_in() -> None:
    ready = prepare_part(DIRECTORY, BUSY, [], BATCH)
    assert ready is not None
    ids = {i.index: i.id for i in ready.items}
    assert sorted(ids[k] for k in ready.baseline) == ["A", "B"]  # A took ben at 09:00, C's only start
    items = [with_options(i) for i in ready.items]
    repaired = repair(items, ready.baseline, DIRECTORY, ready.bookings_by, ready.terms, SolverSettings(5.0), 1e18)
    assert sorted(ids[k] for k in repaired) == ["A", "B", "C"]
    assert evaluate(items, repaired, DIRECTORY, ready.terms).unscheduled_priority == 0
