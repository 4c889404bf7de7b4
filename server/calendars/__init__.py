"""Room ``calendars``: where busy time comes from, and who may see what is in it.

    cli > api > batch > wire > booking > **calendars** > config > telemetry

``sources`` turns the config's calendar sections into providers (one per
account, secrets read once); ``busy`` reads the calendars a request needs in
parallel under its deadline (a calendar that cannot be read makes its
resource unavailable, never free); ``privacy`` is the one rule deciding which
event details a viewer may see. It sits here, below both the wire conversion
and the booking flow, because this room owns events and their owners.
"""
