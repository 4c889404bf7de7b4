"""A real Radicale CalDAV server on a free loopback port, for tests and benchmarks.

Started as ``python -m radicale`` with its own config: bound to 127.0.0.1
only, no authentication (``[auth] type = none``; with ``[rights] type =
authenticated`` anyone may then read and write), storage in a temporary
folder, and warnings-only logging.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CONFIG = """\
[server]
hosts = 127.0.0.1:{port}
max_connections = 64
[auth]
type = none
[rights]
type = authenticated
[storage]
filesystem_folder = {storage}
[logging]
level = error
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Radicale:
    """``Radicale(folder)`` starts the server; ``stop()`` ends that process."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        config = folder / "config"
        config.write_text(CONFIG.format(port=self.port, storage=folder / "storage"))
        self._log = (folder / "radicale.log").open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                                        stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready(folder)

    def _wait_ready(self, folder: Path) -> None:
        give_up = time.monotonic() + 20
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise RuntimeError(f"radicale exited: {(folder / 'radicale.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("radicale did not start within 20 s")

    def make_calendar(self, path: str) -> str:
        """Creates the calendar collection ``path`` (``"ada/work"``); returns its URL."""
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):  # parents are plain collections (a user's home)
            parent = f"{self.url}{'/'.join(parts[:depth])}/"
            if self.get(parent, method="PROPFIND")[0] == 404:
                self.request("MKCOL", parent)
        url = f"{self.url}{'/'.join(parts)}/"
        self.request("MKCALENDAR", url)
        return url

    def put(self, calendar_url: str, name: str, ics: str) -> None:
        self.request("PUT", f"{calendar_url}{name}.ics", ics.encode(), {"Content-Type": "text/calendar"})

    def get(self, url: str, method: str = "GET") -> tuple[int, str]:
        try:
            request = urllib.request.Request(url, method=method, headers={"Depth": "0"})
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    def request(self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> int:
        request = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
