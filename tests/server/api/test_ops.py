"""Operations: health checking, reflection, bounded concurrency, graceful shutdown on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server
from server.calendars.busy import FetchedBusy
from server.tenants import Tenant
from tests.paths import REPO
from tests.server.conftest import NOW, TEAM, Served, key, team_config
from tests.server.messages import find, member, rules


def test_health_reports_serving(served: Served) -> None:
    health = health_pb2_grpc.HealthStub(served.channel)
    for service in ("", "convene.v1.SchedulingService"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_and_describes_the_service(served: Served) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(served.channel)
    requests = [reflection_pb2.ServerReflectionRequest(list_services=""),
                reflection_pb2.ServerReflectionRequest(file_containing_symbol="convene.v1.SchedulingService")]
    [listing, files] = list(stub.ServerReflectionInfo(iter(requests), timeout=5))
    names = {s.name for s in listing.list_services_response.service}
    assert {"convene.v1.SchedulingService", "grpc.health.v1.Health"} <= names
    described = [descriptor_pb2.FileDescriptorProto.FromString(raw)
                 for raw in files.file_descriptor_response.file_descriptor_proto]
    service = next(f for f in described if f.name == "convene/v1/scheduling_service.proto").service[0]
    assert "FindSlots" in [m.name for m in service.method]


class _Gate:
    """Calendars that hold every fetch until released (to keep one call in flight)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def busy(self, *args: object, **kwargs: object) -> FetchedBusy:
        self.entered.set()
        self.release.wait(10)
        return FetchedBusy(())


def test_calls_beyond_the_concurrency_bound_are_refused_at_once() -> None:
    config = team_config(max_concurrent_rpcs=1, worker_threads=2)
    gate = _Gate()
    server, port = create_server(config, "127.0.0.1:0", tenants={"team": Tenant("team", TEAM, {}, gate)},
                                 clock=lambda: NOW)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            request = find(rules(member("alice")))
            first = stub.FindSlots.future(request, metadata=key(), timeout=10)
            assert gate.entered.wait(5)
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as caught:
                stub.FindSlots(request, metadata=key(), timeout=5)
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert time.monotonic() - started < 1
            gate.release.set()
            assert first.result().slots
    finally:
        gate.release.set()
        server.stop(None)


def test_serve_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "convene.yaml"
    config.write_text(
        "server: {grace_seconds: 2, plaintext: true}\n"
        "api_keys: [{key: ops-key-0123456789abcdef, tenant: t, principal: ops}]\n"
        "tenants: {t: {members: [{id: alice}]}}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--config", str(config), "--address", "127.0.0.1:0"],
        cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            match = re.search(r"serving on port (\d+)", line)
            port = int(match[1]) if match else None
        assert port, "the server did not report its port"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "shutting down" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
