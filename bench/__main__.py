"""Run the benchmarks: ``python -m bench [scenario ...]``.

Every module ``bench/scenario_<name>.py`` is a benchmark; it exposes
``run() -> list[dict]`` returning rows ``{"scenario", "metric", "value",
"unit"}`` and optionally ``"target"`` (like ``"<= 25"``) to print beside the
figure. Name benchmarks to run a subset (``core`` or ``scenario_core``); with
no names all run. Rows are merged into ``bench/out/results.json`` (a rerun
replaces the rows of the same scenario and metric, others stay) and printed
as a table.
"""

from __future__ import annotations

import importlib
import json
import operator
import pkgutil
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import bench

OUT = Path(__file__).parent / "out" / "results.json"
PREFIX = "scenario_"
REQUIRED = ("scenario", "metric", "value", "unit")
_TARGET = re.compile(r"^\s*(<=|>=|==|<|>)\s*(-?[\d.]+)\s*$")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "<": operator.lt, ">": operator.gt,
}

Row = dict[str, object]


def discover() -> list[str]:
    """Names of the benchmark modules (without the prefix), sorted."""
    return sorted(m.name[len(PREFIX):] for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith(PREFIX))


def _check_rows(module: str, rows: object) -> list[Row]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"{module}.run() must return a list of dicts")
    for r in rows:
        missing = [k for k in REQUIRED if k not in r]
        if missing:
            raise ValueError(f"{module}.run() returned a row without {', '.join(missing)}: {r}")
    return rows


def verdict(row: Row) -> str:
    """'ok' or 'MISSED' when the row has a target, else ''."""
    match = _TARGET.match(str(row.get("target", "")))
    value = row["value"]
    if not match or not isinstance(value, int | float):
        return ""
    return "ok" if _OPS[match.group(1)](float(value), float(match.group(2))) else "MISSED"


def merge(old: list[Row], new: list[Row]) -> list[Row]:
    replaced = {(r["scenario"], r["metric"]) for r in new}
    return [r for r in old if (r["scenario"], r["metric"]) not in replaced] + new


def table(rows: list[Row]) -> str:
    header = ("scenario", "metric", "value", "unit", "target", "")
    lines = [header] + [
        (str(r["scenario"]), str(r["metric"]), _number(r["value"]), str(r["unit"]), str(r.get("target", "")),
         verdict(r))
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for line in lines:
        # Numbers (column 2) align right, text left.
        cells = [c.rjust(w) if i == 2 else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def main(argv: list[str]) -> int:
    available = discover()
    wanted = [a.removeprefix(PREFIX) for a in argv] or available
    unknown = [w for w in wanted if w not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    rows: list[Row] = []
    failed = []
    for name in wanted:
        module = f"bench.{PREFIX}{name}"
        print(f"running {module} ...", file=sys.stderr, flush=True)
        try:
            rows += _check_rows(module, importlib.import_module(module).run())
        except Exception:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            failed.append(name)
    old: list[Row] = json.loads(OUT.read_text()) if OUT.exists() else []
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(merge(old, rows), indent=2) + "\n")
    print(table(rows))
    print(f"\nwrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
