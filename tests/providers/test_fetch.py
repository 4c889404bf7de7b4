"""``fetch_busy``: parallel, bounded by the deadline, failing safe, retrying, cached."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from providers.base import CalendarRef, ProviderError
from providers.cache import BusyCache
from providers.fetch import FetchResult, Readers, ReadPolicy, SourceGuards, fetch_busy
from providers.ics import IcsProvider
from solver.domain import BusyInterval
from tests.providers.fakes import ScriptedProvider
from tests.providers.icsdata import calendar, event

START = datetime(2024, 3, 4, 8, tzinfo=UTC)
END = datetime(2024, 3, 4, 18, tzinfo=UTC)


def refs(*names: str) -> list[CalendarRef]:
    return [CalendarRef(n, f"cal-{n}") for n in names]


def one_meeting(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
    return [BusyInterval(ref.resource_id, START + timedelta(hours=1), START + timedelta(hours=2))]


@pytest.fixture
def hanging() -> Iterator[ScriptedProvider]:
    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        if ref.resource_id == "stuck":
            provider.release.wait(10)
        return one_meeting(ref, attempt)

    provider = ScriptedProvider(behaviour, name="hangs")
    yield provider
    provider.release.set()


def test_one_hanging_source_fails_alone_within_the_deadline(hanging: ScriptedProvider):
    fast = ScriptedProvider(one_meeting, name="fast")
    began = time.monotonic()
    result = fetch_busy([(fast, refs("ada", "bob")), (hanging, refs("stuck", "carl"))], START, END,
                        deadline=began + 0.5, per_source_timeout=5.0)
    took = time.monotonic() - began
    assert took < 0.8
    assert result.failures == {"stuck": "hangs: timeout (no answer within 0.5 s)"}
    assert sorted({b.resource_id for b in result.busy}) == ["ada", "bob", "carl"]


def test_per_source_timeout_bounds_each_source_before_the_deadline(hanging: ScriptedProvider):
    began = time.monotonic()
    result = fetch_busy([(hanging, refs("stuck"))], START, END, deadline=began + 30, per_source_timeout=0.3)
    assert time.monotonic() - began < 0.7
    assert set(result.failures) == {"stuck"}


def test_calendars_are_read_in_parallel():
    def slow(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        time.sleep(0.2)
        return one_meeting(ref, attempt)

    began = time.monotonic()
    result = fetch_busy([(ScriptedProvider(slow), refs(*(f"m{i}" for i in range(10))))], START, END,
                        deadline=began + 5, per_source_timeout=5)
    assert time.monotonic() - began < 0.8  # 10 x 0.2 s one after another would be 2 s
    assert len(result.busy) == 10 and result.failures == {}


def test_a_broken_calendar_is_a_failure_and_is_not_retried():
    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        if ref.resource_id == "bad":
            raise ProviderError("bad", "HTTP 401 (not authorized)", transient=False)
        return one_meeting(ref, attempt)

    provider = ScriptedProvider(behaviour)
    result = fetch_busy([(provider, refs("bad", "ok"))], START, END, deadline=time.monotonic() + 5,
                        per_source_timeout=5)
    assert result.failures == {"bad": "scripted: HTTP 401 (not authorized)"}
    assert [b.resource_id for b in result.busy] == ["ok"]
    assert provider.calls["bad"] == 1


def test_transient_failure_is_retried_after_retry_after():
    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        if attempt == 0:
            raise ProviderError(ref.resource_id, "HTTP 429", retry_after=0.3)
        return one_meeting(ref, attempt)

    provider = ScriptedProvider(behaviour)
    began = time.monotonic()
    result = fetch_busy([(provider, refs("ada"))], START, END, deadline=began + 5, per_source_timeout=5)
    assert result.failures == {} and len(result.busy) == 1
    assert provider.calls["ada"] == 2
    assert time.monotonic() - began >= 0.3


def test_no_retry_when_retry_after_is_past_the_budget():
    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        raise ProviderError(ref.resource_id, "HTTP 503", retry_after=30)

    provider = ScriptedProvider(behaviour)
    began = time.monotonic()
    result = fetch_busy([(provider, refs("ada"))], START, END, deadline=began + 1, per_source_timeout=1)
    assert time.monotonic() - began < 0.5
    assert result.failures == {"ada": "scripted: HTTP 503"} and provider.calls["ada"] == 1


def test_a_source_that_keeps_failing_gives_up_after_a_few_attempts():
    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        raise ProviderError(ref.resource_id, "HTTP 500")

    provider = ScriptedProvider(behaviour)
    result = fetch_busy([(provider, refs("ada"))], START, END, deadline=time.monotonic() + 10,
                        per_source_timeout=10)
    assert set(result.failures) == {"ada"} and provider.calls["ada"] == 4


def test_a_crashing_source_is_a_failure_not_an_exception():
    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        raise KeyError("surprise")

    result = fetch_busy([(ScriptedProvider(behaviour), refs("ada"))], START, END,
                        deadline=time.monotonic() + 5, per_source_timeout=5)
    assert result.failures == {"ada": "scripted: unexpected KeyError"} and result.busy == []


class _MalformedErrors(ScriptedProvider):
    """A source whose answer breaks the fetch layer's own code (its error is not a
    ProviderError): the task itself fails, outside the source's call."""

    def busy_each(self, calendars, start, end):
        return [], {ref.resource_id: "not a ProviderError" for ref in calendars}


