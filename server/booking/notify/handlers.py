"""Outbox handlers for a booking's side effects, and how a booking becomes an
invitation or a calendar event.

    handlers = {**calendar_handlers(resolve), **email_handlers(mailer)}
    OutboxWorker(store, handlers).start()

Both keep the outbox's repeats harmless: the calendar event and the iCalendar
invitation share one UID per booking (``event_uid``), so a repeated write
replaces rather than duplicates, and every email has a stable Message-ID.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from providers.base import CalendarProvider, CalendarRef, EventSpec
from server.booking.notify.ical import Invitation, Method
from server.booking.notify.message import invitation_message
from server.booking.notify.smtp import MailError, SmtpMailer
from server.booking.store.model import BookingRecord, BookingStatus, OutboxTask, Person, TaskKind
from server.booking.store.outbox import Handler, PermanentTaskError

__all__ = ["CalendarResolver", "calendar_handlers", "email_handlers", "event_spec", "event_uid",
           "invitation_for"]

UID_DOMAIN = "convene"

# Which provider and calendar receive a booking's event (the organizer's, typically).
CalendarResolver = Callable[[BookingRecord], tuple[CalendarProvider, CalendarRef]]


def event_uid(booking_id: str) -> str:
    """The UID of a booking's calendar event and invitation, the same for its whole life."""
    return f"{booking_id}@{UID_DOMAIN}"


def invitation_for(booking: BookingRecord) -> Invitation:
    """The booking as an invitation: panel and optional members, then customers, once each."""
    people: dict[str, Person] = {}
    for person in (*booking.attendees, *booking.customers):
        people.setdefault(person.email.lower(), person)
    stamp = booking.cancelled_at if booking.cancelled_at is not None else booking.created_at
    return Invitation(uid=event_uid(booking.id), sequence=booking.sequence, title=booking.title,
                      start=booking.start, end=booking.end, time_zone=booking.time_zone,
                      organizer=booking.organizer, attendees=tuple(people.values()), stamp=stamp,
                      description=booking.description, location=booking.location)


def event_spec(booking: BookingRecord) -> EventSpec:
    """The booking as a calendar event for a provider."""
    invitation = invitation_for(booking)
    return EventSpec(uid=invitation.uid, title=booking.title, start=booking.start, end=booking.end,
                     time_zone=booking.time_zone, organizer_email=booking.organizer.email,
                     attendee_emails=tuple(p.email for p in invitation.attendees),
                     customer_emails=tuple(p.email for p in booking.customers),
                     location=booking.location, description=booking.description,
                     extra={"booking_id": booking.id})


def email_handlers(mailer: SmtpMailer, *, clock: Callable[[], datetime] | None = None) -> dict[str, Handler]:
    """``send_invite`` (METHOD:REQUEST) and ``send_cancel`` (METHOD:CANCEL) to the customers."""
    now = clock or (lambda: datetime.now(UTC))
    sender = Person(mailer.settings.sender, mailer.settings.sender_name)

    def send(task: OutboxTask, method: Method) -> str:
        booking = task.booking
        message = invitation_message(invitation_for(booking), method, sender=sender,
                                     recipients=booking.customers,
                                     message_id=f"<{booking.id}.{task.kind}@{UID_DOMAIN}>", sent_at=now())
        try:
            refused = mailer.send(message)
        except MailError as exc:
            if exc.permanent:
                raise PermanentTaskError(str(exc)) from None
            raise
        sent = len(booking.customers) - len(refused)
        return f"sent to {sent}" + (f", refused {', '.join(refused)}" if refused else "")

    def send_invite(task: OutboxTask) -> str:
        if task.booking.status is BookingStatus.CANCELLED:
            # send_cancel follows in any case; a fresh REQUEST right before it only confuses.
            return "not sent: cancelled first"
        return send(task, Method.REQUEST)

    def send_cancel(task: OutboxTask) -> str:
        return send(task, Method.CANCEL)

    return {TaskKind.SEND_INVITE.value: send_invite, TaskKind.SEND_CANCEL.value: send_cancel}


def calendar_handlers(resolve: CalendarResolver) -> dict[str, Handler]:
    """``create_event`` and ``cancel_event`` through the provider ``resolve`` names.

    ``create_event`` keeps the provider's event id as its result; ``cancel_event``
    cancels that id (nothing when no event was made).
    """

    def create_event(task: OutboxTask) -> str:
        provider, calendar = resolve(task.booking)
        return provider.create_event(calendar, event_spec(task.booking))

    def cancel_event(task: OutboxTask) -> str:
        created = task.booking.side_effects.get(TaskKind.CREATE_EVENT.value)
        event_id = created.result if created is not None else ""
        if not event_id:
            return "no event to cancel"
        provider, calendar = resolve(task.booking)
        provider.cancel_event(calendar, event_id)
        return event_id

    return {TaskKind.CREATE_EVENT.value: create_event, TaskKind.CANCEL_EVENT.value: cancel_event}
