"""The config section of batch optimization over gRPC (part of ``server.config.Config``).

    batch:
      max_items: 2000              # items per OptimizeBatch call
      max_time_limit_seconds: 600  # the most a call may ask for
      max_workers: 4               # processes (and CP-SAT workers) per call
      schedulers:                  # Dask schedulers a call may name; none: only this server's processes
        - tcp://10.0.0.5:8786
      max_running_jobs: 2          # batch jobs (StartBatchJob) solving at once per process; more wait QUEUED
      job_lease_seconds: 15        # a job's owner renews its lease about every second; a job whose
                                   # owner is silent this long is reported FAILED
      job_retention_days: 7        # finished jobs (and their results) are deleted this long after

Only listed schedulers are accepted because the server unpickles what a Dask
cluster sends back: a scheduler named by the caller alone could run code in
the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, field_validator

from server.config.extras import require_extra
from solver.batch.types import BatchLimits

__all__ = ["BatchPolicy", "BatchSettings"]


@dataclass(frozen=True)
class BatchPolicy:
    """What the OptimizeBatch RPC accepts: the work per call and the Dask schedulers it may use."""

    limits: BatchLimits = field(default_factory=lambda: BatchLimits(max_items=2_000, max_time_limit=600.0,
                                                                    max_workers=4))
    schedulers: frozenset[str] = frozenset()
    max_running_jobs: int = 2
    job_lease: float = 15.0
    job_retention_days: float = 7.0


class BatchSettings(BaseModel):
    """The ``batch`` section (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_items: int = Field(default=2_000, ge=1)
    max_time_limit_seconds: float = Field(default=600.0, gt=0)
    max_workers: int = Field(default=4, ge=1)
    schedulers: list[str] = Field(default_factory=list)
    max_running_jobs: int = Field(default=2, ge=1)
    job_lease_seconds: float = Field(default=15.0, ge=0.5)
    job_retention_days: float = Field(default=7.0, gt=0)

    @field_validator("schedulers")
    @classmethod
    def _addresses(cls, schedulers: list[str]) -> list[str]:
        for address in schedulers:
            if "://" not in address:
                raise ValueError(f"{address!r} is not a scheduler address (tcp://host:8786)")
        if schedulers:
            require_extra("dask", "batch.schedulers")
        return schedulers

    def to_domain(self) -> BatchPolicy:
        return BatchPolicy(BatchLimits(self.max_items, self.max_time_limit_seconds, self.max_workers),
                           frozenset(self.schedulers), self.max_running_jobs, self.job_lease_seconds,
                           self.job_retention_days)