def test_a_task_that_fails_inside_the_fetch_layer_makes_its_calendars_unavailable_not_free():
    good = ScriptedProvider(one_meeting, name="good")
    result = fetch_busy([(_MalformedErrors(one_meeting, name="odd"), refs("ada", "bob")), (good, refs("cy"))],
                        START, END, deadline=time.monotonic() + 5, per_source_timeout=5)
    assert set(result.failures) == {"ada", "bob"}
    assert all("odd" in reason for reason in result.failures.values())
    assert [b.resource_id for b in result.busy] == ["cy"]


def test_batching_sources_get_batches_and_retry_only_the_failed_calendars():
    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        if ref.resource_id == "m3" and attempt == 0:
            raise ProviderError("m3", "backend error")
        return one_meeting(ref, attempt)

    provider = ScriptedProvider(behaviour, max_batch=50)
    names = [f"m{i}" for i in range(120)]
    result = fetch_busy([(provider, refs(*names))], START, END, deadline=time.monotonic() + 5,
                        per_source_timeout=5)
    assert result.failures == {} and len(result.busy) == 120
    assert sorted(len(b) for b in provider.batches) == [1, 20, 50, 50]
    assert ("m3",) in provider.batches


def test_intervals_outside_the_window_are_left_out():
    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        return [BusyInterval(ref.resource_id, END, END + timedelta(hours=1)),
                BusyInterval(ref.resource_id, START - timedelta(hours=1), START + timedelta(minutes=1))]

    result = fetch_busy([(ScriptedProvider(behaviour), refs("ada"))], START, END,
                        deadline=time.monotonic() + 5, per_source_timeout=5)
    assert [(b.start, b.end) for b in result.busy] == [(START - timedelta(hours=1), START + timedelta(minutes=1))]


def test_bad_arguments_name_the_field():
    with pytest.raises(ValueError, match="per_source_timeout"):
        fetch_busy([], START, END, deadline=time.monotonic() + 1, per_source_timeout=0)
    with pytest.raises(ValueError, match="end"):
        fetch_busy([], END, START, deadline=time.monotonic() + 1, per_source_timeout=1)


# --- With a cache ----------------------------------------------------------------------


