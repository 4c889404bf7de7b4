"""Versioned schema migrations and opening stores by URL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from server.booking.store import StoreUnavailable, TaskStatus, open_store
from server.booking.store.postgres import PostgresBookingStore
from server.booking.store.sqlite import SqliteBookingStore
from server.booking.store.sqlite_schema import MIGRATIONS
from tests.server.booking.store.helpers import booking

NEWEST = len(MIGRATIONS)


def _applied(store) -> list[int]:
    with store._tx() as tx:
        return [r[0] for r in tx.rows("SELECT version FROM schema_version ORDER BY version")]


def test_open_migrates_to_the_newest_version_and_again_is_a_no_op(open_url) -> None:
    store = open_url()
    assert store.schema_version() == NEWEST

    assert store.migrate() == NEWEST
    again = open_url()

    assert again.schema_version() == NEWEST
    assert _applied(again) == list(range(1, NEWEST + 1))


def test_migrations_apply_step_by_step(open_url) -> None:
    store = open_url(migrate=False)
    assert store.schema_version() == 0

    assert store.migrate(target=1) == 1
    assert store.migrate(target=1) == 1
    assert store.migrate() == NEWEST

    assert _applied(store) == list(range(1, NEWEST + 1))
    assert store.create("r", "h", booking()).booking.id
    with pytest.raises(ValueError, match="target"):
        store.migrate(target=NEWEST + 1)


def test_concurrent_starts_apply_each_step_once(open_url) -> None:
    errors: list[BaseException] = []
    stores = []
    gate = threading.Barrier(8)

    def start() -> None:
        try:
            gate.wait()
            stores.append(open_url())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(stores) == 8
    assert _applied(stores[0]) == list(range(1, NEWEST + 1))


def test_step_4_turns_effects_recorded_done_as_skipped_into_skipped(open_url) -> None:
    """Before ``skip_task`` a side effect skipped on purpose was stored done, its result "skipped: <why>"."""
    store = open_url(migrate=False)
    store.migrate(target=3)
    store._emit = lambda *args, **kw: ""  # today's create records webhook events (step 5), absent here
    b = store.create("r", "h", booking()).booking
    with store._tx() as tx:
        for kind, result in (("create_event", "event-1"), ("send_invite", "skipped: email is disabled")):
            tx.run("UPDATE outbox SET status = 'done', attempts = 1, result = %s WHERE kind = %s", (result, kind))

    assert store.migrate(target=4) == 4

    effects = store.get(b.id).side_effects
    assert {k: (e.status, e.attempts, e.result) for k, e in effects.items()} == {
        "create_event": (TaskStatus.DONE, 1, "event-1"), "send_invite": (TaskStatus.SKIPPED, 1, "email is disabled")}


def test_urls_pick_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url in (f"sqlite:///{tmp_path}/a.db", "relative.db", str(tmp_path / "plain.db"), tmp_path / "path.db"):
        with open_store(url) as store:
            assert isinstance(store, SqliteBookingStore)
            assert store.schema_version() == NEWEST
    assert (tmp_path / "relative.db").exists()
    for bad in ("mysql://localhost/x", "sqlite:relative.db", ""):
        with pytest.raises(ValueError, match="url"):
            open_store(bad)
    with pytest.raises(ValueError, match="path"):
        SqliteBookingStore(":memory:")


@pytest.mark.postgres
def test_postgres_url_opens_postgres(pg_schema_url: str) -> None:
    with open_store(pg_schema_url) as store:
        assert isinstance(store, PostgresBookingStore)
        assert store.schema_version() == NEWEST


def test_unreachable_postgres_is_unavailable_without_leaking_the_password() -> None:
    url = "postgresql://convene:s3cret-pw@127.0.0.1:1/db?connect_timeout=2"

    with pytest.raises(StoreUnavailable) as err:
        open_store(url)

    assert "s3cret-pw" not in str(err.value)
    assert "127.0.0.1:1" in str(err.value)
