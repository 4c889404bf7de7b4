"""Deterministic mode: a work limit (CP-SAT deterministic time), fixed seed and
workers give the same schedule twice, one run with the other core kept busy."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from bench.batch_instances import interview_weeks
from solver.batch import BatchResult, optimize_batch
from solver.errors import InvalidRequest


def _spin(until: float) -> None:
    while time.monotonic() < until:
        pass


@pytest.fixture
def spinner() -> Iterator[None]:
    """A process spinning on a core for the length of the test."""
    proc = multiprocessing.get_context("spawn").Process(target=_spin, args=(time.monotonic() + 120,), daemon=True)
    proc.start()
    yield
    proc.kill()
    proc.join()


def _schedule(result: BatchResult) -> list[tuple[str, str, str]]:
    return [(s.item_id, s.start.isoformat(), repr(s.assignment)) for s in result.scheduled.values()]


def _run(workers: int) -> BatchResult:
    directory, busy, bookings, batch = interview_weeks(requests=40, members=14, rooms=3, seed=5)
    batch = replace(batch, work_limit=0.8, time_limit=60, workers=workers, seed=3)
    return optimize_batch(directory, busy, bookings, batch)


@pytest.mark.parametrize("workers", [1, 2])
def test_same_work_limit_same_schedule_under_load(workers: int, request: pytest.FixtureRequest) -> None:
    quiet = _run(workers)
    request.getfixturevalue("spinner")
    loaded = _run(workers)
    assert quiet.scheduled and _schedule(quiet) == _schedule(loaded)
    assert quiet.score == loaded.score and quiet.status is loaded.status


def test_work_limit_is_checked() -> None:
    directory, busy, bookings, batch = interview_weeks(requests=3, members=6, rooms=1, seed=5)
    with pytest.raises(InvalidRequest) as caught:
        optimize_batch(directory, busy, bookings, replace(batch, work_limit=-1.0))
    assert "work_limit" in str(caught.value)
