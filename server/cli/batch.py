"""``convene batch`` and ``convene tune``: batch optimization from a terminal.

    convene batch requests.json [--config convene.yaml] [--out result] [--time-limit 10]
                  [--work-limit 3.5 --seed 1] [--workers 2] [--scheduler tcp://host:8786]
                  [--weights alternate=5 earliness=0.5]
    convene batch requests.json --target HOST:PORT --job [--commit]   # prints a job id: convene job ...
    convene tune requests.json --grid alternate=1,10 earliness=0,0.1 [--out tune] ...
    convene tune requests.json --list settings.json ...

The JSON format is in docs/objective.md (example: examples/batch/). The
directory and calendars come from ``--config`` (the server's YAML) or, without
it, from the JSON's own ``directory`` section; the JSON may add busy time and
existing bookings. ``batch`` writes OUT.json and OUT.csv and prints a summary;
``tune`` runs the batch once per weight setting and writes a KPI table (CSV and
Markdown) and PNG plots of the trade-offs.

``--work-limit`` is the deterministic mode (docs/objective.md): every phase
(repairs, the LP bound and dive, CP-SAT) stops after its share of that much
work (CP-SAT's deterministic time; the LP's iterations in the same unit), with
``--seed`` and ``--workers`` fixed, so the same file and flags give the same
schedule at any load (``--time-limit`` still bounds the run).

Exit codes: 0 a result (FEASIBLE or OPTIMAL) written; 2 bad input (a message
naming the field) or an output path that cannot be written (checked before
solving); 3 the solver cannot run (a worker process died, the Dask scheduler
cannot be reached, has no workers or lost them: one line saying which); 4 the
result was written but is incomplete (a part of the batch got no schedule,
status UNKNOWN; the summary lists the parts and why).

Wire into the ``convene`` parser with ``add_batch_commands(subparsers)``; each
command's ``run(args)`` returns the exit code and prints its own errors.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol, TextIO
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from server.batch.runner import ClusterWithoutWorkers, SolverUnavailable, run_batch
from server.calendars.busy import resources_of
from server.config import (
    Config,
    ConfigError,
    SeatConfig,
    TemplateConfig,
    TenantConfig,
    load_config,
    parse_config,
    parse_duration,
)
from server.config.extras import require_extra
from server.tenants import Tenant, load_tenants
from solver.batch import BatchItem, BatchProgress, BatchRequest, BatchResult
from solver.domain import Booking, BusyInterval, BusyKind, MemberSeat, PoolSeat, RoomSeat, Seat, SlotRequest, Weights
from solver.errors import InvalidRequest, SchedulingError
from solver.validate import is_zone

__all__ = ["EXIT_BAD_INPUT", "EXIT_INCOMPLETE", "EXIT_OK", "EXIT_UNAVAILABLE", "BatchFile", "BatchInputError",
           "add_batch_commands", "load_batch", "result_json", "weight_settings"]

EXIT_OK, EXIT_BAD_INPUT, EXIT_UNAVAILABLE, EXIT_INCOMPLETE = 0, 2, 3, 4

KPI_COLUMNS = ("scheduled", "priority_scheduled", "alternates_used", "conflicts", "pool_load_spread",
               "mean_hours_from_window_start", "solve_time", "gap")
WEIGHT_NAMES = (*(f.name for f in fields(Weights)), "priority")


class BatchInputError(Exception):
    """The batch file or a command-line value cannot be used; the message names the field."""


# --- The batch file (pydantic: the edge) -------------------------------------------------

Minutes = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemFields(_Strict):
    """What an item (or ``defaults``, or a template) may set."""

    template: str | None = None
    time_zone: str | None = None
    duration: Minutes | None = None
    seats: list[SeatConfig] | None = None
    optional_members: list[str] | None = None
    customers: int | None = Field(default=None, ge=0)
    resolution: int | None = None
    start_interval: int | None = None
    buffer_before: Minutes | None = None
    buffer_after: Minutes | None = None
    minimum_notice: Minutes | None = None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and not is_zone(value):
            raise ValueError(f"{value!r} is not an IANA time zone")
        return value


class ItemFile(ItemFields):
    id: str = Field(min_length=1)
    priority: int = Field(default=1, ge=1)
    # Required, except for an item naming a booking (re-optimization: its meeting is the booking's).
    window_start: datetime | date | None = None
    window_end: datetime | date | None = None
    booking_id: str | None = Field(default=None, min_length=1)
    movable: bool = False


class BusyFile(_Strict):
    resource: str
    start: datetime
    end: datetime
    kind: BusyKind = BusyKind.BUSY


class BookingFile(_Strict):
    id: str
    start: datetime
    end: datetime
    resources: list[str] = Field(min_length=1)
    pool_members: list[tuple[str, str]] = Field(default_factory=list)


class BatchFile(_Strict):
    """The batch JSON (docs/objective.md)."""

    tenant: str | None = None
    directory: dict[str, Any] | None = None  # a tenant section of the YAML config, when there is no --config
    busy: list[BusyFile] = Field(default_factory=list)
    bookings: list[BookingFile] = Field(default_factory=list)
    weights: dict[str, float] = Field(default_factory=dict)
    priority_weight: float | None = Field(default=None, ge=0)
    allow_conflicts: bool = False
    time_limit: float = Field(default=10.0, gt=0)
    workers: int = Field(default=1, ge=1)
    seed: int = Field(default=0, ge=0)
    work_limit: float | None = Field(default=None, gt=0)  # deterministic mode (see the module docstring)
    defaults: ItemFields = Field(default_factory=ItemFields)
    items: list[ItemFile] = Field(min_length=1)

    @field_validator("weights")
    @classmethod
    def _known_weights(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(WEIGHT_NAMES))
        if unknown:
            raise ValueError(f"unknown weight(s) {unknown}; known: {', '.join(WEIGHT_NAMES)}")
        return weights


@dataclass(frozen=True)
class NamedItem:
    """An item naming an existing booking (re-optimization): pinned, or movable inside its
    window. Only the server holding the booking knows its meeting, so only ``--target``
    solves it; ``position`` is its place among the file's items."""

    position: int
    id: str
    booking_id: str
    movable: bool
    priority: int
    window: tuple[datetime, datetime] | None


