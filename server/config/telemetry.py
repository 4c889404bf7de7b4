"""The config sections of what the server tells its operators: ``metrics:``, ``tracing:``, ``logging:``.

    metrics:                    # absent: no metrics endpoint
      address: "0.0.0.0:9464"   # Prometheus scrapes http://<address>/metrics (docs/deploy.md lists them)
    tracing:                    # absent: no traces recorded (the API's no-op tracer)
      otlp_endpoint: http://otel-collector:4317   # OTLP over gRPC
      insecure: false           # true: plaintext to the collector (loopback or a sidecar)
      service_name: convene
      sample_ratio: 1.0         # the share of new traces recorded; a caller's sampled parent is followed
    logging:
      format: text              # or json: one JSON object per line, with trace_id and span_id
      access_log: true          # one line per RPC: method, tenant, principal, status, latency, sizes, request id

Access-log lines never hold an API key or an event's details (title, location):
only what the list above names.
"""

from __future__ import annotations

import urllib.parse
from typing import Literal

from pydantic import Field, field_validator

from server.config.values import Strict

__all__ = ["LoggingSettings", "MetricsSettings", "TracingSettings", "split_address"]


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6) -> (host, port); raises ValueError."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"{address!r} is not host:port")
    return host.strip("[]") or "0.0.0.0", int(port)


class MetricsSettings(Strict):
    """Where the Prometheus endpoint listens (its own HTTP port, apart from gRPC)."""

    address: str = "127.0.0.1:9464"

    @field_validator("address")
    @classmethod
    def _address(cls, address: str) -> str:
        split_address(address)
        return address


class TracingSettings(Strict):
    """OpenTelemetry traces, exported over OTLP/gRPC to ``otlp_endpoint``."""

    otlp_endpoint: str
    insecure: bool = False
    service_name: str = Field(default="convene", min_length=1)
    sample_ratio: float = Field(default=1.0, ge=0, le=1)

    @field_validator("otlp_endpoint")
    @classmethod
    def _endpoint(cls, url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL of an OTLP/gRPC collector (port 4317)")
        return url


class LoggingSettings(Strict):
    format: Literal["text", "json"] = "text"
    access_log: bool = True
