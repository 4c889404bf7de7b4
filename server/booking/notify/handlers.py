"""Outbox handlers for a booking's side effects, and how a booking becomes an
invitation or a calendar event.

    handlers = {**calendar_handlers(resolve), **email_handlers(mailer)}
    OutboxWorker(store, handlers).start()

Both keep the outbox's repeats harmless: the calendar event and the iCalendar
invitation share one UID per booking (``event_uid``), so a repeated write
replaces rather than duplicates, and every email has a stable Message-ID.

A change of a booking (a reschedule, an update) raises its SEQUENCE and has three
effects, each working from the booking's latest snapshot:

    update_event   the organizer's event changed in place (the id create_event kept);
                   it waits (retries) while create_event has not run yet
    send_update    the customers get METHOD:REQUEST again: same UID, the higher SEQUENCE
    send_dropped   the people the change took off the meeting get METHOD:CANCEL
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from providers.base import CalendarProvider, CalendarRef, EventSpec
from server.booking.notify.ical import Invitation, Method
from server.booking.notify.message import invitation_message
from server.booking.notify.smtp import MailError, SmtpMailer
from server.booking.store.model import BookingRecord, BookingStatus, OutboxTask, Person, TaskKind, TaskStatus
from server.booking.store.outbox import Handler, PermanentTaskError, Skipped

__all__ = ["CalendarResolver", "NotYet", "calendar_handlers", "dropped_people", "email_handlers", "event_spec",
           "event_to_update", "event_uid", "invitation_for"]

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
    # DTSTAMP: when this version of the meeting was made, so a resend of one version is the same.
    stamp = booking.cancelled_at or booking.updated_at or booking.created_at
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
                     extra={"booking_id": booking.id}, sequence=booking.sequence)


class NotYet(Exception):
    """A side effect that must wait for another one (an ordinary failure: retried with backoff)."""


_NO_EVENT = Skipped("no event was made")


def event_to_update(booking: BookingRecord) -> str | Skipped:
    """The id of the event ``update_event`` changes (create_event's result), or why there is none.

    Raises ``NotYet`` while create_event has not run: the update is retried after it.
    """
    if booking.status is BookingStatus.CANCELLED:
        return Skipped("the booking is cancelled (cancel_event removes the event)")
    created = booking.side_effects.get(TaskKind.CREATE_EVENT.value)
    if created is None or created.status is TaskStatus.SKIPPED:
        return _NO_EVENT
    if created.status is TaskStatus.FAILED:
        return Skipped("no event was made (create_event failed)")
    if created.status is not TaskStatus.DONE:
        raise NotYet(f"create_event is {created.status}: the event is updated once it exists")
    return created.result or _NO_EVENT


def dropped_people(task: OutboxTask) -> tuple[Person, ...]:
    """The people of a send_dropped task's ``detail`` who are not (back) on the booking, once each.

    A detail that is no such list is a ``PermanentTaskError``: retrying cannot mend it.
    """
    try:
        entries = json.loads(task.detail or "[]")
        people = [Person(str(e["email"]), str(e.get("name", "") or "")) for e in entries]
    except (ValueError, TypeError, KeyError, AttributeError):
        raise PermanentTaskError(f"{task.kind}: detail is not a list of {{email, name}}") from None
    on_it = {p.email.lower() for p in (*task.booking.attendees, *task.booking.customers)}
    found: dict[str, Person] = {}
    for person in people:
        if person.email and person.email.lower() not in on_it:
            found.setdefault(person.email.lower(), person)
    return tuple(found.values())


_SENT_AT = "; sequence "


def invitation_sequence(result: str) -> int:
    """The SEQUENCE a done send_invite sent (its result says so when above 0)."""
    _, found, sequence = result.rpartition(_SENT_AT)
    return int(sequence) if found and sequence.isdigit() else 0


def email_handlers(mailer: SmtpMailer, *, clock: Callable[[], datetime] | None = None,
                   told_by_calendar: Callable[[BookingRecord], Collection[str]] | None = None) -> dict[str, Handler]:
    """``send_invite`` (METHOD:REQUEST) and ``send_cancel`` (METHOD:CANCEL) to the customers;
    after a change ``send_update`` (METHOD:REQUEST, the higher SEQUENCE) to them and
    ``send_dropped`` (METHOD:CANCEL) to the people the change dropped.

    ``told_by_calendar`` names (lower-case emails) the people the organizer's calendar
    source tells of the change itself (``CalendarProvider.mails_attendees``): they are
    left out of send_dropped.
    """
    now = clock or (lambda: datetime.now(UTC))
    told_elsewhere = told_by_calendar or (lambda booking: ())
    sender = Person(mailer.settings.sender, mailer.settings.sender_name)

    def send(task: OutboxTask, method: Method, *, recipients: Sequence[Person] | None = None,
             invitation: Invitation | None = None, wording: str = "", versioned: bool = False) -> str:
        booking = task.booking
        to = tuple(booking.customers if recipients is None else recipients)
        # Stable per (booking, kind) and, for the kinds a later change runs again, per SEQUENCE:
        # a repeat of one send is recognised as one, the next change's mail is a new message.
        version = f".{booking.sequence}" if versioned else ""
        message = invitation_message(invitation or invitation_for(booking), method, sender=sender,
                                     recipients=to, message_id=f"<{booking.id}.{task.kind}{version}@{UID_DOMAIN}>",
                                     sent_at=now(), wording=wording)
        try:
            refused = mailer.send(message)
        except MailError as exc:
            if exc.permanent:
                raise PermanentTaskError(str(exc)) from None
            raise
        sent = len(to) - len(refused)
        return f"sent to {sent}" + (f", refused {', '.join(refused)}" if refused else "")

    def send_invite(task: OutboxTask) -> str:
        if task.booking.status is BookingStatus.CANCELLED:
            # send_cancel follows in any case; a fresh REQUEST right before it only confuses.
            return "not sent: cancelled first"
        sent = send(task, Method.REQUEST)
        # Changed before it went out: the invitation shows the change already (send_update reads this).
        return f"{sent}{_SENT_AT}{task.booking.sequence}" if task.booking.sequence else sent

    def send_cancel(task: OutboxTask) -> str:
        return send(task, Method.CANCEL)

    def send_update(task: OutboxTask) -> str | Skipped:
        booking = task.booking
        if booking.status is BookingStatus.CANCELLED:
            return Skipped("the booking is cancelled (send_cancel tells the customers)")
        if not booking.customers:
            return Skipped("no customers to tell")
        invite = booking.side_effects.get(TaskKind.SEND_INVITE.value)
        if invite is not None and invite.status in (TaskStatus.PENDING, TaskStatus.RUNNING):
            raise NotYet(f"send_invite is {invite.status}: the update follows the invitation")
        if invite is not None and invite.status is TaskStatus.DONE and invitation_sequence(invite.result) >= \
                booking.sequence:
            return Skipped(f"the invitation went out after the change (SEQUENCE {booking.sequence})")
        return send(task, Method.REQUEST, wording="update", versioned=True)

    def send_dropped(task: OutboxTask) -> str | Skipped:
        people = dropped_people(task)
        if not people:
            return Skipped("nobody was dropped")
        told = {e.lower() for e in told_elsewhere(task.booking)}
        people = tuple(p for p in people if p.email.lower() not in told)
        if not people:
            return Skipped("the organizer's calendar tells the dropped people itself")
        # The CANCEL names only them: for the others the meeting goes on (RFC 5546, 3.2.5).
        invitation = replace(invitation_for(task.booking), attendees=people)
        return send(task, Method.CANCEL, recipients=people, invitation=invitation, wording="dropped",
                    versioned=True)

    return {TaskKind.SEND_INVITE.value: send_invite, TaskKind.SEND_CANCEL.value: send_cancel,
            TaskKind.SEND_UPDATE.value: send_update, TaskKind.SEND_DROPPED.value: send_dropped}


def calendar_handlers(resolve: CalendarResolver) -> dict[str, Handler]:
    """``create_event``, ``update_event`` and ``cancel_event`` through the provider ``resolve`` names.

    ``create_event`` keeps the provider's event id as its result; ``update_event``
    changes that event in place (``event_to_update``); ``cancel_event`` cancels
    that id (nothing when no event was made).
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

    def update_event(task: OutboxTask) -> str | Skipped:
        event_id = event_to_update(task.booking)
        if isinstance(event_id, Skipped):
            return event_id
        provider, calendar = resolve(task.booking)
        return provider.update_event(calendar, event_id, event_spec(task.booking))

    return {TaskKind.CREATE_EVENT.value: create_event, TaskKind.CANCEL_EVENT.value: cancel_event,
            TaskKind.UPDATE_EVENT.value: update_event}
