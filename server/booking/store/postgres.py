"""The shared booking store: PostgreSQL through psycopg 3.

Double booking is impossible at the database level: ``booking_holds`` carries
an exclusion constraint (btree_gist) over ``(tenant =, resource_id =, meeting
range &&)`` for confirmed exclusive holds (see ``postgres_schema``). On top of
it, each create or hold takes a transaction-scoped advisory lock per resource
(in sorted order, so never a deadlock) before it checks and inserts; that makes
the checks the constraint cannot express (the new booking's buffers, short
holds, daily/weekly limits) exact under concurrency as well. A refusal by the
constraint still becomes a ``BookingConflict``.

Connections run in autocommit mode; each operation is one explicit
transaction at READ COMMITTED.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from server.booking.store.errors import StoreUnavailable
from server.booking.store.postgres_schema import MIGRATIONS, OVERLAP_CONSTRAINT, REQUEST_CONSTRAINT
from server.booking.store.sql import Refusal, SqlBookingStore, Tx

__all__ = ["PostgresBookingStore", "redact"]

# Advisory lock key of schema migrations (any constant other users of the database don't use).
_MIGRATION_LOCK = 0x436F6E76656E65  # "Convene"


def redact(url: str) -> str:
    """The connection string without its password, for messages and logs."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql (unparsable connection string)"
    host = params.get("host", "")
    port = params.get("port", "")
    user = params.get("user", "")
    dbname = params.get("dbname", "")
    return f"postgresql://{user}{'@' if user else ''}{host}{':' if port else ''}{port}/{dbname}"


class PostgresBookingStore(SqlBookingStore):
    """A booking store in a PostgreSQL database (see the module docstring).

    ``check_overlaps=False`` skips the advisory locks and the overlap query, so
    that only the exclusion constraint stands between concurrent bookings: tests
    use it to prove the constraint alone prevents double booking.
    """

    migrations = MIGRATIONS
    claim_lock_clause = " FOR UPDATE OF o SKIP LOCKED"
    row_lock_clause = " FOR UPDATE"

    def __init__(self, url: str, *, clock: Callable[[], datetime] | None = None,
                 connect_timeout: int = 10, check_overlaps: bool = True) -> None:
        super().__init__(redact(url), clock)
        self._url = url
        self._connect_timeout = connect_timeout
        self._check_overlaps = check_overlaps

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self._url, autocommit=True, connect_timeout=self._connect_timeout)
        except psycopg.Error as exc:
            # libpq messages name host and port, never the password.
            raise StoreUnavailable(self._where, str(exc).strip()) from exc

    def _is_broken(self, connection: Any) -> bool:
        return bool(connection.broken or connection.closed)

    @contextmanager
    def _transaction(self, connection: Any, write: bool) -> Iterator[Tx]:
        try:
            with connection.transaction(), connection.cursor() as cursor:
                yield Tx(cursor)
        except pg_errors.TransactionRollback:
            raise  # deadlock victim / serialization failure: create() starts over
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(self._where, str(exc).strip()) from exc

    def _lock(self, tx: Tx, keys: Collection[str]) -> None:
        for key in sorted(set(keys)):
            tx.rows("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))

    def _lock_schema(self, tx: Tx) -> None:
        tx.rows("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    def _refusal(self, exc: Exception) -> Refusal | None:
        if isinstance(exc, pg_errors.ExclusionViolation) and exc.diag.constraint_name == OVERLAP_CONSTRAINT:
            return Refusal.OVERLAP
        if isinstance(exc, pg_errors.UniqueViolation) and exc.diag.constraint_name == REQUEST_CONSTRAINT:
            return Refusal.DUPLICATE_REQUEST
        if isinstance(exc, pg_errors.TransactionRollback):
            return Refusal.RETRY
        return None

    def _time_in(self, t: datetime) -> datetime:
        return t.astimezone(UTC)

    def _time_out(self, value: Any) -> datetime:
        return value.astimezone(UTC)  # type: ignore[no-any-return]

    def _json_in(self, data: Any) -> Jsonb:
        return Jsonb(data)

    def _json_out(self, value: Any) -> Any:
        return value  # psycopg parses JSONB
