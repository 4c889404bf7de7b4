"""Errors the solver raises. The server maps them to gRPC status codes.

    SchedulingError
    ├── InvalidRequest     one FieldViolation per problem      -> INVALID_ARGUMENT
    ├── UnknownResource    an id that is not in the directory  -> NOT_FOUND
    └── LimitExceeded      work over a configured limit        -> RESOURCE_EXHAUSTED
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["QUOTE_LIMIT", "FieldViolation", "InvalidRequest", "LimitExceeded", "SchedulingError", "UnknownResource",
           "cut", "quote"]

# The most characters of a caller's value an error repeats: a status with its details must fit
# gRPC's metadata limits (8 KiB), however long the value was.
QUOTE_LIMIT = 200


def cut(value: str, limit: int = QUOTE_LIMIT) -> str:
    """``value`` itself when short, else its first ``limit`` characters, marked as cut."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}… (cut: {len(value)} characters)"


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of a caller's value for an error message, at most ``limit`` characters of it (marked as cut)."""
    if not isinstance(value, str):
        value = str(value)
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… (cut: {len(value)} characters)"


@dataclass(frozen=True)
class FieldViolation:
    """One problem with one field; ``field`` is a path like ``seats[1].candidates[0]``."""

    field: str
    description: str


class SchedulingError(Exception):
    """Base of every error the solver raises on purpose."""


class InvalidRequest(SchedulingError):
    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))


class UnknownResource(SchedulingError):
    def __init__(self, field: str, resource_id: str) -> None:
        self.field = field
        self.resource_id = resource_id
        super().__init__(f"{field}: unknown id {quote(resource_id)}")


class LimitExceeded(SchedulingError):
    def __init__(self, field: str, limit_name: str, limit: int, actual: int) -> None:
        self.field = field
        self.limit_name = limit_name
        self.limit = limit
        self.actual = actual
        super().__init__(f"{field}: {actual} exceeds the limit {limit_name}={limit}")
