"""A plain HTTP/1.1 client of the Connect protocol (urllib, no Connect library), as a backend
team without a gRPC stack would call the service: JSON bodies, unary and server-streaming."""

from __future__ import annotations

import base64
import json
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, TypeVar

from google.protobuf import any_pb2, json_format
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)
PATH = "/convene.v1.SchedulingService/"


@dataclass
class ConnectFailure(Exception):
    """A Connect error: its HTTP status and the JSON error body (code, message, details)."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return str(self.body.get("code", ""))

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))

    def details(self) -> list[any_pb2.Any]:
        """The details as google.protobuf.Any, decoded from Connect's unpadded base64."""
        out = []
        for detail in self.body.get("details", []):
            value = base64.b64decode(detail["value"] + "=" * (-len(detail["value"]) % 4))
            out.append(any_pb2.Any(type_url=f"type.googleapis.com/{detail['type']}", value=value))
        return out


def headers(api_key: str | None, **extra: str) -> dict[str, str]:
    out = {"content-type": "application/json", **extra}
    if api_key is not None:
        out["authorization"] = f"Bearer {api_key}"
    return out


def post(port: int, method: str, body: bytes, head: dict[str, str], timeout: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{PATH}{method}", data=body, headers=head,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return int(reply.status), bytes(reply.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def unary(port: int, method: str, request: Message, reply: type[M], api_key: str | None, **extra: str) -> M:
    """One unary call with a JSON body; raises ConnectFailure."""
    status, body = post(port, method, json_format.MessageToJson(request).encode(), headers(api_key, **extra))
    if status != 200:
        raise ConnectFailure(status, json.loads(body) if body else {})
    return json_format.Parse(body, reply())


def _envelope(data: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(data)) + data


def server_stream(port: int, method: str, request: Message, reply: type[M], api_key: str | None,
                  **extra: str) -> list[M]:
    """A server-streaming call (application/connect+json envelopes); raises ConnectFailure
    when the stream ends with an error."""
    head = {**headers(api_key, **extra), "content-type": "application/connect+json"}
    status, body = post(port, method, _envelope(json_format.MessageToJson(request).encode()), head)
    if status != 200:
        raise ConnectFailure(status, json.loads(body) if body else {})
    messages: list[M] = []
    offset = 0
    while offset < len(body):
        flags, length = struct.unpack(">BI", body[offset:offset + 5])
        data = body[offset + 5:offset + 5 + length]
        offset += 5 + length
        if flags & 0x02:  # end of stream: {"error": ..., "metadata": ...}
            end = json.loads(data) if data else {}
            if "error" in end:
                raise ConnectFailure(200, end["error"])
            break
        messages.append(json_format.Parse(data, reply()))
    return messages
