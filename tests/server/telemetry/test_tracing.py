"""step_span: a child of the current span that becomes current only where asked, a failure
recorded on it, nothing outside a recorded span."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from server.telemetry import tracing


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.install(None)


def named(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    [found] = [s for s in exporter.get_finished_spans() if s.name == name]
    return found


def test_a_step_is_a_child_of_the_call_and_current_only_where_asked(spans: InMemorySpanExporter) -> None:
    with tracing.span("call"), tracing.step_span("fetch", calendars=3) as step:
        tracing.record_span("beside", 1, 2)  # not inside step.current(): the call's child
        with step.current():
            tracing.record_span("read ics", 1, 2)
    call, fetch = named(spans, "call"), named(spans, "fetch")
    assert fetch.parent is not None and fetch.parent.span_id == call.context.span_id
    assert fetch.attributes == {"calendars": 3}
    read, beside = named(spans, "read ics"), named(spans, "beside")
    assert read.parent is not None and read.parent.span_id == fetch.context.span_id
    assert beside.parent is not None and beside.parent.span_id == call.context.span_id


def test_a_failed_step_is_marked_with_the_exception(spans: InMemorySpanExporter) -> None:
    with pytest.raises(ValueError), tracing.span("call"), tracing.step_span("plan"):
        raise ValueError("no seats")
    plan = named(spans, "plan")
    assert plan.status.status_code is StatusCode.ERROR and plan.status.description == "ValueError: no seats"
    assert [e.name for e in plan.events] == ["exception"]


def test_outside_a_recorded_span_a_step_makes_nothing(spans: InMemorySpanExporter) -> None:
    with tracing.step_span("plan") as step, step.current():
        pass
    assert spans.get_finished_spans() == ()
