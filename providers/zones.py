"""Time zone names as calendars write them, resolved to zones and never guessed.

A name (an iCalendar TZID or X-WR-TIMEZONE, a Graph or Google ``timeZone``)
resolves, in this order (SCHEDULING.md, "Who is free"), to

1. the IANA time zone database entry of exactly that name (``Europe/Berlin``,
   ``US/Eastern``);
2. the IANA zone that CLDR's windowsZones.xml maps a Windows name to
   (``W. Europe Standard Time`` -> ``Europe/Berlin``). The table is the one
   icalendar generates from CLDR and ships (``WINDOWS_ZONES_VERSION`` names the
   CLDR commit), not one typed here;
3. the calendar's own VTIMEZONE of that TZID ("Customized Time Zone", as
   Outlook writes): each calendar's own, so two calendars may give one TZID
   different rules;
4. one of those names matched ignoring case and surrounding blanks
   (``europe/berlin``), only when exactly one zone matches.

Anything else (a Windows display name such as "(UTC+01:00) Amsterdam, Berlin,
...", a vendor prefix, a typo) raises ``UnknownZone``: the calendar that uses
it is unreadable, because reading it in some other zone would make its owner
look free at the wrong hours.

A known name wins over a VTIMEZONE of the same name (RFC 5545 would have the
VTIMEZONE define it), on evidence: such VTIMEZONEs are copies of the database
that servers damage (Radicale 3.9 keeps only the first value of each RDATE
list, so icalendar's VTIMEZONE for America/New_York comes back without its
DST changes after 1971) or that go stale when a country changes its rules;
the calendar's author meant the zone it names.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta, tzinfo

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from icalendar.timezone.windows_to_olson import version as WINDOWS_ZONES_VERSION

__all__ = ["WINDOWS_ZONES_VERSION", "UnknownZone", "iana_zone", "known_zone", "nearest_midnight", "quoted",
           "resolve_zone"]

# Files of the system's zoneinfo folder that are not zones of the database: the
# host's own setting ("localtime") must never be what a calendar's name means.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


class UnknownZone(ValueError):
    """A time zone name none of the rules resolves; ``name`` is the name as written."""

    def __init__(self, name: str, why: str = "") -> None:
        self.name = name
        self.why = why or "no VTIMEZONE of that TZID, and neither an IANA nor a Windows (CLDR) zone name"
        super().__init__(f"unknown time zone {quoted(name)} ({self.why})")


def quoted(name: str) -> str:
    """``name`` for a message: quoted, at most 100 characters (names come from untrusted calendars)."""
    return repr(name if len(name) <= 100 else name[:97] + "...")


def resolve_zone(name: str, local: Mapping[str, tzinfo] | None = None) -> tzinfo:
    """The zone ``name`` means; ``local`` holds the calendar's own VTIMEZONEs by TZID.

    Raises ``UnknownZone``.
    """
    local = local or {}
    exact = known_zone(name)
    if exact is not None:
        return exact
    if name in local:
        return local[name]
    matches: set[tuple[str, str]] = set(_caseless().get(_folded(name), ()))
    matches |= {("local", tzid) for tzid in local if _folded(tzid) == _folded(name)}
    if len(matches) == 1:
        kind, key = matches.pop()
        return local[key] if kind == "local" else zoneinfo.ZoneInfo(key)
    if matches:
        raise UnknownZone(name, f"matches {len(matches)} zones when case is ignored")
    raise UnknownZone(name)


def iana_zone(name: str) -> zoneinfo.ZoneInfo:
    """``name`` as an IANA zone by rules 2 to 4 (sources without VTIMEZONEs: Graph, Google).

    Raises ``UnknownZone``.
    """
    zone = resolve_zone(name)
    if not isinstance(zone, zoneinfo.ZoneInfo):  # pragma: no cover - every rule without local zones gives one
        raise UnknownZone(name)
    return zone


def nearest_midnight(moment: datetime, zone: tzinfo) -> datetime:
    """The midnight of ``zone`` nearest to ``moment`` (ties: the later), in UTC.

    Graph and EWS give an all-day event as midnights of the zone it was made
    in; this puts them on the owner's days: exact when it was made in the
    owner's zone, the right day for zones up to 12 hours apart.
    """
    local = moment.astimezone(zone)
    before = datetime.combine(local.date(), time(), zone)
    after = datetime.combine(local.date() + timedelta(days=1), time(), zone)
    return (before if moment - before < after - moment else after).astimezone(UTC)


def known_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone of an IANA or Windows name written exactly (rules 1 and 2), else None."""
    if name in _iana_names():
        return zoneinfo.ZoneInfo(name)
    mapped = WINDOWS_TO_OLSON.get(name)
    if mapped is not None and mapped in _iana_names():
        return zoneinfo.ZoneInfo(mapped)
    return None


def _folded(name: str) -> str:
    return name.strip().casefold()


@functools.cache
def _iana_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES)


@functools.cache
def _caseless() -> Mapping[str, frozenset[tuple[str, str]]]:
    """Folded name -> the IANA zones it may mean (``("iana", key)``), for rule 4."""
    targets: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
    for key in _iana_names():
        targets[_folded(key)].add(("iana", key))
    for windows, key in WINDOWS_TO_OLSON.items():
        if key in _iana_names():
            targets[_folded(windows)].add(("iana", key))
    return {name: frozenset(found) for name, found in targets.items()}
