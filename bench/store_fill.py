"""Fills a migrated booking store with many confirmed bookings at once, in plain SQL.

Benchmarks and plan tests need tens of thousands of bookings; booking them one
by one through the store (checks, outbox, events) would take minutes. These
rows are what ``SqlBookingStore.create`` writes for a confirmed booking (the
booking and one hold per resource; no side effects, nobody to tell).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

__all__ = ["Filled", "fill", "postgres_url_works"]

_SQLITE_PREFIX = "sqlite:///"
_SQLITE_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # the SQLite schema's instants (sqlite_schema)
_BATCH = 5000


@dataclass(frozen=True)
class Filled:
    """One confirmed booking to write: ``seats`` as (kind, resource ids, pool id). Not ``exclusive``:
    its holds may overlap others (as in "schedule anyway"; PostgreSQL's constraint refuses overlapping
    exclusive holds)."""

    start: datetime
    end: datetime
    seats: tuple[tuple[str, tuple[str, ...], str], ...]
    exclusive: bool = True


def fill(url: str, tenant: str, bookings: Sequence[Filled]) -> None:
    """Writes ``bookings`` (confirmed) for ``tenant`` into the store at ``url``, then ANALYZE."""
    postgres = not url.startswith(_SQLITE_PREFIX)
    with _cursor(url) as cursor:
        for lo in range(0, len(bookings), _BATCH):
            booking_rows: list[tuple[Any, ...]] = []
            hold_rows: list[tuple[Any, ...]] = []
            for b in bookings[lo:lo + _BATCH]:
                booking_id = f"bk_{uuid.uuid4().hex}"
                seats = [{"kind": kind, "resource_ids": list(ids), "pool_id": pool, "label": ""}
                         for kind, ids, pool in b.seats]
                start, end = _time(b.start, postgres), _time(b.end, postgres)
                booking_rows.append((booking_id, tenant, f"fill-{booking_id}", "fill", start, end, "UTC",
                                     Jsonb(seats) if postgres else json.dumps(seats), _json([], postgres),
                                     _json({"email": "", "name": ""}, postgres), _json([], postgres),
                                     _time(b.start, postgres)))
                hold_rows.extend((booking_id, tenant, r, kind, pool, b.exclusive, True, start, end)
                                 for kind, ids, pool in b.seats for r in ids)
            mark = "%s" if postgres else "?"
            cursor.executemany(
                "INSERT INTO bookings (id, tenant, request_id, body_hash, status, start_at, end_at, time_zone, "
                "seats, title, customers, organizer, attendees, buffer_before_s, buffer_after_s, description, "
                "location, allow_member_conflicts, sequence, created_at) VALUES "
                f"({mark}, {mark}, {mark}, {mark}, 'confirmed', {mark}, {mark}, {mark}, {mark}, '', {mark}, "
                f"{mark}, {mark}, 0, 0, '', '', FALSE, 0, {mark})", booking_rows)
            cursor.executemany(
                "INSERT INTO booking_holds (booking_id, tenant, resource_id, kind, pool_id, exclusive, confirmed, "
                f"start_at, end_at) VALUES ({', '.join([mark] * 9)})", hold_rows)
        cursor.execute("ANALYZE")


def postgres_url_works(url: str) -> str:
    """"" when PostgreSQL answers at ``url``, else why not."""
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return ""


def _time(t: datetime, postgres: bool) -> Any:
    return t.astimezone(UTC) if postgres else t.astimezone(UTC).strftime(_SQLITE_TIME)


def _json(data: Any, postgres: bool) -> Any:
    return Jsonb(data) if postgres else json.dumps(data)


@contextmanager
def _cursor(url: str) -> Iterator[Any]:
    if url.startswith(_SQLITE_PREFIX):
        connection = sqlite3.connect(url[len(_SQLITE_PREFIX):])
        try:
            with connection:
                yield connection.cursor()
        finally:
            connection.close()
        return
    with psycopg.connect(url) as pg, pg.cursor() as cursor:
        yield cursor
