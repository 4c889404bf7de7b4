"""Opaque page tokens bound to the request they page through.

A token carries where the next page begins and a fingerprint of the request
(without its paging fields), so a token replayed with a different query is
refused instead of silently paging through something else. Where it begins is
an offset for listings held in memory (``page_of``), and for listings read from
the store a key, the last row's sort key (``encode_key``): a keyset page, which
rows inserted meanwhile never shift.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import TypeVar

from google.protobuf.message import Message

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "InvalidPageSize", "InvalidPageToken", "decode", "decode_key",
           "encode", "encode_key", "fingerprint", "page_of", "size_of"]

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class InvalidPageToken(ValueError):
    """The token is malformed or belongs to another query."""


class InvalidPageSize(ValueError):
    """A negative page size."""


def fingerprint(request: Message | str) -> str:
    """A short digest of ``request`` without ``page_token`` and ``page_size`` (callers may vary the size)."""
    if isinstance(request, str):
        data = request.encode()
    else:
        copy = type(request)()
        copy.CopyFrom(request)
        for name in ("page_token", "page_size"):
            copy.ClearField(name)
        data = copy.SerializeToString(deterministic=True)
    return hashlib.sha256(data).hexdigest()[:16]


def encode(offset: int, request_fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{request_fingerprint}".encode()).decode().rstrip("=")


# No listing is this long: a larger offset is no token of ours (and would overflow a database integer).
_MAX_OFFSET = 1_000_000_000


def decode(token: str, request_fingerprint: str) -> int:
    """The offset in ``token`` (0 for an empty token); raises InvalidPageToken."""
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset_text, _, fp = text.partition(":")
        offset = int(offset_text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidPageToken("is not a token this server issued") from exc
    if offset < 0 or offset > _MAX_OFFSET or fp != request_fingerprint:
        raise InvalidPageToken("belongs to a different request (change only page_size between pages)")
    return offset


def encode_key(key: Sequence[str], request_fingerprint: str) -> str:
    """A token for the page after the row whose sort key is ``key``."""
    data = json.dumps({"after": list(key), "for": request_fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_key(token: str, request_fingerprint: str, parts: int) -> tuple[str, ...] | None:
    """The sort key (``parts`` strings) in ``token``, None for an empty token; raises InvalidPageToken."""
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
        key, fp = data["after"], data["for"]
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        raise InvalidPageToken("is not a token this server issued") from exc
    if not isinstance(key, list) or len(key) != parts or not all(isinstance(k, str) for k in key):
        raise InvalidPageToken("is not a token this server issued")
    if fp != request_fingerprint:
        raise InvalidPageToken("belongs to a different request (change only page_size between pages)")
    return tuple(key)


def size_of(requested: int) -> int:
    """The page size for a request's ``page_size``: 0 means 100, above 1000 is cut to 1000."""
    if requested < 0:
        raise InvalidPageSize("must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def page_of(items: Sequence[T], page_size: int, page_token: str, kind: str) -> tuple[Sequence[T], str]:
    """One page of a listing (``kind`` names it, so tokens don't cross listings) and the next token.

    ``page_size`` 0 means the default of 100; sizes above 1000 are cut to 1000.
    """
    size = size_of(page_size)
    offset = decode(page_token, fingerprint(kind))
    end = offset + size
    return items[offset:end], encode(end, fingerprint(kind)) if end < len(items) else ""
