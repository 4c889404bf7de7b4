"""A server of the test team with a SQLite booking store (the booking RPCs answer), small batch limits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest

from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server
from server.booking.store import open_store
from server.config import parse_config
from tests.server.conftest import CONFIG, NOW, team_tenants


@dataclass
class BookingServer:
    stub: api_grpc.SchedulingServiceStub
    channel: grpc.Channel


@pytest.fixture(scope="package")
def booking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BookingServer]:
    folder = tmp_path_factory.mktemp("booking-server")
    data = dict(CONFIG)
    data["batch"] = {"max_items": 20, "max_time_limit_seconds": 2, "max_workers": 1}
    data["server"] = {"plaintext": True}
    config = parse_config(data)
    store = open_store(f"sqlite:///{folder / 'bookings.sqlite3'}")
    server, port = create_server(config, "127.0.0.1:0", tenants=team_tenants(config), clock=lambda: NOW,
                                 store=store)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield BookingServer(api_grpc.SchedulingServiceStub(channel), channel)
    finally:
        channel.close()
        server.stop(None)
        store.close()
