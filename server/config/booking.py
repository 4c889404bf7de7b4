"""The config sections of bookings' side effects (part of ``server.config.Config``).

    smtp:                      # absent: invitation emails are skipped ("email is disabled")
      host: mail.example.org
      port: 587
      starttls: true
      username: bookings
      password_file: secrets/smtp-password   # or password_env: CONVENE_SMTP_PASSWORD
      sender: bookings@example.org
      sender_name: Convene
    database_pool:             # PostgreSQL only: this process's connections (docs/deploy.md)
      min_size: 1
      max_size: 12             # default: server.worker_threads + 4
      max_lifetime_seconds: 3600
      max_idle_seconds: 600
      timeout_seconds: 30      # a call waiting longer for a connection gets UNAVAILABLE
    outbox:                    # how the side effects are retried
      poll_seconds: 1
      lease_seconds: 15
      retry_base_seconds: 5
      retry_max_seconds: 1800
      webhook_disable_after_seconds: 259200   # an endpoint failing this long is disabled
      webhook_timeout_seconds: 10

The password is never written in the config itself: name a file (relative to
the config file) or an environment variable holding it; it is read once at
start and appears in no log line or error.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

__all__ = ["DatabasePoolSettings", "OutboxSettings", "SmtpConfig"]


class SmtpConfig(BaseModel):
    """Where invitation emails go (server.booking.notify.SmtpSettings, minus the password itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=587, gt=0, lt=65536)
    # Upgrade the connection before credentials are sent (off only for a local relay).
    starttls: bool = True
    username: str | None = None
    password_file: Path | None = None
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    sender_name: str = "Convene"
    timeout_seconds: float = Field(default=30.0, gt=0)
    # A private CA to trust for STARTTLS (default: the system's).
    ca_file: Path | None = None

    @field_validator("password_file", "ca_file")
    @classmethod
    def _relative_to_config(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        return path if path is None or path.is_absolute() or base is None else Path(base) / path

    @model_validator(mode="after")
    def _one_password_source(self) -> SmtpConfig:
        if self.password_file is not None and self.password_env is not None:
            raise ValueError("give at most one of password_file, password_env")
        if (self.password_file is not None or self.password_env is not None) and not self.username:
            raise ValueError("username: required with a password")
        return self


class OutboxSettings(BaseModel):
    """How the worker runs side effects: it looks for due ones every ``poll_seconds`` (and
    at once after a booking); a claimed one is someone's for ``lease_seconds``, renewed
    every third of it while it runs (after a crash it runs again within that much);
    failures are retried after ``retry_base_seconds``, doubling up to ``retry_max_seconds``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    poll_seconds: float = Field(default=1.0, gt=0)
    lease_seconds: float = Field(default=15.0, ge=1)
    retry_base_seconds: float = Field(default=5.0, gt=0)
    retry_max_seconds: float = Field(default=1800.0, gt=0)
    # A webhook endpoint answering nothing but failures for this long (since its last success) is disabled.
    webhook_disable_after_seconds: float = Field(default=3 * 86400.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)


class DatabasePoolSettings(BaseModel):
    """The PostgreSQL connection pool of each server process (``server.booking.store.PoolSettings``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_size: int = Field(default=1, ge=0)
    # None: the RPC worker threads plus the outbox worker, a metrics scrape and two to spare.
    max_size: int | None = Field(default=None, ge=1)
    max_lifetime_seconds: float = Field(default=3600.0, gt=0)
    max_idle_seconds: float = Field(default=600.0, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _sizes(self) -> DatabasePoolSettings:
        if self.max_size is not None and self.min_size > self.max_size:
            raise ValueError("min_size: must not exceed max_size")
        return self
