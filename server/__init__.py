"""Convene's server, in rooms by capability. A room imports only the rooms below it
(cli > api > batch > wire > booking > calendars > config > telemetry):

    cli/        the ``convene`` command: serve, slots, check, book, ..., batch, tune; the demo
    api/        the gRPC surface: thin servicers, server assembly, auth, errors -> statuses;
                the same servicer over HTTP (Connect: JSON, gRPC-Web) beside it, and the console
    batch/      OptimizeBatch: the flow, the runner (local pool, Dask), the all-or-nothing commit
    wire/       proto <-> domain, pure functions: slots, booking, batch, directory, page tokens
    booking/    the booking flow (desk), store/ (SQLite, PostgreSQL, outbox), notify/, side effects
    calendars/  calendar sources from config, busy time for a request, who may see event details
    config/     the YAML models, one module per section
    telemetry/  what operators see: Prometheus metrics, OpenTelemetry spans, JSON log lines

Beside them: ``tenants`` (what the server knows per tenant, built once from
the config: directory, templates, calendars, bookings) and ``protogen``
(``make proto``).

Read a request top down; one FindSlots flows

    api/service.py      authenticate (api/auth.py) and pick the caller's tenant (tenants.py)
    wire/slots.py       request -> solver.SlotRequest (wire-level checks, field paths)
    solver              validate_request: every problem, one field violation each
    calendars/busy.py   fetch busy: the tenant's calendars in parallel, under the deadline
    solver              find_slots / check_time: bitsets, then the assignment
    wire/slots.py       result -> reply; conflict details via calendars/privacy.py only
    api/errors.py       any failure -> a gRPC status with rich details, never UNKNOWN

and a booking (CreateBooking, CancelBooking, HoldSlot, ...)

    api/service.py         the same caller and tenant
    wire/booking.py        request -> booking.desk.BookingRequest (the meeting as CheckTime reads it)
    booking/desk.py        chosen seats -> re-check against fresh calendars -> store.create
                           (booking/store: no double booking, idempotency, limits, the outbox)
    wire/booking.py        store record -> reply (side-effect states)
    booking/side_effects   after commit, the outbox worker's handlers: the organizer's calendar
                           event, the customers' emails (booking/notify)
"""
