"""Assembles the gRPC server: the scheduling service, health checking and reflection.

    server, port = create_server(config, "127.0.0.1:0")   # tests: a free loopback port
    server.start()

``serve`` is what ``convene serve`` runs: it blocks until SIGTERM or SIGINT,
then reports NOT_SERVING, stops accepting calls and gives those in flight
``grace_seconds`` to finish. With ``server.http_address`` set, ``start_server``
also starts the HTTP server (``server.api.http``: the same servicer over Connect,
HTTP/JSON and gRPC-Web, and the console at ``/``) and ``stop`` stops it.

Bookings: the server opens the booking store of ``config.database_url``
(SQLite by default, ``postgresql://...``), serves every tenant's confirmed
bookings to the solver from it, and ``start_server`` starts the outbox worker
that runs the bookings' side effects (``server.booking.side_effects``: the organizer's
calendar, invitation emails by the ``smtp`` section). Servers built on given
``tenants`` (tests, benchmarks) have no store unless one is passed; their
booking RPCs answer UNIMPLEMENTED.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from convene.v1 import scheduling_service_pb2_grpc
from server.api.auth import ApiKeys
from server.api.http import HttpServer
from server.api.service import SERVICE_NAME, SchedulingService
from server.booking.desk import BookingDesk
from server.booking.side_effects import booking_handlers, describe_smtp
from server.booking.store import Backoff, BookingStore, OutboxWorker, PoolSettings, StoreBookings, open_store
from server.config import Config, ConfigError
from server.tenants import BookingSource, MemoryBookings, Tenant, load_tenants
from solver.domain import Booking

__all__ = ["Running", "create_server", "safe_url", "serve", "start_server"]

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

    def stop(self, grace: float | None) -> None:
        """NOT_SERVING first (load balancers stop sending), then stop with ``grace`` seconds for
        calls in flight (gRPC and HTTP), then the outbox worker (after the task it is running), then the store."""
        self.health.enter_graceful_shutdown()
        if self.http is not None:
            self.http.stop(grace)
        self.server.stop(grace).wait()
        if self.outbox is not None:
            self.outbox.stop()
        if self.owned_store is not None:
            self.owned_store.close()


@dataclass(frozen=True)
class _GivenAndStored:
    """A tenant's given bookings (tests, benchmarks) plus those in the store."""

    given: BookingSource
    stored: StoreBookings

    def confirmed(self, start: datetime, end: datetime) -> Sequence[Booking]:
        return [*self.given.confirmed(start, end), *self.stored.confirmed(start, end)]


def _with_store(tenants: Mapping[str, Tenant], store: BookingStore) -> dict[str, Tenant]:
    """Every tenant with its confirmed bookings read from ``store`` (fresh on every request)."""
    out = {}
    for tenant_id, tenant in tenants.items():
        stored = StoreBookings(store, tenant_id)
        given = tenant.bookings
        bookings: BookingSource = stored if given == MemoryBookings() else _GivenAndStored(given, stored)
        out[tenant_id] = replace(tenant, bookings=bookings)
    return out


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
    return OutboxWorker(store, booking_handlers(tenants, config.smtp), lease=timedelta(seconds=settings.lease_seconds),
                        backoff=backoff, poll_interval=settings.poll_seconds)


def _build(config: Config, address: str | None, tenants: Mapping[str, Tenant] | None,
           clock: Callable[[], datetime] | None, store: BookingStore | None) -> Running:
    owned = _open_store(config) if store is None and tenants is None else None
    try:
        return _assemble(config, address, tenants, clock, store or owned, owned)
    except BaseException:
        if owned is not None:
            owned.close()
        raise


def _assemble(config: Config, address: str | None, tenants: Mapping[str, Tenant] | None,
              clock: Callable[[], datetime] | None, store: BookingStore | None,
              owned: BookingStore | None) -> Running:
    tenants = tenants if tenants is not None else load_tenants(config)
    outbox: OutboxWorker | None = None
    desk: BookingDesk | None = None
    if store is not None:
        tenants = _with_store(tenants, store)
        outbox = _outbox(config, store, tenants)
        desk = BookingDesk(store, config.limits.to_domain(), outbox.wake)
    settings = config.server
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="convene-rpc"),
        # Past this many calls in flight, new ones get RESOURCE_EXHAUSTED at once instead of queueing.
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    service = SchedulingService(
        tenants,
        ApiKeys(config.api_keys),
        config.limits.to_domain(),
        clock or (lambda: datetime.now(UTC)),
        desk,
        config.batch.to_domain(),
    )
    scheduling_service_pb2_grpc.add_SchedulingServiceServicer_to_server(service, server)

    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)

    bind = address or settings.address
    port = server.add_insecure_port(bind)
    if port == 0:
        raise OSError(f"cannot listen on {bind}")
    http = HttpServer(service, settings) if settings.http_address else None
    return Running(server, port, health_servicer, outbox, owned, http)


def create_server(config: Config, address: str | None = None, *,
                  tenants: Mapping[str, Tenant] | None = None,
                  clock: Callable[[], datetime] | None = None,
                  store: BookingStore | None = None) -> tuple[grpc.Server, int]:
    """A server bound to ``address`` (default: the config's; port 0 picks a free one), not yet started.

    ``tenants`` replaces the tenants the config describes (tests and benchmarks
    feed an in-memory directory and busy list); ``clock`` is the server's "now";
    ``store`` is the booking store (default: the config's ``database_url``, opened
    here, unless ``tenants`` are given). No outbox worker runs: side effects wait
    for ``start_server``'s, or one of the caller's.
    """
    running = _build(config, address, tenants, clock, store)
    return running.server, running.port


def start_server(config: Config, address: str | None = None, *,
                 tenants: Mapping[str, Tenant] | None = None,
                 clock: Callable[[], datetime] | None = None,
                 store: BookingStore | None = None) -> Running:
    """Like ``create_server``, started with its outbox worker, with a handle for a graceful stop."""
    running = _build(config, address, tenants, clock, store)
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


def serve(config: Config, address: str | None = None) -> None:
    """Runs until SIGTERM/SIGINT, then shuts down gracefully."""
    running = start_server(config, address)
    log.info("convene serving on port %d (%d tenants)", running.port, len(config.tenants))
    if running.http is not None:
        log.info("HTTP (Connect: JSON, gRPC-Web) and the console on %s", running.http.url)
    log.info("bookings in %s; %s", safe_url(config.database_url), describe_smtp(config.smtp))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    stop.wait()
    log.info("shutting down; calls in flight get %.1f s", config.server.grace_seconds)
    running.stop(config.server.grace_seconds)
