"""The invitation email: a text part and the iCalendar part mail clients act on.

``multipart/alternative`` with ``text/plain`` and
``text/calendar; method=REQUEST`` (or CANCEL), the shape calendar-aware mail
clients recognise as an invitation. The Message-ID is fixed per booking and
kind (and SEQUENCE, for the mails a change sends), so a repeated send (the
outbox's at-least-once window) carries the same id and receivers that
deduplicate by Message-ID show it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

from server.booking.notify.ical import Invitation, Method, build_calendar
from server.booking.store.model import Person

__all__ = ["invitation_message"]


# What the subject and the first line of the text say: (subject verb, lead line) per wording.
_WORDING = {
    "invite": ("Invitation", "You are invited to a meeting."),
    "cancel": ("Cancelled", "This meeting has been cancelled."),
    "update": ("Updated", "This meeting has changed; below is how it is now."),
    "dropped": ("Removed", "You are no longer on this meeting; it goes on without you."),
}


def invitation_message(invitation: Invitation, method: Method, *, sender: Person,
                       recipients: Sequence[Person], message_id: str, sent_at: datetime,
                       wording: str = "") -> EmailMessage:
    """The email carrying ``invitation`` to ``recipients``. ``wording`` picks the subject and
    lead line ("invite", "cancel", "update", "dropped"; default: the method's)."""
    message = EmailMessage()
    verb, lead = _WORDING[wording or ("cancel" if method is Method.CANCEL else "invite")]
    message["Subject"] = f"{verb}: {invitation.title}" if invitation.title else verb
    message["From"] = formataddr((sender.name, sender.email))
    message["To"] = ", ".join(formataddr((p.name, p.email)) for p in recipients)
    if invitation.organizer.email:
        message["Reply-To"] = formataddr((invitation.organizer.name, invitation.organizer.email))
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(sent_at)
    message.set_content(_text(invitation, lead))
    calendar = build_calendar(invitation, method).decode("utf-8")
    message.add_alternative(calendar, subtype="calendar", params={"method": method.value})
    return message


def _text(invitation: Invitation, lead: str) -> str:
    zone = ZoneInfo(invitation.time_zone)
    start, end = invitation.start.astimezone(zone), invitation.end.astimezone(zone)
    lines = [lead,
             "",
             f"What:  {invitation.title or '(untitled)'}",
             f"When:  {start:%A %d %B %Y, %H:%M} - {end:%H:%M} ({invitation.time_zone})"]
    if invitation.location:
        lines.append(f"Where: {invitation.location}")
    if invitation.organizer.email:
        lines.append(f"Organizer: {formataddr((invitation.organizer.name, invitation.organizer.email))}")
    if invitation.description:
        lines += ["", invitation.description]
    return "\n".join(lines) + "\n"
