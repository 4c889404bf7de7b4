"""Room ``cli``, the top of the server: the ``convene`` command.

    **cli** > api > batch > wire > booking > calendars > config > telemetry

``commands`` (serve, slots, check, book, bookings, cancel, check-config, migrate,
health), ``batch`` (batch and tune), ``webhooks`` (endpoints and deliveries), ``preflight`` (check-config's checks),
``render/`` (terminal tables of replies) and ``demo`` (``make demo``).
"""

from server.cli.commands import main

__all__ = ["main"]
