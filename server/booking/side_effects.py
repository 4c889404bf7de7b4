"""The outbox handlers the server runs after a booking commits or is cancelled.

    create_event / cancel_event   the organizer's calendar, through the provider
                                  configured for that member (an ICS file gets the
                                  VEVENT written into it; CalDAV, Google, ... the same way)
    send_invite / send_cancel     the customers' iCalendar email over SMTP
    update_event                  after a change: the organizer's event moved or changed in
                                  place (waits for create_event; then the busy cache forgets it)
    send_update / send_dropped    after a change: METHOD:REQUEST again (same UID, higher
                                  SEQUENCE) to the customers, METHOD:CANCEL to the people dropped

A side effect that cannot happen on this server is *skipped*, not retried
forever: without an ``smtp:`` section the emails are skipped ("email is
disabled"), and an organizer without a calendar gets no event. Such a handler
returns ``Skipped(reason)``: the task is recorded skipped, not done, and the API
shows it as ``SIDE_EFFECT_STATE_SKIPPED`` with the reason as its result.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from providers.base import CalendarProvider, CalendarRef
from server.booking.notify import SmtpMailer, SmtpSettings, calendar_handlers, email_handlers, event_to_update
from server.booking.store import BookingRecord, Handler, OutboxTask, Skipped, TaskKind, TaskStatus
from server.calendars.busy import ProviderCalendars
from server.config import ConfigError, SmtpConfig
from server.tenants import Tenant

__all__ = ["EMAIL_DISABLED", "booking_handlers", "describe_smtp", "smtp_settings"]

log = logging.getLogger("convene.server")

EMAIL_DISABLED = Skipped("email is disabled (the server's config has no smtp section)")
_EMAILS = (TaskKind.SEND_INVITE, TaskKind.SEND_CANCEL, TaskKind.SEND_UPDATE, TaskKind.SEND_DROPPED)


def booking_handlers(tenants: Mapping[str, Tenant], smtp: SmtpConfig | None) -> dict[str, Handler]:
    """Every side-effect kind's handler: calendar events through the organizer's provider,
    emails by SMTP (or skipped when ``smtp`` is None)."""
    handlers = _calendar(tenants)
    if smtp is None:
        handlers.update({kind.value: _skip for kind in _EMAILS})
    else:
        handlers.update(email_handlers(SmtpMailer(smtp_settings(smtp)),
                                       told_by_calendar=lambda booking: _told_by_calendar(tenants, booking)))
    return handlers


def _told_by_calendar(tenants: Mapping[str, Tenant], booking: BookingRecord) -> frozenset[str]:
    """The members (emails) the organizer's calendar source mails of a change itself (Outlook
    does: the panel are the attendees of the event it holds), so Convene's own mail skips them."""
    found = _organizer_calendar(tenants, booking)
    if found is None or not found[2][0].mails_attendees or not found[2][1].writable:
        return frozenset()
    return frozenset(m.email.lower() for m in found[0].directory.members.values() if m.email)


def _skip(task: OutboxTask) -> Skipped:
    return EMAIL_DISABLED


def smtp_settings(smtp: SmtpConfig) -> SmtpSettings:
    """The mailer's settings, the password read from its file or environment variable now."""
    password: str | None = None
    if smtp.password_file is not None:
        try:
            password = Path(smtp.password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"smtp.password_file: cannot read {smtp.password_file}: "
                              f"{exc.strerror or exc}") from None
    elif smtp.password_env is not None:
        password = os.environ.get(smtp.password_env)
        if password is None:
            raise ConfigError(f"smtp.password_env: the environment variable {smtp.password_env} is not set")
    try:
        return SmtpSettings(host=smtp.host, sender=smtp.sender, port=smtp.port, starttls=smtp.starttls,
                            username=smtp.username, password=password, sender_name=smtp.sender_name,
                            timeout=smtp.timeout_seconds,
                            ca_file=str(smtp.ca_file) if smtp.ca_file is not None else None)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


# --- The organizer's calendar --------------------------------------------------------------


def _organizer_calendar(tenants: Mapping[str, Tenant],
                        booking: BookingRecord) -> tuple[Tenant, str, tuple[CalendarProvider, CalendarRef]] | None:
    """The tenant, member id and (provider, calendar) of the booking's organizer; None
    when the organizer is no member with a configured calendar."""
    tenant = tenants.get(booking.tenant)
    email = booking.organizer.email.lower()
    if tenant is None or not email or not isinstance(tenant.calendars, ProviderCalendars):
        return None
    for member in tenant.directory.members.values():
        if member.email.lower() == email and member.id in tenant.calendars.calendars:
            return tenant, member.id, tenant.calendars.calendars[member.id]
    return None


def _calendar(tenants: Mapping[str, Tenant]) -> dict[str, Handler]:
    def resolve(booking: BookingRecord) -> tuple[CalendarProvider, CalendarRef]:
        found = _organizer_calendar(tenants, booking)
        if found is None:  # create_event/cancel_event below check first; a race with a config reload only
            raise LookupError(f"booking {booking.id}: the organizer has no calendar")
        return found[2]

    write = calendar_handlers(resolve)

    def create_event(task: OutboxTask) -> str | Skipped:
        found = _organizer_calendar(tenants, task.booking)
        if found is None:
            return Skipped(f"the organizer {task.booking.organizer.email or '(none)'} has no calendar")
        if not found[2][1].writable:
            return Skipped("the organizer's calendar is read only in the config (write: false)")
        result = write[TaskKind.CREATE_EVENT.value](task) or ""
        found[0].calendars.invalidate([found[1]])  # the organizer's next read sees the event
        return result

    def cancel_event(task: OutboxTask) -> str | Skipped:
        created = task.booking.side_effects.get(TaskKind.CREATE_EVENT.value)
        if created is not None and created.status is TaskStatus.SKIPPED:
            return Skipped("no event was made")
        found = _organizer_calendar(tenants, task.booking)
        if found is None:
            return Skipped("the organizer has no calendar any more")
        result = write[TaskKind.CANCEL_EVENT.value](task) or ""
        found[0].calendars.invalidate([found[1]])
        return result

    def update_event(task: OutboxTask) -> str | Skipped:
        why_not = event_to_update(task.booking)  # cancelled, no event, or (raises) not made yet
        if isinstance(why_not, Skipped):
            return why_not
        found = _organizer_calendar(tenants, task.booking)
        if found is None:
            return Skipped("the organizer has no calendar any more")
        if not found[2][1].writable:
            return Skipped("the organizer's calendar is read only in the config (write: false)")
        result = write[TaskKind.UPDATE_EVENT.value](task) or ""
        found[0].calendars.invalidate([found[1]])  # the organizer's next read sees the event where it is now
        return result

    return {TaskKind.CREATE_EVENT.value: create_event, TaskKind.CANCEL_EVENT.value: cancel_event,
            TaskKind.UPDATE_EVENT.value: update_event}


def describe_smtp(smtp: SmtpConfig | None) -> str:
    """One log line's worth about email, never the password."""
    if smtp is None:
        return "email disabled (no smtp section): invitations are skipped"
    tls = "STARTTLS" if smtp.starttls else "no TLS"
    login = f", login {smtp.username}" if smtp.username else ""
    return f"invitations by SMTP {smtp.host}:{smtp.port} ({tls}{login}) from {smtp.sender}"