def test_warm_cache_serves_without_any_provider_call():
    provider = ScriptedProvider(one_meeting)
    cache = BusyCache(ttl=60)
    sources = [(provider, refs("ada", "bob"))]
    cold = fetch_busy(sources, START, END, deadline=time.monotonic() + 5, per_source_timeout=5, cache=cache)
    assert (cold.fetched, cold.from_cache) == (2, 0)
    calls = dict(provider.calls)
    # A narrower window later the same day is inside the whole day that was fetched.
    warm = fetch_busy(sources, START + timedelta(hours=2), END, deadline=time.monotonic() + 5,
                      per_source_timeout=5, cache=cache)
    assert provider.calls == calls
    assert (warm.fetched, warm.from_cache) == (0, 2)
    assert warm.busy == [b for b in cold.busy if b.end > START + timedelta(hours=2)]


def test_invalidate_makes_the_next_request_read_that_resource_again(tmp_path: Path):
    path = tmp_path / "ada.ics"
    path.write_text(calendar())
    ics = IcsProvider()
    ada = CalendarRef("ada", str(path))
    cache = BusyCache(ttl=60)

    def fetch():
        return fetch_busy([(ics, [ada])], START, END, deadline=time.monotonic() + 5, per_source_timeout=5,
                          cache=cache)

    assert fetch().busy == []
    path.write_text(calendar(event("new", "DTSTART:20240304T100000Z", "DTEND:20240304T110000Z")))
    assert fetch().busy == []  # still cached: the source is not asked
    cache.invalidate("ada")
    assert [b.start.hour for b in fetch().busy] == [10]


def test_failures_are_not_cached():
    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        if attempt == 0:
            raise ProviderError(ref.resource_id, "gone", transient=False)
        return one_meeting(ref, attempt)

    provider = ScriptedProvider(behaviour)
    cache = BusyCache(ttl=60)
    first = fetch_busy([(provider, refs("ada"))], START, END, deadline=time.monotonic() + 5,
                       per_source_timeout=5, cache=cache)
    second = fetch_busy([(provider, refs("ada"))], START, END, deadline=time.monotonic() + 5,
                        per_source_timeout=5, cache=cache)
    assert set(first.failures) == {"ada"} and second.failures == {} and len(second.busy) == 1


def test_a_late_answer_still_warms_the_cache():
    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        time.sleep(0.4)
        return one_meeting(ref, attempt)

    provider = ScriptedProvider(behaviour)
    cache = BusyCache(ttl=60)
    first = fetch_busy([(provider, refs("ada"))], START, END, deadline=time.monotonic() + 0.1,
                       per_source_timeout=5, cache=cache)
    assert set(first.failures) == {"ada"}
    time.sleep(0.5)
    second = fetch_busy([(provider, refs("ada"))], START, END, deadline=time.monotonic() + 0.1,
                        per_source_timeout=5, cache=cache)
    assert second.failures == {} and second.from_cache == 1 and provider.calls["ada"] == 1


def test_single_calendar_pairs_of_one_provider_are_batched_together():
    provider = ScriptedProvider(one_meeting, max_batch=50)
    pairs = [(provider, ref) for ref in refs("ada", "bob", "carl")]
    result = fetch_busy(pairs, START, END, deadline=time.monotonic() + 5)
    assert result.failures == {} and len(result.busy) == 3
    assert provider.batches == [("ada", "bob", "carl")]


# --- Isolation: per-tenant threads, per-source bulkheads, circuit breakers ---------------


def test_requests_beyond_a_hung_sources_bulkhead_are_answered_at_once(hanging: ScriptedProvider):
    guards = SourceGuards(ReadPolicy(reads_per_source=2, waiting_per_source=3))
    readers = Readers(threads=16, guards=guards)
    results: list[tuple[float, FetchResult]] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        began = time.monotonic()
        result = fetch_busy([(hanging, [CalendarRef("stuck", f"cal-{i}")])], START, END,
                            deadline=began + 0.5, readers=readers)
        with lock:
            results.append((time.monotonic() - began, result))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sum(hanging.calls.values()) == 2  # the two slots; nobody else reached the source
    waited = [took for took, r in results if "timeout" in r.failures["stuck"]]
    refused = [took for took, r in results if "busy" in r.failures["stuck"]]
    assert len(waited) == 2 + 3 and len(refused) == 12 - 5
    assert max(refused) < 0.2 and min(waited) > 0.45
    reason = next(r.failures["stuck"] for _, r in results if "busy" in r.failures["stuck"])
    assert reason == "hangs: account busy (2 reads in flight, 3 requests waiting)"


