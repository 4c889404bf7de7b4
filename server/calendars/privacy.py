"""Who may see what is in the way: the one rule, in one function.

A conflict always names the resource, the interval and its kind (free/busy
level information). The event's details (title, id, location) go into a reply
only when the calling principal owns the calendar the event came from. Every
conflict leaves the server through ``visible_details``; for anyone else the
details are not in the reply's bytes at all.
"""

from __future__ import annotations

from solver.domain import Conflict, EventDetails

__all__ = ["visible_details"]


def visible_details(conflict: Conflict, viewer: str) -> EventDetails | None:
    """``conflict.details`` when ``viewer`` owns the calendar, else None."""
    if conflict.details is None or not conflict.owner or not viewer:
        return None
    return conflict.details if conflict.owner == viewer else None
