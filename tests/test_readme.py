"""The README's Python example runs and says what a reader would expect."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.paths import REPO


def test_readme_example_runs() -> None:
    text = (Path(__file__).parent.parent / "README.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    # Ana is busy until 10:00 UTC, so Ben (her alternate, cost 10) takes the seat.
    assert lines[0] == "2026-12-01 08:00:00+00:00 [('ben',), ('eva',), ('small',)] 10.0"
    assert len(lines) == 3


# --- The README's serve step and the demo, in a fresh clone ----------------------------------

CONVENE = ".venv/bin/convene"


def _shell_blocks_after(text: str, marker: str) -> list[list[str]]:
    """The ```sh blocks after ``marker``, each as its commands (continuation lines joined)."""
    blocks = re.findall(r"```sh\n(.*?)```", text[text.index(marker):], re.S)
    return [[line for line in block.replace("\\\n", " ").splitlines() if line.strip()] for block in blocks]


def _convene(line: str) -> list[str]:
    """A README ``.venv/bin/convene ...`` line as this interpreter running the clone's code."""
    words = shlex.split(line)
    assert words[0] == CONVENE, line
    return [sys.executable, "-m", "server.cli", *words[1:]]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[0][-2000:]
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise AssertionError("the README's server did not start within 60 s")


def test_the_readme_serve_step_and_the_demo_keep_a_fresh_clone_clean(tmp_path: Path) -> None:
    """Following the README (serve, ask, book once) and running the demo modify no tracked file."""
    clone = tmp_path / "convene"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    readme = (clone / "README.md").read_text()
    serve_block, ask_block = _shell_blocks_after(readme, "To keep a server running")[:2]
    port = _free_port()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

    def run(command: list[str]) -> str:
        done = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        return done.stdout

    *setup, serve = serve_block
    for line in setup:
        run(["bash", "-c", line])
    server = subprocess.Popen([*_convene(serve), "--address", f"127.0.0.1:{port}"], cwd=clone, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_port(port, server)
        [ask] = ask_block
        ask_command = _convene(ask.replace("127.0.0.1:50051", f"127.0.0.1:{port}"))
        assert run(ask_command).strip()  # the step as written answers
        first = json.loads(run([*ask_command, "--json", "--limit", "1"]))["slots"][0]["start"]
        start = datetime.fromisoformat(first.replace("Z", "+00:00")).astimezone(ZoneInfo("America/New_York"))
        api_key = ask_command[ask_command.index("--api-key") + 1]
        booked = json.loads(run([sys.executable, "-m", "server.cli", "book", "--target", f"127.0.0.1:{port}",
                                 "--api-key", api_key, "--template", "technical-demo", "--zone", "America/New_York",
                                 "--start", f"{start:%Y-%m-%dT%H:%M}", "--now", "2026-11-30T08:00",
                                 "--customer", "Carla <carla@initech.example>", "--json"]))
        uid = f"{booked['booking']['id']}@convene".encode()
        deadline = time.monotonic() + 30  # the event is written by the outbox, right after the commit
        while not any(uid in p.read_bytes() for p in (clone / "var" / "examples" / "calendars").glob("*.ics")):
            assert time.monotonic() < deadline, "the booking's event never reached the organizer's calendar"
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(30)
    run([sys.executable, "-m", "server.cli.demo"])
    assert subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True,
                          check=True).stdout == ""
