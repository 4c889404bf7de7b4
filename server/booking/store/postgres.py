"""The shared booking store: PostgreSQL through psycopg 3.

Double booking is impossible at the database level: ``booking_holds`` carries
an exclusion constraint (btree_gist) over ``(tenant =, resource_id =, meeting
range &&)`` for confirmed exclusive holds (see ``postgres_schema``). On top of
it, each create or hold takes a transaction-scoped advisory lock per resource
(in sorted order, so never a deadlock) before it checks and inserts; that makes
the checks the constraint cannot express (the new booking's buffers, short
holds, daily/weekly limits) exact under concurrency as well. A refusal by the
constraint still becomes a ``BookingConflict``.

Connections come from a psycopg_pool ``ConnectionPool`` per store (so per
process): at most ``PoolSettings.max_size`` of them, each checked before it is
handed out (a connection the server or a proxy closed is replaced, not used),
closed after ``max_idle`` seconds unused and replaced after ``max_lifetime``
seconds (so a failover or a config change on the database side is picked up).
A caller that finds every connection busy for ``timeout`` seconds gets
``StoreUnavailable``. They run in autocommit mode; each operation is one
explicit transaction at READ COMMITTED.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from server.booking.store.errors import StoreUnavailable
from server.booking.store.postgres_schema import MIGRATIONS, OVERLAP_CONSTRAINT, REQUEST_CONSTRAINT
from server.booking.store.sql import Refusal, SqlBookingStore, Tx

__all__ = ["PoolSettings", "PostgresBookingStore", "redact"]

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


@dataclass(frozen=True)
class PoolSettings:
    """The connection pool of one store (one process): sizes, and seconds.

    ``max_size`` bounds the connections this process holds: give it the threads
    that use the store at once (the RPC workers, the outbox worker, a metrics
    scrape); replicas times ``max_size`` must stay under the server's
    ``max_connections`` (docs/deploy.md).
    """

    min_size: int = 1
    max_size: int = 10
    max_lifetime: float = 3600.0
    max_idle: float = 600.0
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_size <= self.max_size or self.max_size < 1:
            raise ValueError("pool: need 0 <= min_size <= max_size and max_size >= 1")


class PostgresBookingStore(SqlBookingStore):
    """A booking store in a PostgreSQL database (see the module docstring).

    ``check_overlaps=False`` skips the advisory locks and the overlap query, so
    that only the exclusion constraint stands between concurrent bookings: tests
    use it to prove the constraint alone prevents double booking.
    """

    migrations = MIGRATIONS
    backend = "postgresql"
    claim_lock_clause = " FOR UPDATE OF o SKIP LOCKED"
    row_lock_clause = " FOR UPDATE"

    def __init__(self, url: str, *, clock: Callable[[], datetime] | None = None,
                 connect_timeout: int = 10, check_overlaps: bool = True,
                 pool: PoolSettings | None = None) -> None:
        super().__init__(redact(url), clock)
        self.conninfo = url  # for connections of its own (server.booking.store.changes)
        self._check_overlaps = check_overlaps
        settings = pool or PoolSettings()
        # One plain connection first: when the database cannot be reached, libpq's own
        # message (host and port, never the password) says why, where the pool would only time out.
        try:
            psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout).close()
        except psycopg.Error as exc:
            raise StoreUnavailable(self._where, str(exc).strip()) from exc
        self._pool: ConnectionPool[Any] = ConnectionPool(
            url, kwargs={"autocommit": True, "connect_timeout": connect_timeout},
            min_size=settings.min_size, max_size=settings.max_size, max_lifetime=settings.max_lifetime,
            max_idle=settings.max_idle, timeout=settings.timeout, check=ConnectionPool.check_connection,
            name="convene-bookings", open=False)
        self._pool_timeout = settings.timeout
        try:
            self._pool.open(wait=settings.min_size > 0, timeout=max(settings.timeout, float(connect_timeout)))
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreUnavailable(self._where, f"no connection within {settings.timeout:g} s") from exc

    @property
    def pool_stats(self) -> dict[str, int]:
        """psycopg_pool's counters (pool_size, pool_available, requests_waiting, ...), for metrics."""
        return dict(self._pool.get_stats())

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Tx]:
        if self._closed:
            raise StoreUnavailable(self._where, "the store is closed")
        try:
            with self._pool.connection() as connection, self._transaction(connection, write) as tx:
                yield tx
        except PoolTimeout as exc:
            raise StoreUnavailable(self._where, f"every pooled connection stayed busy (or the database was "
                                   f"unreachable) for {self._pool_timeout:g} s") from exc

    def close(self) -> None:
        self._closed = True
        self._pool.close()

    def _connect(self) -> Any:
        raise NotImplementedError("connections come from the pool (_tx)")

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
