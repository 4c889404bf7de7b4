"""``convene webhooks``: a tenant's webhook endpoints and their deliveries, over the API.

    convene webhooks create https://hooks.example/convene   # prints the secret, once
    convene webhooks list
    convene webhooks delete we_...
    convene webhooks deliveries [--endpoint we_...] [--booking ID] [--limit N] [--page-token T]

The calls are those of any client (CreateWebhookEndpoint, ...), so the key names the tenant.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC
from typing import Any

from google.protobuf.message import Message

from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from convene.v1 import webhooks_pb2 as hooks

__all__ = ["add_webhooks_command"]

Stub = Callable[[argparse.Namespace], AbstractContextManager[api_grpc.SchedulingServiceStub]]

_STATES = {hooks.WEBHOOK_DELIVERY_STATE_PENDING: "pending", hooks.WEBHOOK_DELIVERY_STATE_RUNNING: "running",
           hooks.WEBHOOK_DELIVERY_STATE_DONE: "done"}


def add_webhooks_command(subparsers: Any, connection_arguments: Callable[[argparse.ArgumentParser], None],
                         stub: Stub, to_json: Callable[[Message], str]) -> None:
    """Adds ``webhooks`` (create, list, delete, deliveries) to the ``convene`` parser's subcommands."""
    cmd = subparsers.add_parser("webhooks", help="the tenant's webhook endpoints and their deliveries")
    actions = cmd.add_subparsers(dest="action", required=True)

    def call(method: str, request: Message, render: Callable[[Any], str]) -> Callable[[argparse.Namespace], int]:
        def run(args: argparse.Namespace) -> int:
            with stub(args) as s:
                reply = getattr(s, method)(request_of(args), metadata=(("authorization", f"Bearer {args.api_key}"),),
                                           timeout=args.timeout)
            print(to_json(reply) if args.json else render(reply))
            return 0

        def request_of(args: argparse.Namespace) -> Message:
            message = type(request)()
            message.CopyFrom(request)
            for field in message.DESCRIPTOR.fields:
                value = getattr(args, field.name, None)
                if value not in (None, ""):
                    setattr(message, field.name, value)
            return message
        return run

    create = actions.add_parser("create", help="register an endpoint (the secret is shown once)")
    connection_arguments(create)
    create.add_argument("url", help="http or https URL the events are POSTed to")
    create.set_defaults(run=call("CreateWebhookEndpoint", hooks.CreateWebhookEndpointRequest(), _created))

    listing = actions.add_parser("list", help="the tenant's endpoints")
    connection_arguments(listing)
    listing.set_defaults(run=call("ListWebhookEndpoints", hooks.ListWebhookEndpointsRequest(), _endpoints))

    delete = actions.add_parser("delete", help="delete an endpoint and its deliveries")
    connection_arguments(delete)
    delete.add_argument("endpoint_id", help="the endpoint's id (we_...)")
    delete.set_defaults(run=call("DeleteWebhookEndpoint", hooks.DeleteWebhookEndpointRequest(),
                                 lambda reply: "Deleted."))

    deliveries = actions.add_parser("deliveries", help="delivery attempts, oldest first")
    connection_arguments(deliveries)
    deliveries.add_argument("--endpoint", dest="endpoint_id", help="only this endpoint's")
    deliveries.add_argument("--booking", dest="booking_id", help="only this booking's")
    deliveries.add_argument("--limit", dest="page_size", type=int, help="deliveries per page (default 100)")
    deliveries.add_argument("--page-token", dest="page_token", help="next_page_token of a previous page")
    deliveries.set_defaults(run=call("ListWebhookDeliveries", hooks.ListWebhookDeliveriesRequest(), _deliveries))


def _created(reply: hooks.CreateWebhookEndpointResponse) -> str:
    e = reply.endpoint
    return (f"Endpoint {e.id} -> {e.url}\n"
            f"Secret (shown only now; it verifies the Convene-Signature header): {e.secret}")


def _endpoints(reply: hooks.ListWebhookEndpointsResponse) -> str:
    if not reply.endpoints:
        return "No webhook endpoints."
    lines = []
    for e in reply.endpoints:
        state = f"disabled: {e.disabled_reason}" if e.HasField("disable_time") else (
            f"failing since {_when(e.failing_since)}" if e.HasField("failing_since") else "ok")
        lines.append(f"{e.id}  {e.url}  ({state})")
    return "\n".join(lines)


def _deliveries(reply: hooks.ListWebhookDeliveriesResponse) -> str:
    lines = [f"{d.id:>6}  {d.event_type:<22} booking {d.booking_id}  {_STATES.get(d.state, '?'):<7} "
             f"attempts {d.attempts}  last {d.last_status_code or '-'}"
             + (f"  {d.last_error}" if d.last_error else "") for d in reply.deliveries]
    if not lines:
        lines.append("No deliveries.")
    if reply.next_page_token:
        lines.append(f"Next page: --page-token {reply.next_page_token}")
    return "\n".join(lines)


def _when(ts: Any) -> str:
    return str(ts.ToDatetime(tzinfo=UTC).isoformat(timespec="seconds"))
