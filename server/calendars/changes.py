"""Busy-cache coherence: what one process changed, every process sharing the store forgets.

Each process keeps its own busy cache (``providers.cache.BusyCache``). When a
booking, a cancel or the outbox's calendar write changes a resource's calendar,
the process that did it forgets the resource's entries at once and *announces*
the change; every other process sharing the booking store forgets them too,
so that its next FindSlots reads the calendar afresh instead of serving the
old read until the cache's TTL.

    changes.announce("acme", ["bob", "room-1"])   # after our own change (we forgot already)
    changes.catch_up()                              # before a read: apply what others announced

The store's backend carries the announcements (``server.booking.store.changes``):
PostgreSQL's LISTEN/NOTIFY (pushed; ``catch_up`` does nothing), SQLite a change
table read by ``catch_up`` (one indexed query per read; processes of one machine).
``NoChanges`` is one process alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol

__all__ = ["BusyChanges", "Forget", "NoChanges"]

# Applies an announcement here: (tenant, resource ids) -> forget their cache entries; ids None: all of them.
Forget = Callable[[str | None, Collection[str] | None], None]


class BusyChanges(Protocol):
    """How the processes sharing a store tell each other which resources' calendars changed."""

    def announce(self, tenant: str, resource_ids: Collection[str]) -> None:
        """Tells the other processes that ``resource_ids`` of ``tenant`` changed (never raises:
        a lost announcement only leaves their cache stale until its TTL)."""
        ...

    def catch_up(self) -> None:
        """Applies what the other processes announced since the last call (cheap; before a read)."""
        ...


class NoChanges:
    """A process alone: nobody to tell, nothing to hear."""

    def announce(self, tenant: str, resource_ids: Collection[str]) -> None:
        """Nothing to do."""

    def catch_up(self) -> None:
        """Nothing to do."""
