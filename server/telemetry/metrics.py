"""Every Prometheus metric of the server, on prometheus-client's default registry.

    running = serve_metrics("0.0.0.0", 9464)   # GET http://host:9464/metrics (its own port, not gRPC's)

Metrics are process-wide (one registry per process, as Prometheus clients
are): several servers in one process (tests) add to the same series.

Several server processes of one ``convene serve`` (``server.processes``,
``server.api.processes``) count together through prometheus-client's
multiprocess mode: the parent makes a private directory
(``multiprocess_directory``) and names it in ``PROMETHEUS_MULTIPROC_DIR`` for
the children it spawns, so every child's counters, histograms and gauges are
written to files there (prometheus-client reads the variable when it is
imported, first thing in a spawned child); the first child's endpoint
(``serve_metrics(..., multiprocess=True)``) serves a registry with a
``MultiProcessCollector`` over them, the counters and histograms summed over
the processes, plus the figures read at scrape time (``watch_store``): the
outbox backlog and age, from the store, the serve's once (not once per
process). Each child's pool figures are written there every second
(``livesum``: summed over the living children). The breaker gauge is ``livemax`` (the worst state any living
process's breaker is in; each process has breakers of its own); the parent
drops a process's gauges when it ends (``process_dead``) and the directory
when the serve ends. Python's own ``process_*`` and ``python_*`` series are
not served then (prometheus-client has no multiprocess form of them).

    name                                   type       labels              what
    convene_rpc_handled_total              counter    service, method,    RPCs finished (gRPC and HTTP), by gRPC code
                                                      code
    convene_rpc_duration_seconds           histogram  service, method     RPC latency, from the call's arrival to its
                                                                          status (a stream: to its end)
    convene_busy_cache_hits_total          counter    source              calendars a request found fresh in the busy
                                                                          cache
    convene_busy_cache_misses_total        counter    source              calendars a request had to read from their
                                                                          source
    convene_calendar_reads_total           counter    source, outcome     calendars read from their source: ok, error
                                                                          (the source failed or refused) or timeout
                                                                          (no answer by the request's deadline)
    convene_calendar_read_seconds          histogram  source              one request to a source (a batched source
                                                                          answers many calendars in one)
    convene_calendar_breaker_state         gauge      source              the source's circuit breaker: 0 closed,
                                                                          1 half-open, 2 open (skipped for a cool-down);
                                                                          several processes: the highest (livemax)
    convene_outbox_backlog                 gauge      kind                side effects not yet done (pending or running)
    convene_outbox_oldest_age_seconds      gauge      kind                how long the oldest of them has waited
    convene_outbox_failures_total          counter    kind, final         failed side-effect attempts; final="true"
                                                                          when given up (failed for good)
    convene_store_query_seconds            histogram  backend, operation  one booking-store operation (its transaction)
    convene_store_pool_connections         gauge      state               PostgreSQL pool: size, available, waiting
                                                                          (several processes: their pools summed, as
                                                                          of the last second)
    convene_batch_solve_seconds            histogram  status              an OptimizeBatch solve's wall time
    convene_batch_gap_ratio                histogram  status              its relative gap to the best bound
                                                                          (0: proven optimal)

``source`` is a calendar source's kind (ics, caldav, google, graph, exchange).
No label holds a tenant, a member, a key or anything from an event.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

__all__ = [
    "BATCH_GAP",
    "BATCH_SOLVE_SECONDS",
    "BREAKER_STATES",
    "BUSY_CACHE_HITS",
    "BUSY_CACHE_MISSES",
    "CALENDAR_READS",
    "CALENDAR_READ_SECONDS",
    "MULTIPROC_DIR",
    "OUTBOX_FAILURES",
    "RPC_DURATION",
    "RPC_HANDLED",
    "STORE_QUERY_SECONDS",
    "Backlog",
    "MetricsEndpoint",
    "multiprocess_directory",
    "process_dead",
    "serve_metrics",
    "set_breaker_state",
    "store_query",
    "watch_store",
]

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's: set, a process writes its series there

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

RPC_HANDLED = Counter("convene_rpc_handled_total", "RPCs finished, by status code.",
                      ("service", "method", "code"))
RPC_DURATION = Histogram("convene_rpc_duration_seconds", "RPC latency in seconds, arrival to status.",
                         ("service", "method"), buckets=_LATENCY)

BUSY_CACHE_HITS = Counter("convene_busy_cache_hits_total", "Calendars served from the busy cache.", ("source",))
BUSY_CACHE_MISSES = Counter("convene_busy_cache_misses_total", "Calendars read from their source (cache miss).",
                            ("source",))
CALENDAR_READS = Counter("convene_calendar_reads_total", "Calendars read from their source, by outcome.",
                         ("source", "outcome"))
CALENDAR_READ_SECONDS = Histogram("convene_calendar_read_seconds", "One request to a calendar source, in seconds.",
                                  ("source",), buckets=_LATENCY)
# Each process has breakers of its own: over several (multiprocess mode) the worst state among the
# living processes, so that one process skipping a source shows (not a sum, which means nothing here).
BREAKER_STATE = Gauge("convene_calendar_breaker_state",
                      "A calendar source's circuit breaker: 0 closed, 1 half-open, 2 open.", ("source",),
                      multiprocess_mode="livemax")
BREAKER_STATES = {"closed": 0, "half_open": 1, "half-open": 1, "open": 2}

OUTBOX_FAILURES = Counter("convene_outbox_failures_total", "Failed side-effect attempts (final: given up).",
                          ("kind", "final"))

STORE_QUERY_SECONDS = Histogram("convene_store_query_seconds", "One booking-store operation, in seconds.",
                                ("backend", "operation"), buckets=_LATENCY)

BATCH_SOLVE_SECONDS = Histogram("convene_batch_solve_seconds", "An OptimizeBatch solve's wall time, in seconds.",
                                ("status",), buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))
BATCH_GAP = Histogram("convene_batch_gap_ratio", "An OptimizeBatch result's relative gap to its bound.",
                      ("status",), buckets=(0.0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0))


def set_breaker_state(source: str, state: str) -> None:
    """The hook a circuit breaker calls on every change of state ("closed", "half_open", "open")."""
    BREAKER_STATE.labels(source).set(BREAKER_STATES[state])


@contextmanager
def store_query(backend: str, operation: str) -> Iterator[None]:
    """Times one booking-store operation (failed ones too: a slow failure is slow)."""
    began = time.perf_counter()
    try:
        yield
    finally:
        STORE_QUERY_SECONDS.labels(backend, operation).observe(time.perf_counter() - began)


# --- Figures read at scrape time ---------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    """Unfinished side effects of one kind: how many, and the oldest one's age in seconds."""

    kind: str
    count: int
    oldest_age: float


