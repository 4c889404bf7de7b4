"""``create_all``: several bookings in one transaction, all confirmed or none (a batch's commit).

Runs on SQLite and PostgreSQL (conftest). The race at the end gives every
thread its own store, so only the database can keep two batches apart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from server.booking.store import (
    BookingConflict,
    BookingStatus,
    BookingStore,
    CreateEntry,
    EntryRefused,
    IdempotencyConflict,
    InvalidBooking,
    LimitReached,
    MemberLimit,
    Move,
    MoveEntry,
    Person,
    StaleVersion,
    TaskKind,
    open_store,
)
from tests.server.booking.store.helpers import TENANT, at, booking, member, room


def entry(request_id: str, *seats: object, start: float = 0, minutes: float = 60, body: str = "h",
          **kw: object) -> CreateEntry:
    return CreateEntry(request_id, body, booking(*seats, start=start, minutes=minutes), **kw)  # type: ignore[arg-type]


def everything(store: BookingStore) -> list[tuple[str, BookingStatus]]:
    return sorted((b.request_id, b.status) for b in store.list(TENANT, limit=100))


def test_every_entry_is_booked_with_its_side_effects(store: BookingStore) -> None:
    results = store.create_all([entry("b/1", member("m1"), room("r1")),
                                entry("b/2", member("m1"), room("r1"), start=60),
                                entry("b/3", member("m2"), start=0)])

    assert [r.replayed for r in results] == [False, False, False]
    assert everything(store) == [("b/1", BookingStatus.CONFIRMED), ("b/2", BookingStatus.CONFIRMED),
                                 ("b/3", BookingStatus.CONFIRMED)]
    for result in results:
        assert set(store.get(result.booking.id).side_effects) == {TaskKind.CREATE_EVENT, TaskKind.SEND_INVITE}
    assert store.create_all([]) == []


def test_a_refused_entry_leaves_nothing_booked(store: BookingStore) -> None:
    store.create("other", "h", booking(room("r1"), start=90))

    with pytest.raises(EntryRefused) as caught:
        store.create_all([entry("b/1", member("m1"), start=0),
                          entry("b/2", member("m2"), room("r1"), start=60)])

    assert caught.value.index == 1
    assert isinstance(caught.value.cause, BookingConflict)
    assert [c.resource_id for c in caught.value.cause.conflicts] == ["r1"]
    assert everything(store) == [("other", BookingStatus.CONFIRMED)]  # b/1 was never confirmed
    assert store.find_by_request_id(TENANT, "b/1") is None


def test_entries_are_checked_against_the_entries_before_them(store: BookingStore) -> None:
    # The same room twice, overlapping by a buffer: the second is refused, and so is the first.
    first = entry("b/1", room("r1"), start=0)
    second = CreateEntry("b/2", "h", booking(room("r1"), start=60, buffer_before=at(15) - at(0)))
    with pytest.raises(EntryRefused) as caught:
        store.create_all([first, second])
    assert caught.value.index == 1 and isinstance(caught.value.cause, BookingConflict)
    assert everything(store) == []


def test_limits_count_the_entries_before(store: BookingStore) -> None:
    limit = {"m1": MemberLimit(daily=2, time_zone="Europe/Berlin")}
    entries = [entry(f"b/{i}", member("m1"), start=90 * i, limits=limit) for i in range(3)]

    with pytest.raises(EntryRefused) as caught:
        store.create_all(entries)

    assert caught.value.index == 2 and isinstance(caught.value.cause, LimitReached)
    assert caught.value.cause.count == 2
    assert everything(store) == []
    assert len(store.create_all(entries[:2])) == 2


def test_a_repeated_call_replays_and_another_body_is_refused(store: BookingStore) -> None:
    entries = [entry("b/1", member("m1")), entry("b/2", member("m2"))]
    first = store.create_all(entries)

    again = store.create_all(entries)
    assert [r.replayed for r in again] == [True, True]
    assert [r.booking.id for r in again] == [r.booking.id for r in first]

    with pytest.raises(EntryRefused) as caught:
        store.create_all([entries[0], entry("b/2", member("m3"), body="other")])
    assert caught.value.index == 1 and isinstance(caught.value.cause, IdempotencyConflict)
    assert len(everything(store)) == 2


def test_bad_input_names_the_entry_and_the_field(store: BookingStore) -> None:
    bad = CreateEntry("b/2", "h", booking(member("m2"), time_zone="Mars/Olympus"))
    with pytest.raises(EntryRefused) as caught:
        store.create_all([entry("b/1", member("m1")), bad])
    assert caught.value.index == 1 and isinstance(caught.value.cause, InvalidBooking)
    assert [v.field for v in caught.value.cause.violations] == ["time_zone"]
    assert str(caught.value).startswith("entries[1]: time_zone:")
    assert everything(store) == []


def test_find_by_request_prefix_takes_wildcards_literally(store: BookingStore) -> None:
    for request_id, start in (("b%1/x", 0), ("b_1/y", 60), ("bx1/z", 120), ("b%1/w", 180), ("b%10/v", 240)):
        store.create(request_id, "h", booking(member("m1"), start=start))

    assert [b.request_id for b in store.find_by_request_prefix(TENANT, "b%1/")] == ["b%1/w", "b%1/x"]
    assert [b.request_id for b in store.find_by_request_prefix(TENANT, "b_1/")] == ["b_1/y"]
    assert store.find_by_request_prefix("another-tenant", "b") == []


BATCHES = 12


def test_racing_batches_never_commit_in_part(store_url: str, store: BookingStore) -> None:
    """Every batch wants rooms r1 and r2 at the same hour (half of them in the opposite
    order) plus a member of its own: exactly one batch wins both rooms and its member;
    every other one books nothing, and nobody deadlocks."""
    stores = [open_store(store_url, migrate=False) for _ in range(BATCHES)]
    gate = threading.Barrier(BATCHES)
    outcome: dict[int, object] = {}
    lock = threading.Lock()

    def run(i: int) -> None:
        rooms = [room("r1"), room("r2")] if i % 2 == 0 else [room("r2"), room("r1")]
        entries = [entry(f"batch-{i}/a", member(f"m{i}"), rooms[0], start=i),
                   entry(f"batch-{i}/b", member(f"n{i}"), rooms[1], start=i),
                   entry(f"batch-{i}/c", member(f"own-{i}"), start=300)]
        gate.wait()
        result: object
        try:
            result = stores[i].create_all(entries)
        except BaseException as exc:  # a refusal, or anything else: the assertions below tell
            result = exc
        with lock:
            outcome[i] = result

    threads = [threading.Thread(target=run, args=(i,)) for i in range(BATCHES)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s in stores:
            s.close()

    winners = [i for i, result in outcome.items() if isinstance(result, list)]
    refused = [result for result in outcome.values() if isinstance(result, EntryRefused)]
    assert len(winners) == 1 and len(refused) == BATCHES - 1, outcome
    assert all(isinstance(r.cause, BookingConflict) for r in refused)
    booked = sorted(request_id for request_id, status in everything(store) if status is BookingStatus.CONFIRMED)
    w = winners[0]
    assert booked == [f"batch-{w}/a", f"batch-{w}/b", f"batch-{w}/c"]


def test_create_still_raises_the_cause(store: BookingStore, open_url: Callable[..., BookingStore]) -> None:
    store.create("a", "h", booking(room("r1")))
    with pytest.raises(BookingConflict):
        store.create("b", "h", booking(room("r1"), start=30))


# --- With moves (a re-optimizing batch) -----------------------------------------------------


def _moved(booking_id: str, request_id: str, start: float, *seats: object, version: int = 1,
           body: str = "m") -> MoveEntry:
    move = Move(at(start), at(start + 60), tuple(seats) or (member("m1"),),  # type: ignore[arg-type]
                (Person("m1@example.org", "Max Member"),))
    return MoveEntry(booking_id, TENANT, request_id, body, version, move)


def _holds(store: BookingStore, booking_id: str) -> list[tuple[str, float]]:
    record = store.get(booking_id)
    return [(r, (record.start - at(0)).total_seconds() / 60) for r in record.resource_ids]


def test_moves_and_new_bookings_commit_together_and_moved_bookings_may_swap(store: BookingStore) -> None:
    first = store.create("x", "h", booking(member("m1"), room("r1"), start=0)).booking
    second = store.create("y", "h", booking(member("m1"), room("r1"), start=60)).booking

    # Each takes the other's place, and a new booking takes the time both left: only possible
    # when every moved booking's old holds go before any new one is checked.
    results = store.create_all([entry("b/new", member("m1"), room("r1"), start=120)],
                               [_moved(first.id, "b/x", 60, member("m1"), room("r1"), version=first.version),
                                _moved(second.id, "b/y", 0, member("m1"), room("r1"), version=second.version)])

    assert [r.replayed for r in results] == [False, False, False]
    assert [r.booking.id for r in results[1:]] == [first.id, second.id]
    assert _holds(store, first.id) == [("m1", 60), ("r1", 60)]
    assert _holds(store, second.id) == [("m1", 0), ("r1", 0)]
    moved = store.get(first.id)
    assert moved.version == first.version + 1 and moved.sequence == first.sequence + 1
    assert {TaskKind.UPDATE_EVENT, TaskKind.SEND_UPDATE} <= set(moved.side_effects)
    assert store.find_changes_by_prefix(TENANT, "b/") == [("b/x", first.id), ("b/y", second.id)]

    # The same call again replays every part of it.
    again = store.create_all([entry("b/new", member("m1"), room("r1"), start=120)],
                             [_moved(first.id, "b/x", 60, member("m1"), room("r1"), version=first.version),
                              _moved(second.id, "b/y", 0, member("m1"), room("r1"), version=second.version)])
    assert [r.replayed for r in again] == [True, True, True]
    assert store.get(first.id).version == first.version + 1


def test_a_refused_move_leaves_nothing_booked_or_moved(store: BookingStore) -> None:
    kept = store.create("x", "h", booking(member("m1"), room("r1"), start=0)).booking
    store.create("other", "h", booking(room("r2"), start=120))

    # The move's room is taken then: the new booking (checked after the move) is not made either.
    with pytest.raises(EntryRefused) as caught:
        store.create_all([entry("b/new", member("m1"), room("r1"), start=0)],
                         [_moved(kept.id, "b/x", 120, member("m1"), room("r2"), version=kept.version)])
    assert caught.value.index == 1 and isinstance(caught.value.cause, BookingConflict)
    assert everything(store) == [("other", BookingStatus.CONFIRMED), ("x", BookingStatus.CONFIRMED)]
    assert _holds(store, kept.id) == [("m1", 0), ("r1", 0)] and store.get(kept.id).version == kept.version
    assert store.find_changes_by_prefix(TENANT, "b/") == []

    # A move at a stale version (the booking changed since it was read) is refused the same way.
    with pytest.raises(EntryRefused) as stale:
        store.create_all([], [_moved(kept.id, "b/x", 60, member("m1"), room("r1"), version=kept.version + 5)])
    assert stale.value.index == 0 and isinstance(stale.value.cause, StaleVersion)
    assert _holds(store, kept.id) == [("m1", 0), ("r1", 0)]