def test_one_tenants_hung_reads_take_no_thread_of_another_tenant(hanging: ScriptedProvider):
    guards = SourceGuards(ReadPolicy(reads_per_source=8))
    mine, theirs = Readers(threads=4, guards=guards), Readers(threads=4, guards=guards)
    stuck = [threading.Thread(target=fetch_busy, args=([(hanging, refs("stuck"))], START, END),
                              kwargs={"deadline": time.monotonic() + 1.0, "readers": mine}) for _ in range(8)]
    for thread in stuck:
        thread.start()
    time.sleep(0.1)  # every thread of "mine" hangs now
    began = time.monotonic()
    result = fetch_busy([(ScriptedProvider(one_meeting), refs("ada"))], START, END, deadline=began + 0.5,
                        readers=theirs)
    assert result.failures == {} and time.monotonic() - began < 0.2
    for thread in stuck:
        thread.join(5)


def test_a_failing_source_is_skipped_during_its_cool_down_then_probed():
    state = {"up": False}

    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        if not state["up"]:
            raise ProviderError(ref.resource_id, "HTTP 500")
        return one_meeting(ref, attempt)

    provider = ScriptedProvider(behaviour)
    readers = Readers(threads=4, guards=SourceGuards(ReadPolicy(failures_to_open=2, cool_down=0.5, min_budget=0)))

    def fetch() -> FetchResult:
        return fetch_busy([(provider, refs("ada"))], START, END, deadline=time.monotonic() + 0.2, readers=readers)

    assert fetch().failures == {"ada": "scripted: HTTP 500"}
    assert fetch().failures == {"ada": "scripted: HTTP 500"}
    asked = provider.calls["ada"]
    skipped = fetch()
    assert skipped.failures["ada"].startswith("scripted: account skipped for ")
    assert skipped.failures["ada"].endswith("after 2 failed reads in a row (circuit open)")
    assert provider.calls["ada"] == asked  # not asked during the cool-down
    time.sleep(0.55)
    state["up"] = True
    assert fetch().failures == {}  # the probe went through and closed the circuit
    assert provider.calls["ada"] == asked + 1 and fetch().failures == {}


def test_a_calendars_own_error_does_not_open_its_sources_circuit():
    def behaviour(ref: CalendarRef, attempt: int) -> list[BusyInterval]:
        raise ProviderError(ref.resource_id, "HTTP 404", transient=False)

    provider = ScriptedProvider(behaviour)
    readers = Readers(threads=2, guards=SourceGuards(ReadPolicy(failures_to_open=1, min_budget=0)))
    for _ in range(3):
        result = fetch_busy([(provider, refs("ada"))], START, END, deadline=time.monotonic() + 1, readers=readers)
        assert result.failures == {"ada": "scripted: HTTP 404"}
    assert provider.calls["ada"] == 3


def test_reads_with_too_short_a_deadline_do_not_open_the_circuit(hanging: ScriptedProvider):
    readers = Readers(threads=4, guards=SourceGuards(ReadPolicy(failures_to_open=1, min_budget=0.5)))
    for _ in range(2):
        result = fetch_busy([(hanging, refs("stuck"))], START, END, deadline=time.monotonic() + 0.1, readers=readers)
        assert "timeout" in result.failures["stuck"]
        time.sleep(0.4)
        hanging.release.set()  # the read ends, far too late; the next one hangs again
        time.sleep(0.05)
        hanging.release.clear()
    assert hanging.calls["stuck"] == 2
