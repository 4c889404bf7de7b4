"""Assembles the gRPC server: the scheduling service, health checking and reflection.

    server, port = create_server(config, "127.0.0.1:0")   # tests: a free loopback port
    server.start()

``serve_one`` is what ``convene serve`` runs with ``server.processes: 1`` (and
``server.api.processes`` in each of several): it blocks until SIGTERM or SIGINT,
then reports NOT_SERVING, stops accepting calls and gives those in flight
``grace_seconds`` to finish. SIGHUP reloads the TLS certificate and key. With
``server.http_address`` set, ``start_server`` also starts the HTTP server
(``server.api.http``: the same servicer over Connect, HTTP/JSON and gRPC-Web,
and the console at ``/``) and ``stop`` stops it.

The port speaks TLS (``server.api.tls``; mutual with a client CA) or, only where
the config says ``server.plaintext: true``, plaintext. Every call passes the
gRPC instrumentation of OpenTelemetry (when tracing is configured, or a test
gives a provider) and then ``server.api.access`` (metrics, the access log).
``start_server`` also serves the Prometheus endpoint of the ``metrics:``
section; ``serve`` logs a warning for every calendar it cannot read at start.

Bookings: the server opens the booking store of ``config.database_url``
(SQLite by default, ``postgresql://...``), serves every tenant's confirmed
bookings to the solver from it, and ``start_server`` starts the outbox worker
that runs the bookings' side effects (``server.booking.side_effects``: the organizer's
calendar, invitation emails by the ``smtp`` section). The busy caches of every process
on the store are kept coherent through it (``server.booking.store.changes``). Servers built on given
``tenants`` (tests, benchmarks) have no store unless one is passed; their
booking RPCs answer UNIMPLEMENTED.
"""

from __future__ import annotations

import gc
import logging
import re
import signal
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf import message_factory
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.trace import TracerProvider

from convene.v1 import scheduling_service_pb2
from server.api.access import Access, AccessInterceptor
from server.api.auth import ApiKeys
from server.api.http import HttpServer
from server.api.service import SERVICE_NAME, SchedulingService
from server.api.streaming import failure_of
from server.api.tls import ServerCertificates
from server.batch.jobs import JobRunner
from server.booking.desk import BookingDesk
from server.booking.side_effects import booking_handlers, describe_smtp
from server.booking.store import Backoff, BookingStore, OutboxWorker, PoolSettings, StoreBookings, open_store
from server.booking.store.changes import open_changes
from server.booking.store.postgres import PostgresBookingStore
from server.booking.webhooks import WebhookDeliverer
from server.calendars.busy import ProviderCalendars
from server.calendars.changes import BusyChanges
from server.calendars.probe import probe_calendars
from server.config import Config, ConfigError
from server.config.telemetry import split_address
from server.telemetry import tracing
from server.telemetry.logs import configure_logging
from server.telemetry.metrics import Backlog, MetricsEndpoint, serve_metrics, watch_store
from server.tenants import BookingSource, MemoryBookings, Tenant, load_tenants
from solver.domain import Booking, Directory, SlotRequest

__all__ = ["Running", "create_server", "pool_settings", "safe_url", "serve_one", "settle_memory", "start_server",
           "unreadable_calendars", "warn_unreadable"]

log = logging.getLogger("convene.server")


@dataclass(frozen=True)
class Running:
    """A started server, its bound port and its health servicer (for graceful shutdown),
    the outbox worker of its bookings and the store it opened itself (closed on stop)."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    outbox: OutboxWorker | None = None
    owned_store: BookingStore | None = None
    http: HttpServer | None = None
    tenants: Mapping[str, Tenant] = field(default_factory=dict)
    certificates: ServerCertificates | None = None  # None: plaintext
    metrics: MetricsEndpoint | None = None
    # Undone at stop, last first: the store's metrics, the tracer this server installed.
    cleanups: tuple[Callable[[], None], ...] = ()

    def stop(self, grace: float | None) -> None:
        """NOT_SERVING first (load balancers stop sending), then stop with ``grace`` seconds for
        calls in flight (gRPC and HTTP), then the outbox worker (after the task it is running), then the store."""
        self.health.enter_graceful_shutdown()
        if self.http is not None:
            self.http.stop(grace)
        self.server.stop(grace).wait()
        if self.outbox is not None:
            self.outbox.stop()
        if self.metrics is not None:
            self.metrics.stop()
        for cleanup in reversed(self.cleanups):
            cleanup()
        if self.owned_store is not None:
            self.owned_store.close()


@dataclass(frozen=True)
class _GivenAndStored:
    """A tenant's given bookings (tests, benchmarks) plus those in the store."""

    given: BookingSource
    stored: StoreBookings

    def confirmed(self, start: datetime, end: datetime) -> Sequence[Booking]:
        return [*self.given.confirmed(start, end), *self.stored.confirmed(start, end)]

    def for_request(self, directory: Directory, request: SlotRequest) -> Sequence[Booking]:
        return [*self.given.for_request(directory, request), *self.stored.for_request(directory, request)]

    def holding(self, resource_ids: Collection[str], start: datetime, end: datetime) -> Sequence[Booking]:
        return [*self.given.holding(resource_ids, start, end), *self.stored.holding(resource_ids, start, end)]


