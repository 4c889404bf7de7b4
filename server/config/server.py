"""The server's own sections: ``server:``, ``calendars:``, ``limits:`` and ``api_keys:``.

    server:      {address, http_address, max_concurrent_rpcs, worker_threads, grace_seconds}
    calendars:   {timeout_seconds, cache_seconds}
    limits:      solver.Limits fields
    api_keys:    [{key | key_sha256, tenant, principal}]
"""

from __future__ import annotations

from pydantic import Field, model_validator

from server.config.values import Strict
from solver.validate import Limits

__all__ = ["ApiKeyConfig", "CalendarSettings", "LimitsConfig", "ServerSettings"]


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

    def to_domain(self) -> Limits:
        return Limits(**self.model_dump())


class ServerSettings(Strict):
    address: str = "127.0.0.1:50051"
    # host:port of the HTTP server (Connect: JSON and gRPC-Web, and the console at /); unset: none.
    http_address: str | None = Field(default=None, pattern=r"^\S+:\d{1,5}$")
    # Beyond this many RPCs in flight, new calls get RESOURCE_EXHAUSTED at once.
    max_concurrent_rpcs: int = Field(default=64, ge=1)
    worker_threads: int = Field(default=8, ge=1)
    # On SIGTERM, calls in flight get this long to finish.
    grace_seconds: float = Field(default=5.0, ge=0)


class CalendarSettings(Strict):
    """How calendars are read: each source answers within ``timeout_seconds`` (or the call's
    deadline, if sooner); a read is reused for ``cache_seconds`` (0: no cache)."""

    timeout_seconds: float = Field(default=10.0, gt=0)
    cache_seconds: float = Field(default=30.0, ge=0)


