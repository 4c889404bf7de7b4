"""The committed generated code matches proto/, and the protos pass `buf lint`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server.protogen import REPO_ROOT, generate, generated_files


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    fresh = generate(tmp_path)
    committed = generated_files(REPO_ROOT)
    assert [p.name for p in fresh] == [p.name for p in committed], "run `make proto`"
    stale = [p.name for p, q in zip(fresh, committed, strict=True) if p.read_bytes() != q.read_bytes()]
    assert not stale, f"convene/v1 is stale ({', '.join(stale)}): run `make proto`"


def test_protos_pass_buf_lint() -> None:
    buf = shutil.which("buf", path=str(Path(sys.executable).parent)) or shutil.which("buf")
    if buf is None:
        pytest.skip("the buf binary (package buf-bin) is not installed")
    done = subprocess.run([buf, "lint"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
