"""The embedded booking store: SQLite through the standard library.

One writer at a time is SQLite's own rule; every write transaction starts with
``BEGIN IMMEDIATE``, which takes the write lock up front, so the overlap check
and the insert of a booking see and change one consistent database: no other
writer can slip in between. WAL mode lets readers go on meanwhile. Waiting
writers queue on the lock for up to ``busy_timeout`` seconds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.booking.store.errors import StoreUnavailable
from server.booking.store.sql import Refusal, SqlBookingStore, Tx
from server.booking.store.sqlite_schema import MIGRATIONS

__all__ = ["SqliteBookingStore"]

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# SQLite errors that mean "cannot use the database now", not "bad statement".
_UNAVAILABLE = ("locked", "unable to open", "disk", "readonly")


class SqliteBookingStore(SqlBookingStore):
    """A booking store in one SQLite file (see the module docstring)."""

    migrations = MIGRATIONS
    backend = "sqlite"
    # Statistics from an ANALYZE of a small database (or none) must not turn the read into a scan.
    holds_by_resource = "booking_holds AS h INDEXED BY booking_holds_resource"

    def __init__(self, path: str | Path, *, clock: Callable[[], datetime] | None = None,
                 busy_timeout: float = 30.0) -> None:
        super().__init__(f"sqlite {path}", clock)
        if str(path) in ("", ":memory:"):
            # Each thread has its own connection, and so would have its own in-memory database.
            raise ValueError("path: a file is required (an in-memory database is not shared between threads)")
        self._path = str(path)
        self.path = self._path
        self._busy_timeout = busy_timeout

    def _connect(self) -> sqlite3.Connection:
        try:
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves. The connection stays
            # with its thread; check_same_thread=False only lets close() reach it.
            connection = sqlite3.connect(self._path, timeout=self._busy_timeout, isolation_level=None,
                                         check_same_thread=False)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
        except (sqlite3.OperationalError, OSError) as exc:
            raise StoreUnavailable(self._where, str(exc)) from exc
        return connection

    def _is_broken(self, connection: Any) -> bool:
        return False

    @contextmanager
    def _transaction(self, connection: Any, write: bool) -> Iterator[Tx]:
        # IMMEDIATE takes the write lock before the first read, so what a writer checks
        # cannot change before it writes. Readers take a snapshot (WAL) and block nobody.
        try:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(self._where, str(exc)) from exc
        try:
            yield Tx(connection.cursor(), "?")
            connection.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if any(word in str(exc) for word in _UNAVAILABLE):
                raise StoreUnavailable(self._where, str(exc)) from exc
            raise
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def _refusal(self, exc: Exception) -> Refusal | None:
        # Unreachable while the write lock is held across check and insert; kept for safety.
        if isinstance(exc, sqlite3.IntegrityError) and "bookings.tenant, bookings.request_id" in str(exc):
            return Refusal.DUPLICATE_REQUEST
        return None

    def _time_in(self, t: datetime) -> str:
        return t.astimezone(UTC).strftime(_TIME_FORMAT)

    def _time_out(self, value: Any) -> datetime:
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)

    def _json_in(self, data: Any) -> str:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    def _json_out(self, value: Any) -> Any:
        return json.loads(value)