@dataclass(frozen=True)
class LoadedBatch:
    """A batch ready to solve: the directory's tenant, its calendars' busy time, bookings."""

    tenant: Tenant
    busy: list[BusyInterval]
    bookings: list[Booking]
    batch: BatchRequest
    zones: dict[str, str]  # item id -> its time zone (for output)
    labels: dict[str, tuple[str, ...]]  # item id -> its seats' labels
    named: tuple[NamedItem, ...] = ()  # items naming bookings, solved on a server only


def load_batch(path: str | Path, config_path: str | Path | None = None, tenant_id: str | None = None) -> LoadedBatch:
    """Reads and checks a batch file; raises BatchInputError / ConfigError naming each bad field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BatchInputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise BatchInputError(f"{path}: not valid JSON: {exc}") from exc
    try:
        spec = BatchFile.model_validate(data)
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise BatchInputError(f"{path}: invalid batch\n" + "\n".join(lines)) from exc

    if config_path is not None:
        config = load_config(config_path)
    elif spec.directory is not None:
        config = parse_config({"tenants": {spec.tenant or "batch": spec.directory}}, base_dir=path.resolve().parent,
                              source=f"{path}: directory")
    else:
        raise BatchInputError(f"{path}: no directory: give --config or a 'directory' section")
    name = tenant_id or spec.tenant or (next(iter(config.tenants)) if len(config.tenants) == 1 else None)
    if name is None or name not in config.tenants:
        known = ", ".join(sorted(config.tenants)) or "none"
        raise BatchInputError(f"tenant: {name!r} is not a tenant of the directory (known: {known})"
                              if name else f"tenant: the directory has several tenants ({known}); name one")
    tenant = load_tenants(Config(tenants={name: config.tenants[name]}))[name]
    items, zones, labels, named = _items(spec, config.tenants[name])
    weights = _weights(spec.weights)
    # "priority" among the weights is the priority weight, as on the command line.
    priority = spec.weights.get("priority", spec.priority_weight)
    batch = BatchRequest(tuple(items), weights, spec.allow_conflicts, spec.time_limit, spec.workers, spec.seed,
                         priority, work_limit=spec.work_limit)
    busy = [BusyInterval(b.resource, _aware(b.start, "UTC", f"busy {b.resource}"),
                         _aware(b.end, "UTC", f"busy {b.resource}"), b.kind) for b in spec.busy]
    bookings = [Booking(b.id, _aware(b.start, "UTC", f"bookings {b.id}"), _aware(b.end, "UTC", f"bookings {b.id}"),
                        tuple(b.resources), tuple(b.pool_members)) for b in spec.bookings]
    busy += _calendar_busy(tenant, items)
    return LoadedBatch(tenant, busy, bookings, batch, zones, labels, tuple(named))


def _items(spec: BatchFile, tenant: TenantConfig) -> tuple[list[BatchItem], dict[str, str], dict[str, tuple[str, ...]],
                                                          list[NamedItem]]:
    templates = {t.id: t for t in tenant.templates}
    items: list[BatchItem] = []
    zones: dict[str, str] = {}
    labels: dict[str, tuple[str, ...]] = {}
    named: list[NamedItem] = []
    for n, item in enumerate(spec.items):
        where = f"items[{n}]"
        if item.booking_id is not None or item.movable:
            named.append(_named(n, item, spec.defaults))
            continue
        if item.window_start is None or item.window_end is None:
            edge = "window_start" if item.window_start is None else "window_end"
            raise BatchInputError(f"{where}.{edge}: required (an item naming no booking)")
        merged: dict[str, Any] = {}
        name = item.template or spec.defaults.template
        if name is not None:
            if name not in templates:
                raise BatchInputError(f"{where}.template: unknown template {name!r}")
            merged |= _template_fields(templates[name])
        for layer in (spec.defaults, item):
            merged |= {k: v for k, v in layer.model_dump(exclude_unset=True).items() if v is not None}
        zone = merged.get("time_zone")
        if zone is None:
            raise BatchInputError(f"{where}.time_zone: required (here, in defaults or in the template)")
        for required in ("duration", "seats"):
            if required not in merged:
                raise BatchInputError(f"{where}.{required}: required (here, in defaults or in the template)")
        seats = [s if isinstance(s, SeatConfig) else SeatConfig.model_validate(s) for s in merged["seats"]]
        options = {k: merged[k] for k in ("customers", "resolution", "start_interval", "buffer_before", "buffer_after",
                                          "minimum_notice") if k in merged}
        request = SlotRequest(
            window_start=_aware(item.window_start, zone, f"{where}.window_start"),
            window_end=_aware(item.window_end, zone, f"{where}.window_end", end=True),
            duration=merged["duration"],
            time_zone=zone,
            seats=tuple(_seat(s) for s in seats),
            optional_members=tuple(merged.get("optional_members", ())),
            **options,
        )
        items.append(BatchItem(item.id, request, item.priority))
        zones[item.id] = zone
        labels[item.id] = tuple(s.label or f"seat {k + 1}" for k, s in enumerate(seats))
    return items, zones, labels, named


def _named(n: int, item: ItemFile, defaults: ItemFields) -> NamedItem:
    """An item naming a booking: the booking is the meeting, so no meeting fields of its own."""
    where = f"items[{n}]"
    if item.booking_id is None:
        raise BatchInputError(f"{where}.movable: names no booking: give booking_id")
    meeting = sorted(set(item.model_fields_set) & set(ItemFields.model_fields) - {"time_zone"})
    if meeting:
        raise BatchInputError(f"{where}.{meeting[0]}: an item naming a booking takes its meeting from the booking")
    if (item.window_start is None) != (item.window_end is None):
        raise BatchInputError(f"{where}.window_end: give both window_start and window_end, or neither")
    window = None
    if item.window_start is not None and item.window_end is not None:
        zone = item.time_zone or defaults.time_zone or "UTC"
        window = (_aware(item.window_start, zone, f"{where}.window_start"),
                  _aware(item.window_end, zone, f"{where}.window_end", end=True))
    return NamedItem(n, item.id, item.booking_id, item.movable, item.priority, window)


def _template_fields(template: TemplateConfig) -> dict[str, Any]:
    names = ("duration", "seats", "optional_members", "customers", "resolution", "start_interval", "buffer_before",
             "buffer_after", "minimum_notice")
    return {k: getattr(template, k) for k in names if getattr(template, k) is not None}


def _seat(seat: SeatConfig) -> Seat:
    if seat.member is not None:
        return MemberSeat(tuple(seat.member), seat.label)
    if seat.pool is not None:
        return PoolSeat(seat.pool, seat.count or 1, seat.label)
    return RoomSeat(tuple(seat.rooms or ()), tuple(seat.room_pools or ()), seat.label)


def _aware(value: datetime | date, zone: str, where: str, *, end: bool = False) -> datetime:
    """Naive times are local to ``zone``; a date alone is its midnight (the next one for an end)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day) + (timedelta(days=1) if end else timedelta(0))
    if value.utcoffset() is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value