def _with_store(tenants: Mapping[str, Tenant], store: BookingStore, changes: BusyChanges) -> dict[str, Tenant]:
    """Every tenant with its confirmed bookings read from ``store`` (fresh on every request), and its
    busy cache kept coherent with the other processes on ``store`` by ``changes``."""
    out = {}
    for tenant_id, tenant in tenants.items():
        stored = StoreBookings(store, tenant_id)
        given = tenant.bookings
        bookings: BookingSource = stored if given == MemoryBookings() else _GivenAndStored(given, stored)
        calendars = tenant.calendars
        if isinstance(calendars, ProviderCalendars) and calendars.cache is not None:
            calendars = replace(calendars, tenant=tenant_id, changes=changes)
        out[tenant_id] = replace(tenant, bookings=bookings, calendars=calendars)
    return out


@dataclass
class _Forgetter:
    """Applies what other processes announced (``server.calendars.changes``) to this server's tenants,
    and wakes the outbox worker (a booking through another process has side effects to run)."""

    tenants: Mapping[str, Tenant] = field(default_factory=dict)
    wake: Callable[[], None] = lambda: None

    def __call__(self, tenant: str | None, resource_ids: Collection[str] | None) -> None:
        chosen = self.tenants.values() if tenant is None else [t for t in (self.tenants.get(tenant),) if t]
        for found in chosen:
            if isinstance(found.calendars, ProviderCalendars):
                found.calendars.forget(None if tenant is None else resource_ids)
        self.wake()


def pool_settings(config: Config) -> PoolSettings:
    """The PostgreSQL pool of this process: by default one connection per RPC worker thread, plus the
    outbox worker, a metrics scrape and two to spare."""
    pool = config.database_pool
    max_size = pool.max_size if pool.max_size is not None else config.server.worker_threads + 4
    return PoolSettings(min(pool.min_size, max_size), max_size, pool.max_lifetime_seconds, pool.max_idle_seconds,
                        pool.timeout_seconds)


def _open_store(config: Config) -> BookingStore:
    try:
        return open_store(config.database_url, pool=pool_settings(config))
    except ValueError as exc:
        raise ConfigError(f"database_url: {exc}") from None


def safe_url(url: str) -> str:
    """``url`` without its password, in the userinfo or a ``password=`` parameter (for logs)."""
    url = re.sub(r"(://[^:/@?#]*:)[^@/?#]*@", r"\1***@", url)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", url)


def _outbox(config: Config, store: BookingStore, tenants: Mapping[str, Tenant]) -> OutboxWorker:
    settings = config.outbox
    backoff = Backoff(base=timedelta(seconds=settings.retry_base_seconds),
                      cap=timedelta(seconds=settings.retry_max_seconds))
    webhooks = WebhookDeliverer(store, disable_after=timedelta(seconds=settings.webhook_disable_after_seconds),
                                backoff=backoff, timeout=settings.webhook_timeout_seconds,
                                poll_interval=settings.poll_seconds)
    return OutboxWorker(store, booking_handlers(tenants, config.smtp), lease=timedelta(seconds=settings.lease_seconds),
                        backoff=backoff, poll_interval=settings.poll_seconds, companions=(webhooks,))


@dataclass(frozen=True)
class _Part:
    """This server's part among the processes of one ``convene serve`` (``server.processes``): the
    primary one runs the outbox worker, the HTTP server and the metrics endpoint; all of them share
    the gRPC port (SO_REUSEPORT)."""

    primary: bool = True
    reuse_port: bool = False


