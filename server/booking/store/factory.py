"""``open_store(url)``: the booking store a URL names, migrated and ready."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from server.booking.store.base import BookingStore
from server.booking.store.postgres import PoolSettings, PostgresBookingStore
from server.booking.store.sqlite import SqliteBookingStore

__all__ = ["open_store"]

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def open_store(url: str | Path, *, clock: Callable[[], datetime] | None = None,
               migrate: bool = True, pool: PoolSettings | None = None) -> BookingStore:
    """The store for ``url``, with its schema brought to the newest version.

    - ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or a plain
      path: SQLite (the embedded default);
    - ``postgresql://user@host:port/dbname`` (any libpq URI; ``?options=-csearch_path%3Dschema``
      selects a schema): PostgreSQL, its connections from a pool sized by ``pool``.

    Raises ``ValueError`` (naming ``url``) for other schemes and ``StoreUnavailable``
    when the database cannot be reached or migrated.
    """
    text = str(url)
    store: BookingStore
    if text.startswith(_POSTGRES_PREFIXES):
        store = PostgresBookingStore(text, clock=clock, pool=pool)
    elif text.startswith(_SQLITE_PREFIX):
        store = SqliteBookingStore(text[len(_SQLITE_PREFIX):], clock=clock)
    elif "://" in text or text.startswith("sqlite:"):
        scheme = text.split(":", 1)[0]
        raise ValueError(f"url: unsupported scheme {scheme!r} (use sqlite:///path, a path, or postgresql://...)")
    elif not text:
        raise ValueError("url: must not be empty")
    else:
        store = SqliteBookingStore(text, clock=clock)
    if migrate:
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
    return store
