"""A batch instance (bench.batch_instances) served for real: the gRPC server on a loopback
port over in-memory calendars and bookings, with the Dask schedulers it may use."""

from __future__ import annotations

import grpc

from bench.batch_instances import Instance
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server
from server.calendars.busy import MemoryCalendars
from server.config import parse_config
from server.tenants import MemoryBookings, Tenant

API_KEY = "batch-served-key-0123456789"


def serve(schedulers: list[str], instance: Instance) -> tuple[grpc.Server, api_grpc.SchedulingServiceStub]:
    directory, busy, bookings, _ = instance
    config = parse_config({
        "server": {"plaintext": True},
        "api_keys": [{"key": API_KEY, "tenant": "ops", "principal": "ops@example.com"}],
        "tenants": {"ops": {}},
        "batch": {"max_items": 100, "schedulers": schedulers},
    })
    tenant = Tenant("ops", directory, {}, MemoryCalendars(busy), MemoryBookings(bookings))
    server, port = create_server(config, "127.0.0.1:0", tenants={"ops": tenant})
    server.start()
    return server, api_grpc.SchedulingServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
