"""Convene's gRPC server. Read it top down; one request flows

    service.py      authenticate (auth.py) and pick the caller's tenant (tenants.py)
    convert.py      request -> solver.SlotRequest (wire-level checks, field paths)
    solver          validate_request: every problem, one field violation each
    calendars.py    fetch busy: the tenant's calendars in parallel, under the deadline
    solver          find_slots / check_time: bitsets, then the assignment
    convert.py      result -> reply; conflict details via privacy.py only
    errors.py       any failure -> a gRPC status with rich details, never UNKNOWN

A booking (CreateBooking, CancelBooking, HoldSlot, ...) flows

    service.py           the same caller and tenant
    convert_booking.py   request -> booking.BookingRequest (the meeting as CheckTime converts it)
    booking.py           chosen seats -> re-check against fresh calendars -> store.create
                         (server/store: no double booking, idempotency, limits, the outbox)
    convert_booking.py   store record -> reply (side-effect states)
    errors.py            booking refusals -> FAILED_PRECONDITION, ALREADY_EXISTS, ... with details
    side_effects.py      after commit, the outbox worker's handlers: the organizer's calendar
                         event, the customers' emails (server/notify)

and where each tenant's calendars come from: calendar_config.py (a member's or
room's ``calendar:`` in the YAML) -> sources.py (one provider per account,
secrets read once) -> calendars.py.

Around it: config.py (the YAML file), booking_config.py (its ``smtp:`` and
``outbox:`` sections), app.py (create_server, the booking store and outbox
worker, health, reflection, graceful shutdown), cli.py (``convene serve |
slots | check | book | cancel | bookings``), render.py and render_booking.py
(terminal tables), demo.py (``make demo``), protogen.py (``make proto``).
"""
