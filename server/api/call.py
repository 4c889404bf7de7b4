"""What a servicer method needs of its call, whichever transport carried it.

Every ``SchedulingService`` method takes ``(request, context)``. The context is
read through these four methods only, so one servicer serves both transports:

    grpc.ServicerContext      the grpcio server's (satisfies this protocol as it is)
    server.api.connect        the Connect adapter's, for HTTP/JSON and gRPC-Web

A method never aborts by itself: ``server.api.errors.guarded`` turns a raised
failure into a status and hands it to ``abort_with_status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn, Protocol

__all__ = ["CallContext"]


class CallContext(Protocol):
    """The call as a servicer method sees it."""

    def invocation_metadata(self) -> Sequence[tuple[str, str | bytes]] | None:
        """The request's metadata (HTTP headers), keys lower case: ``authorization``, ``x-request-id``."""
        ...

    def time_remaining(self) -> float | None:
        """Seconds until the call's deadline, None without one."""
        ...

    def is_active(self) -> bool:
        """False once the caller has gone away or the deadline has passed (the solver stops)."""
        ...

    def abort_with_status(self, status: Any) -> NoReturn:
        """Ends the call with ``status`` (a ``grpc.Status`` with rich details); raises."""
        ...
