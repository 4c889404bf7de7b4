"""The circuit breaker's states as its source's guard reports them (the server's
``convene_calendar_breaker_state`` gauge hangs on this hook)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from providers.breaker import CircuitBreaker
from providers.fetch import ReadPolicy, SourceGuards
from server.telemetry.metrics import set_breaker_state
from tests.providers.fakes import ScriptedProvider


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_every_change_of_state_is_heard_once() -> None:
    clock, heard = Clock(), []
    breaker = CircuitBreaker(2, 10.0, clock=clock, on_change=heard.append)

    breaker.record(False)
    assert heard == []  # one failure: still closed
    breaker.record(False)
    assert heard == ["open"] and breaker.refusal() is not None
    clock.now = 11
    assert breaker.refusal() is None  # the probe
    breaker.record(True)
    assert heard == ["open", "half-open", "closed"]


def test_the_guards_name_the_source_and_the_gauge_follows() -> None:
    heard: list[tuple[str, str]] = []

    def hook(source: str, state: str) -> None:
        heard.append((source, state))
        set_breaker_state(source, state)

    guards = SourceGuards(ReadPolicy(failures_to_open=1), on_state=hook)
    guard = guards.of(ScriptedProvider(lambda ref, attempt: []), "feeds.example:443")
    guard.breaker.record(False)

    assert heard == [("feeds.example:443", "open")]
    assert REGISTRY.get_sample_value("convene_calendar_breaker_state", {"source": "feeds.example:443"}) == 2
