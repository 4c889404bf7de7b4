"""Room ``wire``: proto <-> domain, as pure functions, one module per message family.

    cli > api > batch > **wire** > booking > calendars > config > telemetry

``slots`` (FindSlots, CheckTime, the shared field-path translation),
``schedule`` (GetSchedule), ``booking`` (CreateBooking, holds, lists, booking records out), ``batch``
(OptimizeBatch), ``jobs`` (batch jobs), ``directory`` (members, rooms, pools, templates) and
``paging`` (opaque page tokens), ``webhooks`` (endpoints and deliveries), ``sequences``
(FindSequences, CheckSequence, BookSequence). Proto messages cross no room below this one:
what goes down is domain data (solver types, ``booking.desk.BookingRequest``).
"""

from server.wire import batch, booking, directory, jobs, paging, schedule, sequences, slots, webhooks

__all__ = ["batch", "booking", "directory", "jobs", "paging", "schedule", "sequences", "slots", "webhooks"]
