"""The OpenTelemetry tracer every room's spans come from.

    with child_span("store create", backend="sqlite"):  # a child of the current span (the RPC's,
        ...                                  # from the gRPC instrumentation); nothing outside a traced call
    with step_span("fetch", calendars=12) as step:      # the same, current only inside step.current()
        ...

Until a server installs a provider (``install``: the OTLP exporter of the
``tracing:`` section, or a test's in-memory one) the tracer is the API's
no-op one, so a span costs next to nothing and nothing is recorded or sent:
tracing is off by default. The spans of a FindSlots, parent first:

    /convene.v1.SchedulingService/FindSlots   (opentelemetry-instrumentation-grpc)
      fetch                                   the tenant's calendars (calendars.busy)
        read <source>                         one request to a calendar source (in the fetch threads)
      plan                                    starts, seats, the FreeMask (solver)
      assign                                  the cheapest assignment per start (solver)

a booking adds ``store <operation>`` spans; the outbox worker's ``side effect <kind>``
spans are roots of their own (they run after the call has answered).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer, TracerProvider
from opentelemetry.util.types import AttributeValue

__all__ = ["Step", "child_span", "current_ids", "install", "installed", "otlp_provider", "record_span", "span",
           "step_span", "tracer"]

_NAME = "convene"
_provider: TracerProvider | None = None
_tracer: Tracer = trace.NoOpTracer()


def install(provider: TracerProvider | None) -> None:
    """Makes ``provider`` the source of every span of this process (None: back to no tracing)."""
    global _provider, _tracer
    _provider = provider
    _tracer = provider.get_tracer(_NAME) if provider is not None else trace.NoOpTracer()


def installed() -> TracerProvider | None:
    return _provider


def tracer() -> Tracer:
    return _tracer


@contextmanager
def span(name: str, **attributes: AttributeValue) -> Iterator[Span]:
    """A span around the block, a child of the current one; an exception marks it failed."""
    with _tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


@contextmanager
def child_span(name: str, **attributes: AttributeValue) -> Iterator[None]:
    """``span``, but only inside a recorded span (a traced call's): work outside one (the outbox
    worker's polls, the start-up calendar probe, a server of this process that traces nothing)
    makes no traces of its own and costs one look at the current span."""
    if not trace.get_current_span().is_recording():
        yield
        return
    with _tracer.start_as_current_span(name, attributes=attributes):
        yield


class Step:
    """The span of a ``step_span`` block (None outside a recorded span)."""

    def __init__(self, span: Span | None) -> None:
        self._span = span

    def current(self) -> AbstractContextManager[object]:
        """Makes the step's span the current one for the part of the step whose spans are its
        children (the calendar reads of a fetch): only where there are any, since that costs."""
        return trace.use_span(self._span, end_on_exit=False) if self._span is not None else nullcontext()


@contextmanager
def step_span(name: str, **attributes: AttributeValue) -> Iterator[Step]:
    """``child_span``, but the span is made the current one only where the block asks
    (``Step.current``): the solver's plan and assign, and a fetch from the busy cache, make no
    spans of their own, and attaching and detaching the context around them was about a third of
    what each span cost a call (bench ``overhead``). A failure is recorded as ``span``'s would be."""
    if not trace.get_current_span().is_recording():
        yield Step(None)
        return
    done = _tracer.start_span(name, attributes=attributes)
    try:
        yield Step(done)
    except BaseException as exc:
        done.record_exception(exc)
        done.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        done.end()


def record_span(name: str, start_ns: int, end_ns: int, *, error: str = "", **attributes: AttributeValue) -> None:
    """A span that already happened (``time.time_ns()`` bounds), a child of the current span (none
    outside a recorded span, as ``child_span``)."""
    if not trace.get_current_span().is_recording():
        return
    done = _tracer.start_span(name, start_time=start_ns, attributes=attributes)
    if error:
        done.set_status(Status(StatusCode.ERROR, error))
    done.end(end_time=end_ns)


def current_ids() -> tuple[str, str] | None:
    """The current trace and span ids as hex (for log lines), None outside a recorded span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def otlp_provider(endpoint: str, *, insecure: bool, service_name: str, sample_ratio: float) -> TracerProvider:
    """A provider that batches spans to an OTLP/gRPC collector at ``endpoint`` (the ``tracing:`` section).

    A sampled parent in the caller's ``traceparent`` is followed; new traces are kept at ``sample_ratio``.
    """
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = SdkTracerProvider(resource=Resource.create({"service.name": service_name}),
                                 sampler=ParentBased(TraceIdRatioBased(sample_ratio)))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=insecure)))
    return provider
