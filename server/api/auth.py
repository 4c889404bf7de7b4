"""Who is calling: ``authorization: Bearer <api key>`` metadata -> tenant + principal,
or (mutual TLS) the client certificate's name, as ``server.tls.client_certificates`` maps it.

Keys are held only as SHA-256 digests, and a presented key is looked up by its
digest, so neither the config in memory nor the lookup's timing gives a key away.
A call that carries a key is judged by its key alone; one without a key by its
certificate: its subject's common name or any subject alternative name, as the
TLS handshake (which already checked the CA's signature) reports them.
Health checks and reflection need no key; every SchedulingService call does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from server.config import ApiKeyConfig
from server.config.server import ClientCertificateConfig

__all__ = ["ApiKeys", "Caller", "Unauthenticated", "peer_of"]


class Unauthenticated(Exception):
    """No key, a malformed header, or a key the server does not know (UNAUTHENTICATED)."""


@dataclass(frozen=True)
class Caller:
    """The tenant a call acts in and the principal it acts as (owner of calendars, for privacy)."""

    tenant: str
    principal: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def peer_of(context: object) -> Mapping[str, Sequence[bytes]] | None:
    """gRPC's auth context of the call (the client certificate's names); None over HTTP, which has none."""
    auth_context = getattr(context, "auth_context", None)
    return auth_context() if callable(auth_context) else None


# Where gRPC's auth context holds the names of a verified client certificate.
_CERTIFICATE_NAMES = ("x509_subject_alternative_name", "x509_common_name")


class ApiKeys:
    """The configured keys, and the client certificates that act like them."""

    def __init__(self, keys: Iterable[ApiKeyConfig], certificates: Iterable[ClientCertificateConfig] = ()) -> None:
        self._callers: dict[str, Caller] = {}
        for k in keys:
            digest = k.key_sha256 if k.key_sha256 is not None else _digest(k.key or "")
            self._callers[digest] = Caller(k.tenant, k.principal)
        self._certificates = {c.name: Caller(c.tenant, c.principal) for c in certificates}

    def authenticate(self, metadata: Iterable[tuple[str, str | bytes]],
                     peer: Mapping[str, Sequence[bytes]] | None = None) -> Caller:
        """The caller named by the ``authorization`` metadata, else by the client certificate
        in ``peer`` (gRPC's auth context); raises Unauthenticated."""
        values = [v for k, v in metadata if k.lower() == "authorization"]
        if not values:
            by_certificate = self._by_certificate(peer or {})
            if by_certificate is not None:
                return by_certificate
            raise Unauthenticated("missing 'authorization: Bearer <api key>' metadata")
        value = values[0].decode() if isinstance(values[0], bytes) else values[0]
        scheme, _, key = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthenticated("authorization metadata must be 'Bearer <api key>'")
        caller = self._callers.get(_digest(key.strip()))
        if caller is None:
            raise Unauthenticated("unknown API key")
        return caller

    def _by_certificate(self, peer: Mapping[str, Sequence[bytes]]) -> Caller | None:
        if not self._certificates:
            return None
        for prop in _CERTIFICATE_NAMES:
            for name in peer.get(prop, ()):
                caller = self._certificates.get(name.decode(errors="replace"))
                if caller is not None:
                    return caller
        return None