def _build(config: Config, address: str | None, tenants: Mapping[str, Tenant] | None,
           clock: Callable[[], datetime] | None, store: BookingStore | None,
           tracer_provider: TracerProvider | None, part: _Part = _Part()) -> Running:
    problem = config.server.transport_problem()
    if problem is not None:
        raise ConfigError(problem)
    owned = _open_store(config) if store is None and tenants is None else None
    try:
        return _assemble(config, address, tenants, clock, store or owned, owned, tracer_provider, part)
    except BaseException:
        if owned is not None:
            owned.close()
        raise


def _backlog(store: BookingStore) -> list[Backlog]:
    now = store.now()
    return [Backlog(kind, n, max(0.0, (now - oldest).total_seconds())) for kind, n, oldest in store.outbox_backlog()]


def _tracing(config: Config, given: TracerProvider | None) -> tuple[TracerProvider | None, list[Callable[[], None]]]:
    """The provider this server's spans go to (a test's, the config's OTLP one, or none) and its undoing."""
    provider = given
    cleanups: list[Callable[[], None]] = []
    if provider is None and config.tracing is not None:
        settings = config.tracing
        built = tracing.otlp_provider(settings.otlp_endpoint, insecure=settings.insecure,
                                      service_name=settings.service_name, sample_ratio=settings.sample_ratio)
        provider = built
        cleanups.append(built.shutdown)  # type: ignore[attr-defined]  # the SDK's provider flushes here
    if provider is not None:
        tracing.install(provider)
        chosen = provider
        cleanups.append(lambda: tracing.install(None) if tracing.installed() is chosen else None)
    return provider, cleanups


class _Undecodable:
    """What a request's bytes became when they are not its message (see ``_add_service``)."""

    def __init__(self, name: str, why: str) -> None:
        self._text = f"{name}: {why[:200]}"

    def __str__(self) -> str:
        return self._text


def _add_service(service: SchedulingService, server: grpc.Server) -> None:
    """The service's methods on ``server``, as the generated ``add_..._to_server`` adds them, but
    with a deserializer that never raises: grpcio answers a deserializer's exception with INTERNAL
    ("Exception deserializing request!"), a request that does not parse is the caller's mistake."""
    descriptor = scheduling_service_pb2.DESCRIPTOR.services_by_name["SchedulingService"]
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method in descriptor.methods:
        request_type = message_factory.GetMessageClass(method.input_type)
        reply_type = message_factory.GetMessageClass(method.output_type)
        behaviour = getattr(service, method.name)

        def decode(data: bytes, request_type: Any = request_type) -> Any:
            try:
                return request_type.FromString(data)
            except Exception as exc:  # DecodeError, or a string field that is not UTF-8
                return _Undecodable(request_type.DESCRIPTOR.name, str(exc) or type(exc).__name__)

        if method.server_streaming:
            def run_stream(request: Any, context: Any, behaviour: Any = behaviour) -> Any:
                if isinstance(request, _Undecodable):
                    service.refuse_undecodable(request, context)
                yield from behaviour(request, context)
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                run_stream, request_deserializer=decode, response_serializer=reply_type.SerializeToString)
        else:
            def run(request: Any, context: Any, behaviour: Any = behaviour) -> Any:
                if isinstance(request, _Undecodable):
                    return service.refuse_undecodable(request, context)
                return behaviour(request, context)
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                run, request_deserializer=decode, response_serializer=reply_type.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(descriptor.full_name, handlers),))


def _interceptors(config: Config, provider: TracerProvider | None) -> list[grpc.ServerInterceptor]:
    """Tracing first (outermost), so that the access line of a call is written inside its span.

    RPC metrics are counted when the config has a metrics endpoint to show them; with neither
    metrics nor an access log a call passes no interceptor of ours at all.
    """
    interceptors: list[grpc.ServerInterceptor] = []
    if provider is not None:
        from opentelemetry.instrumentation.grpc import server_interceptor

        interceptors.append(server_interceptor(tracer_provider=provider))  # type: ignore[no-untyped-call]
    metrics, access_log = config.metrics is not None, config.logging.access_log
    if metrics or access_log:
        interceptors.append(AccessInterceptor(metrics=metrics, access_log=access_log))
    return interceptors


