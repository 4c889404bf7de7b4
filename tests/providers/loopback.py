"""A scripted HTTP server on a loopback port, for sources we may not call for real.

Tests register answers per (method, path); every request is logged with its
headers and body so a test can check what the provider sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


@dataclass
class Request:
    method: str
    path: str  # without the query, percent-decoded
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    trickle: float = 0.0  # seconds between the body's bytes (a feed that trickles)


Handler = Callable[[Request], Answer]


class LoopbackHttp:
    """``route(method, path, answer_or_handler)``; a list of answers is served in turn
    (the last one repeats). Unrouted requests get 404."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.hung_up = 0
        self._routes: dict[tuple[str, str], Handler | list[Answer]] = {}
        self._lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(self.command, unquote(parts.path), parts.query,
                                  {k.lower(): v for k, v in self.headers.items()}, body)
                answer = outer._answer(request)
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.body.encode() if isinstance(answer.body, str) else answer.body
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD" and answer.trickle:
                        self.wfile.flush()
                        for i in range(len(payload)):
                            self.wfile.write(payload[i:i + 1])
                            self.wfile.flush()
                            time.sleep(answer.trickle)
                    elif self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    with outer._lock:
                        outer.hung_up += 1  # the client closed the connection before the answer was out

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve
            do_REPORT = do_PROPFIND = do_MKCALENDAR = do_OPTIONS = _serve

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    def route(self, method: str, path: str, answer: Answer | list[Answer] | Handler) -> None:
        with self._lock:
            self._routes[(method, path)] = [answer] if isinstance(answer, Answer) else answer

    def _answer(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            route = self._routes.get((request.method, request.path))
            if route is None:
                return Answer(404, b"not found")
            if isinstance(route, list):
                return route.pop(0) if len(route) > 1 else route[0]
        return route(request)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
