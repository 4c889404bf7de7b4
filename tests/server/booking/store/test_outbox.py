"""The outbox: side effects enqueued with the booking, run after commit, retried
with backoff, never run twice by concurrent workers, visible on the booking."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from providers.base import ProviderError
from server.booking.store import (
    Backoff,
    BookingStore,
    Handler,
    OutboxTask,
    OutboxWorker,
    PermanentTaskError,
    Skipped,
    TaskKind,
    TaskStatus,
    open_store,
)
from tests.server.booking.store.helpers import booking, member

NO_JITTER = Backoff(base=timedelta(seconds=10), factor=2, cap=timedelta(minutes=1), jitter=0)
ALL_KINDS = [k.value for k in TaskKind]


class Recorder:
    """Handlers that record each call and return a result."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()

    def handler(self, task: OutboxTask) -> str:
        with self._lock:
            self.calls.append((task.kind, task.booking_id, task.attempt))
        return f"{task.kind}-ok"

    def handlers(self) -> dict[str, Handler]:
        return {kind: self.handler for kind in ALL_KINDS}


def _states(store: BookingStore, booking_id: str) -> dict[str, str]:
    return {k: str(v) for k, v in store.get(booking_id).side_effects.items()}


def test_worker_runs_the_side_effects_and_records_them(store: BookingStore) -> None:
    rec = Recorder()
    b = store.create("r", "h", booking()).booking

    ran = OutboxWorker(store, rec.handlers()).run_once()

    assert ran == 2
    assert sorted(rec.calls) == [("create_event", b.id, 1), ("send_invite", b.id, 1)]
    effects = store.get(b.id).side_effects
    assert {k: (e.status, e.attempts, e.result) for k, e in effects.items()} == {
        "create_event": (TaskStatus.DONE, 1, "create_event-ok"),
        "send_invite": (TaskStatus.DONE, 1, "send_invite-ok")}
    assert OutboxWorker(store, rec.handlers()).run_once() == 0


def test_a_handler_failing_twice_is_retried_with_exponential_backoff(store: BookingStore, clock) -> None:
    b = store.create("r", "h", booking()).booking
    attempts: list[int] = []

    def flaky(task: OutboxTask) -> str:
        attempts.append(task.attempt)
        if task.attempt <= 2:
            raise ConnectionError(f"calendar down ({task.attempt})")
        return "event-1"

    worker = OutboxWorker(store, {"create_event": flaky}, backoff=NO_JITTER)

    assert worker.run_once() == 1
    first = store.get(b.id).side_effects["create_event"]
    assert (first.status, first.attempts, first.last_error) == (TaskStatus.PENDING, 1,
                                                               "ConnectionError: calendar down (1)")
    assert first.next_attempt_at == store.now() + timedelta(seconds=10)
    assert _states(store, b.id)["create_event"] == "pending(attempts=1, last_error=ConnectionError: calendar down (1))"

    clock.advance(seconds=9)
    assert worker.run_once() == 0  # not due yet
    clock.advance(seconds=1)
    assert worker.run_once() == 1
    second = store.get(b.id).side_effects["create_event"]
    assert second.attempts == 2 and second.next_attempt_at == store.now() + timedelta(seconds=20)

    clock.advance(seconds=19)
    assert worker.run_once() == 0
    clock.advance(seconds=1)
    assert worker.run_once() == 1
    done = store.get(b.id).side_effects["create_event"]
    assert (done.status, done.attempts, done.result) == (TaskStatus.DONE, 3, "event-1")
    assert attempts == [1, 2, 3]
    # The email was never this worker's business: still pending for another worker.
    assert store.get(b.id).side_effects["send_invite"].status is TaskStatus.PENDING


def test_backoff_is_capped_and_honours_retry_after() -> None:
    assert NO_JITTER.delay(1) == timedelta(seconds=10)
    assert NO_JITTER.delay(3) == timedelta(seconds=40)
    assert NO_JITTER.delay(10) == timedelta(minutes=1)
    assert NO_JITTER.delay(1, retry_after=90) == timedelta(seconds=90)
    jittery = Backoff(base=timedelta(seconds=100), jitter=0.1)
    assert all(timedelta(seconds=90) <= jittery.delay(1) <= timedelta(seconds=110) for _ in range(50))


