"""Lean installs: every imported package is declared, test tools stay out of the runtime set,
and a fresh ``pip install .`` without extras serves the ICS demo."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import grpc
import pytest
import yaml

from convene.v1 import meeting_pb2
from convene.v1 import scheduling_service_pb2 as api
from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from tests.paths import EXAMPLES, REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
OWN = {"solver", "providers", "server", "convene", "bench", "tests"}
TEST_ONLY = {"aiosmtpd", "radicale", "pytest", "hypothesis", "cryptography", "grpcio-tools", "ruff", "mypy"}
# Imported as part of a declared package's documented API (pydantic's errors come from pydantic_core).
PART_OF = {"pydantic_core": "pydantic"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _declared(*groups: str) -> set[str]:
    names = {_name(r) for r in PROJECT["dependencies"]} if "base" in groups else set()
    for group, requirements in PROJECT["optional-dependencies"].items():
        if group in groups or "*" in groups:
            names |= {_name(r) for r in requirements}
    return names


def _imported_modules() -> dict[str, str]:
    """Top-level third-party module -> a file importing it, over the runtime packages."""
    found: dict[str, str] = {}
    for package in ("solver", "providers", "server"):
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                         else [])
                for name in names:
                    top = name.split(".")[0]
                    if top not in OWN and top not in sys.stdlib_module_names and top != "__future__":
                        module = ".".join(name.split(".")[:2]) if top == "google" else top
                        found.setdefault(module, str(path.relative_to(REPO)))
    return found


def test_every_imported_package_is_declared() -> None:
    distributions = importlib.metadata.packages_distributions()
    declared = _declared("base", "*") - TEST_ONLY
    missing = []
    for module, where in sorted(_imported_modules().items()):
        top = module.split(".")[0]
        if top in PART_OF:
            assert PART_OF[top] in declared
            continue
        # google.* is a namespace of several distributions: find the one holding that subpackage.
        owners = {d.lower().replace("_", "-") for d in distributions.get(top, [])}
        if top == "google":
            owners = {d for d in owners if _provides(d, module)}
        if not owners & declared:
            missing.append(f"{module} (imported by {where}, from {sorted(owners) or '?'})")
    assert missing == []


def _provides(distribution: str, module: str) -> bool:
    files = importlib.metadata.distribution(distribution).files or []
    prefix = module.replace(".", "/") + "/"
    return any(str(f).startswith(prefix) for f in files)


def test_test_tools_are_not_runtime_dependencies() -> None:
    assert not _declared("base") & TEST_ONLY
    assert TEST_ONLY - {"ruff", "mypy"} <= _declared("dev")


def test_make_setup_installs_every_extra() -> None:
    line = next(x for x in (REPO / "Makefile").read_text().splitlines() if x.startswith("EXTRAS :="))
    assert set(line.split(":=")[1].strip().split(",")) == {"dev", *PROJECT["optional-dependencies"]}


@pytest.fixture(scope="module")
def lean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with ``pip install .`` (no extras), from a copy of the sources."""
    root = tmp_path_factory.mktemp("lean")
    source = root / "src"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    for package in ("solver", "providers", "server", "convene"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                           "-c", str(REPO / "constraints.txt"), str(source)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"pip install . failed:\n{done.stderr[-3000:]}")
    return venv


@pytest.mark.install
def test_a_lean_install_has_no_extras(lean_venv: Path) -> None:
    python = str(lean_venv / "bin" / "python")
    for module in ("googleapiclient", "msal", "exchangelib", "caldav", "dask", "matplotlib", "aiosmtpd", "requests"):
        probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True)
        assert probe.returncode != 0, f"{module} came with a plain install"


@pytest.mark.install
def test_a_lean_install_serves_the_ics_demo(lean_venv: Path, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    convene = str(lean_venv / "bin" / "convene")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    process = subprocess.Popen([convene, "serve", "--config", "examples/convene.yaml", "--address", "127.0.0.1:0"],
                               cwd=tmp_path, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stderr is not None
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            match = re.search(r"serving on port (\d+)", line)
            port = int(match[1]) if match else None
        assert port, "the lean server did not start"
        request = api.FindSlotsRequest(template=meeting_pb2.TemplateRef(template_id="discovery-call"),
                                       time_zone="Europe/London", page_size=3)
        request.window_start.FromJsonString("2026-12-08T08:00:00Z")
        request.window_end.FromJsonString("2026-12-08T18:00:00Z")
        request.now.FromJsonString("2026-11-30T13:00:00Z")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = api_grpc.SchedulingServiceStub(channel).FindSlots(
                request, metadata=(("authorization", "Bearer acme-ops-3f9c2a7d41b8e605"),), timeout=30)
        assert len(reply.slots) == 3
        process.terminate()
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.install
def test_a_lean_install_names_the_missing_extra(lean_venv: Path, tmp_path: Path) -> None:
    config = tmp_path / "google.yaml"
    config.write_text(yaml.safe_dump({"server": {"plaintext": True}, "tenants": {"t": {"members": [
        {"id": "a", "calendar": {"kind": "google", "calendar_id": "a@x.org", "credentials_file": "g.json"}}]}}}))
    done = subprocess.run([str(lean_venv / "bin" / "convene"), "check-config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "calendar kind google needs Convene's [google] extra" in done.stderr
    assert "pip install 'convene[google]'" in done.stderr
