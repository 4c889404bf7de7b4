"""``convene check-config FILE``: every problem of a config, without serving it.

It checks what ``convene serve`` checks before it listens (the YAML and every
field and cross-reference, the transport: TLS files or ``plaintext``, the
extras the config needs, the booking database reachable, the secrets of
every calendar and of SMTP), and then reads every calendar once over the next
day, as ``serve`` does at start (where an unreadable one is only a warning:
requests count it busy). Each problem is one line naming where it is; a
calendar is checked even when another part of the file is invalid, so one run
lists them all. Nothing is written: no database file is created, no schema
migrated, nothing booked.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from providers.base import CalendarProvider, CalendarRef
from server.api.service import check_templates
from server.booking.side_effects import booking_handlers
from server.booking.store import StoreUnavailable
from server.booking.store.postgres import PoolSettings, PostgresBookingStore
from server.calendars.probe import probe_calendars
from server.calendars.sources import CalendarSources
from server.config import CalendarSettings, CalendarSource, Config, ConfigError, parse_config
from server.tenants import load_tenants
from solver.validate import is_zone

__all__ = ["check_config"]

_SOURCE: TypeAdapter[Any] = TypeAdapter(CalendarSource)


def check_config(path: str | Path) -> list[str]:
    """Every problem of the config at ``path`` (empty: it would serve)."""
    path = Path(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        return [f"{path}: cannot read: {exc.strerror or exc}"]
    except yaml.YAMLError as exc:
        return [f"{path}: not valid YAML: {exc}"]
    base_dir = path.resolve().parent
    problems: list[str] = []
    try:
        config: Config | None = parse_config(raw, base_dir=base_dir, source=str(path))
    except ConfigError as exc:
        problems += exc.problems
        config = None
    if config is not None:
        problems += _serve_checks(config)
    return problems + _calendar_checks(raw, base_dir, config)


def _serve_checks(config: Config) -> list[str]:
    """What ``serve`` refuses beyond the file's fields: transport, database, secrets."""
    problems: list[str] = []
    transport = config.server.transport_problem()
    if transport is not None:
        problems.append(transport)
    database = _database_problem(config.database_url)
    if database is not None:
        problems.append(f"database_url: {database}")
    try:
        tenants = load_tenants(config)
        booking_handlers(tenants, config.smtp)
        check_templates(tenants, config.limits.to_domain())  # what the API refuses in a template's rules
    except ConfigError as exc:
        problems += exc.problems
    return problems


def _database_problem(url: str) -> str | None:
    """Why the booking database cannot be used, without creating or migrating anything."""
    if url.startswith(("postgresql://", "postgres://")):
        try:
            PostgresBookingStore(url, pool=PoolSettings(min_size=0, max_size=1)).close()
        except StoreUnavailable as exc:
            return str(exc)
        return None
    if "://" in url and not url.startswith("sqlite:///"):
        return f"unsupported scheme {url.split(':', 1)[0]!r} (use sqlite:///path or postgresql://...)"
    target = Path(url.removeprefix("sqlite:///"))
    if target.exists():
        return None if os.access(target, os.R_OK | os.W_OK) else f"{target}: not readable and writable"
    existing = next((p for p in target.absolute().parents if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK):
        return f"{target}: cannot be created (no write access to {existing})"
    return None


def _calendar_checks(raw: Any, base_dir: Path, config: Config | None) -> list[str]:
    """Reads every calendar the file configures, each on its own (a bad field elsewhere does not stop it)."""
    settings = config.calendars if config is not None else CalendarSettings()
    sources = CalendarSources(settings.timeout_seconds)
    problems: list[str] = []
    tenants = raw.get("tenants") if isinstance(raw, dict) else None
    for tenant_id, tenant in (tenants or {}).items() if isinstance(tenants, dict) else ():
        where_of: dict[str, str] = {}
        calendars: dict[str, tuple[CalendarProvider, CalendarRef]] = {}
        for field in ("members", "rooms"):
            items = tenant.get(field) if isinstance(tenant, dict) else None
            for i, item in enumerate(items if isinstance(items, list) else []):
                if not isinstance(item, dict) or not isinstance(item.get("calendar"), dict):
                    continue
                where = f"tenants.{tenant_id}.{field}.{i}.calendar"
                try:  # a calendar the parse refused was reported there already
                    source = _SOURCE.validate_python(item["calendar"], context={"base_dir": base_dir})
                except ValidationError:
                    continue
                resource_id = str(item.get("id", f"{field}[{i}]"))
                zone = item.get("time_zone", "UTC")
                zone = zone if isinstance(zone, str) and is_zone(zone) else "UTC"
                owner = str(item.get("email", "")) if field == "members" else ""
                try:
                    calendars[resource_id] = sources.calendar(resource_id, source, zone, owner,
                                                              writable=field == "members")
                except ConfigError as exc:
                    problems.append(f"{where}: {exc}")
                    continue
                where_of[resource_id] = where
        failures = probe_calendars(calendars, datetime.now(UTC), timeout=settings.timeout_seconds)
        problems += [f"{where_of[r]}: cannot be read now: {why}" for r, why in failures.items()]
    sources.close()
    return problems