def _assemble(config: Config, address: str | None, tenants: Mapping[str, Tenant] | None,
              clock: Callable[[], datetime] | None, store: BookingStore | None,
              owned: BookingStore | None, tracer_provider: TracerProvider | None, part: _Part) -> Running:
    tenants = tenants if tenants is not None else load_tenants(config)
    outbox: OutboxWorker | None = None
    desk: BookingDesk | None = None
    settings = config.server
    certificates = ServerCertificates(settings.tls) if settings.tls is not None else None
    provider, cleanups = _tracing(config, tracer_provider)
    if store is not None:
        forgetter = _Forgetter()
        changes = open_changes(store, forgetter)
        cleanups.insert(0, changes.close)  # undone last: after the calls and the outbox worker
        tenants = _with_store(tenants, store, changes)
        forgetter.tenants = tenants
        if part.primary:
            outbox = _outbox(config, store, tenants)
            forgetter.wake = outbox.wake
        # The other processes' bookings wake the primary's worker through the announcements (PostgreSQL)
        # or its poll (SQLite, outbox.poll_seconds).
        desk = BookingDesk(store, config.limits.to_domain(), outbox.wake if outbox is not None else _nothing)
    if store is not None:
        in_use = store
        pool = (lambda: in_use.pool_stats) if isinstance(in_use, PostgresBookingStore) else None
        cleanups.append(watch_store(id(in_use), lambda: _backlog(in_use), pool, shared=part.reuse_port))
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="convene-rpc"),
        interceptors=_interceptors(config, provider),
        # Past this many calls in flight, new ones get RESOURCE_EXHAUSTED at once instead of queueing.
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
        # The processes of one serve share the port (server.processes); alone, gRPC's own default.
        options=[("grpc.so_reuseport", 1)] if part.reuse_port else None,
    )
    jobs: JobRunner | None = None
    if store is not None:
        jobs = JobRunner(store, config.batch.to_domain(), failure_of)
        cleanups.append(jobs.close)  # undone first: its jobs end FAILED while the store is still open
    service = SchedulingService(
        tenants,
        ApiKeys(config.api_keys, settings.tls.client_certificates if settings.tls is not None else ()),
        config.limits.to_domain(),
        clock or (lambda: datetime.now(UTC)),
        desk,
        config.batch.to_domain(),
        jobs,
    )
    _add_service(service, server)

    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)

    bind = address or settings.address
    if certificates is not None:
        port = server.add_secure_port(bind, certificates.credentials())
    else:
        port = server.add_insecure_port(bind)  # only where the config says plaintext (_build checked)
    if port == 0:
        for cleanup in reversed(cleanups):
            cleanup()
        raise OSError(f"cannot listen on {bind}")
    # The HTTP port's calls are counted and logged as the gRPC port's, by the same rules (_interceptors).
    metrics, access_log = config.metrics is not None, config.logging.access_log
    access = Access(metrics=metrics, access_log=access_log) if metrics or access_log else None
    http = HttpServer(service, settings, access=access) if settings.http_address and part.primary else None
    return Running(server, port, health_servicer, outbox, owned, http, tenants, certificates, None, tuple(cleanups))


def _nothing() -> None:
    pass


def create_server(config: Config, address: str | None = None, *,
                  tenants: Mapping[str, Tenant] | None = None,
                  clock: Callable[[], datetime] | None = None,
                  store: BookingStore | None = None,
                  tracer_provider: TracerProvider | None = None) -> tuple[grpc.Server, int]:
    """A server bound to ``address`` (default: the config's; port 0 picks a free one), not yet started.

    ``tenants`` replaces the tenants the config describes (tests and benchmarks
    feed an in-memory directory and busy list); ``clock`` is the server's "now";
    ``store`` is the booking store (default: the config's ``database_url``, opened
    here, unless ``tenants`` are given). No outbox worker runs: side effects wait
    for ``start_server``'s, or one of the caller's. ``tracer_provider`` receives
    the spans (tests, benchmarks: an in-memory exporter) instead of the config's.
    """
    running = _build(config, address, tenants, clock, store, tracer_provider)
    return running.server, running.port


