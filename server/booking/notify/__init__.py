"""Telling the outside world about bookings: iCalendar invitations by SMTP,
events on the organizer's calendar, as outbox handlers (``handlers``)."""

from server.booking.notify.handlers import (
    CalendarResolver,
    NotYet,
    calendar_handlers,
    dropped_people,
    email_handlers,
    event_spec,
    event_to_update,
    event_uid,
    invitation_for,
)
from server.booking.notify.ical import Invitation, Method, build_calendar
from server.booking.notify.message import invitation_message
from server.booking.notify.smtp import MailError, SmtpMailer, SmtpSettings

__all__ = [
    "CalendarResolver",
    "Invitation",
    "MailError",
    "Method",
    "NotYet",
    "SmtpMailer",
    "SmtpSettings",
    "build_calendar",
    "calendar_handlers",
    "dropped_people",
    "email_handlers",
    "event_spec",
    "event_to_update",
    "event_uid",
    "invitation_for",
    "invitation_message",
]
