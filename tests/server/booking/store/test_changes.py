"""reschedule and update in the store, on SQLite and PostgreSQL: the etag, idempotency,
the holds replaced in one transaction, the outbox rows and webhook events they write."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest

from server.booking.store import (
    BookingCancelled,
    BookingConflict,
    BookingStore,
    Edit,
    IdempotencyConflict,
    Move,
    Person,
    StaleVersion,
    TaskKind,
    TaskStatus,
)
from server.booking.store.sql import SqlBookingStore
from tests.server.booking.store.helpers import TENANT, at, booking, member, room


def _holds(store: BookingStore, booking_id: str) -> list[tuple[str, str, str]]:
    assert isinstance(store, SqlBookingStore)
    with store._tx(write=False) as tx:
        rows = tx.rows("SELECT resource_id, start_at, end_at FROM booking_holds WHERE booking_id = %s "
                       "AND confirmed ORDER BY resource_id", (booking_id,))
    return [(r, str(store._time_out(s)), str(store._time_out(e))) for r, s, e in rows]


def _move(start: float, *seats: object, minutes: float = 60, **kw: object) -> Move:
    return Move(at(start), at(start + minutes), tuple(seats) or (member("m1"),),  # type: ignore[arg-type]
                (Person("m1@example.org", "Max Member"),), **kw)  # type: ignore[arg-type]


def test_reschedule_moves_holds_and_raises_sequence_and_version(store: BookingStore) -> None:
    first = store.create("r1", "h1", booking(member("m1"), room("r1"))).booking
    assert (first.version, first.sequence, first.updated_at) == (1, 0, None)
    moved = store.reschedule(first.id, "move-1", "mh", 1, _move(120, member("m1"), room("r1")), tenant=TENANT)
    assert not moved.replayed
    after = moved.booking
    assert (after.id, after.start, after.end) == (first.id, at(120), at(180))
    assert (after.version, after.sequence) == (2, 1)
    assert after.updated_at is not None
    assert _holds(store, first.id) == [("m1", str(at(120)), str(at(180))), ("r1", str(at(120)), str(at(180)))]
    # The old time is free at once; the new one is taken.
    store.create("r2", "h2", booking(member("m1"), start=0))
    with pytest.raises(BookingConflict):
        store.create("r3", "h3", booking(room("r1"), start=150))
    # The outbox: the event updated in place, the customer told, both due now.
    effects = store.get(first.id).side_effects
    assert effects[TaskKind.UPDATE_EVENT].status is TaskStatus.PENDING
    assert effects[TaskKind.SEND_UPDATE].status is TaskStatus.PENDING
    assert TaskKind.SEND_DROPPED not in effects


def test_the_booking_own_old_time_never_conflicts(store: BookingStore) -> None:
    first = store.create("r1", "h1", booking(member("m1"), room("r1"), minutes=60)).booking
    # Half an hour later: overlaps the booking's own old hour, which is gone by then.
    moved = store.reschedule(first.id, "m", "mh", 1, _move(30, member("m1"), room("r1")), tenant=TENANT)
    assert moved.booking.start == at(30)


def test_refused_move_changes_nothing(store: BookingStore) -> None:
    first = store.create("r1", "h1", booking(member("m1"), room("r1"))).booking
    other = store.create("r2", "h2", booking(room("r1"), start=120)).booking
    with pytest.raises(BookingConflict) as refused:
        store.reschedule(first.id, "m", "mh", 1, _move(120, member("m1"), room("r1")), tenant=TENANT)
    assert [c.other_id for c in refused.value.conflicts] == [other.id]
    again = store.get(first.id)
    assert (again.start, again.version, again.sequence) == (first.start, 1, 0)
    assert _holds(store, first.id) == [("m1", str(at(0)), str(at(60))), ("r1", str(at(0)), str(at(60)))]
    assert TaskKind.UPDATE_EVENT not in again.side_effects
    # The request id was not used up by the refusal.
    store.cancel(other.id)
    assert not store.reschedule(first.id, "m", "mh", 1, _move(120, member("m1"), room("r1")),
                                tenant=TENANT).replayed


def test_member_conflicts_allowed_rooms_never(store: BookingStore) -> None:
    first = store.create("r1", "h1", booking(member("m1"), room("r1"))).booking
    store.create("r2", "h2", booking(member("m1"), start=120))
    moved = store.reschedule(first.id, "m", "mh", 1,
                             _move(120, member("m1"), room("r1"), allow_member_conflicts=True), tenant=TENANT)
    assert moved.booking.allow_member_conflicts
    store.create("r3", "h3", booking(room("r2"), start=300))
    with pytest.raises(BookingConflict):
        store.reschedule(first.id, "m2", "mh2", 2, _move(300, member("m1"), room("r2"), allow_member_conflicts=True),
                         tenant=TENANT)


def test_stale_version_and_cancelled(store: BookingStore) -> None:
    first = store.create("r1", "h1", booking()).booking
    store.reschedule(first.id, "a", "ha", 1, _move(120), tenant=TENANT)
    with pytest.raises(StaleVersion) as stale:
        store.reschedule(first.id, "b", "hb", 1, _move(240), tenant=TENANT)
    assert (stale.value.expected, stale.value.actual) == (1, 2)
    with pytest.raises(StaleVersion):
        store.update(first.id, 1, Edit(title="x"), tenant=TENANT)
    assert store.get(first.id).start == at(120)
    store.cancel(first.id)
    with pytest.raises(BookingCancelled):
        store.reschedule(first.id, "c", "hc", 3, _move(240), tenant=TENANT)


def test_reschedule_is_idempotent_by_request_id(store: BookingStore) -> None:
    first = store.create("r1", "h1", booking()).booking
    done = store.reschedule(first.id, "move", "body", 1, _move(120), tenant=TENANT)
    replay = store.reschedule(first.id, "move", "body", 1, _move(120), tenant=TENANT)
    assert replay.replayed and replay.booking.version == done.booking.version == 2
    with pytest.raises(IdempotencyConflict):
        store.reschedule(first.id, "move", "other body", 2, _move(240), tenant=TENANT)
    assert store.get(first.id).start == at(120)


def test_dropped_people_are_collected_for_send_dropped(store: BookingStore) -> None:
    people = (Person("m1@example.org", "M1"), Person("m2@example.org", "M2"))
    first = store.create("r1", "h1", booking(member("m1"), member("m2"), attendees=people)).booking
    m3 = (Person("m1@example.org", "M1"), Person("m3@example.org", "M3"))
    store.reschedule(first.id, "a", "ha", 1, Move(at(0), at(60), (member("m1"), member("m3")), m3), tenant=TENANT)
    record = store.update(first.id, 2, Edit(customers=(Person("new@example.com", "New"),)), tenant=TENANT)
    assert (record.version, record.sequence) == (3, 2)
    assert record.customers == (Person("new@example.com", "New"),)
    assert record.side_effects[TaskKind.SEND_DROPPED].status is TaskStatus.PENDING
    tasks = store.claim_tasks([TaskKind.SEND_DROPPED], 10, lease=__import__("datetime").timedelta(seconds=30))
    assert len(tasks) == 1
    assert sorted(p["email"] for p in json.loads(tasks[0].detail)) == ["carla@example.com", "m2@example.org"]
    assert tasks[0].booking.version == 3


def test_update_edits_masked_fields_and_resets_running_tasks(store: BookingStore) -> None:
    from datetime import timedelta
    first = store.create("r1", "h1", booking(description="old", location="Room 1")).booking
    for task in store.claim_tasks([TaskKind.CREATE_EVENT], 10, timedelta(seconds=30)):
        store.complete_task(task, "ev-1")
    record = store.update(first.id, 1, Edit(title="New title"), tenant=TENANT)
    assert (record.title, record.description, record.location) == ("New title", "old", "Room 1")
    [running] = store.claim_tasks([TaskKind.UPDATE_EVENT], 10, timedelta(seconds=30))
    assert running.booking.title == "New title"
    # A second change while the first update runs: the task starts over from the new snapshot.
    store.update(first.id, 2, Edit(location="Room 2"), tenant=TENANT)
    assert not store.complete_task(running, "ev-1")
    [again] = store.claim_tasks([TaskKind.UPDATE_EVENT], 10, timedelta(seconds=30))
    assert (again.attempt, again.booking.location, again.booking.version) == (1, "Room 2", 3)


def test_update_event_waits_for_create_event(store: BookingStore) -> None:
    from datetime import timedelta
    first = store.create("r1", "h1", booking()).booking
    store.reschedule(first.id, "a", "ha", 1, _move(120), tenant=TENANT)
    assert store.claim_tasks([TaskKind.UPDATE_EVENT], 10, timedelta(seconds=30)) == []
    for task in store.claim_tasks([TaskKind.CREATE_EVENT], 10, timedelta(seconds=30)):
        store.complete_task(task, "ev-1")
    assert len(store.claim_tasks([TaskKind.UPDATE_EVENT], 10, timedelta(seconds=30))) == 1


def test_webhook_events_of_changes(store: BookingStore) -> None:
    store.create_webhook_endpoint(TENANT, "http://127.0.0.1:9/hook")
    first = store.create("r1", "h1", booking()).booking
    store.reschedule(first.id, "a", "ha", 1, _move(120), tenant=TENANT)
    store.update(first.id, 2, Edit(title="T"), tenant=TENANT)
    with pytest.raises(StaleVersion):
        store.update(first.id, 2, Edit(title="U"), tenant=TENANT)
    deliveries = store.list_webhook_deliveries(TENANT, booking_id=first.id)
    assert [d.event_kind for d in deliveries] == ["booking.created", "booking.rescheduled", "booking.updated"]
    body = json.loads(deliveries[1].body)
    assert body["booking"]["start"] == at(120).isoformat().replace("+00:00", "Z")
    assert body["booking"]["sequence"] == 1


def test_concurrent_reschedules_with_one_etag_one_wins(open_url: Callable[..., BookingStore]) -> None:
    store = open_url()
    first = store.create("r1", "h1", booking(member("m1"), room("r1"))).booking
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def move(i: int) -> None:
        barrier.wait()
        try:
            store.reschedule(first.id, f"m{i}", f"h{i}", 1, _move(60 * (i + 2), member("m1"), room("r1")),
                             tenant=TENANT)
            outcome = "won"
        except StaleVersion:
            outcome = "stale"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=move, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["stale"] * 19 + ["won"]
    after = store.get(first.id)
    assert after.version == 2
    assert [(r, s) for r, s, _ in _holds(store, first.id)] == [("m1", str(after.start)), ("r1", str(after.start))]
