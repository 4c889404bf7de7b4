"""The time-indexed LP (solver.batch.rows, solver.batch.lp): its rows are the batch rule
exactly, its bound never passes the optimum, and its dive schedules obey every rule.

The optimum comes from the exhaustive oracle (tests/batch/oracle.py) on the tiny
batches of the property test; a bound above it anywhere would make a result claim
more than it proved.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings

from bench.batch_instances import interview_weeks
from solver import Booking, BusyInterval, Directory, MemberSeat
from solver.batch import BatchProgress, BatchRequest, optimize_batch, prepare_part, split_batch
from solver.batch.board import Board, LimitBook, clashes
from solver.batch.lp import relax_and_dive
from solver.batch.objective import evaluate
from solver.batch.prepare import with_options
from solver.batch.rows import build_rows
from solver.batch.types import TICKS_PER_POINT
from tests.solver.batch.helpers import at, item, member
from tests.solver.batch.oracle import brute_batch
from tests.solver.batch.test_property_batch import batches
from tests.solver.batch.test_worked_example import BATCH, BUSY, DIRECTORY

Case = tuple[Directory, list[BusyInterval], list[Booking], BatchRequest]


@settings(max_examples=60)
@given(batches())
def test_cliques_are_exactly_the_clashes(case: Case) -> None:
    """Two items' starts on one resource share a row of that resource iff they clash."""
    directory, busy, bookings, batch = case
    ready = prepare_part(directory, busy, bookings, batch)
    assert ready is not None
    rows = build_rows(ready.items, directory, LimitBook(directory, ready.bookings_by), ready.terms)
    limit_rows: set[str] = set()
    for prepared in rows.items:
        for keys in (prepared.day_keys, prepared.week_keys):
            limit_rows |= set(keys)
    cells: dict[str, list[tuple[int, int, set[int]]]] = {}  # resource -> (item, start, its time rows)
    for k, prepared in enumerate(rows.items):
        seen: set[tuple[str, int]] = set()
        for group, data in zip(prepared.groups, rows.groups[k], strict=True):
            for c, resource in enumerate(group.candidates):
                for p in np.flatnonzero(group.allowed[c]).tolist():
                    if (resource, p) in seen:
                        continue
                    seen.add((resource, p))
                    cell = int(data.cell[c, p])
                    entered = set(rows.cell_rows[rows.cell_ptr[cell]:rows.cell_ptr[cell + 1]].tolist())
                    time_rows = {r for r in entered if rows.rhs[r] == 1.0}
                    cells.setdefault(resource, []).append((k, p, time_rows))
    for resource, held in cells.items():
        for a, (k1, p1, rows1) in enumerate(held):
            for k2, p2, rows2 in held[a + 1:]:
                if k1 == k2:
                    continue
                other = rows.items[k2]
                span = np.array([[other.pre_lo[p2], other.core_lo[p2], other.core_hi[p2], other.post_hi[p2]]])
                clash = bool(clashes(rows.items[k1], span)[p1])
                shared = rows1 & rows2
                if resource not in limit_rows:  # a limit row of capacity 1 would also be shared
                    assert clash == bool(shared), (resource, k1, p1, k2, p2)
                else:
                    assert not clash or shared


@pytest.mark.parametrize(("before", "clash"), [(0, False), (15, True)])
def test_a_before_buffer_has_rows_of_its_own(before: int, clash: bool) -> None:
    """B meets 09:00-10:00 with no buffer after; A starts at 10:00 with ``before``
    minutes before it. Only the second family of rows (before-buffer and meeting)
    sees the clash: their meetings and after-buffers never overlap."""
    directory = Directory.of([member("m")], [], [])
    first = BatchRequest((
        item("A", (MemberSeat(("m",)),), at(10), at(11), buffer_before=timedelta(minutes=before)),
        item("B", (MemberSeat(("m",)),), at(9), at(10)),
    ))
    ready = prepare_part(directory, [], [], first)
    assert ready is not None
    rows = build_rows(ready.items, directory, LimitBook(directory, {}), ready.terms)
    assert (rows.n_rows == 1) is clash
    result = optimize_batch(directory, [], [], first)
    assert len(result.scheduled) == (1 if clash else 2)


@settings(max_examples=100)
@given(batches())
def test_bound_never_passes_the_optimum_and_the_dive_obeys_the_rules(case: Case) -> None:
    directory, busy, bookings, batch = case
    ready = prepare_part(directory, busy, bookings, batch)
    assert ready is not None
    items = [with_options(item) for item in ready.items]
    outcome = relax_and_dive(items, directory, ready.bookings_by, ready.terms, ready.baseline,
                             stop=time.monotonic() + 10)
    best = brute_batch(directory, busy, bookings, batch)
    optimum = ready.terms.priority * best.left_out + best.cost * TICKS_PER_POINT
    assert outcome.bound is not None and outcome.placements is not None
    assert outcome.bound <= optimum, "the LP claims a bound no schedule reaches"

    board = Board(LimitBook(directory, ready.bookings_by))
    for index, placement in outcome.placements.items():
        placed = items[index]
        for group, picks in zip(placed.groups, placement.picks, strict=True):
            assert len(set(picks)) == group.count and all(group.allowed[c, placement.position] for c in picks)
        assert all(board.usable(placed, r)[placement.position] for r in placement.resources(placed))
        assert len(set(placement.resources(placed))) == len(placement.resources(placed))
        board.place(placed, placement)
    assert evaluate(items, outcome.placements, directory, ready.terms).total >= optimum


def test_worked_example_bound_is_below_the_proven_optimum() -> None:
    ready = prepare_part(DIRECTORY, BUSY, [], BATCH)
    assert ready is not None
    items = [with_options(item) for item in ready.items]
    outcome = relax_and_dive(items, DIRECTORY, ready.bookings_by, ready.terms, ready.baseline,
                             stop=time.monotonic() + 10)
    assert outcome.bound is not None
    # The LP sees every item scheduled and costs of 4.8 at least; the optimum (docs/objective.md) is 5.3.
    assert outcome.bound == round(4.8 * TICKS_PER_POINT)
    assert optimize_batch(DIRECTORY, BUSY, [], BATCH).best_bound == 5.3


def test_bound_is_tight_on_an_interview_week() -> None:
    """Where CP-SAT's own LP bound stays far below, the column-generation bound meets
    the schedule within a fraction of a percent."""
    directory, busy, bookings, batch = interview_weeks(requests=30, members=12, rooms=3, weeks=1)
    progress: list[BatchProgress] = []
    result = optimize_batch(directory, busy, bookings, replace(batch, time_limit=3.0, workers=1),
                            on_progress=progress.append)
    assert len(split_batch(directory, batch)) == 1
    assert result.best_bound <= result.objective
    assert result.gap < 0.01
    # The dive's schedule beats the greedy ones here and is reported as the LP's.
    sources = [p.source for p in progress]
    assert "lp" in sources and set(sources) <= {"greedy", "repair", "lp", "cp-sat", "part"}
