"""Convene's gRPC server. Read it top down; one request flows

    service.py      authenticate (auth.py) and pick the caller's tenant (tenants.py)
    convert.py      request -> solver.SlotRequest (wire-level checks, field paths)
    solver          validate_request: every problem, one field violation each
    calendars.py    fetch busy: the tenant's calendars in parallel, under the deadline
    solver          find_slots / check_time: bitsets, then the assignment
    convert.py      result -> reply; conflict details via privacy.py only
    errors.py       any failure -> a gRPC status with rich details, never UNKNOWN

around it: config.py (the YAML file), app.py (create_server, health, reflection,
graceful shutdown), cli.py (``convene serve | slots | check``), render.py
(terminal tables), demo.py (``make demo``), protogen.py (``make proto``).
server/store and server/notify hold bookings and their side effects.
"""
