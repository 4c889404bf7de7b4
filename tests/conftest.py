"""Shared test setup: Hypothesis profiles.

``ci`` (the default) is derandomized so that every run of ``make test`` tries
the same examples and a failure reproduces; ``dev`` explores new random
examples each run; ``thorough`` runs ten times as many. Pick one with
``HYPOTHESIS_PROFILE=dev pytest ...``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          report_multiple_bugs=False,
                          suppress_health_check=_SLOW_OK)
settings.register_profile("dev", deadline=None, print_blob=True, suppress_health_check=_SLOW_OK)
settings.register_profile("thorough", max_examples=1000, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW_OK)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
