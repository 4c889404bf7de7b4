"""Calendar fetch: 50 member calendars on a real Radicale CalDAV server on loopback.

The busy time of ``pool_50``'s 50 interviewers (four weeks, about 40% busy)
is written as events into one calendar each, straight into Radicale's
storage folder before it starts (thousands of PUTs would time the setup, not
the fetch). Then ``fetch_busy`` reads all 50 for the request's span:

- ``first_ms``: the very first fetch (Radicale still cold);
- ``cold_ms``: median over fresh ``BusyCache`` objects (every calendar read);
- ``warm_ms``: median with a warm cache (no provider call at all, checked).

With the ``panel_4w`` instance loaded the same way, ``e2e_warm_ms`` is a
FindSlots over a warm cache the old way (``fetch_busy``'s interval list, which
``find_slots`` converts to arrays on every call), ``e2e_warm_server_ms`` the
way the server does it now (``ProviderCalendars`` hands ``find_slots`` a
``BusyTable`` sliced from the arrays each cache entry built once), next to
``in_memory_ms`` (``find_slots`` on in-memory busy). ``slot_mismatches`` and
``server_slot_mismatches`` count starts or costs that differ from in memory.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.scenarios import Instance, panel_4w, pool_50
from providers.base import CalendarRef
from providers.cache import BusyCache
from providers.caldav_source import CalDavProvider
from providers.fetch import FetchResult, fetch_busy
from server.calendars.busy import ProviderCalendars
from solver import find_slots
from solver.domain import BusyInterval, BusyKind, SlotRequest
from tests.providers.radicale_server import Radicale

SCENARIO = "fetch-50"
COLD_RUNS = 5
WARM_RUNS = 20
E2E_RUNS = 10
USER = "bench"


def run() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="convene-fetch-") as folder:
        root = Path(folder)
        pool = pool_50()
        interviewers = [m for m in pool[0].members if m.startswith("interviewer-")][:50]
        panel = panel_4w()
        panel_ids = sorted(set(panel[0].members) | set(panel[0].rooms))
        write_calendars(root / "storage", "pool", pool[1], interviewers)
        write_calendars(root / "storage", "panel", panel[1], panel_ids)
        server = Radicale(root)
        try:
            provider = CalDavProvider(server.url, USER, "unused", timeout=30)
            rows = fetch_rows(provider, pool, interviewers)
            rows += end_to_end_rows(provider, panel, panel_ids)
        finally:
            provider.close()
            server.stop()
    return rows


def write_calendars(storage: Path, prefix: str, busy: Iterable[BusyInterval], resource_ids: list[str]) -> None:
    """One calendar collection per resource, one event file per busy interval (Radicale's
    multifilesystem layout: a folder with ``.Radicale.props`` and an ``.ics`` per item)."""
    by_resource: dict[str, list[BusyInterval]] = defaultdict(list)
    for interval in busy:
        by_resource[interval.resource_id].append(interval)
    home = storage / "collection-root" / USER
    home.mkdir(parents=True, exist_ok=True)
    for resource_id in resource_ids:
        collection = home / f"{prefix}-{resource_id}"
        collection.mkdir()
        (collection / ".Radicale.props").write_text(json.dumps({"tag": "VCALENDAR"}))
        for n, interval in enumerate(by_resource[resource_id]):
            (collection / f"e{n}.ics").write_text(_event(f"{prefix}-{resource_id}-{n}", interval))


def _event(uid: str, interval: BusyInterval) -> str:
    extra = {BusyKind.TENTATIVE: "STATUS:TENTATIVE\r\n",
             BusyKind.OUT_OF_OFFICE: "X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n"}.get(interval.kind, "")
    stamp = "%Y%m%dT%H%M%SZ"
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Convene bench//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20250101T000000Z\r\n"
            f"DTSTART:{interval.start.astimezone(UTC).strftime(stamp)}\r\n"
            f"DTEND:{interval.end.astimezone(UTC).strftime(stamp)}\r\n"
            f"SUMMARY:busy\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n")


def _refs(server_prefix: str, resource_ids: list[str]) -> list[CalendarRef]:
    return [CalendarRef(r, f"/{USER}/{server_prefix}-{r}/", owner=f"{r}@example.org") for r in resource_ids]


def _span(request: SlotRequest) -> tuple[datetime, datetime]:
    cell = timedelta(minutes=request.resolution)
    return (request.window_start - request.buffer_before - cell, request.window_end + request.buffer_after + cell)


def _fetch(provider: CalDavProvider, refs: list[CalendarRef], span: tuple[datetime, datetime],
           cache: BusyCache | None) -> tuple[float, FetchResult]:
    began = time.perf_counter()
    result = fetch_busy([(provider, refs)], *span, deadline=time.monotonic() + 120, per_source_timeout=120,
                        cache=cache)
    if result.failures:
        raise RuntimeError(f"fetch failed: {result.failures}")
    return (time.perf_counter() - began) * 1000, result


def fetch_rows(provider: CalDavProvider, instance: Instance, resource_ids: list[str]) -> list[dict[str, object]]:
    refs = _refs("pool", resource_ids)
    span = _span(instance[2])
    first_ms, first = _fetch(provider, refs, span, None)
    cold = [_fetch(provider, refs, span, BusyCache(ttl=600))[0] for _ in range(COLD_RUNS)]
    cache = BusyCache(ttl=600)
    _fetch(provider, refs, span, cache)
    warm_results = [_fetch(provider, refs, span, cache) for _ in range(WARM_RUNS)]
    calls_when_warm = sum(r.fetched for _, r in warm_results)
    return [
        _row("calendars", len(refs), "calendars"),
        _row("events", len(first.busy), "intervals"),
        _row("first_ms", first_ms, "ms"),
        _row("cold_ms", statistics.median(cold), "ms"),
        _row("warm_ms", statistics.median(t for t, _ in warm_results), "ms", "<= 5"),
        _row("provider_calls_warm", calls_when_warm, "calendars", "== 0"),
    ]


def end_to_end_rows(provider: CalDavProvider, instance: Instance,
                    resource_ids: list[str]) -> list[dict[str, object]]:
    directory, busy, request, bookings = instance
    refs = _refs("panel", resource_ids)
    span = _span(request)
    cache = BusyCache(ttl=600)
    _fetch(provider, refs, span, cache)

    def e2e() -> object:
        _, fetched = _fetch(provider, refs, span, cache)
        return find_slots(directory, fetched.busy, request, bookings)

    calendars = ProviderCalendars({ref.resource_id: (provider, ref) for ref in refs}, cache, source_timeout=120)

    def server_path() -> object:
        fetched = calendars.busy(resource_ids, *span, deadline=time.monotonic() + 120)
        if fetched.unavailable:
            raise RuntimeError(f"fetch failed: {fetched.unavailable}")
        return find_slots(directory, fetched.table, request, bookings)

    def in_memory() -> object:
        return find_slots(directory, busy, request, bookings)

    from_calendars, from_server, memory = e2e(), server_path(), in_memory()
    return [
        _row("e2e_warm_ms", _median_ms(e2e, E2E_RUNS), "ms"),
        _row("e2e_warm_server_ms", _median_ms(server_path, E2E_RUNS), "ms"),
        _row("in_memory_ms", _median_ms(in_memory, E2E_RUNS), "ms"),
        _row("slot_mismatches", _mismatches(from_calendars, memory), "starts", "== 0"),
        _row("server_slot_mismatches", _mismatches(from_server, memory), "starts", "== 0"),
    ]


def _median_ms(work: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def _mismatches(a: object, b: object) -> int:
    ours = {s.start: s.cost for s in getattr(a, "slots", ())}
    theirs = {s.start: s.cost for s in getattr(b, "slots", ())}
    differing = sum(abs(ours[t] - theirs[t]) > 1e-6 for t in ours.keys() & theirs.keys())
    return len(ours.keys() ^ theirs.keys()) + int(differing)


def _row(metric: str, value: float, unit: str, target: str = "") -> dict[str, object]:
    row: dict[str, object] = {"scenario": SCENARIO, "metric": metric, "value": round(float(value), 3), "unit": unit}
    if target:
        row["target"] = target
    return row


if __name__ == "__main__":
    for result_row in run():
        print(result_row)
