"""Whether every configured calendar can be read now: ``convene check-config`` and the start-up warning.

A probe reads each calendar over the next day, from its source (never the
cache), each source bounded by ``timeout`` seconds, and returns the reason of
every calendar that could not be read (a missing file, a refused credential,
a source that does not answer). It changes nothing and books nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from providers.base import CalendarProvider, CalendarRef
from providers.fetch import fetch_busy

__all__ = ["probe_calendars"]

PROBE_SPAN = timedelta(days=1)


def probe_calendars(calendars: Mapping[str, tuple[CalendarProvider, CalendarRef]], now: datetime, *,
                    timeout: float) -> dict[str, str]:
    """Resource id -> why its calendar cannot be read, for each one that cannot (empty: all readable)."""
    if not calendars:
        return {}
    result = fetch_busy(list(calendars.values()), now, now + PROBE_SPAN, per_source_timeout=timeout)
    return dict(sorted(result.failures.items()))
