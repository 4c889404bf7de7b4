"""``convene webhooks`` against a running server: create (the secret once), list, the
deliveries page by page (keyset pages of ListWebhookDeliveries), delete."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from convene.v1 import scheduling_service_pb2 as api
from server.cli.commands import main
from tests.server import booking_world
from tests.server.booking.webhook_receiver import Receiver
from tests.server.booking_world import OPS_KEY, World, at, create_request, key, wait_for

database_url = booking_world.database_url
pg_admin = booking_world.pg_admin
smtp_sink = booking_world.smtp_sink
world = booking_world.world


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _cli(world: World, *argv: str) -> list[str]:
    return ["webhooks", argv[0], "--target", f"127.0.0.1:{world.running.port}", "--api-key", OPS_KEY, *argv[1:]]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_webhooks_create_list_deliveries_and_delete(world: World, receiver: Receiver,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_cli(world, "create", receiver.url)) == 0
    out = capsys.readouterr().out
    endpoint_id = re.search(r"Endpoint (we_\S+) ->", out).group(1)  # type: ignore[union-attr]
    assert re.search(r"Secret \(shown only now.*\): whsec_\S+", out)

    assert main(_cli(world, "list")) == 0
    listed = capsys.readouterr().out
    assert f"{endpoint_id}  {receiver.url}  (ok)" in listed and "whsec_" not in listed

    booked = world.stub.CreateBooking(create_request("w1", at(14), [["bob"]]), metadata=key(), timeout=10).booking
    world.stub.CancelBooking(api.CancelBookingRequest(booking_id=booked.id), metadata=key(), timeout=10)
    other = world.stub.CreateBooking(create_request("w2", at(10), [["dan"]]), metadata=key(), timeout=10).booking
    assert wait_for(lambda: len(receiver.got) >= 3)

    # One at a time: three pages, then none; the token pages the same filters only.
    seen, token = [], ""
    while True:
        paging = ["--page-token", token] if token else []
        assert main(_cli(world, "deliveries", "--limit", "1", "--json", *paging)) == 0
        page = json.loads(capsys.readouterr().out)
        seen += [(d["event_type"], d["booking_id"], d["state"]) for d in page["deliveries"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == [("booking.created", booked.id, "WEBHOOK_DELIVERY_STATE_DONE"),
                    ("booking.cancelled", booked.id, "WEBHOOK_DELIVERY_STATE_DONE"),
                    ("booking.created", other.id, "WEBHOOK_DELIVERY_STATE_DONE")]
    assert main(_cli(world, "deliveries", "--booking", booked.id)) == 0
    table = capsys.readouterr().out
    assert table.count(booked.id) == 2 and other.id not in table and "attempts 1  last 200" in table
    assert main(_cli(world, "deliveries", "--limit", "1")) == 0
    first = capsys.readouterr().out
    token = re.search(r"Next page: --page-token (\S+)", first).group(1)  # type: ignore[union-attr]
    assert main(_cli(world, "deliveries", "--booking", other.id, "--page-token", token)) == 1
    assert "INVALID_ARGUMENT" in capsys.readouterr().err

    assert main(_cli(world, "delete", endpoint_id)) == 0
    assert "Deleted." in capsys.readouterr().out
    assert main(_cli(world, "list")) == 0
    assert "No webhook endpoints." in capsys.readouterr().out
    assert main(_cli(world, "delete", endpoint_id)) == 1
    assert "NOT_FOUND" in capsys.readouterr().err