_POOL_HELP = "PostgreSQL pool connections: size, available, waiting requests."
# One of several processes: its pool's figures in the shared directory (registry=None: only the
# multiprocess collector shows them), summed over the living processes; refreshed every second.
_SHARED_POOL = Gauge("convene_store_pool_connections", _POOL_HELP, ("state",), registry=None,
                     multiprocess_mode="livesum")
_SHARED_POOL_SECONDS = 1.0


def _pool_sums(pools: Sequence[Callable[[], dict[str, int]]]) -> dict[str, int]:
    sums = {"size": 0, "available": 0, "waiting": 0}
    for stats in pools:
        figures = stats()
        sums["size"] += figures.get("pool_size", 0)
        sums["available"] += figures.get("pool_available", 0)
        sums["waiting"] += figures.get("requests_waiting", 0)
    return sums


class _StoreCollector(Collector):
    """Asks each watched store at scrape time: its outbox backlog and its connection pool (the pool
    of a process among several: written to the shared directory every second instead)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backlogs: dict[int, Callable[[], Sequence[Backlog]]] = {}
        self._pools: dict[int, Callable[[], dict[str, int]]] = {}
        self._shared: dict[int, Callable[[], dict[str, int]]] = {}
        self._refresher: threading.Thread | None = None

    def watch(self, key: int, backlog: Callable[[], Sequence[Backlog]],
              pool: Callable[[], dict[str, int]] | None, shared: bool) -> None:
        with self._lock:
            self._backlogs[key] = backlog
            if pool is not None:
                (self._shared if shared else self._pools)[key] = pool
            if shared and pool is not None and self._refresher is None:
                self._refresher = threading.Thread(target=self._refresh, name="metrics-pool", daemon=True)
                self._refresher.start()

    def unwatch(self, key: int) -> None:
        with self._lock:
            self._backlogs.pop(key, None)
            self._pools.pop(key, None)
            self._shared.pop(key, None)

    def _refresh(self) -> None:
        while True:
            with self._lock:
                shared = list(self._shared.values())
            for state, value in _pool_sums(shared).items():
                _SHARED_POOL.labels(state).set(value)
            time.sleep(_SHARED_POOL_SECONDS)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            backlogs, pools = list(self._backlogs.values()), list(self._pools.values())
            shared = bool(self._shared)
        count = GaugeMetricFamily("convene_outbox_backlog", "Side effects not yet done (pending or running).",
                                  labels=("kind",))
        age = GaugeMetricFamily("convene_outbox_oldest_age_seconds",
                                "Seconds the oldest unfinished side effect has waited.", labels=("kind",))
        totals: dict[str, tuple[int, float]] = {}
        for read in backlogs:
            try:
                found = read()
            except Exception:  # the database is down: the scrape still answers, without these
                continue
            for b in found:
                n, oldest = totals.get(b.kind, (0, 0.0))
                totals[b.kind] = (n + b.count, max(oldest, b.oldest_age))
        for kind, (n, oldest) in sorted(totals.items()):
            count.add_metric((kind,), n)
            age.add_metric((kind,), oldest)
        yield count
        yield age
        if shared and not pools:  # the multiprocess collector shows them (_SHARED_POOL)
            return
        connections = GaugeMetricFamily("convene_store_pool_connections", _POOL_HELP, labels=("state",))
        if pools:
            for state, value in _pool_sums(pools).items():
                connections.add_metric((state,), value)
        yield connections


_STORES = _StoreCollector()
REGISTRY.register(_STORES)


def watch_store(key: int, backlog: Callable[[], Sequence[Backlog]],
                pool: Callable[[], dict[str, int]] | None = None, *, shared: bool = False) -> Callable[[], None]:
    """Reports a store's outbox backlog (and pool) at every scrape until the returned function is called.

    ``shared``: this is one of several processes (``MULTIPROC_DIR`` set): its pool goes to the shared
    directory every second, for the primary's endpoint to sum (the backlog is the store's: the
    primary's endpoint reads it once)."""
    _STORES.watch(key, backlog, pool, shared and bool(os.environ.get(MULTIPROC_DIR)))
    return lambda: _STORES.unwatch(key)


