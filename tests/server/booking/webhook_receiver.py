"""A real webhook receiver on loopback, and the docs' signature check, for the webhook tests."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["Receiver", "docs_verify"]

DOCS = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def docs_verify() -> Any:
    """The verification snippet of docs/api.md, run as a receiver would."""
    text = DOCS.read_text(encoding="utf-8")
    code = re.search(r"<!-- webhook-verify -->\n```python\n(.*?)```", text, re.S)
    assert code is not None, "docs/api.md lost its webhook-verify snippet"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    return namespace["verify_convene_signature"]


class Receiver:
    """A real HTTP server on 127.0.0.1 that answers with ``codes`` in turn (then 200)
    and keeps every request: (headers, body)."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.hang = 0.0  # seconds each request waits before it is answered
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.got.append((dict(self.headers), body))
                    code = receiver.codes.pop(0) if receiver.codes else 200
                time.sleep(receiver.hang)  # received, not yet answered
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.got]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