def _weights(values: dict[str, float]) -> Weights:
    return replace(Weights(), **{k: float(v) for k, v in values.items() if k != "priority"})


def _calendar_busy(tenant: Tenant, items: Sequence[BatchItem]) -> list[BusyInterval]:
    """Busy time of every resource the items could use, from the tenant's calendars."""
    if not items:
        return []
    resources = set().union(*(resources_of(i.request, tenant.directory) for i in items))
    start = min(i.request.window_start for i in items) - timedelta(days=1)
    end = max(i.request.window_end for i in items) + timedelta(days=1)
    return list(tenant.calendars.busy(resources, start, end).busy)


# --- Weights from the command line ---------------------------------------------------------


def parse_weight(text: str) -> tuple[str, float | None]:
    """"alternate=5" -> ("alternate", 5.0); "priority=lex" -> ("priority", None)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or name not in WEIGHT_NAMES:
        raise BatchInputError(f"--weights {text!r}: use NAME=VALUE with NAME one of {', '.join(WEIGHT_NAMES)}")
    if name == "priority" and value.strip().lower() in ("lex", "none", ""):
        return name, None
    try:
        number = float(value)
    except ValueError as exc:
        raise BatchInputError(f"--weights {text!r}: {value!r} is not a number") from exc
    if not math.isfinite(number) or number < 0:
        raise BatchInputError(f"--weights {text!r}: must be a finite number >= 0")
    return name, number


def apply_weights(batch: BatchRequest, setting: dict[str, float | None]) -> BatchRequest:
    """``batch`` with ``setting`` (weight name -> value; "priority" is the priority weight)."""
    weights = replace(batch.weights, **{k: v for k, v in setting.items() if k != "priority" and v is not None})
    priority = setting.get("priority", batch.priority_weight)
    return replace(batch, weights=weights, priority_weight=priority)


def weight_settings(grid: Sequence[str], listed: str | None) -> list[dict[str, float | None]]:
    """Every setting of ``--grid name=v1,v2 ...`` (their product), or those of ``--list FILE``
    (a JSON list of objects, or one ``name=value ...`` line per setting)."""
    if listed is not None:
        try:
            text = Path(listed).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BatchInputError(f"--list {listed}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
        if text.lstrip().startswith("["):
            try:
                rows = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BatchInputError(f"--list {listed}: not valid JSON: {exc}") from exc
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise BatchInputError(f"--list {listed}: a JSON list of objects (weight name -> value)")
            return [dict(parse_weight(f"{k}={v}") for k, v in row.items()) for row in rows]
        return [dict(parse_weight(pair) for pair in line.split()) for line in text.splitlines() if line.strip()]
    axes: list[list[tuple[str, float | None]]] = []
    for spec in grid:
        name, _, values = spec.partition("=")
        axes.append([parse_weight(f"{name}={v}") for v in values.split(",") if v.strip()])
    if not axes:
        raise BatchInputError("tune: give --grid NAME=V1,V2 ... or --list FILE")
    return [dict(combo) for combo in itertools.product(*axes)]


# --- Output ---------------------------------------------------------------------------------


def result_json(result: BatchResult, loaded: LoadedBatch) -> dict[str, Any]:
    """The result as JSON-ready data; times in each item's own time zone."""

    def local(item_id: str, instant: datetime) -> str:
        return instant.astimezone(ZoneInfo(loaded.zones[item_id])).isoformat()

    return {
        "status": result.status.value,
        "objective": result.objective,
        "best_bound": result.best_bound,
        "gap": result.gap,
        "wall_time": round(result.wall_time, 3),
        "priority_weight": result.priority_weight,
        "baseline_objective": result.baseline_objective,
        "parts": result.parts,
        "kpis": asdict(result.kpis),
        "scheduled": [
            {
                "id": s.item_id,
                "start": local(s.item_id, s.start),
                "end": local(s.item_id, s.end),
                "seats": [{"label": label, "resources": list(fill.resource_ids), "cost": fill.cost}
                          for label, fill in zip(loaded.labels[s.item_id], s.assignment.seats, strict=True)],
                "cost": s.cost,
                "seat_cost": s.seat_cost,
                "conflict_cost": s.conflict_cost,
                "earliness_cost": s.earliness_cost,
                "fairness_cost": s.fairness_cost,
                "hours_from_window_start": s.hours_from_window_start,
                "alternates": s.alternates,
                "conflicts": [{"resource": c.resource_id, "start": c.start.isoformat(), "end": c.end.isoformat(),
                               "kind": c.kind.value} for c in s.conflicts],
            }
            for s in result.scheduled.values()
        ],
        "unscheduled": [{"id": u.item_id, "reason": u.reason.value, "rule": u.rule.value,
                         "blocking_item_ids": list(u.blocking_item_ids), "detail": u.detail}
                        for u in result.unscheduled.values()],
        "incomplete_parts": [{"item_ids": list(part.item_ids), "reason": part.reason} for part in result.incomplete],
    }


