"""Who is calling: ``authorization: Bearer <api key>`` metadata -> tenant + principal.

Keys are held only as SHA-256 digests, and a presented key is looked up by its
digest, so neither the config in memory nor the lookup's timing gives a key away.
Health checks and reflection need no key; every SchedulingService call does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from server.config import ApiKeyConfig

__all__ = ["ApiKeys", "Caller", "Unauthenticated"]


class Unauthenticated(Exception):
    """No key, a malformed header, or a key the server does not know (UNAUTHENTICATED)."""


@dataclass(frozen=True)
class Caller:
    """The tenant a call acts in and the principal it acts as (owner of calendars, for privacy)."""

    tenant: str
    principal: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """The configured keys."""

    def __init__(self, keys: Iterable[ApiKeyConfig]) -> None:
        self._callers: dict[str, Caller] = {}
        for k in keys:
            digest = k.key_sha256 if k.key_sha256 is not None else _digest(k.key or "")
            self._callers[digest] = Caller(k.tenant, k.principal)

    def authenticate(self, metadata: Iterable[tuple[str, str | bytes]]) -> Caller:
        """The caller named by the ``authorization`` metadata; raises Unauthenticated."""
        values = [v for k, v in metadata if k.lower() == "authorization"]
        if not values:
            raise Unauthenticated("missing 'authorization: Bearer <api key>' metadata")
        value = values[0].decode() if isinstance(values[0], bytes) else values[0]
        scheme, _, key = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthenticated("authorization metadata must be 'Bearer <api key>'")
        caller = self._callers.get(_digest(key.strip()))
        if caller is None:
            raise Unauthenticated("unknown API key")
        return caller
