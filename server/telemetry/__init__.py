"""Room ``telemetry``, beneath every other: what the server tells its operators.

    cli > api > batch > wire > booking > calendars > config > **telemetry**

``metrics`` holds every Prometheus metric (each documented where it is
defined, and listed in docs/deploy.md) and their HTTP endpoint; ``tracing``
the OpenTelemetry tracer every room's spans come from (a no-op until a server
installs a provider); ``logs`` the JSON-lines formatter and the trace ids in
log lines. Any room may import it; it imports no other room, so recording a
figure never pulls in what it measures.
"""
