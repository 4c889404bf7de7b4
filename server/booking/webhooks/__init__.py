"""Webhooks: tell a tenant's other systems what happened to its bookings.

Emitting (for code that changes a booking)::

    from server.booking.webhooks import EventKind, emit
    # inside a SqlBookingStore method, in the transaction that changes the booking:
    emit(self, tx, record, EventKind.RESCHEDULED)   # record: the booking as it is now

``emit(store, tx, booking, kind)`` records one event with a unique id (``ev_...``) and
a pending delivery to each enabled endpoint of ``booking.tenant``, in ``tx``: the
change and its event commit together or not at all. The store itself emits
``booking.created`` (``create``/``create_all``), ``booking.cancelled`` (``cancel``) and
``booking.side_effect_failed`` (an outbox task given up for good); reschedule and
update emit ``booking.rescheduled`` / ``booking.updated`` the same way.

Delivering: ``WebhookDeliverer``, the ``OutboxWorker``'s companion (started, woken and
stopped with it, in a thread of its own, so a hanging receiver never delays a
calendar event or an email), claims due deliveries from the store's delivery
outbox (``webhook_deliveries``; lease, at-least-once, never two workers on one),
POSTs the event's JSON body, signed (``signature_header``), and records each
attempt. A 2xx is done; anything else is retried after ``Backoff``. Per endpoint,
a booking's events go out in the order they were emitted (the next waits until
the one before is done). An endpoint failing for ``disable_after`` without one
success is disabled (logged, and its ``disabled_reason`` says why); nothing more
is sent to it.

Signing: header ``Convene-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
HMAC-SHA256 with the endpoint's secret over ``f"{t}.{body}"``; ``verify`` checks
it and rejects stale timestamps (replays). docs/api.md has the receiver's snippet.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

from server.booking.store.base import BookingStore
from server.booking.store.model import BookingRecord
from server.booking.store.outbox import Backoff
from server.booking.store.sql import SqlBookingStore, Tx
from server.booking.store.webhooks import Delivery, DeliveryState, Endpoint, EventKind, emit_in

__all__ = ["SIGNATURE_HEADER", "Delivery", "DeliveryState", "Endpoint", "EventKind", "UnknownWebhookEndpoint",
           "WebhookDeliverer",
           "check_url", "emit", "sign", "signature_header", "verify"]

log = logging.getLogger("convene.webhooks")

SIGNATURE_HEADER = "Convene-Signature"
EVENT_ID_HEADER = "Convene-Event-Id"
_MAX_ERROR = 500


class UnknownWebhookEndpoint(Exception):
    """The tenant has no webhook endpoint by that id (NOT_FOUND); another tenant's is unknown too."""

    def __init__(self, endpoint_id: str) -> None:
        self.endpoint_id = endpoint_id
        super().__init__(f"endpoint_id: no webhook endpoint {endpoint_id[:200]!r}")


def emit(store: SqlBookingStore, tx: Tx, booking: BookingRecord, kind: EventKind, detail: str = "") -> str:
    """Records event ``kind`` of ``booking`` in the open transaction ``tx``; returns the event id."""
    return emit_in(store, tx, booking, kind, detail)


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be a webhook endpoint, or None when it can (http or https with a host)."""
    if len(url) > 2000:
        return "must be at most 2000 characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        return f"is not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if not parts.hostname:
        return "must name a host"
    return None


def sign(secret: str, timestamp: int, body: str) -> str:
    """HMAC-SHA256 (hex) of ``f"{timestamp}.{body}"`` with ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def signature_header(secret: str, body: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={sign(secret, t, body)}"


def verify(secret: str, header: str, body: str, tolerance: float = 300.0, now: float | None = None) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is within ``tolerance`` s."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        t = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, t, body), fields.get("v1", ""))


class WebhookDeliverer:
    """Posts due deliveries (see the module docstring); ``run_once`` / ``start`` / ``stop``
    like ``OutboxWorker``."""

    def __init__(self, store: BookingStore, *, disable_after: timedelta = timedelta(days=3),
                 backoff: Backoff | None = None, timeout: float = 10.0, lease: timedelta = timedelta(seconds=60),
                 batch: int = 20, poll_interval: float = 1.0) -> None:
        self._store = store
        self._disable_after = disable_after
        self._backoff = backoff or Backoff()
        self._timeout = timeout
        self._lease = max(lease, timedelta(seconds=timeout * 2))
        self._batch = batch
        self._poll_interval = poll_interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Attempts every delivery due now (a booking's next event as soon as the one before is done)."""
        ran, seen = 0, set[int]()
        while deliveries := self._store.claim_deliveries(self._batch, self._lease):
            for delivery in deliveries:
                self._deliver(delivery)
                ran += 1
            fresh = {d.id for d in deliveries} - seen
            seen.update(fresh)
            # Only retries already made in this pass (a backoff shorter than a post): leave them to the next.
            if not fresh or self._stopping.is_set():
                break
        return ran

    def _deliver(self, delivery: Delivery) -> None:
        request = urllib.request.Request(delivery.url, data=delivery.body.encode(), method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "convene-webhooks",
            EVENT_ID_HEADER: delivery.event_id, SIGNATURE_HEADER: signature_header(delivery.secret, delivery.body)})
        code, error = 0, ""
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                code = int(response.status)
        except urllib.error.HTTPError as exc:
            code, error = int(exc.code), f"HTTP {exc.code}"
        except Exception as exc:  # refused, timed out, reset: a failed attempt
            error = f"{type(exc).__name__}: {exc}"
        if not error and 200 <= code < 300:
            self._store.complete_delivery(delivery, code)
            return
        error = (error or f"HTTP {code}")[:_MAX_ERROR]
        at = self._store.now() + self._backoff.delay(delivery.attempts)
        log.warning("webhook %s (%s of %s) to %s attempt %d failed, next at %s: %s", delivery.event_id,
                    delivery.event_kind, delivery.booking_id, delivery.endpoint_id, delivery.attempts,
                    at.isoformat(), error)
        disabled = self._store.retry_delivery(delivery, error, code, at, self._disable_after)
        if disabled is not None:
            log.error("webhook endpoint %s of tenant %s disabled: %s", disabled.id, disabled.tenant,
                      disabled.disabled_reason)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the webhook deliverer is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="webhook-deliverer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = 10.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self._wake.set()
        thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("webhook delivery pass failed")
            self._wake.wait(self._poll_interval)
            self._wake.clear()
