"""Every occurrence of a calendar's events, each ending where RFC 5545 says.

RFC 5545 (3.3.6) splits a duration into a nominal part (weeks and days: P1D
keeps the wall-clock time across a DST change) and an exact part (hours,
minutes, seconds: PT12H is twelve real hours), added in that order. An event
given with DTEND repeats with "the same exact duration" (3.8.5.3); one given
with DURATION repeats with that nominal duration, from each start.

Recurrences are expanded by recurring-ical-events (RRULE, RDATE, EXDATE,
RECURRENCE-ID, THISANDFUTURE), but its ends are corrected here, through the
extension points it documents (an adapter and an occurrence class), because
it computes them on the wall clock:

- ``DURATION:PT12H`` from 20:00 on the night New York falls back ends at
  07:00 wall clock, 13 real hours later (recurring-ical-events 3.8);
- a DTEND event's later occurrences get the wall-clock difference of
  DTSTART and DTEND, not its exact duration;
- an RDATE period given with a duration is added on the wall clock too.

tests/providers/test_recurrence.py holds a test per point that fails once
the library gets it right (then the correction can go).

icalendar reads DURATION values as a ``timedelta``, which forgets whether
``PT24H`` (exact) or ``P1D`` (nominal) was written. ``PARSING_TYPES`` makes
the parser keep that: a duration becomes an ``RfcDuration``, a ``timedelta``
that also knows its nominal part. A plain ``timedelta`` (a calendar built in
code) counts its days as nominal.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Self

import icalendar
import recurring_ical_events
from icalendar.prop import TypesFactory, vDDDLists, vDDDTypes
from recurring_ical_events.adapters.event import EventAdapter
from recurring_ical_events.occurrence import Occurrence
from recurring_ical_events.selection.name import ComponentsWithName

__all__ = ["PARSING_TYPES", "RfcDuration", "add_duration", "occurrences", "parse_ical"]

Time = date | datetime


class RfcDuration(timedelta):
    """A duration as written: ``nominal`` (weeks and days) and the exact rest."""

    nominal: timedelta

    def __new__(cls, nominal: timedelta, exact: timedelta, negative: bool = False) -> Self:
        total = -(nominal + exact) if negative else nominal + exact
        duration = super().__new__(cls, days=total.days, seconds=total.seconds, microseconds=total.microseconds)
        duration.nominal = -nominal if negative else nominal
        return duration

    @classmethod
    def parse(cls, text: str) -> timedelta:
        """``text`` as icalendar reads it, with its nominal part kept."""
        plain: timedelta = icalendar.vDuration.from_ical(text)  # type: ignore[no-untyped-call]  # raises if malformed
        body = text.strip().lstrip("+-").upper().removeprefix("P")
        date_part = body.partition("T")[0]
        weeks = int(date_part.partition("W")[0]) if "W" in date_part else 0
        days = int(date_part.split("W")[-1].partition("D")[0]) if "D" in date_part else 0
        nominal = timedelta(weeks=weeks, days=days)
        negative = plain < timedelta(0)
        return cls(nominal, abs(plain) - nominal, negative)

    @property
    def exact(self) -> timedelta:
        return timedelta(days=self.days, seconds=self.seconds, microseconds=self.microseconds) - self.nominal


def nominal_part(duration: timedelta) -> timedelta:
    """The weeks and days of ``duration`` (all its whole days, for a plain ``timedelta``)."""
    if isinstance(duration, RfcDuration):
        return duration.nominal
    return timedelta(days=duration.days)


def add_duration(start: Time, duration: timedelta) -> Time:
    """``start`` + ``duration`` by RFC 5545: the nominal part on the wall clock, then the exact part.

    A date plus whole days stays a date; a date plus hours becomes a floating
    date-time (as recurring-ical-events reads it). Floating times have no
    zone to be exact in: they move on the wall clock.
    """
    nominal = nominal_part(duration)
    exact = duration - nominal
    if not isinstance(start, datetime):
        if not exact:
            return start + nominal
        start = datetime.combine(start, time())
    wall = start + nominal  # aware + timedelta keeps the wall clock: nominal
    if wall.tzinfo is None or not exact:
        return wall + exact
    return (wall.astimezone(UTC) + exact).astimezone(wall.tzinfo)


def exact_difference(start: Time, end: Time) -> timedelta | None:
    """How long ``start`` to ``end`` lasts, to repeat it from another start (None: not comparable).

    Dates: whole days (nominal). Aware date-times: the real time between them.
    Floating date-times: the wall-clock difference.
    """
    if not isinstance(start, datetime) and not isinstance(end, datetime):
        return RfcDuration(end - start, timedelta(0))
    if isinstance(start, datetime) and isinstance(end, datetime):
        if (start.tzinfo is None) != (end.tzinfo is None):
            return None
        if start.tzinfo is None:
            return RfcDuration(timedelta(0), end - start)
        return RfcDuration(timedelta(0), end.astimezone(UTC) - start.astimezone(UTC))
    return None


class _ExactEvent(EventAdapter):  # type: ignore[misc]  # the library is untyped
    """recurring-ical-events' VEVENT adapter with RFC 5545 ends."""

    @property
    def raw_end(self) -> Time:
        component = self._component
        if "DTEND" in component or "DURATION" not in component:
            return super().raw_end  # type: ignore[no-any-return]
        return add_duration(component["DTSTART"].dt, component["DURATION"].dt)

    def end_from(self, start: Time, library_end: Any) -> Any:
        """The end of the occurrence of this component starting at ``start``."""
        for period_start, end_or_length in self._periods:
            if _same_instant(period_start, start):
                if isinstance(end_or_length, timedelta):
                    return add_duration(start, end_or_length)
                return end_or_length
        length = self._length
        return library_end if length is None else add_duration(start, length)

    # Read once per component, not per occurrence: icalendar's property access is slow.
    @functools.cached_property
    def _periods(self) -> list[tuple[Time, Any]]:
        return _periods(self._component)

    @functools.cached_property
    def _length(self) -> timedelta | None:
        component = self._component
        if "DTEND" in component:
            return exact_difference(component["DTSTART"].dt, component["DTEND"].dt)
        if "DURATION" in component:
            duration: timedelta = component["DURATION"].dt
            return duration
        return None


