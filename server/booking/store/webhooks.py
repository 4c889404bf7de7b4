"""Webhooks in the store: tenants' endpoints, the events of bookings, and one
delivery row per (event, endpoint), written in the transaction of the change.

``emit_in(store, tx, booking, kind)`` records one event (a fresh id, its JSON
body fixed now) and a pending delivery to every enabled endpoint of the
booking's tenant, inside ``tx``: the booking change and its event commit
together or not at all. The delivery rows are the webhooks' outbox: a worker
claims due ones with a lease (``claim_deliveries``), posts them and records the
outcome. A delivery is claimable only when no earlier delivery of the same
booking to the same endpoint is unfinished, so each endpoint sees a booking's
events in the order they were emitted. Disabled endpoints get nothing.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from server.booking.store.model import BookingRecord

if TYPE_CHECKING:
    from server.booking.store.sql import SqlBookingStore, Tx

__all__ = ["Delivery", "DeliveryState", "Endpoint", "EventKind", "emit_in", "event_body"]


class EventKind(StrEnum):
    """What happened to a booking (the event's ``type``)."""

    CREATED = "booking.created"
    RESCHEDULED = "booking.rescheduled"
    UPDATED = "booking.updated"
    CANCELLED = "booking.cancelled"
    SIDE_EFFECT_FAILED = "booking.side_effect_failed"


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    RUNNING = "running"  # claimed until lease_until
    DONE = "done"  # the receiver answered 2xx


@dataclass(frozen=True)
class Endpoint:
    """A tenant's webhook receiver. ``secret`` is only filled when just created."""

    id: str
    tenant: str
    url: str
    created_at: datetime
    secret: str = ""
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str = ""


@dataclass(frozen=True)
class Delivery:
    """One event to one endpoint, and how its attempts went. ``body`` is the exact JSON sent."""

    id: int
    event_id: str
    event_kind: str
    booking_id: str
    endpoint_id: str
    url: str
    secret: str
    body: str
    status: DeliveryState
    attempts: int
    last_error: str
    last_status_code: int
    next_attempt_at: datetime
    created_at: datetime
    claim_token: str = ""


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_body(event_id: str, kind: EventKind, booking: BookingRecord, at: datetime, detail: str = "") -> str:
    """The event in the JSON mapping of ``convene.v1.WebhookEvent`` (camelCase, instants
    RFC 3339, enum names). No calendar event details: only the booking's own fields."""
    payload: dict[str, Any] = {
        "id": event_id,
        "type": kind.value,
        "createTime": _rfc3339(at),
        "tenant": booking.tenant,
        "booking": {
            "id": booking.id,
            "status": f"BOOKING_STATUS_{booking.status.value.upper()}",
            "start": _rfc3339(booking.start),
            "end": _rfc3339(booking.end),
            "timeZone": booking.time_zone,
            "title": booking.title,
            "sequence": booking.sequence,
            "resourceIds": sorted({r for seat in booking.seats for r in seat.resource_ids}),
        },
    }
    if detail:
        payload["detail"] = detail
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def emit_in(store: SqlBookingStore, tx: Tx, booking: BookingRecord, kind: EventKind, detail: str = "") -> str:
    """Records event ``kind`` of ``booking`` and its deliveries inside ``tx``; returns the event id
    ("" when the tenant has no enabled endpoint: then no event is kept)."""
    if tx.one("SELECT 1 FROM webhook_endpoints WHERE tenant = %s AND disabled_at IS NULL LIMIT 1",
              (booking.tenant,)) is None:
        return ""  # nobody listens: no event kept
    now = store.now()
    event_id = f"ev_{uuid.uuid4().hex}"
    body = event_body(event_id, kind, booking, now, detail)
    stamp = store._time_in(now)
    tx.run("INSERT INTO webhook_events (id, tenant, booking_id, kind, body, created_at) "
           "VALUES (%s, %s, %s, %s, %s, %s)", (event_id, booking.tenant, booking.id, kind.value, body, stamp))
    tx.run("INSERT INTO webhook_deliveries (event_id, endpoint_id, booking_id, status, next_attempt_at, "
           "created_at, updated_at) "
           "SELECT %s, e.id, %s, 'pending', %s, %s, %s FROM webhook_endpoints e "
           "WHERE e.tenant = %s AND e.disabled_at IS NULL",
           (event_id, booking.id, stamp, stamp, stamp, booking.tenant))
    return event_id


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def endpoint_from_row(store: SqlBookingStore, row: tuple[Any, ...]) -> Endpoint:
    endpoint_id, tenant, url, created, failing, disabled, reason = row
    return Endpoint(id=endpoint_id, tenant=tenant, url=url, created_at=store._time_out(created),
                    failing_since=store._time_out(failing) if failing is not None else None,
                    disabled_at=store._time_out(disabled) if disabled is not None else None,
                    disabled_reason=reason)


ENDPOINT_COLUMNS = "id, tenant, url, created_at, failing_since, disabled_at, disabled_reason"
DELIVERY_COLUMNS = ("d.id, d.event_id, v.kind, d.booking_id, d.endpoint_id, e.url, e.secret, v.body, d.status, "
                    "d.attempts, d.last_error, d.last_status_code, d.next_attempt_at, d.created_at")


def delivery_from_row(store: SqlBookingStore, row: tuple[Any, ...], token: str = "") -> Delivery:
    (delivery_id, event_id, kind, booking_id, endpoint_id, url, secret, body, status, attempts, error, code,
     next_at, created) = row
    return Delivery(id=int(delivery_id), event_id=event_id, event_kind=kind, booking_id=booking_id,
                    endpoint_id=endpoint_id, url=url, secret=secret, body=body, status=DeliveryState(status),
                    attempts=int(attempts), last_error=error, last_status_code=int(code),
                    next_attempt_at=store._time_out(next_at), created_at=store._time_out(created),
                    claim_token=token)


def is_due_for_disabling(failing_since: datetime | None, now: datetime, disable_after: timedelta) -> bool:
    return failing_since is not None and now - failing_since >= disable_after


