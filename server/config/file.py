"""The server's YAML configuration, as pydantic models (the edge; plain dataclasses inside).

    server:      {address, max_concurrent_rpcs, worker_threads, grace_seconds, plaintext, tls}
    calendars:   {timeout_seconds, cache_seconds}
    database_url: sqlite:///var/convene.sqlite3   (or postgresql://user@host:5432/db)
    database_pool: {min_size, max_size, max_lifetime_seconds, max_idle_seconds, timeout_seconds}
    smtp:        {host, port, starttls, username, password_file | password_env, sender}
    outbox:      {poll_seconds, lease_seconds, retry_base_seconds, retry_max_seconds}
    limits:      solver.Limits fields
    api_keys:    [{key | key_sha256, tenant, principal}]
    metrics:     {address}                       (server/config/telemetry.py)
    tracing:     {otlp_endpoint, insecure, service_name, sample_ratio}
    logging:     {format: text | json, access_log}
    tenants:
      <tenant id>:
        members:   [{id, name, email, time_zone, working_hours, daily_limit, weekly_limit, calendar}]
        rooms:     [{id, name, capacity, time_zone, opening_hours, email, calendar}]
        pools:     [{id, name, members | rooms, distribution, cycle, priorities}]
        templates: [{id, name, description, duration, seats, ...}]

Values (durations, hours) are written as ``server.config.values`` says. Relative calendar
paths are resolved against the directory of the config file. ``load_config``
checks every cross-reference (pool members, template seats, API key tenants)
so a bad file fails at start with the field named, never at the first request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from server.config.batch import BatchSettings
from server.config.booking import DatabasePoolSettings, OutboxSettings, SmtpConfig
from server.config.calendars import CalendarSource, IcsCalendar
from server.config.server import ApiKeyConfig, CalendarSettings, LimitsConfig, ServerSettings
from server.config.telemetry import LoggingSettings, MetricsSettings, TracingSettings
from server.config.tenants import (
    LoopConfig,
    MemberConfig,
    PoolConfig,
    RoomConfig,
    SeatConfig,
    TemplateConfig,
    TenantConfig,
)
from server.config.values import ConfigError, Strict, parse_day_ranges, parse_duration

__all__ = [
    "ApiKeyConfig",
    "CalendarSettings",
    "CalendarSource",
    "Config",
    "ConfigError",
    "IcsCalendar",
    "LimitsConfig",
    "LoopConfig",
    "MemberConfig",
    "OutboxSettings",
    "PoolConfig",
    "RoomConfig",
    "SeatConfig",
    "ServerSettings",
    "SmtpConfig",
    "TemplateConfig",
    "TenantConfig",
    "load_config",
    "parse_config",
    "parse_day_ranges",
    "parse_duration",
]


class Config(Strict):
    server: ServerSettings = Field(default_factory=ServerSettings)
    calendars: CalendarSettings = Field(default_factory=CalendarSettings)
    database_url: str = "sqlite:///var/convene.sqlite3"
    # PostgreSQL: each process's connection pool (server/config/booking.py).
    database_pool: DatabasePoolSettings = Field(default_factory=DatabasePoolSettings)
    # Bookings' side effects (server/config/booking.py): no smtp section, no emails.
    smtp: SmtpConfig | None = None
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    # OptimizeBatch's limits and Dask schedulers (server/config/batch.py).
    batch: BatchSettings = Field(default_factory=BatchSettings)
    api_keys: list[ApiKeyConfig] = Field(default_factory=list)
    # What operators see (server/config/telemetry.py): no metrics endpoint and no traces unless configured.
    metrics: MetricsSettings | None = None
    tracing: TracingSettings | None = None
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    tenants: dict[str, TenantConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys_name_tenants(self) -> Config:
        problems = [f"api_keys[{i}]: unknown tenant {k.tenant!r}"
                    for i, k in enumerate(self.api_keys) if k.tenant not in self.tenants]
        certificates = self.server.tls.client_certificates if self.server.tls is not None else []
        problems += [f"server.tls.client_certificates[{i}]: unknown tenant {c.tenant!r}"
                     for i, c in enumerate(certificates) if c.tenant not in self.tenants]
        plain = [k.key for k in self.api_keys if k.key is not None]
        if len(set(plain)) != len(plain):
            problems.append("api_keys: the same key is listed twice")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def load_config(path: str | Path) -> Config:
    """Reads and checks a YAML config; raises ConfigError naming each bad field."""
    path = Path(path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_config(data or {}, base_dir=path.resolve().parent, source=str(path))


def parse_config(data: Any, *, base_dir: Path | None = None, source: str = "config") -> Config:
    """Checks an already-parsed config mapping (tests build them in code)."""
    try:
        return Config.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"{source}: invalid configuration\n" + "\n".join(f"  {p}" for p in problems),
                          problems) from exc

