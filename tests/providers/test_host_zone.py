"""The calendar sources read the same busy time whatever the host machine's zone.

All-day events belong to their owner's day and floating times to the owner's
zone; nothing may depend on the zone of the machine Convene runs on (exchangelib
once put Exchange's all-day events on the host's day). So the provider tests
that read times run again in subprocesses under ``TZ=UTC``,
``TZ=America/Los_Angeles`` and ``TZ=Asia/Tokyo`` (a subprocess, because the
host zone is read once per process: ``time.tzset`` would not reach tzlocal's
cache). The three run at once; tests of timeouts are left out (they read no
times and only wait), and so are the modules that read no local times.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.paths import REPO

ZONES = ("UTC", "America/Los_Angeles", "Asia/Tokyo")
MODULES = ("test_ical_rules.py", "test_caldav_source.py", "test_exchange.py", "test_graph.py", "test_google.py")
NOT_TIMES = "not hang and not times_out and not timed_out and not timeout and not msal"


def test_provider_tests_pass_under_every_host_zone() -> None:
    runs = {}
    for zone in ZONES:
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
