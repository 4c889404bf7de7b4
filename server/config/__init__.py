"""Room ``config``, the lowest of the server: the YAML configuration as pydantic models.

    cli > api > batch > wire > booking > calendars > **config** > telemetry

``load_config(path)`` reads and checks a file; every other room takes the
resulting ``Config`` (or one of its sections) and nothing else of YAML. One
module per section: ``file`` (the whole file, its cross-references),
``tenants`` (members, rooms, pools, templates), ``server`` (address, keys,
limits, calendar settings), ``calendars`` (a member's ``calendar:``),
``booking`` (``smtp:`` and ``outbox:``), ``batch`` (``batch:``), and
``values`` (durations, hours, zones as people write them).
"""

from server.config.file import (
    ApiKeyConfig,
    CalendarSettings,
    CalendarSource,
    Config,
    ConfigError,
    IcsCalendar,
    LimitsConfig,
    LoopConfig,
    MemberConfig,
    OutboxSettings,
    PoolConfig,
    RoomConfig,
    SeatConfig,
    ServerSettings,
    SmtpConfig,
    TemplateConfig,
    TenantConfig,
    load_config,
    parse_config,
    parse_day_ranges,
    parse_duration,
)

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