def test_provider_retry_after_sets_the_next_attempt(store: BookingStore) -> None:
    b = store.create("r", "h", booking()).booking

    def throttled(task: OutboxTask) -> str:
        raise ProviderError("m1", "429 too many requests", retry_after=120)

    OutboxWorker(store, {"create_event": throttled}, backoff=NO_JITTER).run_once()

    assert store.get(b.id).side_effects["create_event"].next_attempt_at == store.now() + timedelta(seconds=120)


@pytest.mark.parametrize("error", [PermanentTaskError("mailbox does not exist"),
                                   ProviderError("m1", "calendar deleted", transient=False)])
def test_permanent_errors_give_the_task_up(store: BookingStore, clock, error: Exception) -> None:
    b = store.create("r", "h", booking()).booking

    def broken(task: OutboxTask) -> str:
        raise error

    worker = OutboxWorker(store, {"send_invite": broken}, backoff=NO_JITTER)
    worker.run_once()
    clock.advance(hours=1)

    assert worker.run_once() == 0
    effect = store.get(b.id).side_effects["send_invite"]
    assert effect.status is TaskStatus.FAILED and effect.attempts == 1
    assert str(error) in effect.last_error


def test_a_dead_workers_claim_is_taken_over_after_its_lease(store: BookingStore, clock) -> None:
    b = store.create("r", "h", booking()).booking
    (orphan,) = store.claim_tasks(["create_event"], 10, timedelta(minutes=5))  # ... and the worker dies
    assert store.get(b.id).side_effects["create_event"].status is TaskStatus.RUNNING

    assert store.claim_tasks(["create_event"], 10, timedelta(minutes=5)) == []
    clock.advance(minutes=5)
    (taken,) = store.claim_tasks(["create_event"], 10, timedelta(minutes=5))

    assert taken.id == orphan.id and taken.attempt == 2
    assert not store.complete_task(orphan, "late")  # the old claim cannot finish it any more
    assert store.complete_task(taken, "ev")
    assert store.get(b.id).side_effects["create_event"].result == "ev"


def test_a_running_task_keeps_its_short_lease_however_long_it_takes(store: BookingStore, clock) -> None:
    b = store.create("r", "h", booking()).booking
    started, release = threading.Event(), threading.Event()

    def slow(task: OutboxTask) -> str:
        started.set()
        release.wait(5)
        return "ev"

    worker = OutboxWorker(store, {"create_event": slow}, lease=timedelta(seconds=0.3))
    runner = threading.Thread(target=worker.run_once)
    runner.start()
    assert started.wait(5)
    clock.advance(minutes=10)  # far past the lease it was claimed with
    time.sleep(0.4)  # at least one renewal (every 0.1 s)
    assert store.claim_tasks(["create_event"], 10, timedelta(seconds=0.3)) == []  # still the runner's
    release.set()
    runner.join(5)
    effect = store.get(b.id).side_effects["create_event"]
    assert effect.status is TaskStatus.DONE and effect.attempts == 1


def test_cancel_before_anything_ran_skips_both_sides(store: BookingStore) -> None:
    rec = Recorder()
    b = store.create("r", "h", booking()).booking

    store.cancel(b.id)

    assert _states(store, b.id) == {"create_event": "skipped", "send_invite": "skipped",
                                    "cancel_event": "skipped", "send_cancel": "skipped"}
    assert OutboxWorker(store, rec.handlers()).run_once() == 0


def test_cancel_after_the_effects_undoes_them_in_order(store: BookingStore) -> None:
    rec = Recorder()
    b = store.create("r", "h", booking()).booking
    worker = OutboxWorker(store, rec.handlers())
    worker.run_once()

    store.cancel(b.id)
    assert worker.run_once() == 2

    assert [c[0] for c in rec.calls[2:]] == ["cancel_event", "send_cancel"]
    assert set(_states(store, b.id).values()) == {"done"}