class _ExactOccurrence(Occurrence):  # type: ignore[misc]
    """An occurrence whose end is recomputed from its component (``_ExactEvent.end_from``)."""

    def __init__(self, adapter: Any, start: Any = None, end: Any = None, sequence: int = -1) -> None:
        super().__init__(adapter, start, end, sequence)
        if start is not None and isinstance(adapter, _ExactEvent):
            self.end: Any = adapter.end_from(start, self.end)


_EVENTS = ComponentsWithName("VEVENT", _ExactEvent, occurrence=_ExactOccurrence)


def occurrences(calendar: icalendar.Calendar, start: datetime, end: datetime) -> list[Any]:
    """Every occurrence of ``calendar``'s events overlapping ``[start, end)``, with RFC 5545 ends.

    Raises what recurring-ical-events raises for a calendar it cannot expand.
    """
    return list(recurring_ical_events.of(calendar, components=[_EVENTS]).between(start, end))


def _periods(component: icalendar.cal.Component) -> list[tuple[Time, Any]]:
    rdates = component.get("RDATE", [])
    periods: list[tuple[Time, Any]] = []
    for rdate in rdates if isinstance(rdates, list) else [rdates]:
        periods.extend(d.dt for d in rdate.dts if isinstance(d.dt, tuple))
    return periods


def _same_instant(a: Time, b: Time) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        if (a.tzinfo is None) != (b.tzinfo is None):
            return a.replace(tzinfo=None) == b.replace(tzinfo=None)
        return a == b
    return a == b


# --- Parsing durations as written ------------------------------------------------


class _DurationAsWritten(vDDDTypes):
    """A DURATION value read into an ``RfcDuration``."""

    @classmethod
    def from_ical(cls, ical: Any, timezone: Any = None) -> Any:
        if isinstance(ical, str) and ical.strip().upper().lstrip("+-").startswith("P"):
            return RfcDuration.parse(ical)
        return super().from_ical(ical, timezone=timezone)  # type: ignore[no-untyped-call]


class _DatesAsWritten(vDDDLists):
    """RDATE / EXDATE lists whose periods keep their durations as written."""

    @staticmethod
    def from_ical(ical: str, timezone: Any = None) -> list[Any]:
        values: list[Any] = []
        for item in ical.split(","):
            value = vDDDTypes.from_ical(item, timezone=timezone)  # type: ignore[no-untyped-call]
            if isinstance(value, tuple) and isinstance(value[1], timedelta):
                value = (value[0], RfcDuration.parse(item.partition("/")[2]))
            values.append(value)
        return values


def _parsing_types() -> TypesFactory:
    types = TypesFactory()
    types["duration"] = _DurationAsWritten
    types["date-time-list"] = _DatesAsWritten
    types.all_types = (*types.all_types, _DurationAsWritten, _DatesAsWritten)  # type: ignore[assignment]
    return types


PARSING_TYPES = _parsing_types()


class _CalendarAsWritten(icalendar.Calendar):
    """Only a parser: ``from_ical`` reads with ``PARSING_TYPES`` (the components are plain icalendar ones)."""

    types_factory = PARSING_TYPES


def parse_ical(data: str | bytes) -> list[icalendar.cal.Component]:
    """Every top-level component of ``data``, durations as written (``RfcDuration``)."""
    return list(_CalendarAsWritten.from_ical(data, multiple=True))
