"""Webhook endpoints and deliveries between the API's messages and the store's records."""

from __future__ import annotations

from datetime import datetime

from google.protobuf import timestamp_pb2

from convene.v1 import webhooks_pb2
from server.booking.webhooks import Delivery, DeliveryState, Endpoint, check_url
from server.wire import paging
from solver.errors import FieldViolation, InvalidRequest

__all__ = ["MAX_PAGE_SIZE", "delivery_to_proto", "endpoint_to_proto", "endpoint_url", "next_page_token", "page_after",
           "page_size"]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_ID_LIMIT = 200

_STATES = {DeliveryState.PENDING: webhooks_pb2.WEBHOOK_DELIVERY_STATE_PENDING,
           DeliveryState.RUNNING: webhooks_pb2.WEBHOOK_DELIVERY_STATE_RUNNING,
           DeliveryState.DONE: webhooks_pb2.WEBHOOK_DELIVERY_STATE_DONE}


def endpoint_url(request: webhooks_pb2.CreateWebhookEndpointRequest) -> str:
    """The request's URL, or ``InvalidRequest`` naming ``url``."""
    if not request.url:
        raise InvalidRequest([FieldViolation("url", "is required")])
    problem = check_url(request.url)
    if problem is not None:
        raise InvalidRequest([FieldViolation("url", problem)])
    return request.url


def check_id(field: str, value: str, required: bool) -> str:
    if required and not value:
        raise InvalidRequest([FieldViolation(field, "is required")])
    if len(value) > _ID_LIMIT:
        raise InvalidRequest([FieldViolation(field, f"must be at most {_ID_LIMIT} characters")])
    return value


def page_size(size: int) -> int:
    if size < 0:
        raise InvalidRequest([FieldViolation("page_size", "must not be negative")])
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def page_after(request: webhooks_pb2.ListWebhookDeliveriesRequest) -> int:
    """The delivery id a page token says the page comes after (0: the first page)."""
    try:
        key = paging.decode_key(request.page_token, paging.fingerprint(request), 1)
        after = int(key[0]) if key is not None else 0
    except (paging.InvalidPageToken, ValueError) as exc:
        raise InvalidRequest([FieldViolation("page_token", str(exc) if isinstance(exc, paging.InvalidPageToken)
                                             else "is not a token this server issued")]) from exc
    if after < 0:
        raise InvalidRequest([FieldViolation("page_token", "is not a token this server issued")])
    return after


def next_page_token(request: webhooks_pb2.ListWebhookDeliveriesRequest, last: Delivery) -> str:
    return paging.encode_key((str(last.id),), paging.fingerprint(request))


def _ts(instant: datetime | None) -> timestamp_pb2.Timestamp | None:
    if instant is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(instant)
    return ts


def endpoint_to_proto(endpoint: Endpoint) -> webhooks_pb2.WebhookEndpoint:
    return webhooks_pb2.WebhookEndpoint(
        id=endpoint.id, url=endpoint.url, secret=endpoint.secret, create_time=_ts(endpoint.created_at),
        failing_since=_ts(endpoint.failing_since), disable_time=_ts(endpoint.disabled_at),
        disabled_reason=endpoint.disabled_reason)


def delivery_to_proto(delivery: Delivery) -> webhooks_pb2.WebhookDelivery:
    return webhooks_pb2.WebhookDelivery(
        id=delivery.id, event_id=delivery.event_id, event_type=delivery.event_kind, booking_id=delivery.booking_id,
        endpoint_id=delivery.endpoint_id, state=_STATES[delivery.status], attempts=delivery.attempts,
        last_status_code=delivery.last_status_code, last_error=delivery.last_error,
        next_attempt_time=_ts(delivery.next_attempt_at), create_time=_ts(delivery.created_at))
