"""HTTP answers to ``ProviderError``: one mapping for every HTTP-based source.

- 401 / 403: not authorized, not transient (retrying cannot help);
- 429 and 503: transient, with the server's ``Retry-After`` when given;
- other 5xx: transient;
- other 4xx (404, 410, ...): not transient.

Messages name the scheme and host only (``safe_url``): calendar URLs often
carry secret tokens, and no header or body is ever quoted.
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from email.utils import parsedate_to_datetime

from providers.base import ProviderError

__all__ = ["error_for_status", "retry_after_seconds", "safe_url"]


def error_for_status(resource_id: str, what: str, status: int, retry_after: str | None = None, *,
                     code: str = "") -> ProviderError:
    """The ``ProviderError`` for an HTTP ``status`` answering ``what`` (e.g. ``"GET https://host/…"``).

    ``code`` is the source's own error code from the answer's body (Google's
    ``reason``, Graph's ``error.code``), added to the message when there is one.
    """
    said = f" {code}" if code else ""
    if status in (401, 403):
        return ProviderError(resource_id, f"{what}: HTTP {status} (not authorized){said}", transient=False)
    if status == 429 or status >= 500:
        return ProviderError(resource_id, f"{what}: HTTP {status}{said}", retry_after=retry_after_seconds(retry_after))
    return ProviderError(resource_id, f"{what}: HTTP {status}{said}", transient=False)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from an HTTP ``Retry-After`` header (delta-seconds or HTTP-date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = now or datetime.now(when.tzinfo)
    return max(0.0, (when - current).total_seconds())


def safe_url(url: str) -> str:
    """``scheme://host[:port]/…``: enough to find the source, without paths, tokens or passwords."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable URL>"
    return f"{parts.scheme}://{host}{port}/…"
