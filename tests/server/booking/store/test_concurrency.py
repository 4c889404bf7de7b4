"""No double booking under real concurrency: 50 threads race for one member or room.

Each thread opens its own transaction on its own connection (a store gives every
thread its own), and the "separate stores" variants give every thread its own
store as well, so nothing in Python serializes them: only the database does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from server.booking.store import BookingConflict, BookingStatus, BookingStore, CreateResult, NewBooking, open_store
from server.booking.store.postgres import PostgresBookingStore
from tests.server.booking.store.helpers import TENANT, booking, member, room

THREADS = 50


def _race(make: Callable[[int], tuple[BookingStore, str, NewBooking, bool]],
          tolerate: Callable[[BaseException], bool] = lambda exc: False) -> tuple[list[CreateResult],
                                                                                  list[BookingConflict]]:
    """Runs ``THREADS`` creates released at once; returns successes and conflicts.
    Errors that ``tolerate`` accepts count as neither."""
    gate = threading.Barrier(THREADS)
    done: list[CreateResult] = []
    refused: list[BookingConflict] = []
    other: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        store, request_id, new, anyway = make(i)
        gate.wait()
        try:
            result = store.create(request_id, f"hash-{request_id}", new, anyway)
        except BookingConflict as exc:
            with lock:
                refused.append(exc)
        except BaseException as exc:
            if tolerate(exc):
                return
            with lock:
                other.append(exc)
        else:
            with lock:
                done.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert other == []
    return done, refused


def _one_member(i: int) -> NewBooking:
    # Every booking overlaps every other one: starts spread over 0..49 minutes, 60 minutes long.
    return booking(member("m1"), start=i, minutes=60)


def _one_room(i: int) -> NewBooking:
    return booking(member(f"m{i}"), room("r1"), start=i, minutes=60)


def _assert_exactly_one(store: BookingStore, done: list[CreateResult], refused: list[BookingConflict],
                        resource: str) -> None:
    assert len(done) == 1 and len(refused) == THREADS - 1
    winner = done[0].booking.id
    assert [b.id for b in store.list(TENANT, resource_id=resource)] == [winner]
    # Every refusal names the winner (unless the database refused before it could look).
    assert all(e.conflicts[0].other_id == winner for e in refused if e.conflicts)


@pytest.mark.parametrize("make", [_one_member, _one_room], ids=["member", "room-schedule-anyway"])
def test_one_store_many_threads_exactly_one_wins(store: BookingStore, make) -> None:
    anyway = make is _one_room
    done, refused = _race(lambda i: (store, f"req-{i}", make(i), anyway))

    _assert_exactly_one(store, done, refused, "m1" if not anyway else "r1")
    assert all(e.conflicts for e in refused)


@pytest.mark.parametrize("make", [_one_member, _one_room], ids=["member", "room-schedule-anyway"])
def test_separate_stores_exactly_one_wins(store_url: str, store: BookingStore, make) -> None:
    anyway = make is _one_room
    stores = [open_store(store_url, migrate=False) for _ in range(THREADS)]
    try:
        done, refused = _race(lambda i: (stores[i], f"req-{i}", make(i), anyway))
    finally:
        for s in stores:
            s.close()

    _assert_exactly_one(store, done, refused, "m1" if not anyway else "r1")


@pytest.mark.postgres
@pytest.mark.parametrize("make", [_one_member, _one_room], ids=["member", "room-schedule-anyway"])
def test_the_exclusion_constraint_alone_prevents_double_booking(pg_schema_url: str, make) -> None:
    """No advisory locks, no overlap query: every thread inserts; the constraint decides."""
    anyway = make is _one_room
    open_store(pg_schema_url).close()
    # Deadlocks among the racing inserts are found after deadlock_timeout (1 s by default) each;
    # on a loaded host a chain of them took this test 41 s. A tenth of it finds the same victims.
    url = f"{pg_schema_url}%20-cdeadlock_timeout%3D100ms"
    stores = [PostgresBookingStore(url, check_overlaps=False) for _ in range(THREADS)]
    try:
        # Without the advisory locks, PostgreSQL may pick deadlock victims among inserts that
        # wait on each other's uncommitted holds: refused too, never double-booked.
        done, refused = _race(lambda i: (stores[i], f"req-{i}", make(i), anyway),
                              tolerate=lambda exc: "deadlock detected" in str(exc))
        # The losers' conflicts come from looking up the winner after the database refused them.
        assert len(done) == 1
        assert [b.id for b in stores[0].list(TENANT, resource_id="m1" if not anyway else "r1")] == [
            done[0].booking.id]
        assert all(e.conflicts for e in refused)
    finally:
        for s in stores:
            s.close()


@pytest.mark.postgres
def test_without_the_check_only_the_constraint_refuses(pg_schema_url: str) -> None:
    """The unchecked store really skips the check: it lets a member through in conflict mode
    (not exclusive, so not in the constraint) but never a room."""
    open_store(pg_schema_url).close()
    with PostgresBookingStore(pg_schema_url, check_overlaps=False) as store:
        store.create("a", "h", booking(member("m1"), start=0))
        # Exclusive hold over a non-exclusive one: only the check would have refused it.
        store.create("b", "h", booking(member("m2"), start=0), allow_member_conflicts=True)
        store.create("c", "h", booking(member("m2"), start=0))
        store.create("d", "h", booking(room("r1"), start=0))
        with pytest.raises(BookingConflict):
            store.create("e", "h", booking(room("r1"), start=30))


def test_twin_requests_create_one_booking(store: BookingStore) -> None:
    done, refused = _race(lambda i: (store, "same-request", booking(member("m1")), False))

    assert refused == []
    assert len({r.booking.id for r in done}) == 1
    assert sum(not r.replayed for r in done) == 1


def test_concurrent_cancels_of_one_booking_cancel_it_once(store_url: str, store: BookingStore) -> None:
    # Agents double-clicking "cancel": the booking's SEQUENCE (what calendar clients order
    # updates by) goes up once, and one set of undo side effects is queued.
    cancellers = 6
    stores = [open_store(store_url, migrate=False) for _ in range(cancellers)]
    try:
        for round_ in range(8):
            b = store.create(f"req-{round_}", "h", booking(member(f"m{round_}"))).booking
            gate = threading.Barrier(cancellers)

            def cancel(s: BookingStore, booking_id: str = b.id, gate: threading.Barrier = gate) -> None:
                gate.wait()
                s.cancel(booking_id)

            threads = [threading.Thread(target=cancel, args=(s,)) for s in stores]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            after = store.get(b.id)
            assert after.status is BookingStatus.CANCELLED
            assert after.sequence == b.sequence + 1, f"round {round_}: cancelled {after.sequence - b.sequence} times"
    finally:
        for s in stores:
            s.close()
