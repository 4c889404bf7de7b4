"""What the server knows per tenant, built once at start from the config.

A ``Tenant`` holds its directory (solver.Directory), its meeting templates
(as configured: ``server.wire.directory`` serves them and merges overrides),
its calendars (a ``BusySource``) and its confirmed bookings (a
``BookingSource``). Tenants never share anything: a request only ever sees the
tenant its API key names, so another tenant's ids are NOT_FOUND.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from providers.base import CalendarProvider, CalendarRef
from providers.cache import BusyCache
from providers.fetch import Readers, SourceGuards
from server.calendars.busy import BusySource, MemoryCalendars, ProviderCalendars
from server.calendars.sources import CalendarSources
from server.config import CalendarSettings, CalendarSource, Config, LoopConfig, TemplateConfig, TenantConfig
from server.telemetry.metrics import set_breaker_state
from solver.domain import Booking, Directory, Member, Pool, Room, SlotRequest

__all__ = ["BookingSource", "MemoryBookings", "Tenant", "load_tenants"]


class BookingSource(Protocol):
    """A tenant's confirmed bookings of this engine."""

    def confirmed(self, start: datetime, end: datetime) -> Sequence[Booking]:
        """Bookings that matter for a window: those overlapping ``[start, end)`` plus the
        history the pools' round-robin order and load are counted from."""
        ...

    def for_request(self, directory: Directory, request: SlotRequest) -> Sequence[Booking]:
        """At least the bookings ``request`` depends on (``solver.needs``): those of its
        resources near its window, and what its pools' rules count."""
        ...

    def holding(self, resource_ids: Collection[str], start: datetime, end: datetime) -> Sequence[Booking]:
        """At least the bookings holding any of ``resource_ids`` whose meeting overlaps ``[start, end)``."""
        ...


@dataclass(frozen=True)
class MemoryBookings:
    """A fixed list of bookings (until the booking store serves them; tests, benchmarks)."""

    bookings: Sequence[Booking] = ()

    def confirmed(self, start: datetime, end: datetime) -> Sequence[Booking]:
        return self.bookings

    def for_request(self, directory: Directory, request: SlotRequest) -> Sequence[Booking]:
        return self.bookings

    def holding(self, resource_ids: Collection[str], start: datetime, end: datetime) -> Sequence[Booking]:
        return self.bookings


@dataclass(frozen=True)
class Tenant:
    id: str
    directory: Directory
    templates: Mapping[str, TemplateConfig] = field(default_factory=dict)
    calendars: BusySource = field(default_factory=MemoryCalendars)
    bookings: BookingSource = field(default_factory=MemoryBookings)
    loops: Mapping[str, LoopConfig] = field(default_factory=dict)  # loop templates (sequences)


def load_tenants(config: Config) -> dict[str, Tenant]:
    """Every tenant of ``config`` with its directory, templates and provider-backed calendars."""
    # One provider per calendar account, shared by the tenants that name it (same credentials, same access).
    sources = CalendarSources(config.calendars.timeout_seconds)
    settings = config.calendars
    # Per source, one bulkhead and one breaker for the whole server (every tenant reading it shares them).
    guards = SourceGuards(settings.read_policy(), on_state=set_breaker_state)
    return {tenant_id: _tenant(tenant_id, tc, sources, settings, guards) for tenant_id, tc in config.tenants.items()}


def _tenant(tenant_id: str, tc: TenantConfig, sources: CalendarSources, settings: CalendarSettings,
            guards: SourceGuards) -> Tenant:
    members = [
        Member(m.id, m.name, m.email, m.time_zone,
               m.working_hours.to_domain(m.time_zone) if m.working_hours else None,
               m.daily_limit, m.weekly_limit)
        for m in tc.members
    ]
    rooms = [
        Room(r.id, r.name, r.capacity, r.time_zone,
             r.opening_hours.to_domain(r.time_zone) if r.opening_hours else None, r.email)
        for r in tc.rooms
    ]
    pools = [
        Pool(p.id, tuple(p.resources), p.distribution, p.cycle, tuple(sorted(p.priorities.items())), p.name)
        for p in tc.pools
    ]
    calendars: dict[str, tuple[CalendarProvider, CalendarRef]] = {}
    for m in tc.members:
        if m.calendar is not None:
            calendars[m.id] = _calendar(sources, m.id, m.calendar, m.time_zone, default_owner=m.email)
    for r in tc.rooms:
        if r.calendar is not None:  # a room's calendar is read, never written (events go to the organizer's)
            calendars[r.id] = _calendar(sources, r.id, r.calendar, r.time_zone, default_owner="", writable=False)
    return Tenant(
        id=tenant_id,
        directory=Directory.of(members, rooms, pools),
        templates={t.id: t for t in tc.templates},
        loops={loop.id: loop for loop in tc.loops},
        # One cache and one set of reading threads per tenant: tenants never share anything, not
        # even cached reads, and one tenant's slow calendars never hold another's threads.
        calendars=ProviderCalendars(
            calendars, BusyCache(settings.cache_seconds) if settings.cache_seconds else None,
            settings.timeout_seconds, Readers(settings.reads_per_tenant, guards, name=f"convene-read-{tenant_id}")),
    )


def _calendar(sources: CalendarSources, resource_id: str, source: CalendarSource, time_zone: str,
              default_owner: str, *, writable: bool = True) -> tuple[CalendarProvider, CalendarRef]:
    """The provider and calendar of one member or room (server.calendars.sources builds and shares providers)."""
    return sources.calendar(resource_id, source, time_zone, default_owner, writable=writable)
