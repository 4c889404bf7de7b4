"""A cancelled batch stops within a fraction of a second, whatever phase it is in: the CP-SAT
search looks at the cancel flag between improving solutions too (a search may find none for
many seconds: the hiring week's, past its first second, typically does)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from server.batch.runner import run_batch
from server.cli.batch import load_batch
from tests.paths import EXAMPLES


@pytest.mark.parametrize("after", [0.0, 1.5, 3.0])
def test_a_cancelled_batch_stops_at_once(after: float) -> None:
    loaded = load_batch(EXAMPLES / "batch" / "hiring-week.json")
    batch = replace(loaded.batch, time_limit=30.0)
    flag = threading.Event()
    threading.Timer(after, flag.set).start()
    began = time.monotonic()
    result = run_batch(loaded.tenant.directory, loaded.busy, loaded.bookings, batch, cancelled=flag.is_set)
    stopped = time.monotonic() - began
    assert stopped < after + 1.0, f"cancelled at {after} s, stopped at {stopped:.1f} s"
    assert result.wall_time < 30
