"""``convene serve`` over several processes on one port (``server.processes``).

One Python process serves at most about one core (the GIL), so ``serve`` starts
``server.processes`` server processes (default: one per core) that all listen
on the gRPC port with SO_REUSEPORT; the kernel spreads new connections over
them. Each has its own RPC thread pool, database pool and busy cache, the
caches kept coherent through the store (``server.calendars.changes``). With
``processes: 1`` it is the one process of ``server.api.app.serve``, as before.

    parent (this function): reserves the port, spawns the children, forwards signals, waits
      child 0 (primary): gRPC + the outbox worker and its webhook deliverer + HTTP + metrics
      child 1..N-1:      gRPC only

- **The port.** The parent binds (without listening) a socket with SO_REUSEPORT
  to the address, so that ``host:0`` picks one free port for all and the port
  stays reserved for this serve; then it starts the children (spawned: fresh
  interpreters, no gRPC state inherited), each binding the port itself.
  ``convene serving on port N`` is logged once every child serves.
- **The outbox worker runs once per serve**, in the primary child: side effects
  are claimed in the store with a lease, so several workers (replicas) would
  be safe, but one per machine is enough and keeps emails and calendar writes
  off the other processes' cores. A booking through another child wakes it
  through the announcements (PostgreSQL) or its poll (``outbox.poll_seconds``).
- **HTTP (``server.http_address``) and the metrics endpoint** are the primary's
  only: a port of their own each, so no sharing; they are for the console,
  light clients and scrapes, while the gRPC port carries the load.
- **The metrics are every child's** (prometheus-client's multiprocess mode,
  ``server.telemetry.metrics``): with a ``metrics:`` section the parent makes a
  private directory and sets ``PROMETHEUS_MULTIPROC_DIR`` to it for the
  children (spawned, so it is set before they import prometheus-client); each
  child writes its series there and the primary's endpoint serves them summed
  (the breaker gauge: the highest state of the living children; the pools'
  figures, which each child writes every second: their sum), with the outbox
  backlog and age, read from the store, once. A child that ends has its live
  gauges dropped; the directory goes when the serve ends.
- **Health and stopping.** Every child answers the health service on the
  shared port. SIGTERM or SIGINT to the parent goes to every child: each turns
  NOT_SERVING, drains its calls for ``server.grace_seconds`` and stops; the
  parent exits 0 once all have. SIGHUP goes to every child (TLS reload). A
  child that dies on its own stops the others and the parent exits 1 (the
  supervisor restarts the whole serve); the children die with the parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from server.api.app import safe_url, serve_one, settle_memory, start_server, warn_unreadable
from server.booking.side_effects import describe_smtp
from server.booking.store import PoolSettings, open_store
from server.config import Config, ConfigError
from server.config.telemetry import split_address
from server.telemetry.logs import configure_logging
from server.telemetry.metrics import multiprocess_directory, process_dead

__all__ = ["reserve_port", "serve"]

log = logging.getLogger("convene.server")

_PR_SET_PDEATHSIG = 1
_READY_SECONDS = 120.0  # a child's start: imports, tenants, calendars' set-up, the store


def serve(config: Config, address: str | None = None) -> int:
    """Runs until SIGTERM/SIGINT (see the module docstring); the exit status."""
    count = config.server.process_count()
    if count == 1:
        serve_one(config, address)
        return 0
    level = logging.getLogger().level or logging.INFO
    configure_logging(config.logging.format, level)
    _preflight(config)
    stop = threading.Event()
    children: list[BaseProcess] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    signal.signal(signal.SIGHUP, lambda signum, frame: _signal_all(children, signal.SIGHUP))
    host, port = split_address(address or config.server.address)
    reserved = reserve_port(host, port)
    try:
        bound = f"[{host}]:{reserved.getsockname()[1]}" if ":" in host else f"{host}:{reserved.getsockname()[1]}"
        # The children's metrics, summed by the primary's endpoint (none without a metrics section).
        directory = multiprocess_directory() if config.metrics is not None else contextlib.nullcontext(None)
        with directory as metrics_dir:
            return _run(config, bound, count, level, stop, children, metrics_dir)
    finally:
        reserved.close()


def _preflight(config: Config) -> None:
    """What one process would refuse at start, refused before any child starts (the same errors):
    the transport, and the booking database (reached and migrated here, once)."""
    problem = config.server.transport_problem()
    if problem is not None:
        raise ConfigError(problem)
    try:
        open_store(config.database_url, pool=PoolSettings(min_size=0, max_size=1)).close()
    except ValueError as exc:
        raise ConfigError(f"database_url: {exc}") from None


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with SO_REUSEPORT, not listening (it receives nothing)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reserved = socket.socket(family, socket.SOCK_STREAM)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        reserved.bind((host, port))
    except OSError as exc:
        reserved.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc}") from exc
    return reserved


def _run(config: Config, bound: str, count: int, level: int, stop: threading.Event,
         children: list[BaseProcess], metrics_dir: str | None) -> int:
    context = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    for index in range(count):
        receiving, sending = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(config, bound, index, level, os.getpid(), sending),
                                name=f"convene-serve-{index}")
        child.start()
        sending.close()
        children.append(child)
        pipes.append(receiving)
    try:
        reports = [_ready(child, pipe, stop) for child, pipe in zip(children, pipes, strict=True)]
    except _NotReady as exc:
        log.error("%s; stopping", exc)
        _stop_all(children, config.server.grace_seconds, metrics_dir)
        return 1
    if stop.is_set():
        _stop_all(children, config.server.grace_seconds, metrics_dir)
        return 0
    transport = ("mutual TLS" if config.server.tls.client_ca_file else "TLS") if config.server.tls else "plaintext"
    port, http_url, metrics_port = reports[0]
    log.info("convene serving on port %d, %s (%d tenants, %d processes)", port, transport, len(config.tenants), count)
    if http_url:
        log.info("HTTP (Connect: JSON, gRPC-Web) and the console on %s (the first process)", http_url)
    log.info("bookings in %s; %s", safe_url(config.database_url), describe_smtp(config.smtp))
    if metrics_port:
        log.info("metrics on port %d (/metrics, the first process, counting all %d)", metrics_port, count)
    failed = _watch(children, stop, metrics_dir)
    log.info("shutting down %d processes; calls in flight get %.1f s", count, config.server.grace_seconds)
    clean = _stop_all(children, config.server.grace_seconds, metrics_dir)
    return 1 if failed or not clean else 0


class _NotReady(Exception):
    pass


def _ready(child: BaseProcess, pipe: Connection, stop: threading.Event) -> tuple[int, str, int]:
    """What ``child`` reports once it serves (its gRPC port, HTTP URL, metrics port; "" and 0 for none);
    ``_NotReady`` if it dies or fails first."""
    deadline = time.monotonic() + _READY_SECONDS
    while time.monotonic() < deadline and not stop.is_set():
        ready = wait([pipe, child.sentinel], timeout=0.2)
        if pipe in ready:
            try:
                kind, *value = pipe.recv()
            except EOFError:
                raise _NotReady(f"{child.name} exited while starting (status {child.exitcode})") from None
            if kind == "failed":
                raise _NotReady(f"{child.name} could not start: {value[0]}")
            return int(value[0]), str(value[1]), int(value[2])
        if child.sentinel in ready:
            child.join()
            raise _NotReady(f"{child.name} exited while starting (status {child.exitcode})")
    if stop.is_set():
        return 0, "", 0
    raise _NotReady(f"{child.name} did not start within {_READY_SECONDS:g} s")


def _ended(child: BaseProcess, metrics_dir: str | None) -> None:
    """``child`` was joined: its live gauges stop counting in the primary's metrics."""
    if metrics_dir is not None and child.pid is not None:
        process_dead(child.pid, metrics_dir)


