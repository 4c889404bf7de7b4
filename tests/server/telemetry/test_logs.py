"""configure_logging: lines written by a writer thread, so a blocked stream never holds up the
caller; INFO lines in batches, a warning at once; JSON lines keep their fields, trace ids and
tracebacks; flush_logs writes what is queued."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from server.telemetry.logs import configure_logging, flush_logs


class Blocked(io.StringIO):
    """A stream whose writes wait until it is opened (a backed-up log pipe)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = threading.Event()

    def write(self, text: str) -> int:
        self.opened.wait(30)
        return super().write(text)


@pytest.fixture
def restore() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    flush_logs()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_a_blocked_stream_does_not_hold_up_the_caller(restore: None) -> None:
    stream = Blocked()
    configure_logging("json", "INFO", stream=stream)
    began = time.monotonic()
    for n in range(50):
        logging.getLogger("convene.access").info("call %d", n, extra={"fields": {"method": "FindSlots", "n": n}})
    assert time.monotonic() - began < 1.0  # handed over, not written: the stream is still blocked
    assert stream.getvalue() == ""
    stream.opened.set()
    flush_logs()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == [f"call {n}" for n in range(50)]
    assert lines[7]["method"] == "FindSlots" and lines[7]["n"] == 7 and lines[7]["logger"] == "convene.access"
    assert lines[0]["trace_id"] == ""  # outside a span


def test_a_traceback_and_the_message_are_taken_when_logged(restore: None) -> None:
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream)
    values = ["before"]
    try:
        raise ValueError("the reason")
    except ValueError:
        logging.getLogger("convene").exception("failed with %s", values)
    values[0] = "changed after"  # the line says what it was when logged
    flush_logs()
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "failed with ['before']" and line["level"] == "ERROR"
    assert "ValueError: the reason" in line["exception"]


def test_text_lines_keep_the_traceback(restore: None) -> None:
    stream = io.StringIO()
    configure_logging("text", "INFO", stream=stream)
    try:
        raise KeyError("missing")
    except KeyError:
        logging.getLogger("convene").exception("lookup failed")
    logging.getLogger("convene").debug("below the level")
    flush_logs()
    text = stream.getvalue()
    assert "ERROR convene: lookup failed" in text and "KeyError: 'missing'" in text
    assert "below the level" not in text


def _written_within(stream: io.StringIO, text: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in stream.getvalue():
            return True
        time.sleep(0.01)
    return text in stream.getvalue()


def test_info_lines_wait_for_the_batch_and_a_warning_is_written_at_once(restore: None) -> None:
    stream = io.StringIO()
    configure_logging("text", "INFO", stream=stream, interval=30.0)
    log = logging.getLogger("convene")
    log.info("an access line")
    assert not _written_within(stream, "an access line", 0.5)  # queued for the next batch
    log.warning("a calendar cannot be read")
    assert _written_within(stream, "a calendar cannot be read", 5.0)  # woke the writer
    text = stream.getvalue()
    assert text.index("an access line") < text.index("a calendar cannot be read")  # in order


def test_the_batches_are_written_every_interval(restore: None) -> None:
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream, interval=0.05)
    logging.getLogger("convene.access").info("call 1")
    assert _written_within(stream, "call 1", 5.0)  # no flush: the writer's own round
