"""Node.js clients of the Python server: @grpc/grpc-js over gRPC (proto/ loaded at run time), and
@connectrpc/connect-node over gRPC-Web on HTTP/1.1 (descriptors from a FileDescriptorSet)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2, json_format
from google.protobuf.descriptor import FileDescriptor

from convene.v1 import schedule_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import Running, start_server
from tests.paths import REPO
from tests.server.api.test_schedule import schedule
from tests.server.conftest import ALICE_KEY, NOW, OPS_KEY, Served, key, team_config, team_tenants
from tests.server.messages import find, member, rules

NODE_DIR = REPO / "tests" / "node"


def node_client() -> list[str]:
    """The command that runs the client, installing its packages once; skips when that cannot be done."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the Node.js client test")
    if not all((NODE_DIR / "node_modules" / package).is_dir()
               for package in ("@grpc/grpc-js", "@connectrpc/connect-node", "@bufbuild/protobuf")):
        try:
            # No lock file: it would pin registry addresses into the repository.
            done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-package-lock"], cwd=NODE_DIR,
                                  capture_output=True, text=True, timeout=240, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip("npm install timed out (no registry access?)")
        if done.returncode != 0:
            pytest.skip(f"npm install failed (no registry access?): {done.stderr.strip()[-300:]}")
    return [node, str(NODE_DIR / "find_slots.mjs")]


def with_json_names(message: descriptor_pb2.DescriptorProto) -> None:
    """Sets each field's json_name as protoc does (CopyToProto leaves it out): lowerCamelCase."""
    for field in message.field:
        head, *rest = field.name.split("_")
        field.json_name = head + "".join(part[:1].upper() + part[1:] for part in rest)
    for nested in message.nested_type:
        with_json_names(nested)


def descriptor_set(path: Path) -> Path:
    """The service's .proto files and everything they import, as a FileDescriptorSet file."""
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}

    def add(file: FileDescriptor) -> None:
        if file.name in files:
            return
        for dependency in file.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        for message in proto.message_type:
            with_json_names(message)
        files[file.name] = proto

    add(api.DESCRIPTOR)
    path.write_bytes(descriptor_pb2.FileDescriptorSet(file=list(files.values())).SerializeToString())
    return path


@pytest.fixture(scope="module")
def over_http() -> Iterator[Running]:
    config = team_config(http_address="127.0.0.1:0")
    running = start_server(config, "127.0.0.1:0", tenants=team_tenants(config), clock=lambda: NOW)
    yield running
    running.stop(None)


def grpc_web(running: Running, descriptors: Path, method: str, request: object, api_key: str
             ) -> subprocess.CompletedProcess[str]:
    node = node_client()[0]
    assert running.http is not None
    return subprocess.run([node, str(NODE_DIR / "grpc_web.mjs"), str(running.http.port), api_key, str(descriptors),
                           method, json_format.MessageToJson(request)],  # type: ignore[arg-type]
                          capture_output=True, text=True, timeout=60, check=False)


def test_node_client_gets_the_same_slots(served: Served) -> None:
    command = node_client()
    done = subprocess.run([*command, str(served.port), OPS_KEY], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    direct = served.stub.FindSlots(find(rules(member("alice", "bob", label="host"), member("dan"))),
                                   metadata=key())
    assert printed["total_available"] == direct.total_available > 0
    assert [s["start"] for s in printed["slots"]] == [
        s.start.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z") for s in direct.slots]
    assert [[list(f["resource_ids"]) for f in s["seats"]] for s in printed["slots"]] == [
        [list(f.resource_ids) for f in s.seats] for s in direct.slots]
    assert printed["slots"][0]["seats"][0]["label"] == "host"


def test_node_client_with_an_unknown_key_is_refused(served: Served) -> None:
    command = node_client()
    done = subprocess.run([*command, str(served.port), "wrong-key"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("UNAUTHENTICATED")


def test_a_grpc_web_call_from_node_gets_what_grpc_gets(over_http: Running, tmp_path: Path) -> None:
    descriptors = descriptor_set(tmp_path / "convene.binpb")
    request = schedule("alice", "bob")
    done = grpc_web(over_http, descriptors, "GetSchedule", request, ALICE_KEY)
    assert done.returncode == 0, done.stdout + done.stderr
    over_node = json_format.ParseDict(json.loads(done.stdout)["reply"], schedule_pb2.GetScheduleResponse())
    with grpc.insecure_channel(f"127.0.0.1:{over_http.port}") as channel:
        direct = api_grpc.SchedulingServiceStub(channel).GetSchedule(request, metadata=key(ALICE_KEY))
    assert over_node == direct
    assert over_node.schedules[0].items[0].details.title == "Board prep"


def test_a_grpc_web_error_from_node_has_its_code(over_http: Running, tmp_path: Path) -> None:
    descriptors = descriptor_set(tmp_path / "convene.binpb")
    done = grpc_web(over_http, descriptors, "FindSlots", find(rules(member("alice")), zone="Mars/Base"), OPS_KEY)
    assert done.returncode == 1
    failure = json.loads(done.stdout)
    assert failure["code"] == "InvalidArgument"
    assert "time_zone" in failure["message"]
    done = grpc_web(over_http, descriptors, "ListRooms", api.ListRoomsRequest(), "wrong-key")
    assert json.loads(done.stdout)["code"] == "Unauthenticated"