def _watch(children: list[BaseProcess], stop: threading.Event, metrics_dir: str | None) -> bool:
    """Waits for the stop signal (False) or a child that exits on its own (True)."""
    while not stop.is_set():
        done = wait([c.sentinel for c in children], timeout=0.5)
        # A signal to the whole process group (Ctrl-C, timeout(1)) may reach a child first.
        if done and not stop.wait(1.0):
            for child in children:
                if child.sentinel in done:
                    child.join()
                    _ended(child, metrics_dir)
                    log.error("%s exited on its own (status %s); stopping the others", child.name, child.exitcode)
            return True
    return False


def _signal_all(children: list[BaseProcess], sig: signal.Signals) -> None:
    for child in children:
        if child.pid is not None and child.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, sig)


def _stop_all(children: list[BaseProcess], grace: float, metrics_dir: str | None = None) -> bool:
    """SIGTERM to every child, then waits for them to drain; True when all stopped cleanly."""
    _signal_all(children, signal.SIGTERM)
    deadline = time.monotonic() + grace + 15.0  # the grace, then the outbox's task and the store's close
    clean = True
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.exitcode is None:
            log.error("%s did not stop in time; killed", child.name)
            child.kill()
            child.join()
            clean = False
        elif child.exitcode not in (0, -signal.SIGTERM):
            clean = False
        _ended(child, metrics_dir)
    return clean


def _die_with_parent(parent: int) -> None:
    """The child goes when the parent goes, even if killed (Linux: PR_SET_PDEATHSIG; else a watcher)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, name="convene-parent-watch", daemon=True).start()
    if os.getppid() != parent:  # gone before the above took effect
        os._exit(1)


def _child(config: Config, address: str, index: int, level: int, parent: int, ready: Connection) -> None:
    """One server process: serves ``address`` (shared) until SIGTERM/SIGINT, then drains."""
    _die_with_parent(parent)
    configure_logging(config.logging.format, level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    primary = index == 0
    try:
        running = start_server(config, address, primary=primary, reuse_port=True)
    except Exception as exc:  # reported to the parent, which logs it and stops the others
        ready.send(("failed", f"{type(exc).__name__}: {exc}"))
        raise SystemExit(1) from None

    def reload(signum: int, frame: object) -> None:
        if running.certificates is not None:
            running.certificates.reload()

    signal.signal(signal.SIGHUP, reload)
    settle_memory()
    if running.outbox is not None:
        log.info("process %d (pid %d) runs the outbox worker", index, os.getpid())
    ready.send(("serving", running.port, running.http.url if running.http is not None else "",
                running.metrics.port if running.metrics is not None else 0))
    ready.close()
    if primary:
        threading.Thread(target=warn_unreadable, args=(running.tenants, config.calendars.timeout_seconds),
                         name="calendar-probe", daemon=True).start()
    stop.wait()
    running.stop(config.server.grace_seconds)
