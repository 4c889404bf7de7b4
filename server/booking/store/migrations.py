"""Versioned schema migrations, shared shape for both backends.

Each backend lists its steps as ``Migration(version, description, statements)``
with versions 1, 2, 3, ... in order. A database records every applied step in
``schema_version``; applying brings it to the newest version and is a no-op when
it is there already. Backends run all pending steps in one transaction under a
database-wide lock (SQLite: the write lock of ``BEGIN IMMEDIATE``; PostgreSQL:
an advisory transaction lock), so concurrent starts apply each step once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SCHEMA_VERSION_TABLE", "SKIPPED_NOT_DONE", "Migration", "check_migrations", "pending"]

SCHEMA_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  TEXT NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


# Step 4 of both backends (data only, the same SQL). Before ``skip_task``, a side effect
# skipped on purpose was recorded done with a result "skipped: <why>": make it what it is.
SKIPPED_NOT_DONE = Migration(4, "side effects skipped on purpose are skipped, not done", (
    "UPDATE outbox SET status = 'skipped', result = substr(result, 10) "
    "WHERE status = 'done' AND substr(result, 1, 9) = 'skipped: '",
))


def check_migrations(steps: Sequence[Migration]) -> None:
    """Fails at import time if a backend's steps are not numbered 1..n in order."""
    versions = [m.version for m in steps]
    if versions != list(range(1, len(steps) + 1)):
        raise RuntimeError(f"migration versions must be 1..n in order, got {versions}")


def pending(steps: Sequence[Migration], current: int, target: int | None) -> list[Migration]:
    """The steps after ``current`` up to ``target`` (None: the newest)."""
    last = len(steps) if target is None else target
    if not 0 <= last <= len(steps):
        raise ValueError(f"target: no migration {last} (newest is {len(steps)})")
    return [m for m in steps if current < m.version <= last]
