"""A Node.js client (@grpc/grpc-js, proto/ loaded at run time) calls FindSlots on the Python server."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC

import pytest

from tests.paths import REPO
from tests.server.conftest import OPS_KEY, Served, key
from tests.server.messages import find, member, rules

NODE_DIR = REPO / "tests" / "node"


def node_client() -> list[str]:
    """The command that runs the client, installing its packages once; skips when that cannot be done."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the Node.js client test")
    if not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        try:
            # No lock file: it would pin registry addresses into the repository.
            done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-package-lock"], cwd=NODE_DIR,
                                  capture_output=True, text=True, timeout=240, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip("npm install timed out (no registry access?)")
        if done.returncode != 0:
            pytest.skip(f"npm install failed (no registry access?): {done.stderr.strip()[-300:]}")
    return [node, str(NODE_DIR / "find_slots.mjs")]


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
