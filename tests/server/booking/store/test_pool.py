"""PostgreSQL connections come from a bounded pool that checks them before use."""

from __future__ import annotations

import threading

import psycopg
import pytest

from server.booking.store import PoolSettings, StoreUnavailable
from server.booking.store.postgres import PostgresBookingStore

pytestmark = pytest.mark.postgres


def test_a_connection_the_server_closed_is_replaced_not_used(pg_schema_url: str, pg_admin: psycopg.Connection) -> None:
    with PostgresBookingStore(pg_schema_url, pool=PoolSettings(min_size=1, max_size=1)) as store:
        newest = store.migrate()
        with store._pool.connection() as connection:  # the pool's only connection
            pid = connection.info.backend_pid
        pg_admin.execute("SELECT pg_terminate_backend(%s)", (pid,))  # a restart, a proxy timeout
        assert store.schema_version() == newest
        with store._pool.connection() as connection:
            assert connection.info.backend_pid != pid


def test_the_pool_is_bounded_and_a_caller_waits_at_most_its_timeout(pg_schema_url: str) -> None:
    with PostgresBookingStore(pg_schema_url, pool=PoolSettings(min_size=0, max_size=1, timeout=0.5)) as store:
        store.migrate()
        assert store.pool_stats["pool_max"] == 1
        taken, done = threading.Event(), threading.Event()

        def hold() -> None:
            with store._pool.connection():
                taken.set()
                done.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert taken.wait(5)
            with pytest.raises(StoreUnavailable, match="busy"):
                store.schema_version()
        finally:
            done.set()
            holder.join()
        assert store.schema_version() == store.migrate()
