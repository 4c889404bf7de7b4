"""Assembles the gRPC server: the scheduling service, health checking and reflection.

    server, port = create_server(config, "127.0.0.1:0")   # tests: a free loopback port
    server.start()

``serve`` is what ``convene serve`` runs: it blocks until SIGTERM or SIGINT,
then reports NOT_SERVING, stops accepting calls and gives those in flight
``grace_seconds`` to finish.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from concurrent import futures
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from convene.v1 import scheduling_service_pb2_grpc
from server.auth import ApiKeys
from server.config import Config
from server.service import SERVICE_NAME, SchedulingService
from server.tenants import Tenant, load_tenants

__all__ = ["Running", "create_server", "serve", "start_server"]

log = logging.getLogger("convene.server")


@dataclass(frozen=True)
class Running:
    """A started server, its bound port and its health servicer (for graceful shutdown)."""

    server: grpc.Server
    port: int
    health: health.HealthServicer

    def stop(self, grace: float | None) -> None:
        """NOT_SERVING first (load balancers stop sending), then stop with ``grace`` seconds for calls in flight."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def _build(config: Config, address: str | None, tenants: Mapping[str, Tenant] | None,
           clock: Callable[[], datetime] | None) -> Running:
    settings = config.server
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="convene-rpc"),
        # Past this many calls in flight, new ones get RESOURCE_EXHAUSTED at once instead of queueing.
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    service = SchedulingService(
        tenants if tenants is not None else load_tenants(config),
        ApiKeys(config.api_keys),
        config.limits.to_domain(),
        clock or (lambda: datetime.now(UTC)),
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
    return Running(server, port, health_servicer)


def create_server(config: Config, address: str | None = None, *,
                  tenants: Mapping[str, Tenant] | None = None,
                  clock: Callable[[], datetime] | None = None) -> tuple[grpc.Server, int]:
    """A server bound to ``address`` (default: the config's; port 0 picks a free one), not yet started.

    ``tenants`` replaces the tenants the config describes (tests and benchmarks
    feed an in-memory directory and busy list); ``clock`` is the server's "now".
    """
    running = _build(config, address, tenants, clock)
    return running.server, running.port


def start_server(config: Config, address: str | None = None, *,
                 tenants: Mapping[str, Tenant] | None = None,
                 clock: Callable[[], datetime] | None = None) -> Running:
    """Like ``create_server``, started, with a handle for a graceful stop."""
    running = _build(config, address, tenants, clock)
    running.server.start()
    return running


def serve(config: Config, address: str | None = None) -> None:
    """Runs until SIGTERM/SIGINT, then shuts down gracefully."""
    running = start_server(config, address)
    log.info("convene serving on port %d (%d tenants)", running.port, len(config.tenants))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    stop.wait()
    log.info("shutting down; calls in flight get %.1f s", config.server.grace_seconds)
    running.stop(config.server.grace_seconds)
