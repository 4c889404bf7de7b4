"""The metrics of several processes (prometheus-client's multiprocess mode, as ``server.processes``
runs them): a breaker open in one process shows as open (livemax), not split by pid, until that
process is marked dead; the directory is private to the block and gone after it."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from server.telemetry.metrics import MULTIPROC_DIR, multiprocess_directory, process_dead, set_breaker_state


def _set_breaker(state: str) -> None:
    """In a spawned child (the directory in its environment before prometheus-client is imported)."""
    assert os.environ.get(MULTIPROC_DIR)
    set_breaker_state("ics", state)


def _breaker(directory: str) -> list[tuple[dict[str, str], float]]:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return [(s.labels, s.value) for family in registry.collect() for s in family.samples
            if s.name == "convene_calendar_breaker_state"]


def test_a_breaker_open_in_one_process_shows_open_until_that_process_is_dead() -> None:
    before = os.environ.get(MULTIPROC_DIR)
    context = multiprocessing.get_context("spawn")
    with multiprocess_directory() as directory:
        assert os.environ[MULTIPROC_DIR] == directory and not os.listdir(directory)
        pids = {}
        for state in ("open", "closed"):
            child = context.Process(target=_set_breaker, args=(state,))
            child.start()
            child.join(30)
            assert child.exitcode == 0 and child.pid is not None
            pids[state] = child.pid
        assert _breaker(directory) == [({"source": "ics"}, 2.0)]  # the highest, one series
        process_dead(pids["open"], directory)
        assert _breaker(directory) == [({"source": "ics"}, 0.0)]
    assert os.environ.get(MULTIPROC_DIR) == before
    assert not Path(directory).exists()
