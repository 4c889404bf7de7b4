"""The one small interface every calendar source implements.

A provider answers two questions for the engine: *when is this calendar
blocked* (``busy``) and *put / change / remove this meeting* (``create_event`` /
``update_event`` / ``cancel_event``). Everything else (credentials, paging, recurrence expansion,
rate limits) stays inside the provider's own module.

Rules every provider follows (SCHEDULING.md, "Who is free"):
- only blocking events are returned: busy, tentative, out-of-office;
  free/transparent, cancelled and declined events are dropped;
- an event with a start and neither end nor duration blocks nothing;
- all-day events block their day in the calendar owner's zone;
- recurring events are expanded (RRULE, RDATE, EXDATE, RECURRENCE-ID);
- every instant returned is timezone-aware UTC;
- ``details`` is filled only when the source gave them (never for free/busy-only access);
- a calendar that cannot be read raises ``ProviderError`` (never "no events").
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from solver.domain import BusyInterval

__all__ = ["CalendarProvider", "CalendarRef", "EventSpec", "ProviderError"]


@dataclass(frozen=True)
class CalendarRef:
    """Which calendar of which resource: ``calendar_id`` is the source's own id
    (a file path, an email address, a CalDAV URL); ``owner`` is the principal
    who owns it; ``time_zone`` is the owner's zone, for all-day events."""

    resource_id: str
    calendar_id: str
    owner: str = ""
    time_zone: str = "UTC"
    details_allowed: bool = True  # False: free/busy only, whatever the source could give
    writable: bool = True  # False: the engine never writes events here (a room, or ``write: false``)


@dataclass(frozen=True)
class EventSpec:
    """A meeting to put on a calendar. ``uid`` is stable per booking, so a retry
    of ``create_event`` replaces rather than duplicates.

    ``customer_emails`` are the attendees Convene itself sends the invitation
    to (its iCalendar email, under ``uid``): a source that would mail the
    attendees of the events it creates leaves them out, so nobody gets two.
    """

    uid: str
    title: str
    start: datetime
    end: datetime
    time_zone: str = "UTC"
    organizer_email: str = ""
    attendee_emails: tuple[str, ...] = ()
    customer_emails: tuple[str, ...] = ()
    location: str = ""
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    sequence: int = 0


class ProviderError(Exception):
    """A calendar could not be read or written.

    ``retry_after`` is seconds the source asked us to wait (HTTP 429/503), if any.
    The message never contains credentials.
    """

    def __init__(self, resource_id: str, reason: str, *, retry_after: float | None = None,
                 transient: bool = True) -> None:
        self.resource_id = resource_id
        self.reason = reason
        self.retry_after = retry_after
        self.transient = transient
        super().__init__(f"{resource_id}: {reason}")

    def for_resource(self, resource_id: str) -> ProviderError:
        """The same failure said of ``resource_id`` (a request for many calendars failed for each)."""
        return ProviderError(resource_id, self.reason, retry_after=self.retry_after, transient=self.transient)


class CalendarProvider(abc.ABC):
    """A calendar source: one instance serves many calendars of one kind.

    ``max_batch`` is how many calendars the source answers in one request
    (Google's freebusy takes 50); ``providers.fetch`` splits work by it and
    runs the pieces in parallel. Sources that read one calendar per request
    keep 1.

    ``mails_attendees`` is True for a source that itself mails the attendees of
    the events it writes, changes and removes (Outlook, through Graph): Convene
    then leaves those people to it, so nobody gets two messages for one change.
    """

    name: str = "provider"
    max_batch: int = 1
    mails_attendees: bool = False

    @abc.abstractmethod
    def busy(self, calendars: Sequence[CalendarRef], start: datetime, end: datetime) -> list[BusyInterval]:
        """Blocking intervals overlapping ``[start, end)`` on each calendar.

        Raises ``ProviderError`` naming the first calendar that could not be read.
        """

    def busy_each(self, calendars: Sequence[CalendarRef], start: datetime,
                  end: datetime) -> tuple[list[BusyInterval], dict[str, ProviderError]]:
        """Like ``busy`` but per calendar: the intervals of every calendar that could be
        read, and the error of each one that could not (keyed by resource id).

        The default asks ``busy`` one calendar at a time; batching sources
        (``providers.batched.BatchedProvider``) override it to report partial
        failures of one request.
        """
        busy: list[BusyInterval] = []
        errors: dict[str, ProviderError] = {}
        for ref in calendars:
            try:
                busy.extend(self.busy([ref], start, end))
            except ProviderError as exc:
                errors[ref.resource_id] = exc
        return busy, errors

    @abc.abstractmethod
    def create_event(self, calendar: CalendarRef, event: EventSpec) -> str:
        """Puts ``event`` on ``calendar`` (idempotent by ``event.uid``); returns the source's event id."""

    @abc.abstractmethod
    def update_event(self, calendar: CalendarRef, event_id: str, event: EventSpec) -> str:
        """Changes the event ``create_event`` made (``event_id``, its answer) to ``event``, in
        place: the same event, not a new one beside it. Returns the event id, the same one.

        Sources that address events by the uid (ICS, CalDAV, Google's derived id)
        write a missing event anew; sources whose ids they assign themselves
        (Graph, Exchange) raise a non-transient ``ProviderError`` for it.
        """

    @abc.abstractmethod
    def cancel_event(self, calendar: CalendarRef, event_id: str) -> None:
        """Removes (or cancels) the event; a missing event is not an error."""

    def source_of(self, ref: CalendarRef) -> str | None:
        """The remote end that serves ``ref``, as reasons may name it (no path, token or secret).

        ``providers.fetch`` bounds the concurrent reads of each source and keeps
        a circuit breaker per source (of this provider). None: a local source
        that needs neither (a file). The default is one source per provider:
        its account.
        """
        return "account"

    def close(self) -> None:  # noqa: B027 - optional hook
        """Releases connections; the default has none."""
