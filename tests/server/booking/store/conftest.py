"""Fixtures: every store test runs on SQLite and on PostgreSQL.

SQLite lives in ``tmp_path``. PostgreSQL runs on 127.0.0.1:5432 (database
``test``); each test gets a fresh schema (selected through the connection's
search_path) that is dropped afterwards. Without a reachable server the
PostgreSQL variants are skipped, saying why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from server.booking.store import BookingStore, open_store
from tests.server.booking.store.helpers import T0, FakeClock, SmtpSink, start_smtp

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[psycopg.Connection]:
    try:
        connection = psycopg.connect(PG_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 (database 'test'): {str(exc).strip()}")
    # Once, database-wide, in public: every test schema's tables use its operator classes,
    # and a copy inside one test schema would vanish when that schema is dropped.
    connection.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
    yield connection
    connection.close()


@pytest.fixture
def pg_schema_url(pg_admin: psycopg.Connection) -> Iterator[str]:
    """A URL whose connections see only a fresh, empty schema."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    pg_admin.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    pg_admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database of the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0.replace(year=2029))


@pytest.fixture
def open_url(store_url: str) -> Iterator[Callable[..., BookingStore]]:
    """Opens (and later closes) stores on the test's database."""
    opened: list[BookingStore] = []

    def opener(**kw: object) -> BookingStore:
        store = open_store(store_url, **kw)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def store(open_url: Callable[..., BookingStore], clock: FakeClock) -> BookingStore:
    """A migrated store on a fresh database, on the fake clock."""
    return open_url(clock=clock)


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    """A real SMTP server on a loopback port: (what it received, its port)."""
    sink = SmtpSink()
    controller = start_smtp(sink)
    yield sink, int(controller.port)
    controller.stop()