# --- The endpoint ------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricsEndpoint:
    """The running HTTP endpoint and the port it bound."""

    server: WSGIServer
    thread: threading.Thread
    port: int

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def serve_metrics(host: str, port: int, *, multiprocess: bool = False) -> MetricsEndpoint:
    """Serves ``/metrics`` on ``host:port`` (port 0: a free one) in a daemon thread: this process's
    default registry, or with ``multiprocess`` (one of several processes, ``MULTIPROC_DIR`` set) every
    process's series in that directory summed, plus the store's figures (once)."""
    registry = REGISTRY
    directory = os.environ.get(MULTIPROC_DIR) if multiprocess else None
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]  # untyped upstream
        registry.register(_STORES)
    server, thread = start_http_server(port, host, registry=registry)
    return MetricsEndpoint(server, thread, int(server.server_port))


# --- Several processes (prometheus-client's multiprocess mode) ---------------------------


@contextmanager
def multiprocess_directory() -> Iterator[str]:
    """A fresh private directory, named in ``PROMETHEUS_MULTIPROC_DIR`` for the processes spawned
    meanwhile (it must be set before prometheus-client is imported: spawned children, not this
    process, whose own series stay in memory); afterwards the variable as it was and no directory."""
    directory = tempfile.mkdtemp(prefix="convene-metrics-")
    before = os.environ.get(MULTIPROC_DIR)
    os.environ[MULTIPROC_DIR] = directory
    try:
        yield directory
    finally:
        if before is None:
            os.environ.pop(MULTIPROC_DIR, None)
        else:
            os.environ[MULTIPROC_DIR] = before
        shutil.rmtree(directory, ignore_errors=True)


def process_dead(pid: int, directory: str) -> None:
    """A process of ``directory`` ended: its live gauges (the breakers') stop counting."""
    mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]  # untyped upstream
