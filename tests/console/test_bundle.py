"""The committed console bundle is the build of the current sources, and the server serves it at /."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

from convene.v1 import scheduling_service_pb2_grpc as api_grpc
from server.api.http import CONSOLE_DIR, HttpServer
from server.config import ServerSettings
from tests.paths import REPO

STAMP = REPO / "console" / "stamp.py"


def test_the_bundle_was_built_from_the_current_sources() -> None:
    done = subprocess.run([sys.executable, str(STAMP), "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


def test_the_stamp_sees_a_changed_source(tmp_path: object) -> None:
    # The check itself must be able to fail: any byte of a source changes the digest.
    sys.path.insert(0, str(STAMP.parent))
    try:
        import stamp  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    before = stamp.digest()
    source = REPO / "console" / "src" / "dom.ts"
    original = source.read_bytes()
    try:
        source.write_bytes(original + b"\n")
        assert stamp.digest() != before
    finally:
        source.write_bytes(original)
    assert stamp.digest() == before


def test_the_console_is_served_at_the_root_with_its_assets() -> None:
    http = HttpServer(api_grpc.SchedulingServiceServicer(), ServerSettings(), "127.0.0.1:0")
    http.start()
    try:
        with urllib.request.urlopen(http.url, timeout=10) as reply:
            page = reply.read().decode()
            assert "default-src 'self'" in reply.headers["content-security-policy"]
        assert "<title>Convene" in page
        assets = re.findall(r'(?:src|href)="\./(assets/[^"]+)"', page)
        assert len(assets) == 2
        for asset in assets:
            with urllib.request.urlopen(http.url + asset, timeout=10) as reply:
                assert reply.status == 200 and reply.read()
    finally:
        http.stop(1)
    assert (CONSOLE_DIR / "index.html").is_file()
