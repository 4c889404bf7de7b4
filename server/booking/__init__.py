"""Room ``booking``: the booking flow on domain types, the store, and the side effects.

    cli > api > batch > wire > **booking** > calendars > config > telemetry

``desk`` is the flow (replay by request id, check the chosen seats, re-check
against fresh calendars, store.create, invalidate, wake the outbox);
``store/`` the SQLite and PostgreSQL stores that make double booking
impossible, and the outbox; ``notify/`` iCalendar invitations over SMTP;
``side_effects`` the outbox handlers the server runs after a commit.
"""
