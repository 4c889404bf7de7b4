"""The README's Python example runs and says what a reader would expect."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path


def test_readme_example_runs() -> None:
    text = (Path(__file__).parent.parent / "README.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    # Ana is busy until 10:00 UTC, so Ben (her alternate, cost 10) takes the seat.
    assert lines[0] == "2026-12-01 08:00:00+00:00 [('ben',), ('eva',), ('small',)] 10.0"
    assert len(lines) == 3
