"""Room ``api``: the gRPC surface.

    cli > **api** > batch > wire > booking > calendars > config > telemetry

``service`` holds the thin servicer (authenticate -> wire -> validate ->
fetch busy -> solve or book -> wire); ``app`` assembles the server (store,
outbox worker, health, reflection, shutdown); ``auth`` maps API keys to a
tenant and principal (or a client certificate); ``errors`` and ``streaming``
are the only place where exceptions become gRPC statuses. ``call`` is what a
servicer method reads of its call, on either transport; ``connect`` serves the
servicer over the Connect protocol (HTTP/JSON, gRPC-Web), its statuses as
Connect errors; ``http`` runs that and the console on ``server.http_address``.
``tls`` holds the gRPC port's certificate (reloaded on SIGHUP) and ``access``
the interceptor that counts and logs every gRPC call, whatever its method.
"""
