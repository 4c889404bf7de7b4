"""Regenerates the Python code of the gRPC API (convene/v1) from proto/.

    python -m server.protogen            # rewrites convene/v1/*_pb2*.py
    python -m server.protogen --out DIR  # writes DIR/convene/v1/... instead

One protoc run emits the messages (``_pb2.py``), their type stubs (``_pb2.pyi``)
and the service stubs (``_pb2_grpc.py``). A test regenerates into a temporary
directory and fails when the committed code is stale.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib import resources
from pathlib import Path

__all__ = ["GENERATED_SUFFIXES", "PROTO_ROOT", "REPO_ROOT", "generate", "generated_files"]

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "proto"
PACKAGE_DIR = Path("convene") / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generated_files(out: Path) -> list[Path]:
    """The generated files under ``out`` (hand-written ``__init__.py`` files excluded), sorted."""
    package = out / PACKAGE_DIR
    return sorted(p for p in package.glob("*") if p.name.endswith(GENERATED_SUFFIXES))


def generate(out: Path = REPO_ROOT) -> list[Path]:
    """Writes the generated code for every ``proto/convene/v1/*.proto`` under ``out``; returns the files.

    Stale files of protos that no longer exist are removed first.
    """
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))
    if not protos:
        raise RuntimeError(f"no .proto files under {PROTO_ROOT / PACKAGE_DIR}")
    (out / PACKAGE_DIR).mkdir(parents=True, exist_ok=True)
    for stale in generated_files(out):
        stale.unlink()
    # The well-known types (timestamp.proto, duration.proto) ship inside grpc_tools.
    well_known = str(resources.files("grpc_tools") / "_proto")  # (loads no protoc)
    args = [
        sys.executable, "-m", "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *protos,
    ]
    # A child process: protoc's embedded C++ protobuf must not share a process
    # with the protobuf runtime (doing so corrupts the heap). Relative proto
    # names resolve against the proto paths.
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"protoc failed:\n{done.stderr}")
    return generated_files(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.protogen", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT, help="root to write convene/v1 under")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
