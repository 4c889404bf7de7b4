"""The server's own sections: ``server:``, ``calendars:``, ``limits:`` and ``api_keys:``.

    server:      {address, http_address, processes, max_concurrent_rpcs, worker_threads, grace_seconds, plaintext,
                  tls}
    calendars:   {timeout_seconds, cache_seconds, reads_per_tenant, reads_per_source, waiting_per_source,
                  breaker_failures, breaker_cool_down_seconds}
    limits:      solver.Limits fields
    api_keys:    [{key | key_sha256, tenant, principal}]

The gRPC port speaks TLS (``server.tls``) unless the config says
``plaintext: true`` (the demo, on loopback; or behind a proxy that terminates
TLS). With ``tls.client_ca_file`` it is mutual TLS: a client must present a
certificate the CA signed, and ``tls.client_certificates`` may map one (by
its subject's common name or a subject alternative name) to a tenant and
principal, as an API key does:

    server:
      address: "0.0.0.0:50051"
      tls:
        cert_file: tls/server.pem         # relative to the config file; reloaded on SIGHUP
        key_file: tls/server-key.pem
        client_ca_file: tls/clients-ca.pem
        client_certificates:
          - {name: booking-agent.acme.example, tenant: acme, principal: ops@acme.example}
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator, model_validator

from providers.fetch import ReadPolicy
from server.config.values import Strict
from solver.validate import Limits

__all__ = ["ApiKeyConfig", "CalendarSettings", "ClientCertificateConfig", "LimitsConfig", "ServerSettings",
           "TlsSettings", "check_tls_files"]


class ApiKeyConfig(Strict):
    """An API key (plain ``key`` or its hex ``key_sha256``) -> the tenant and principal it acts as."""

    key: str | None = Field(default=None, min_length=16)
    key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    tenant: str
    principal: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> ApiKeyConfig:
        if (self.key is None) == (self.key_sha256 is None):
            raise ValueError("give exactly one of key, key_sha256")
        return self


class LimitsConfig(Strict):
    """Work accepted per request (solver.Limits)."""

    max_horizon_days: int = Field(default=Limits.max_horizon_days, ge=1)
    max_seats: int = Field(default=Limits.max_seats, ge=1)
    max_candidates_per_seat: int = Field(default=Limits.max_candidates_per_seat, ge=1)
    max_candidate_starts: int = Field(default=Limits.max_candidate_starts, ge=1)
    max_results: int = Field(default=Limits.max_results, ge=1)
    max_optional_members: int = Field(default=Limits.max_optional_members, ge=0)
    max_sequence_candidates: int = Field(default=Limits.max_sequence_candidates, ge=1)

    def to_domain(self) -> Limits:
        return Limits(**self.model_dump())


class ClientCertificateConfig(Strict):
    """A client certificate (by its subject's CN or a subject alternative name) -> tenant and principal."""

    name: str = Field(min_length=1)
    tenant: str
    principal: str = Field(min_length=1)


def check_tls_files(cert_file: Path, key_file: Path, client_ca_file: Path | None) -> None:
    """Raises ValueError naming the file when the certificate, its key or the client CA cannot be
    used: unreadable, not PEM, or a key that does not belong to the certificate."""
    for path in (cert_file, key_file, *([client_ca_file] if client_ca_file else [])):
        if not path.is_file() or not os.access(path, os.R_OK):
            raise ValueError(f"cannot read {path}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as exc:
        raise ValueError(f"{cert_file} and {key_file} are not a PEM certificate and its key "
                         f"({exc.reason or exc})") from None
    if client_ca_file is not None:
        try:
            context.load_verify_locations(cafile=client_ca_file)
        except ssl.SSLError as exc:
            raise ValueError(f"client_ca_file: {client_ca_file} holds no PEM certificate "
                             f"({exc.reason or exc})") from None


class TlsSettings(Strict):
    """The server's certificate and key (PEM), and for mutual TLS the CA that signs client certificates."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    client_certificates: list[ClientCertificateConfig] = Field(default_factory=list)

    @field_validator("cert_file", "key_file", "client_ca_file")
    @classmethod
    def _relative_to_config(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        return path if path is None or path.is_absolute() or base is None else Path(base) / path

    @model_validator(mode="after")
    def _usable(self) -> TlsSettings:
        if self.client_certificates and self.client_ca_file is None:
            raise ValueError("client_certificates: need client_ca_file (mutual TLS)")
        names = [c.name for c in self.client_certificates]
        if len(set(names)) != len(names):
            raise ValueError("client_certificates: the same name is listed twice")
        check_tls_files(self.cert_file, self.key_file, self.client_ca_file)
        return self


class ServerSettings(Strict):
    address: str = "127.0.0.1:50051"
    # host:port of the HTTP server (Connect: JSON and gRPC-Web, and the console at /); unset: none.
    http_address: str | None = Field(default=None, pattern=r"^\S+:\d{1,5}$")
    # Beyond this many RPCs in flight, new calls get RESOURCE_EXHAUSTED at once.
    max_concurrent_rpcs: int = Field(default=64, ge=1)
    # Calls mostly wait (on calendars, the database): a thread each, so more than the cores.
    worker_threads: int = Field(default=32, ge=1)
    # Server processes sharing the gRPC port (SO_REUSEPORT), each with its own worker_threads and
    # database pool; unset: one per core this process may run on. 1: one process, as before.
    processes: int | None = Field(default=None, ge=1, le=256)
    # On SIGTERM, calls in flight get this long to finish.
    grace_seconds: float = Field(default=5.0, ge=0)
    # The gRPC port without TLS: only when the config says so (see the module docstring).
    plaintext: bool = False
    tls: TlsSettings | None = None

    @model_validator(mode="after")
    def _transport(self) -> ServerSettings:
        if self.plaintext and self.tls is not None:
            raise ValueError("plaintext: give either plaintext: true or a tls section, not both")
        return self

    def process_count(self) -> int:
        """``processes``, or the cores this process may run on."""
        if self.processes is not None:
            return self.processes
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

    def transport_problem(self) -> str | None:
        """Why the server must not start as configured (neither TLS nor plaintext said), else None.

        Checked when a server is built, not when a config is read, so that tools reading a
        config (batch, tune) need no transport.
        """
        if self.tls is None and not self.plaintext:
            return ("server.tls: the gRPC port needs a tls section (cert_file, key_file), or "
                    "server.plaintext: true to serve without TLS (loopback, or behind a TLS-terminating proxy)")
        return None


class CalendarSettings(Strict):
    """How calendars are read: each source answers within ``timeout_seconds`` (or the call's
    deadline, if sooner); a read is reused for ``cache_seconds`` (0: no cache).

    Isolation (docs/calendars.md, "Time limits and failures"): each tenant reads on
    ``reads_per_tenant`` threads of its own; a source (a feed's host, an account) has at
    most ``reads_per_source`` reads in flight and ``waiting_per_source`` requests in line;
    after ``breaker_failures`` failed reads in a row it is skipped for
    ``breaker_cool_down_seconds``, then probed.
    """

    timeout_seconds: float = Field(default=10.0, gt=0)
    cache_seconds: float = Field(default=30.0, ge=0)
    reads_per_tenant: int = Field(default=16, ge=1, le=1024)
    reads_per_source: int = Field(default=4, ge=1, le=1024)
    waiting_per_source: int = Field(default=8, ge=0, le=1024)
    breaker_failures: int = Field(default=3, ge=1)
    breaker_cool_down_seconds: float = Field(default=30.0, gt=0)

    def read_policy(self) -> ReadPolicy:
        return ReadPolicy(self.reads_per_source, self.waiting_per_source, self.breaker_failures,
                          self.breaker_cool_down_seconds)


