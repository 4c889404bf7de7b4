"""Room ``batch``: OptimizeBatch on domain types: solve the parts, then commit.

    cli > api > **batch** > wire > booking > calendars > config > telemetry

``flow`` runs one call (fetch busy over the items' span, solve in a thread
while reporting progress, commit); ``runner`` solves the independent parts on
a local process pool or a Dask cluster; ``commit`` books every scheduled item
in one store transaction, all or nothing, from domain booking requests.
"""