def write_result(result: BatchResult, loaded: LoadedBatch, out: Path) -> tuple[Path, Path]:
    """OUT.json (everything) and OUT.csv (one row per item, in the batch's order)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out.with_suffix(".json"), out.with_suffix(".csv")
    json_path.write_text(json.dumps(result_json(result, loaded), indent=2) + "\n", encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "priority", "scheduled", "start", "end", "assignment", "cost", "fairness_cost",
                         "reason", "rule", "detail"])
        for item in loaded.batch.items:
            s = result.scheduled.get(item.id)
            if s is not None:
                zone = ZoneInfo(loaded.zones[item.id])
                who = "; ".join(f"{label}: {', '.join(fill.resource_ids)}"
                                for label, fill in zip(loaded.labels[item.id], s.assignment.seats, strict=True))
                writer.writerow([item.id, item.priority, "yes", s.start.astimezone(zone).isoformat(),
                                 s.end.astimezone(zone).isoformat(), who, s.cost, s.fairness_cost, "", "", ""])
            else:
                u = result.unscheduled[item.id]
                writer.writerow([item.id, item.priority, "no", "", "", "", "", "", u.reason.value, u.rule.value,
                                 u.detail])
    return json_path, csv_path


def summary(result: BatchResult) -> str:
    """A short table of how it went."""
    k = result.kpis
    rows = [
        ("status", result.status.value),
        ("objective", f"{result.objective:,.2f}  (greedy first fit: {result.baseline_objective:,.2f})"),
        ("best bound", f"{result.best_bound:,.2f}  (gap {result.gap:.1%})"),
        ("wall time", f"{result.wall_time:.2f} s over {result.parts} part(s)"),
        ("scheduled", f"{k.scheduled} of {k.items}  (priority {k.scheduled_priority} of {k.total_priority})"),
        ("alternates used", str(k.alternates_used)),
        ("conflicts", str(k.conflicts)),
        ("pool load spread", str(k.pool_load_spread)),
        ("mean hours from window start", f"{k.mean_hours_from_window_start:.2f}"),
        ("costs (seat / conflict / fairness / earliness)",
         f"{k.seat_cost:,.2f} / {k.conflict_cost:,.2f} / {k.fairness_cost:,.2f} / {k.earliness_cost:,.2f}"),
    ]
    reasons = Counter(u.reason.value for u in result.unscheduled.values())
    rows += [(f"unscheduled: {reason}", str(n)) for reason, n in sorted(reasons.items())]
    rows += [(f"INCOMPLETE part ({len(part.item_ids)} items)", part.reason) for part in result.incomplete]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


class ProgressLine:
    """At most a line a second (and one per finished part): for logs and pipes."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self._stream = stream
        self._total = total
        self._last = -math.inf

    def __call__(self, p: BatchProgress) -> None:
        now = time.monotonic()
        if now - self._last < 1.0 and p.source != "part":
            return
        self._last = now
        self._stream.write(f"[{p.elapsed:6.1f}s] {p.source:<6} objective {p.objective:,.2f}  bound "
                           f"{p.best_bound:,.2f}  gap {p.gap:6.1%}  scheduled {p.scheduled}/{self._total}  "
                           f"parts {p.parts_done}/{p.parts_total}\n")
        self._stream.flush()

    def close(self) -> None:
        pass


