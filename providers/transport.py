"""HTTP GETs with one total deadline and real cancellation: httpx on one event loop.

A socket timeout bounds each socket operation, not the read: a server that
trickles one byte a second never trips it, and a thread blocked in a read
cannot be taken back. Here every GET runs as one asyncio task under
``asyncio.timeout`` (connect, headers and body together), which cancels it at
the deadline and closes its connection; the calling thread waits for it at
most until then. Nothing of the read is left behind, whatever the remote end
does, and the caller's thread is free at once.

All reads share one event loop in one daemon thread, started on first use,
and one ``httpx.AsyncClient`` (connection pooling, keep-alive): a hundred
hanging feeds cost a hundred sockets, not a hundred threads.

    answer = get("https://example.org/ada.ics", {"Accept": "text/calendar"}, timeout=2.0,
                 max_bytes=50_000_000)

Errors: ``HttpTimeout`` (no complete answer in time), ``HttpTooLarge`` (a body
over ``max_bytes``), ``HttpUnreachable`` (connection refused, DNS, TLS, a
broken answer; ``kind`` names the failure without the URL).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

__all__ = ["HttpAnswer", "HttpTimeout", "HttpTooLarge", "HttpUnreachable", "get"]

# Connections are bounded where reads are (per source, per tenant: providers.fetch), not here.
_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100, keepalive_expiry=30.0)
_MAX_REDIRECTS = 5


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]  # case-insensitive (httpx.Headers)
    body: bytes


class HttpTimeout(Exception):
    """No complete answer within the deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"no complete answer within {seconds:.1f} s")


class HttpTooLarge(Exception):
    """The body is longer than the caller accepts."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(f"answer larger than {max_bytes} bytes")


class HttpUnreachable(Exception):
    """The request failed before a complete answer: ``kind`` is the failure's class name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(kind)


class _Loop:
    """The event loop thread and the client that lives on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.client: httpx.AsyncClient | None = None
        thread = threading.Thread(target=self.loop.run_forever, name="convene-http", daemon=True)
        thread.start()

    def run(self, coroutine: object, timeout: float) -> HttpAnswer:
        future: concurrent.futures.Future[HttpAnswer] = asyncio.run_coroutine_threadsafe(
            coroutine, self.loop)  # type: ignore[arg-type]
        try:
            # A little past the task's own timeout, which cancels it on the loop at the deadline.
            return future.result(timeout=timeout + 0.05)
        except concurrent.futures.TimeoutError:
            # The loop is late (a busy machine): the caller goes now; the task is not cancelled
            # from here, which could interrupt it closing its connection: its own timeout ends it.
            raise HttpTimeout(timeout) from None
        except concurrent.futures.CancelledError:
            raise HttpTimeout(timeout) from None

    def http(self) -> httpx.AsyncClient:
        """The shared client (made on the loop's thread, where it is used)."""
        if self.client is None:
            # The system's trust store, as urllib used (corporate CAs included).
            self.client = httpx.AsyncClient(verify=ssl.create_default_context(), limits=_LIMITS,
                                            timeout=None, follow_redirects=True, max_redirects=_MAX_REDIRECTS)
        return self.client


_loop: _Loop | None = None
_loop_lock = threading.Lock()


def _shared() -> _Loop:
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = _Loop()
        return _loop


def get(url: str, headers: Mapping[str, str], *, timeout: float, max_bytes: int) -> HttpAnswer:
    """GETs ``url``, the whole answer within ``timeout`` seconds (see the module docstring)."""
    if timeout <= 0:
        raise HttpTimeout(0.0)
    shared = _shared()
    return shared.run(_get(shared, url, dict(headers), timeout, max_bytes), timeout)


async def _get(shared: _Loop, url: str, headers: dict[str, str], timeout: float, max_bytes: int) -> HttpAnswer:
    try:
        async with asyncio.timeout(timeout):
            async with shared.http().stream("GET", url, headers=headers) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise HttpTooLarge(max_bytes)
                return HttpAnswer(response.status_code, response.headers, bytes(body))
    except TimeoutError:
        raise HttpTimeout(timeout) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # messages hold the URL (tokens): only the class name
        raise HttpUnreachable(type(exc).__name__) from None
    except (OSError, ssl.SSLError) as exc:
        raise HttpUnreachable(type(exc).__name__) from None
