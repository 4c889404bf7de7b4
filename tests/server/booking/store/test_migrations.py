"""Versioned schema migrations and opening stores by URL."""

from __future__ import annotations

import threading
from datetime import timedelta
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
    # Rows as a version-3 server wrote them (today's create writes columns that came later).
    now = store._time_in(store.now())
    with store._tx() as tx:
        tx.run("INSERT INTO bookings (id, tenant, request_id, body_hash, status, start_at, end_at, time_zone, "
               "seats, title, organizer, customers, attendees, buffer_before_s, buffer_after_s, description, "
               "location, allow_member_conflicts, sequence, created_at) VALUES (%s, 'acme', 'r', 'h', "
               "'confirmed', %s, %s, 'UTC', %s, 't', %s, %s, %s, 0, 0, '', '', FALSE, 0, %s)",
               ("bk_1", now, store._time_in(store.now() + timedelta(hours=1)), store._json_in([]),
                store._json_in({"email": ""}), store._json_in([]), store._json_in([]), now))
        for kind, result in (("create_event", "event-1"), ("send_invite", "skipped: email is disabled")):
            tx.run("INSERT INTO outbox (booking_id, kind, status, attempts, next_attempt_at, result, created_at, "
                   "updated_at) VALUES ('bk_1', %s, 'done', 1, %s, %s, %s, %s)", (kind, now, result, now, now))

    assert store.migrate(target=4) == 4

    store.migrate()
    effects = store.get("bk_1").side_effects
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