def test_cancel_while_a_failed_create_waits_to_retry_still_undoes_it(store: BookingStore, clock) -> None:
    # The first create_event failed (perhaps after the provider made the event): the
    # cancel must neither skip the retry nor its undo, or an event is left behind.
    b = store.create("r", "h", booking()).booking
    made: list[str] = []

    def create_once_it_works(task: OutboxTask) -> str:
        if task.attempt == 1:
            raise ConnectionError("calendar timed out")
        made.append(task.booking_id)
        return "event-9"

    undone: list[str] = []

    def cancel_event(task: OutboxTask) -> str:
        undone.append(task.booking.side_effects["create_event"].result)
        return "cancelled"

    worker = OutboxWorker(store, {"create_event": create_once_it_works, "cancel_event": cancel_event},
                          backoff=NO_JITTER)
    assert worker.run_once() == 1  # attempt 1 fails; the retry waits 10 s

    store.cancel(b.id)
    effects = store.get(b.id).side_effects
    assert effects["create_event"].status is TaskStatus.PENDING
    assert effects["cancel_event"].status is TaskStatus.PENDING
    assert worker.run_once() == 0  # the undo waits for the retry it undoes

    clock.advance(seconds=10)
    worker.run_once()
    worker.run_once()
    assert made == [b.id] and undone == ["event-9"]
    assert store.get(b.id).side_effects["cancel_event"].status is TaskStatus.DONE


def test_an_undo_waits_for_the_effect_it_undoes(store: BookingStore, clock) -> None:
    b = store.create("r", "h", booking()).booking
    (running,) = store.claim_tasks(["create_event"], 1, timedelta(minutes=5))  # in flight

    store.cancel(b.id)
    assert store.claim_tasks(["cancel_event"], 10, timedelta(minutes=5)) == []

    store.complete_task(running, "event-7")
    (undo,) = store.claim_tasks(["cancel_event"], 10, timedelta(minutes=5))
    assert undo.booking.side_effects["create_event"].result == "event-7"
    assert undo.booking.status == "cancelled"


def test_nobody_to_email_skips_the_emails(store: BookingStore) -> None:
    b = store.create("r", "h", booking(customers=())).booking
    OutboxWorker(store, Recorder().handlers()).run_once()

    store.cancel(b.id)

    assert _states(store, b.id) == {"create_event": "done", "send_invite": "skipped",
                                    "cancel_event": "pending(attempts=0)", "send_cancel": "skipped"}


def test_a_skipped_effect_is_recorded_skipped_with_its_reason_not_done(store: BookingStore) -> None:
    b = store.create("r", "h", booking()).booking
    handlers: dict[str, Handler] = {"create_event": lambda task: Skipped("the organizer has no calendar"),
                                    "send_invite": lambda task: "sent to 1"}

    assert OutboxWorker(store, handlers).run_once() == 2

    effects = store.get(b.id).side_effects
    assert {k: (e.status, e.attempts, e.result) for k, e in effects.items()} == {
        "create_event": (TaskStatus.SKIPPED, 1, "the organizer has no calendar"),
        "send_invite": (TaskStatus.DONE, 1, "sent to 1")}
    # Nothing was made, so a cancel has nothing to remove from the calendar.
    store.cancel(b.id)
    assert _states(store, b.id)["cancel_event"] == "skipped"


def test_skip_task_needs_the_claim(store: BookingStore, clock) -> None:
    b = store.create("r", "h", booking()).booking
    (orphan,) = store.claim_tasks(["create_event"], 1, timedelta(minutes=5))
    clock.advance(minutes=6)
    (taken,) = store.claim_tasks(["create_event"], 1, timedelta(minutes=5))

    assert not store.skip_task(orphan, "late")
    assert store.skip_task(taken, "no calendar")
    assert _states(store, b.id)["create_event"] == "skipped"


def test_concurrent_workers_run_each_task_exactly_once(store_url: str, store: BookingStore, clock) -> None:
    for i in range(20):
        store.create(f"r{i}", "h", booking(member(f"m{i}")))
    rec = Recorder()
    stores = [open_store(store_url, migrate=False, clock=clock) for _ in range(4)]
    gate = threading.Barrier(len(stores))

    def work(s: BookingStore) -> None:
        gate.wait()
        OutboxWorker(s, rec.handlers(), batch=3).run_once()

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()

    counts = Counter((kind, booking_id) for kind, booking_id, _ in rec.calls)
    assert len(counts) == 40 and set(counts.values()) == {1}


