"""The HTTP server beside the gRPC one: ``server.http_address`` in the config turns it on.

    /convene.v1.SchedulingService/<Method>   the service over Connect (``server.api.connect``):
                                             HTTP/JSON, Connect+proto and gRPC-Web
    /                                        the agent's console (``console/dist``, built from
                                             ``console/``; see console/README.md)

It runs uvicorn (an ASGI server) on a thread of its own with its own event
loop; the servicer's methods run in a pool of ``worker_threads`` threads, as
on the gRPC server, so a slow solve never blocks the loop.

    http = HttpServer(service, settings)   # nothing bound yet
    http.start()                            # binds (port 0: a free one), serves; http.port
    http.stop(grace=5)                      # calls in flight get ``grace`` seconds
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from convene.v1 import scheduling_service_pb2 as api
from server.api.access import Access
from server.api.connect import ServiceApp, watch_disconnect
from server.config import ServerSettings

__all__ = ["CONSOLE_DIR", "HttpServer", "http_app", "split_address"]

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "console" / "dist"
SERVICE = api.DESCRIPTOR.services_by_name["SchedulingService"]
# The console loads nothing from elsewhere and is never framed.
_PAGE_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8080`` for IPv6) -> (host, port)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def _console(directory: Path) -> Callable[..., Any]:
    """The built console, with headers that keep it to its own origin; a hint where it is not built."""
    if not (directory / "index.html").is_file():
        async def missing(_: Request) -> Response:
            return PlainTextResponse("The console is not built here: see console/README.md (make console).",
                                     status_code=404)
        return Starlette(routes=[Route("/{path:path}", missing)])
    files = StaticFiles(directory=directory, html=True)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_PAGE_HEADERS]}
            await send(message)
        await files(scope, receive, with_headers)

    return app


def http_app(servicer: object, pool: ThreadPoolExecutor, max_in_flight: int,
             console: Path = CONSOLE_DIR, access: Access | None = None) -> Starlette:
    """The ASGI app: the service's Connect endpoints (their calls recorded by ``access``, as the gRPC
    port's are), and the console at ``/``."""
    service = ServiceApp(servicer, SERVICE, pool, max_in_flight, access)
    return Starlette(routes=[Mount(service.path, app=watch_disconnect(service)), Mount("/", app=_console(console))])


class HttpServer:
    """uvicorn serving ``http_app`` on ``settings.http_address``, on its own thread."""

    def __init__(self, servicer: object, settings: ServerSettings, address: str | None = None,
                 console: Path = CONSOLE_DIR, access: Access | None = None) -> None:
        self._servicer = servicer
        self._access = access
        self._settings = settings
        self._address = address or settings.http_address or "127.0.0.1:0"
        self._console = console
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the HTTP server is not started")
        return self._port

    @property
    def url(self) -> str:
        host, _ = split_address(self._address)
        host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        scheme = "https" if self._settings.tls is not None else "http"
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def _tls(self) -> dict[str, Any]:
        """uvicorn's TLS settings: the gRPC port's certificate (and client CA) when the config has
        a ``server.tls`` section, so that the HTTP port is plaintext only where the config says so.
        (Read at start: a SIGHUP reloads the gRPC port's certificate, not this one's.)"""
        tls = self._settings.tls
        if tls is None:
            return {}
        extra: dict[str, Any] = {"ssl_certfile": str(tls.cert_file), "ssl_keyfile": str(tls.key_file)}
        if tls.client_ca_file is not None:
            extra |= {"ssl_ca_certs": str(tls.client_ca_file), "ssl_cert_reqs": ssl.CERT_REQUIRED}
        return extra

    def start(self) -> None:
        host, port = split_address(self._address)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.create_server((host, port), family=family, backlog=128)
        self._port = self._socket.getsockname()[1]
        self._pool = ThreadPoolExecutor(max_workers=self._settings.worker_threads, thread_name_prefix="convene-http")
        app = http_app(self._servicer, self._pool, self._settings.max_concurrent_rpcs, self._console, self._access)
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False, server_header=False,
                                timeout_graceful_shutdown=int(self._settings.grace_seconds) or 1, **self._tls())
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="convene-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError(f"the HTTP server did not start on {self._address}")
            time.sleep(0.01)

    def stop(self, grace: float | None = None) -> None:
        """Stops accepting, lets calls in flight finish (up to the config's grace), frees the port."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join((grace or 0) + 5)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None
