"""The container image and the compose file, tested without Docker (it cannot run here): the
Dockerfile's entrypoint, command and health check, and compose's migrate step, run as processes on
deploy/convene.yaml (its TLS files made in the test, its database a fresh PostgreSQL schema)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from tests.paths import EXAMPLES, REPO
from tests.server.certs import Authority

DOCKERFILE = (REPO / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text())
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
CONVENE = str(Path(sys.executable).parent / "convene")


def instruction(name: str) -> str:
    """The last ``name`` instruction of the final stage, continuation lines joined."""
    text = DOCKERFILE.replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip().upper().startswith(name + " ")]
    assert lines, f"the Dockerfile has no {name}"
    return lines[-1][len(name):].strip()


def test_the_image_is_slim_non_root_and_checks_health_through_the_cli() -> None:
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert stages and all(s.endswith("-slim") for s in stages)
    assert instruction("USER") not in ("root", "0")
    assert json.loads(instruction("ENTRYPOINT")) == ["convene"]
    health = instruction("HEALTHCHECK")
    assert "CMD convene health" in health
    # A lean install: the extras only when the build asks for them.
    assert 'ARG EXTRAS=""' in DOCKERFILE


def test_compose_runs_postgres_a_migration_and_two_replicas_of_one_image() -> None:
    services = COMPOSE["services"]
    replicas = [s for name, s in services.items() if name.startswith("convene-")]
    assert len(replicas) == 2
    assert {s["image"] for s in replicas} == {"convene"} == {services["migrate"]["image"]}
    for replica in replicas:
        assert replica["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert any(v.endswith(":/etc/convene:ro") for v in replica["volumes"])
    assert services["migrate"]["command"][0] == "migrate"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["image"].startswith("postgres:")
    assert {p.split(":")[0] for r in replicas for p in r["ports"]} >= {"50051", "50052"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pg_url() -> Iterator[str]:
    try:
        admin = psycopg.connect(PG_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 (database 'test'): {str(exc).strip()}")
    admin.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
    schema = f"deploy_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def etc_convene(tmp_path: Path, database_url: str, port: int) -> Path:
    """/etc/convene as compose mounts it: deploy/convene.yaml, TLS files, the example calendars;
    only what cannot be the same here changes (loopback ports, the test database)."""
    folder = tmp_path / "etc-convene"
    folder.mkdir()
    data: dict[str, Any] = yaml.safe_load((REPO / "deploy" / "convene.yaml").read_text())
    data["server"]["address"] = f"127.0.0.1:{port}"
    data["metrics"]["address"] = "127.0.0.1:0"
    data["database_url"] = database_url
    (folder / "convene.yaml").write_text(yaml.safe_dump(data))
    authority = Authority(folder / "tls", "ca")  # tls/ca.pem, as deploy/make-secrets.sh names it
    authority.issue("convene", server=True, stem="server")
    shutil.copytree(EXAMPLES / "calendars", folder / "calendars")
    return folder


def in_etc(argv: list[str], folder: Path) -> list[str]:
    return [a.replace("/etc/convene", str(folder)) for a in argv]


def test_the_entrypoint_serves_deploy_config_and_the_health_check_passes(tmp_path: Path, pg_url: str) -> None:
    port = free_port()
    folder = etc_convene(tmp_path, pg_url, port)
    # compose's migrate service, then the image's ENTRYPOINT + CMD, as the image's user would run them.
    migrate = subprocess.run([CONVENE, *in_etc(COMPOSE["services"]["migrate"]["command"], folder)],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert migrate.returncode == 0, migrate.stderr
    assert "schema version 0 ->" in migrate.stdout
    command = [CONVENE, *in_etc(json.loads(instruction("CMD")), folder)]
    server = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        deadline = time.monotonic() + 60
        started = ""
        while time.monotonic() < deadline:
            line = server.stderr.readline()
            if not line or "serving on port" in line:
                started = line
                break
        assert f"serving on port {port}, TLS" in started  # a JSON log line (logging.format: json)
        assert json.loads(started)["logger"] == "convene.server"
        # The HEALTHCHECK line, with CONVENE_HEALTH_ARGS as compose sets it.
        health = instruction("HEALTHCHECK").split("CMD", 1)[1].strip()
        args = COMPOSE["x-convene"]["environment"]["CONVENE_HEALTH_ARGS"]
        argv = shlex.split(health.replace("$CONVENE_HEALTH_ARGS", args).replace("50051", str(port)))
        assert argv[0] == "convene"
        check = subprocess.run([CONVENE, *in_etc(argv[1:], folder)], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        assert check.stdout.strip() == "SERVING"
        server.send_signal(signal.SIGTERM)  # what docker stop sends
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    # Once stopped, the same check fails: the health check can tell.
    down = subprocess.run([CONVENE, *in_etc(argv[1:], folder)], capture_output=True, text=True, timeout=30,
                          env={**os.environ})
    assert down.returncode != 0
