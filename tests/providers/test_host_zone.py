"""The calendar sources read the same busy time whatever the host machine's zone.

All-day events belong to their owner's day and floating times to the owner's
zone; nothing may depend on the zone of the machine Convene runs on (exchangelib
once put Exchange's all-day events on the host's day). So the provider tests
that read times run again in subprocesses under ``TZ=UTC``,
``TZ=America/Los_Angeles`` and ``TZ=Asia/Tokyo`` (a subprocess, because the
host zone is read once per process: ``time.tzset`` would not reach tzlocal's
cache). They run at once; tests of timeouts are left out (they read no
times and only wait), and so are the modules that read no local times. A
zone the host already has is covered by the run this test is part of.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.paths import REPO

ZONES = ("UTC", "America/Los_Angeles", "Asia/Tokyo")
MODULES = ("test_ical_rules.py", "test_caldav_source.py", "test_exchange.py", "test_graph.py", "test_google.py",
           "test_same_events.py")
NOT_TIMES = "not hang and not times_out and not timed_out and not timeout and not msal and not retry_after"


def test_provider_tests_pass_under_every_host_zone() -> None:
    runs = {}
    for zone in ZONES:
        if _host_keeps(zone):
            continue
        env = {**os.environ, "TZ": zone}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "-k", NOT_TIMES,
                   *(f"tests/providers/{m}" for m in MODULES)]
        runs[zone] = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
    failed = {}
    for zone, run in runs.items():
        output, _ = run.communicate(timeout=240)
        if run.returncode != 0:
            failed[zone] = output[-3000:]
    assert not failed, "\n\n".join(f"TZ={zone}:\n{tail}" for zone, tail in failed.items())


def _host_keeps(zone: str) -> bool:
    """Whether this process's local time is ``zone``'s through a year (so this run covers it)."""
    for month in (1, 4, 7, 10):
        moment = datetime(2024, month, 15, 12, tzinfo=UTC)
        offset = ZoneInfo(zone).utcoffset(moment)
        if offset is None or time.localtime(moment.timestamp()).tm_gmtoff != offset.total_seconds():
            return False
    return True