def start_server(config: Config, address: str | None = None, *,
                 tenants: Mapping[str, Tenant] | None = None,
                 clock: Callable[[], datetime] | None = None,
                 store: BookingStore | None = None,
                 tracer_provider: TracerProvider | None = None,
                 primary: bool = True, reuse_port: bool = False) -> Running:
    """Like ``create_server``, started with its outbox worker and the metrics endpoint of the config's
    ``metrics`` section (port 0: a free one, in ``Running.metrics.port``), with a handle for a graceful stop.

    One of several processes on one port (``server.api.processes``): ``reuse_port`` shares it, and
    only the ``primary`` runs the outbox worker, the HTTP server and the metrics endpoint (which then
    serves every process's series, from the directory in ``PROMETHEUS_MULTIPROC_DIR``).
    """
    part = _Part(primary, reuse_port)
    running = _build(config, address, tenants, clock, store, tracer_provider, part)
    try:
        # One of several processes (reuse_port): every process's series, from server.processes' directory.
        metrics = (serve_metrics(*split_address(config.metrics.address), multiprocess=part.reuse_port)
                   if config.metrics is not None and part.primary else None)
    except OSError:
        running.stop(None)
        raise
    running = replace(running, metrics=metrics)
    running.server.start()
    if running.http is not None:
        try:
            running.http.start()
        except BaseException:
            running.stop(None)
            raise
    if running.outbox is not None:
        running.outbox.start()
    return running


def unreadable_calendars(tenants: Mapping[str, Tenant], timeout: float,
                         now: datetime | None = None) -> list[tuple[str, str, str]]:
    """(tenant, resource, why) for every configured calendar that cannot be read now."""
    found = []
    for tenant_id, tenant in sorted(tenants.items()):
        if isinstance(tenant.calendars, ProviderCalendars):
            failures = probe_calendars(tenant.calendars.calendars, now or datetime.now(UTC), timeout=timeout)
            found += [(tenant_id, resource_id, why) for resource_id, why in failures.items()]
    return found


def warn_unreadable(tenants: Mapping[str, Tenant], timeout: float) -> None:
    for tenant_id, resource_id, why in unreadable_calendars(tenants, timeout):
        log.warning("calendar of %s/%s cannot be read now (requests will count it busy): %s",
                    tenant_id, resource_id, why)


# A young generation of 10 000 container objects instead of CPython's 700: a FindSlots allocates
# thousands (slots, protobuf messages, spans), so at 700 the collector ran about once per call,
# ~0.5-1 ms each on the bench machine (profiled with gc.callbacks in bench/scenario_overhead.py).
_YOUNG_GENERATION = 10_000


def settle_memory() -> None:
    """After start-up: the tenants, calendars and caches loaded so far are long-lived, so the cyclic
    collector stops walking them (``gc.freeze``), and it runs less often for the young objects."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(_YOUNG_GENERATION, older, oldest)


def serve_one(config: Config, address: str | None = None) -> None:
    """Runs until SIGTERM/SIGINT, then shuts down gracefully; SIGHUP reloads the TLS certificate.
    (One process: ``server.api.processes.serve`` runs ``server.processes`` of them.)"""
    configure_logging(config.logging.format, logging.getLogger().level or logging.INFO)
    # The signals are ours before the port is announced: a stop sent right after must not kill the process.
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    serving: list[Running] = []

    def reload(signum: int, frame: object) -> None:
        if serving and serving[0].certificates is not None:
            serving[0].certificates.reload()

    signal.signal(signal.SIGHUP, reload)
    running = start_server(config, address)
    serving.append(running)
    settle_memory()
    transport = ("mutual TLS" if running.certificates.mutual else "TLS") if running.certificates else "plaintext"
    log.info("convene serving on port %d, %s (%d tenants)", running.port, transport, len(config.tenants))
    if running.http is not None:
        log.info("HTTP (Connect: JSON, gRPC-Web) and the console on %s", running.http.url)
    log.info("bookings in %s; %s", safe_url(config.database_url), describe_smtp(config.smtp))
    if running.metrics is not None:
        log.info("metrics on port %d (/metrics)", running.metrics.port)
    # In the background: a slow calendar source must not hold up serving.
    threading.Thread(target=warn_unreadable, args=(running.tenants, config.calendars.timeout_seconds),
                     name="calendar-probe", daemon=True).start()
    stop.wait()
    log.info("shutting down; calls in flight get %.1f s", config.server.grace_seconds)
    running.stop(config.server.grace_seconds)