class ProgressBar:
    """A live bar on a terminal (rich): elapsed against the limit, ticking between
    improvements, with the best objective, bound, gap, items scheduled and parts done."""

    def __init__(self, stream: TextIO, total: int, time_limit: float, *, force_terminal: bool | None = None,
                 width: int | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._total = total
        self._progress = Progress(
            TextColumn("[bold]{task.description:<6}"), BarColumn(bar_width=12), TimeElapsedColumn(),
            TextColumn(f"of {time_limit:g}s"), TextColumn("{task.fields[figures]}"),
            console=Console(file=stream, force_terminal=force_terminal, width=width), transient=False,
            refresh_per_second=4)
        self._limit = time_limit
        self._task = self._progress.add_task("solving", total=time_limit, figures="planning ...")
        self._stop = threading.Event()
        self._progress.start()
        self._began = time.monotonic()
        # The bar follows the clock, not the reports: it moves while the search is quiet.
        self._ticker = threading.Thread(target=self._tick, name="batch-progress", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(0.25):
            self._progress.update(self._task, completed=min(self._limit, time.monotonic() - self._began))

    def __call__(self, p: BatchProgress) -> None:
        figures = (f"obj {p.objective:,.2f}  bound {p.best_bound:,.2f}  gap {p.gap:.1%}  "
                   f"{p.scheduled}/{self._total} scheduled  parts {p.parts_done}/{p.parts_total}")
        self._progress.update(self._task, figures=figures, description=p.source,
                              completed=min(self._limit, p.elapsed))

    def close(self) -> None:
        self._stop.set()
        self._ticker.join()
        self._progress.update(self._task, description="done")
        self._progress.stop()


def progress_display(stream: TextIO, total: int, time_limit: float) -> ProgressBar | ProgressLine:
    """The bar on a terminal, a line a second elsewhere."""
    return ProgressBar(stream, total, time_limit) if stream.isatty() else ProgressLine(stream, total)


# --- Commands -------------------------------------------------------------------------------


def _solve(loaded: LoadedBatch, batch: BatchRequest, scheduler: str | None,
           on_progress: Callable[[BatchProgress], None] | None) -> BatchResult:
    if scheduler:
        require_extra("dask", "--scheduler")
    return run_batch(loaded.tenant.directory, loaded.busy, loaded.bookings, batch, scheduler=scheduler,
                     on_progress=on_progress)


def _overrides(loaded: LoadedBatch, args: argparse.Namespace) -> BatchRequest:
    batch = loaded.batch
    if args.time_limit is not None:
        batch = replace(batch, time_limit=args.time_limit)
    if args.workers is not None:
        batch = replace(batch, workers=args.workers)
    if args.work_limit is not None:
        if not (math.isfinite(args.work_limit) and args.work_limit > 0):
            raise BatchInputError(f"--work-limit {args.work_limit:g}: must be a positive amount of deterministic time")
        batch = replace(batch, work_limit=args.work_limit)
    if args.seed is not None:
        if args.seed < 0:
            raise BatchInputError(f"--seed {args.seed}: must be 0 or more")
        batch = replace(batch, seed=args.seed)
    return batch


def _no_named_items(loaded: LoadedBatch) -> None:
    """Items naming bookings are solved where the bookings are: on a server."""
    if loaded.named:
        raise BatchInputError(f"items[{loaded.named[0].position}].booking_id: an item naming a booking is solved "
                              "by the server that holds it: give --target")


def _writable(path: Path, what: str) -> None:
    """Fails now, before any solving, when ``path`` (a file to write, or a directory to
    make) cannot be written."""
    probe = path if path.is_dir() else path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if (path.exists() and not path.is_dir() and not os.access(path, os.W_OK)) or not probe.is_dir() \
            or not os.access(probe, os.W_OK | os.X_OK):
        raise BatchInputError(f"{what} {path}: cannot be written (checked before solving)")


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Bad input leaves as a message naming the field and exit code 2, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (BatchInputError, ConfigError) as exc:
            print(exc, file=sys.stderr)
        except InvalidRequest as exc:
            print("invalid batch:\n" + "\n".join(f"  {v.field}: {v.description}" for v in exc.violations),
                  file=sys.stderr)
        except SchedulingError as exc:
            print(f"invalid batch: {exc}", file=sys.stderr)
        except (SolverUnavailable, ClusterWithoutWorkers) as exc:
            print(f"cannot solve: {exc}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        return EXIT_BAD_INPUT

    return run


@_guarded
def run_batch_command(args: argparse.Namespace) -> int:
    loaded = load_batch(args.requests, args.config, args.tenant)
    batch = _overrides(loaded, args)
    if args.weights:
        batch = apply_weights(batch, dict(parse_weight(w) for w in args.weights))
    _writable(Path(args.out).with_suffix(".json"), "--out")
    if args.target:
        return _on_server(loaded, batch, args)
    if args.commit or args.job:
        raise BatchInputError(f"{'--commit: books' if args.commit else '--job: runs'} on a server: give --target "
                              "(and --api-key)")
    _no_named_items(loaded)
    progress = None if args.quiet else progress_display(sys.stderr, len(batch.items), batch.time_limit)
    try:
        result = _solve(loaded, batch, args.scheduler, progress)
    finally:
        if progress is not None:
            progress.close()
    json_path, csv_path = write_result(result, loaded, Path(args.out))
    print(summary(result))
    print(f"wrote {json_path} and {csv_path}")
    if result.incomplete:
        dropped = sum(len(part.item_ids) for part in result.incomplete)
        print(f"incomplete: {len(result.incomplete)} part(s), {dropped} item(s) got no schedule", file=sys.stderr)
        return EXIT_INCOMPLETE
    return EXIT_OK


class ServerRefused(Exception):
    """A gRPC failure of ``--target``, as one line and the exit code it gives."""

    def __init__(self, line: str, code: int) -> None:
        super().__init__(line)
        self.code = code


def _channel(args: argparse.Namespace) -> Any:
    import grpc

    if args.tls or args.ca:
        root = Path(args.ca).read_bytes() if args.ca else None
        return grpc.secure_channel(args.target, grpc.ssl_channel_credentials(root_certificates=root))
    return grpc.insecure_channel(args.target)


def server_request(batch: BatchRequest, args: argparse.Namespace, *, commit: bool, request_id: str,
                   named: Sequence[NamedItem]) -> Any:
    """The OptimizeBatchRequest of ``batch`` with the ``named`` bookings in their places."""
    from convene.v1 import batch_pb2
    from server.wire.batch import batch_request_to_proto

    if not args.api_key:
        raise BatchInputError("--target: give --api-key (or $CONVENE_API_KEY)")
    # Items without a clock reading get one that cuts no start, as in process (server.wire.batch).
    request = batch_request_to_proto(batch, request_id=request_id, commit=commit, scheduler=args.scheduler or "")
    if named:
        items = list(request.items)
        for item in sorted(named, key=lambda i: i.position):  # in the file's order
            message = batch_pb2.BatchItem(id=item.id, booking_id=item.booking_id, movable=item.movable,
                                          priority=item.priority)
            if item.window is not None:
                message.window_start.FromDatetime(item.window[0])
                message.window_end.FromDatetime(item.window[1])
            items.insert(item.position, message)
        del request.items[:]
        request.items.extend(items)
    return request


def solve_on_server(batch: BatchRequest, args: argparse.Namespace, *, commit: bool = False,
                    request_id: str = "", on_progress: Callable[[BatchProgress], None] | None = None,
                    named: Sequence[NamedItem] = ()) -> Any:
    """``batch`` (and the ``named`` bookings) solved (with ``commit``, booked) by the server at
    ``--target`` over OptimizeBatch: its ``BatchResult`` message. gRPC failures raise
    ServerRefused: exit 3 when the server says the solver is unavailable, else 1."""
    import grpc

    from convene.v1 import batch_pb2
    from convene.v1 import scheduling_service_pb2_grpc as api_grpc

    request = server_request(batch, args, commit=commit, request_id=request_id, named=named)
    result: batch_pb2.BatchResult | None = None
    try:
        with _channel(args) as channel:
            stub = api_grpc.SchedulingServiceStub(channel)
            # The server's deadline margin keeps the commit and the reply inside this one.
            timeout = batch.time_limit + 30.0
            for reply in stub.OptimizeBatch(request, metadata=(("authorization", f"Bearer {args.api_key}"),),
                                            timeout=timeout):
                if reply.HasField("progress") and on_progress is not None:
                    p = reply.progress
                    on_progress(BatchProgress(p.objective, p.best_bound, p.gap, p.scheduled,
                                              p.elapsed.ToTimedelta().total_seconds(), p.source, p.parts_done,
                                              p.parts_total, p.complete))
                elif reply.HasField("result"):
                    result = reply.result
    except grpc.RpcError as exc:
        code = exc.code()
        unavailable = code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.FAILED_PRECONDITION)
        raise ServerRefused(f"{code.name}: {exc.details()}", EXIT_UNAVAILABLE if unavailable else 1) from None
    if result is None:  # a stream ends with its result or a status; a server that breaks that is named
        raise ServerRefused(f"{args.target}: the stream ended without a result", 1)
    return result


def _on_server(loaded: LoadedBatch, batch: BatchRequest, args: argparse.Namespace) -> int:
    """``batch`` solved (and with ``--commit`` booked) by the server at ``--target``; OUT.json
    is the reply's result (proto field names)."""
    from google.protobuf.json_format import MessageToDict

    from convene.v1 import batch_pb2

    if args.job:
        return _start_job(loaded, batch, args)
    if args.commit and not args.request_id:
        raise BatchInputError("--commit: give --request-id (an id of your choice that makes a retry safe)")
    total = len(batch.items) + len(loaded.named)
    progress = None if args.quiet else progress_display(sys.stderr, total, batch.time_limit)
    try:
        result = solve_on_server(batch, args, commit=args.commit, request_id=args.request_id or "",
                                 on_progress=progress, named=loaded.named)
    except ServerRefused as exc:
        print(exc, file=sys.stderr)
        return exc.code
    finally:
        if progress is not None:
            progress.close()
    json_path = Path(args.out).with_suffix(".json")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(MessageToDict(result, preserving_proto_field_name=True), indent=2) + "\n",
                         encoding="utf-8")
    scheduled = sum(1 for item in result.items if item.WhichOneof("outcome") == "scheduled")
    status = batch_pb2.BatchStatus.Name(result.status).removeprefix("BATCH_STATUS_")
    print(f"status {status}  objective {result.objective:,.2f}  bound {result.best_bound:,.2f}  gap "
          f"{result.gap:.1%}  scheduled {scheduled} of {len(result.items)}"
          + ("  committed" + (" (replayed)" if result.replayed else "") if result.committed else ""))
    for part in result.incomplete_parts:
        print(f"INCOMPLETE part ({len(part.item_ids)} items): {part.reason}")
    print(f"wrote {json_path}")
    return EXIT_INCOMPLETE if result.incomplete_parts else EXIT_OK


def _start_job(loaded: LoadedBatch, batch: BatchRequest, args: argparse.Namespace) -> int:
    """``batch --job``: StartBatchJob on ``--target``; prints the job's id (stdout) and how to
    follow it (stderr). With ``--commit`` the job books under its own id; ``--request-id``
    makes the start safe to retry."""
    import grpc

    from convene.v1 import scheduling_service_pb2 as api
    from convene.v1 import scheduling_service_pb2_grpc as api_grpc

    request = server_request(batch, args, commit=args.commit, request_id=args.request_id or "", named=loaded.named)
    try:
        with _channel(args) as channel:
            reply = api_grpc.SchedulingServiceStub(channel).StartBatchJob(
                api.StartBatchJobRequest(batch=request), metadata=(("authorization", f"Bearer {args.api_key}"),),
                timeout=30.0)
    except grpc.RpcError as exc:
        print(f"{exc.code().name}: {exc.details()}", file=sys.stderr)
        return EXIT_UNAVAILABLE if exc.code() == grpc.StatusCode.UNAVAILABLE else 1
    print(reply.job.id)
    print(("the job started before with this --request-id: " if reply.replayed else "started; ")
          + f"follow it with: convene job watch {reply.job.id} --target {args.target}", file=sys.stderr)
    return EXIT_OK


class TuneKpis(Protocol):
    """What a tune row reads: the KPIs of the solver's result or of the server's reply."""

    @property
    def scheduled(self) -> int: ...

    @property
    def scheduled_priority(self) -> int: ...

    @property
    def alternates_used(self) -> int: ...

    @property
    def conflicts(self) -> int: ...

    @property
    def pool_load_spread(self) -> int: ...

    @property
    def mean_hours_from_window_start(self) -> float: ...


def kpi_row(setting: dict[str, float | None], kpis: TuneKpis, *, wall_time: float, gap: float, objective: float,
            status: str) -> dict[str, Any]:
    """One row of the tune table."""
    row: dict[str, Any] = {"setting": " ".join(f"{n}={'lex' if v is None else f'{v:g}'}" for n, v in setting.items())}
    row |= {
        "scheduled": kpis.scheduled,
        "priority_scheduled": kpis.scheduled_priority,
        "alternates_used": kpis.alternates_used,
        "conflicts": kpis.conflicts,
        "pool_load_spread": kpis.pool_load_spread,
        "mean_hours_from_window_start": round(kpis.mean_hours_from_window_start, 3),
        "solve_time": round(wall_time, 3),
        "gap": round(gap, 4),
        "objective": objective,
        "status": status,
    }
    return row


def _tune_run(loaded: LoadedBatch, batch: BatchRequest, args: argparse.Namespace,
              setting: dict[str, float | None]) -> dict[str, Any]:
    """One setting solved, in process or (``--target``) on the server: its row."""
    if args.target:
        from convene.v1 import batch_pb2

        reply = solve_on_server(batch, args, named=loaded.named)
        return kpi_row(setting, reply.kpis, wall_time=reply.wall_time.ToTimedelta().total_seconds(), gap=reply.gap,
                       objective=reply.objective,
                       status=batch_pb2.BatchStatus.Name(reply.status).removeprefix("BATCH_STATUS_"))
    result = _solve(loaded, batch, args.scheduler, None)
    return kpi_row(setting, result.kpis, wall_time=result.wall_time, gap=result.gap, objective=result.objective,
                   status=result.status.value)


def write_tune(rows: list[dict[str, Any]], out: Path,
               settings: Sequence[dict[str, float | None]] | None = None) -> list[Path]:
    """kpis.csv, kpis.md and the plots (kpis.png, tradeoffs.png) under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    columns = list(rows[0])
    csv_path = out / "kpis.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    md_path = out / "kpis.md"
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [csv_path, md_path, *_plots(rows, out, settings or [{} for _ in rows])]


PLOTTED_KPIS = ("scheduled", "priority_scheduled", "alternates_used", "conflicts", "pool_load_spread",
                "mean_hours_from_window_start")
TRADEOFFS = (("mean_hours_from_window_start", "alternates_used"), ("mean_hours_from_window_start", "pool_load_spread"))


def varying_kpis(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The KPIs of ``PLOTTED_KPIS`` that differ between settings (a constant one says nothing)."""
    return [k for k in PLOTTED_KPIS if len({r[k] for r in rows}) > 1]


def varying_weight(settings: Sequence[dict[str, float | None]]) -> str | None:
    """The weight whose value varies most across the settings (the one to colour by)."""
    counts = {name: len({s.get(name) for s in settings}) for s in settings for name in s}
    varying = {name: n for name, n in counts.items() if n > 1}
    return max(varying, key=lambda name: (varying[name], name)) if varying else None


def pareto_front(points: Sequence[tuple[float, float]]) -> set[int]:
    """Indices of the points no other point beats on both axes (both minimized)."""
    front = set()
    for i, (x, y) in enumerate(points):
        if not any((ox <= x and oy <= y) and (ox, oy) != (x, y) for ox, oy in points):
            front.add(i)
    return front


def grouped_labels(rows: Sequence[dict[str, Any]], x: str, y: str) -> dict[tuple[float, float], str]:
    """One label per distinct point: settings with identical outcomes share it (never drawn twice)."""
    labels: dict[tuple[float, float], list[str]] = {}
    for r in rows:
        labels.setdefault((r[x], r[y]), []).append(r["setting"])
    return {point: names[0] if len(names) == 1 else f"{names[0]} (+{len(names) - 1} same)"
            for point, names in labels.items()}


def _plots(rows: list[dict[str, Any]], out: Path, settings: Sequence[dict[str, float | None]]) -> list[Path]:
    require_extra("plots", "convene tune's plots")
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    labels = [r["setting"] for r in rows]
    colour_by = varying_weight(settings)
    values = [s.get(colour_by) for s in settings] if colour_by else [None] * len(rows)
    levels = sorted({v for v in values if v is not None})
    palette = plt.get_cmap("viridis")

    def colour(n: int) -> Any:
        v = values[n]
        if v is None or len(levels) < 2:
            return "#4C72B0"
        return palette(levels.index(v) / (len(levels) - 1))

    shown = varying_kpis(rows) or ["scheduled"]
    columns = min(3, len(shown))
    fig, axes = plt.subplots((len(shown) + columns - 1) // columns, columns, figsize=(4.4 * columns, 3.6 *
                             ((len(shown) + columns - 1) // columns)), constrained_layout=True, squeeze=False)
    for ax in axes.flat[len(shown):]:
        ax.set_visible(False)
    for ax, kpi in zip(axes.flat, shown, strict=False):
        ax.bar(range(len(rows)), [r[kpi] for r in rows], color=[colour(n) for n in range(len(rows))])
        ax.set_title(kpi.replace("_", " "))
        ax.set_xticks(range(len(rows)), labels, rotation=60, ha="right", fontsize=7)
    constant = [k for k in PLOTTED_KPIS if k not in shown]
    title = "KPIs per weight setting" + (f" (coloured by {colour_by})" if colour_by else "")
    if constant:
        same = "the same in every setting: " + ", ".join(f"{k.replace('_', ' ')} = {rows[0][k]}" for k in constant)
        title += "\n" + textwrap.fill(same, width=45 * columns)
    fig.suptitle(title, fontsize=9)
    kpis_png = out / "kpis.png"
    fig.savefig(kpis_png, dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    for ax, (x, y) in zip(axes, TRADEOFFS, strict=True):
        points = [(float(r[x]), float(r[y])) for r in rows]
        front = pareto_front(points)
        ax.scatter([p[0] for p in points], [p[1] for p in points], c=[colour(n) for n in range(len(rows))],
                   s=36, zorder=2)
        ordered = sorted({points[i] for i in front})
        ax.scatter([p[0] for p in ordered], [p[1] for p in ordered], s=150, facecolors="none",
                   edgecolors="#DD8452", linewidths=1.5, zorder=3, label="Pareto front (no setting beats it on both)")
        if len(ordered) > 1:
            ax.plot([p[0] for p in ordered], [p[1] for p in ordered], color="#DD8452", linewidth=1, zorder=1)
        ax.margins(0.15)
        for k, (point, text) in enumerate(sorted(grouped_labels(rows, x, y).items())):
            # Alternate the offsets so that neighbouring labels do not sit on each other.
            ax.annotate(text, point, fontsize=7, xytext=(4, 4 + 10 * (k % 3)), textcoords="offset points")
        ax.set_xlabel(x.replace("_", " "))
        ax.set_ylabel(y.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("Trade-offs: waiting against alternates and against uneven pool load"
                 + (f" (coloured by {colour_by})" if colour_by else ""))
    tradeoffs_png = out / "tradeoffs.png"
    fig.savefig(tradeoffs_png, dpi=110)
    plt.close(fig)
    return [kpis_png, tradeoffs_png]


@_guarded
def run_tune_command(args: argparse.Namespace) -> int:
    loaded = load_batch(args.requests, args.config, args.tenant)
    base = _overrides(loaded, args)
    settings = weight_settings(args.grid, args.list)
    _writable(Path(args.out), "--out")
    if not args.target:
        _no_named_items(loaded)
    rows = []
    for n, setting in enumerate(settings, 1):
        batch = apply_weights(base, setting)
        try:
            row = _tune_run(loaded, batch, args, setting)
        except ServerRefused as exc:
            print(f"[{n}/{len(settings)}] {exc}", file=sys.stderr)
            return exc.code
        rows.append(row)
        print(f"[{n}/{len(settings)}] {row['setting']}: scheduled {row['scheduled']}/{len(batch.items)}, "
              f"objective {row['objective']:,.2f}, gap {row['gap']:.1%}", file=sys.stderr)
    written = write_tune(rows, Path(args.out), settings)
    print(Path(written[1]).read_text(encoding="utf-8"), end="")
    print("wrote " + ", ".join(str(p) for p in written))
    incomplete = [row["setting"] for row in rows if row["status"] == "UNKNOWN"]
    if incomplete:
        print(f"incomplete: {len(incomplete)} setting(s) left a part without a schedule", file=sys.stderr)
        return EXIT_INCOMPLETE
    return EXIT_OK


def add_batch_commands(subparsers: Any) -> None:
    """Adds ``batch`` and ``tune`` to the ``convene`` parser's subcommands."""
    for name, help_text, run in (
        ("batch", "optimize many bookings at once (docs/objective.md)", run_batch_command),
        ("tune", "run a batch under several weight settings and compare KPIs", run_tune_command),
    ):
        cmd = subparsers.add_parser(name, help=help_text)
        cmd.add_argument("requests", help="the batch JSON file")
        cmd.add_argument("--config", help="YAML config with the directory and calendars "
                                          "(default: the JSON's 'directory' section)")
        cmd.add_argument("--tenant", help="tenant of the directory (default: the JSON's, or the only one)")
        cmd.add_argument("--time-limit", type=float, help="seconds per run (default: the JSON's, else 10)")
        cmd.add_argument("--workers", type=int, help="parallel parts and CP-SAT workers (default: the JSON's, else 1)")
        cmd.add_argument("--work-limit", type=float,
                         help="deterministic mode: stop after this much work (CP-SAT's deterministic time, the "
                              "LP's iterations alike: about 4 s of a core each); same input, --seed and "
                              "--workers, same schedule")
        cmd.add_argument("--seed", type=int, help="the search's random seed (default: the JSON's, else 0)")
        cmd.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786): solve the parts there")
        cmd.add_argument("--target", help="host:port of a Convene server: solve there (OptimizeBatch, with the "
                                          "tenant's directory, calendars and bookings) instead of in this process"
                                          + ("; OUT.json is its result" if name == "batch" else ""))
        cmd.add_argument("--api-key", default=os.environ.get("CONVENE_API_KEY"),
                         help="with --target: API key (default: $CONVENE_API_KEY)")
        cmd.add_argument("--tls", action="store_true", help="with --target: call over TLS (the system's CAs)")
        cmd.add_argument("--ca", help="with --target: PEM file of the server's CA (implies --tls)")
        if name == "batch":
            cmd.add_argument("--out", default="batch-result", help="writes OUT.json and OUT.csv (default: %(default)s)")
            cmd.add_argument("--weights", nargs="+", default=[], metavar="NAME=VALUE",
                             help=f"override weights ({', '.join(WEIGHT_NAMES)}; priority=lex for priority first)")
            cmd.add_argument("--quiet", action="store_true", help="no progress line")
            cmd.add_argument("--commit", action="store_true",
                             help="with --target: book every scheduled item, all or nothing")
            cmd.add_argument("--request-id", help="with --commit: an id of your choice; a retry with it replays "
                                                  "the commit instead of booking again (with --job: the job)")
            cmd.add_argument("--job", action="store_true",
                             help="with --target: start a batch job and print its id instead of waiting for the "
                                  "result (convene job get|watch|cancel ID)")
        else:
            cmd.add_argument("--grid", nargs="+", default=[], metavar="NAME=V1,V2",
                             help="weights to vary; every combination is run")
            cmd.add_argument("--list", help="a file of settings instead: JSON list of objects, or NAME=VALUE lines")
            cmd.add_argument("--out", default="tune",
                             help="directory for kpis.csv, kpis.md, *.png (default: %(default)s)")
        cmd.set_defaults(run=run)
