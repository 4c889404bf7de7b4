"""The busy-cache announcements of ``server.calendars.changes``, carried by the booking store's database.

- PostgreSQL: ``NOTIFY`` on a channel of the store's schema, a JSON payload
  ``{"o": origin, "t": tenant, "r": [resource ids]}``; one thread per process
  ``LISTEN``s on its own connection and forgets what it hears at once (within
  milliseconds). After a lost connection it listens again and forgets every
  cached read, since announcements may have gone by meanwhile.
- SQLite: a row per announcement in ``busy_changes`` (same file; created here,
  not a booking table: a channel like NOTIFY, safe to empty at any time; the
  newest 10 000 rows are kept); ``catch_up`` reads the rows after the last
  one it saw, one indexed query per calendar read. A reader that fell behind
  what was kept forgets everything.

A process skips its own announcements (``origin``): it forgot before it announced.
Announcing never fails the caller: the booking is committed by then, and a
lost announcement leaves another process's cache stale only until its TTL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Collection, Iterator

import psycopg
from psycopg import sql

from server.booking.store.base import BookingStore
from server.booking.store.postgres import PostgresBookingStore
from server.booking.store.sqlite import SqliteBookingStore
from server.calendars.changes import BusyChanges, Forget, NoChanges

__all__ = ["PostgresChanges", "SharedChanges", "SqliteChanges", "open_changes"]

log = logging.getLogger("convene.changes")

# A NOTIFY payload must stay under 8000 bytes: longer lists of ids go in several.
_PAYLOAD_BYTES = 7000
_KEEP_ROWS = 10_000


def _origin() -> str:
    return f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _chunks(ids: Collection[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for resource_id in sorted(ids):
        n = len(resource_id.encode()) + 4
        if chunk and size + n > _PAYLOAD_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(resource_id)
        size += n
    if chunk:
        yield chunk


class SharedChanges(BusyChanges):
    """A ``BusyChanges`` with a stop (the server closes it after its calls)."""

    def close(self) -> None:
        """Stops hearing."""


class _Alone(NoChanges, SharedChanges):
    pass


class SqliteChanges(SharedChanges):
    """Announcements as rows of ``busy_changes`` in the store's SQLite file (see the module docstring)."""

    def __init__(self, path: str, forget: Forget, *, keep: int = _KEEP_ROWS, prune_every: int = 1000) -> None:
        self.origin = _origin()
        self._forget = forget
        self._keep = keep
        self._prune_every = prune_every
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.execute("""CREATE TABLE IF NOT EXISTS busy_changes (
            seq          INTEGER PRIMARY KEY AUTOINCREMENT,
            origin       TEXT NOT NULL,
            tenant       TEXT NOT NULL,
            resource_ids TEXT NOT NULL)""")
        self._seen = int(self._db.execute("SELECT coalesce(max(seq), 0) FROM busy_changes").fetchone()[0])

    def announce(self, tenant: str, resource_ids: Collection[str]) -> None:
        body = json.dumps(sorted(resource_ids), separators=(",", ":"))
        try:
            with self._lock:
                seq = self._db.execute("INSERT INTO busy_changes (origin, tenant, resource_ids) VALUES (?, ?, ?)",
                                       (self.origin, tenant, body)).lastrowid
                if seq is not None and seq % self._prune_every == 0:
                    self._db.execute("DELETE FROM busy_changes WHERE seq <= ?", (seq - self._keep,))
        except sqlite3.Error as exc:
            log.warning("could not announce a busy change of %s to the other processes: %s", tenant, exc)

    def catch_up(self) -> None:
        try:
            with self._lock:
                rows = self._db.execute("SELECT seq, origin, tenant, resource_ids FROM busy_changes "
                                        "WHERE seq > ? ORDER BY seq", (self._seen,)).fetchall()
                if not rows:
                    return
                missed = rows[0][0] != self._seen + 1  # the rows in between were pruned
                self._seen = rows[-1][0]
        except sqlite3.Error as exc:
            log.warning("could not read the busy changes of the other processes: %s", exc)
            return
        if missed:
            self._forget(None, None)
            return
        for _, origin, tenant, body in rows:
            if origin != self.origin:
                self._forget(tenant, json.loads(body))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresChanges(SharedChanges):
    """Announcements by NOTIFY, heard by a LISTENing thread (see the module docstring)."""

    def __init__(self, conninfo: str, forget: Forget, *, connect_timeout: int = 10) -> None:
        self.origin = _origin()
        self._conninfo = conninfo
        self._forget = forget
        self._timeout = connect_timeout
        self._lock = threading.Lock()
        self._talk: psycopg.Connection[tuple[object, ...]] | None = self._connect()
        schema = str(self._talk.execute("SELECT current_schema()").fetchone()[0])  # type: ignore[index]
        # One channel per schema: deployments in other schemas of the database are not told.
        self.channel = "convene_busy_" + hashlib.sha256(schema.encode()).hexdigest()[:16]
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="convene-busy-changes", daemon=True)
        self._thread.start()
        # Announcements made once the server serves must be heard: wait for LISTEN (briefly).
        self._listening.wait(connect_timeout)

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self._conninfo, autocommit=True, connect_timeout=self._timeout)

    def announce(self, tenant: str, resource_ids: Collection[str]) -> None:
        try:
            with self._lock:
                if self._talk is None or self._talk.closed:
                    self._talk = self._connect()
                for chunk in _chunks(resource_ids):
                    payload = json.dumps({"o": self.origin, "t": tenant, "r": chunk}, separators=(",", ":"))
                    self._talk.execute("SELECT pg_notify(%s, %s)", (self.channel, payload))
        except psycopg.Error as exc:
            log.warning("could not announce a busy change of %s to the other processes: %s", tenant,
                        str(exc).strip())
            with self._lock:
                if self._talk is not None:
                    self._talk.close()
                self._talk = None

    def catch_up(self) -> None:
        """Nothing to do: the listening thread applies announcements as they come."""

    def _heard(self, payload: str) -> None:
        try:
            note = json.loads(payload)
            if note["o"] != self.origin:
                self._forget(str(note["t"]), [str(r) for r in note["r"]])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed busy change on %s", self.channel)

    def _listen(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                with self._connect() as connection:
                    connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    if not first:  # announcements may have gone by while we were away
                        self._forget(None, None)
                    first = False
                    self._listening.set()
                    while not self._stop.is_set():
                        for note in connection.notifies(timeout=0.5):
                            self._heard(note.payload)
            except psycopg.Error as exc:
                if not self._stop.is_set():
                    log.warning("busy changes: lost the database, listening again in 1 s: %s", str(exc).strip())
                    self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        with self._lock:
            if self._talk is not None:
                self._talk.close()
            self._talk = None


def open_changes(store: BookingStore, forget: Forget) -> SharedChanges:
    """The announcements of ``store``'s database, applied here by ``forget``; alone for another store."""
    if isinstance(store, PostgresBookingStore):
        return PostgresChanges(store.conninfo, forget)
    if isinstance(store, SqliteBookingStore):
        return SqliteChanges(store.path, forget)
    return _Alone()