def test_background_worker_runs_new_tasks_until_stopped(store: BookingStore) -> None:
    rec = Recorder()
    worker = OutboxWorker(store, rec.handlers(), poll_interval=30)
    worker.start()
    try:
        b = store.create("r", "h", booking()).booking
        worker.wake()
        deadline = time.monotonic() + 5
        while len(rec.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()

    assert sorted(c[0] for c in rec.calls) == ["create_event", "send_invite"]
    assert set(_states(store, b.id).values()) == {"done"}
    with pytest.raises(ValueError, match="handlers"):
        OutboxWorker(store, {})


def test_run_once_ends_even_when_the_backoff_is_shorter_than_a_handler(store: BookingStore) -> None:
    store.create("r", "h", booking())
    calls: list[int] = []

    def failing(task: OutboxTask) -> str:
        calls.append(task.attempt)
        raise RuntimeError("still down")

    zero = Backoff(base=timedelta(0), jitter=0)

    assert OutboxWorker(store, {"create_event": failing}, backoff=zero).run_once() == 2
    assert calls == [1, 2]


def test_the_background_worker_polls_without_being_woken_and_stops(store: BookingStore) -> None:
    """A task committed by another process never wakes this worker: the poll finds it. ``stop``
    ends the thread, and a second ``start`` of a running worker is refused."""
    rec = Recorder()
    worker = OutboxWorker(store, rec.handlers(), poll_interval=0.05)
    worker.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            worker.start()
        running = [t for t in threading.enumerate() if t.name == "outbox-worker"]
        assert len(running) == 1 and running[0].daemon  # never holds up the process's exit
        store.create("r", "h", booking())
        deadline = time.monotonic() + 5
        while len(rec.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(rec.calls) == 2
    finally:
        worker.stop()
    assert not running[0].is_alive()
    worker.stop()  # stopping a stopped worker is a no-op


def test_a_handler_returning_nothing_records_an_empty_result(store: BookingStore) -> None:
    b = store.create("r", "h", booking()).booking
    OutboxWorker(store, {"create_event": lambda task: None, "send_invite": lambda task: "sent"}).run_once()
    effects = store.get(b.id).side_effects
    assert effects["create_event"].status is TaskStatus.DONE and effects["create_event"].result == ""
    assert effects["send_invite"].result == "sent"


def test_jitter_spreads_the_delay_both_ways_within_its_fraction() -> None:
    backoff = Backoff(base=timedelta(seconds=100), factor=1, cap=timedelta(hours=1), jitter=0.2)
    delays = [backoff.delay(1).total_seconds() for _ in range(400)]
    assert all(80 <= d <= 120 for d in delays)
    assert min(delays) < 95 and max(delays) > 105  # both ways, not a fixed shift


def test_run_once_counts_the_companions_work(store: BookingStore) -> None:
    class Deliveries:
        def run_once(self) -> int:
            return 3

        def start(self) -> None: ...
        def wake(self) -> None: ...
        def stop(self, timeout: float | None = 10.0) -> None: ...

    store.create("r", "h", booking())
    rec = Recorder()
    assert OutboxWorker(store, rec.handlers(), companions=(Deliveries(),)).run_once() == 2 + 3


def test_stop_waits_for_a_hanging_handler_only_as_long_as_it_is_told(store: BookingStore) -> None:
    entered, release = threading.Event(), threading.Event()

    def hanging(task: OutboxTask) -> str:
        entered.set()
        release.wait(30)
        return "late"

    worker = OutboxWorker(store, {"create_event": hanging}, poll_interval=0.05)
    worker.start()
    try:
        store.create("r", "h", booking())
        worker.wake()
        assert entered.wait(5)
        began = time.monotonic()
        worker.stop(timeout=0.2)
        assert time.monotonic() - began < 2
    finally:
        release.set()
