"""TLS on the gRPC port, with a CA made in the test: who can connect, who is who, and a reload."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml

from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.app import create_server, start_server
from server.config import ConfigError, parse_config
from tests.paths import REPO
from tests.server.certs import Authority, Issued
from tests.server.conftest import CONFIG, NOW, key, team_tenants

AGENT = "booking-agent.team.example"


def tls_config(authority_dir: Path, server: Issued, *, client_ca: Path | None = None) -> dict:
    tls: dict = {"cert_file": str(server.cert), "key_file": str(server.key)}
    if client_ca is not None:
        tls |= {"client_ca_file": str(client_ca),
                "client_certificates": [{"name": AGENT, "tenant": "team", "principal": "agent@team.example"}]}
    return {**CONFIG, "server": {"tls": tls}}


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path / "ca")


@contextlib.contextmanager
def serving(data: dict) -> Iterator[int]:
    config = parse_config(data)
    server, port = create_server(config, "127.0.0.1:0", tenants=team_tenants(config), clock=lambda: NOW)
    server.start()
    try:
        yield port
    finally:
        server.stop(None)


def members(channel: grpc.Channel, metadata: tuple = key()) -> int:
    reply = api_grpc.SchedulingServiceStub(channel).ListMembers(api.ListMembersRequest(), metadata=metadata,
                                                                timeout=5)
    return len(reply.members)


def test_tls_needs_the_ca_and_refuses_plaintext(authority: Authority) -> None:
    with serving(tls_config(authority.folder, authority.issue("convene.test", server=True))) as port:
        target = f"127.0.0.1:{port}"
        trusting = grpc.ssl_channel_credentials(root_certificates=authority.pem)
        with grpc.secure_channel(target, trusting) as channel:
            assert members(channel) == 5
        stranger = Authority(authority.folder / "other", "Some other CA")
        with grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=stranger.pem)) as channel, \
                pytest.raises(grpc.RpcError) as refused:
            members(channel)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
        with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError) as plain:
            members(channel)
        assert plain.value.code() is grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_refuses_a_client_without_a_certificate_and_maps_one_with(authority: Authority) -> None:
    data = tls_config(authority.folder, authority.issue("convene.test", server=True), client_ca=authority.path)
    agent = authority.issue(AGENT, server=False)
    unknown = authority.issue("someone-else.team.example", server=False)
    with serving(data) as port:
        target = f"127.0.0.1:{port}"
        without = grpc.ssl_channel_credentials(root_certificates=authority.pem)
        with grpc.secure_channel(target, without) as channel, pytest.raises(grpc.RpcError) as refused:
            members(channel)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE

        def with_cert(issued: Issued) -> grpc.ChannelCredentials:
            return grpc.ssl_channel_credentials(authority.pem, issued.key_pem, issued.cert_pem)

        # The certificate alone names the caller: tenant "team", no API key.
        with grpc.secure_channel(target, with_cert(agent)) as channel:
            assert members(channel, metadata=()) == 5
            # A key, when given, is what counts (here the other tenant's: one member).
            assert members(channel, metadata=key("other-tenant-key-0123456789")) == 1
        # Signed by the CA but mapped to no tenant: the handshake passes, the call needs a key.
        with grpc.secure_channel(target, with_cert(unknown)) as channel:
            with pytest.raises(grpc.RpcError) as no_caller:
                members(channel, metadata=())
            assert no_caller.value.code() is grpc.StatusCode.UNAUTHENTICATED
            assert members(channel) == 5


def test_a_server_without_tls_or_plaintext_does_not_start() -> None:
    config = parse_config(CONFIG)
    with pytest.raises(ConfigError, match=r"server\.tls.*plaintext: true"):
        create_server(config, "127.0.0.1:0", tenants=team_tenants(config))


def test_tls_files_are_checked_with_the_config(authority: Authority) -> None:
    server = authority.issue("convene.test", server=True)
    other = authority.issue("other.test", server=True)
    data = {**CONFIG, "server": {"tls": {"cert_file": str(server.cert), "key_file": str(other.key)}}}
    with pytest.raises(ConfigError, match="not a PEM certificate and its key"):
        parse_config(data)
    data = {**CONFIG, "server": {"tls": {"cert_file": str(server.cert), "key_file": str(server.key)},
                                 "plaintext": True}}
    with pytest.raises(ConfigError, match="either plaintext"):
        parse_config(data)


def test_sighup_reloads_the_certificate_without_dropping_calls(tmp_path: Path, authority: Authority) -> None:
    """``convene serve`` as a process: a connection made before SIGHUP keeps working, and new
    connections get the new certificate (signed by another CA, so the test can tell)."""
    first = authority.issue("convene.test", server=True, stem="server")
    config = tmp_path / "convene.yaml"
    config.write_text(yaml.safe_dump({
        "server": {"tls": {"cert_file": str(first.cert), "key_file": str(first.key)}},
        "database_url": f"sqlite:///{tmp_path / 'bookings.sqlite3'}",
        "api_keys": CONFIG["api_keys"][:1], "tenants": {"team": {"members": [{"id": "alice"}]}},
    }))
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--config", str(config),
                                "--address", "127.0.0.1:0"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            match = re.search(r"serving on port (\d+), TLS", line)
            port = int(match[1]) if match else None
        assert port, "the server did not report its port"
        target = f"127.0.0.1:{port}"
        before = grpc.secure_channel(target, grpc.ssl_channel_credentials(authority.pem))
        assert members(before) == 1

        renewed = Authority(tmp_path / "ca2", "Renewal CA")
        second = renewed.issue("convene.test", server=True, stem="server")
        (tmp_path / "ca" / "server.pem").write_bytes(second.cert_pem)
        (tmp_path / "ca" / "server-key.pem").write_bytes(second.key_pem)
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while True:
            line = process.stderr.readline()
            if "TLS certificate reloaded" in line or not line or time.monotonic() > deadline:
                break
        assert "TLS certificate reloaded" in line

        assert members(before) == 1  # the connection from before goes on
        with grpc.secure_channel(target, grpc.ssl_channel_credentials(renewed.pem)) as channel:
            assert members(channel) == 1  # a new one is served the new certificate
        with grpc.secure_channel(target, grpc.ssl_channel_credentials(authority.pem)) as channel, \
                pytest.raises(grpc.RpcError):
            members(channel)
        before.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_http_port_speaks_tls_with_the_same_certificate(authority: Authority) -> None:
    data = tls_config(authority.folder, authority.issue("convene.test", server=True))
    data["server"]["http_address"] = "127.0.0.1:0"
    config = parse_config(data)
    running = start_server(config, "127.0.0.1:0", tenants=team_tenants(config), clock=lambda: NOW)
    try:
        assert running.http is not None and running.http.url.startswith("https://")
        url = f"https://127.0.0.1:{running.http.port}/convene.v1.SchedulingService/ListMembers"
        request = urllib.request.Request(url, data=b"{}", headers={
            "content-type": "application/json", "authorization": key()[0][1]})
        trusting = ssl.create_default_context(cafile=str(authority.path))
        with urllib.request.urlopen(request, context=trusting, timeout=10) as reply:
            assert len(json.loads(reply.read())["members"]) == 5
        with pytest.raises(OSError):  # a plaintext request to the TLS port gets no answer
            urllib.request.urlopen(request.full_url.replace("https://", "http://"), data=b"{}", timeout=5)
    finally:
        running.stop(None)


def test_the_cli_reaches_a_mutual_tls_server_with_ca_cert_and_key(authority: Authority,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from server.cli import main

    data = tls_config(authority.folder, authority.issue("convene.test", server=True), client_ca=authority.path)
    agent = authority.issue(AGENT, server=False)
    with serving(data) as port:
        target = ["--target", f"127.0.0.1:{port}", "--ca", str(authority.path)]
        assert main(["health", *target, "--cert", str(agent.cert), "--key", str(agent.key)]) == 0
        assert capsys.readouterr().out.strip() == "SERVING"
        assert main(["health", *target]) != 0  # no client certificate: the handshake refuses it
        assert main(["--log-level", "WARNING", "bookings", *target, "--cert", str(agent.cert), "--key",
                     str(agent.key), "--api-key", "team-ops-key-0123456789"]) == 1  # reached: no store here
        assert "UNIMPLEMENTED" in capsys.readouterr().err
