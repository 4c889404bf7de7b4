"""Log lines: plain text or JSON lines, with the trace id of the span they were written in.

    configure_logging("json", "INFO")   # what ``logging.format: json`` does at ``convene serve``

Every line gets ``trace_id`` and ``span_id`` (empty outside a recorded span),
so a log line can be found from a trace and the other way round. A record may
carry structured ``fields`` (``log.info("...", extra={"fields": {...}})``,
as the access log does): a JSON line holds them as keys of its object, a text
line shows them as ``key=value``.

Lines are written by a thread of their own: a call only hands its record
over, so a slow or blocked stderr (a backed-up container log pipe) never holds
up a call, and formatting a line costs the call nothing. The trace ids and the
message are taken in the calling thread; ``flush_logs`` (also run at exit)
writes whatever is still queued.

The writer writes what has queued every ``WRITE_INTERVAL`` seconds (a warning
or worse wakes it at once), not one line per wake-up: woken for every access
line, it took the interpreter's lock from the calls while they ran, which cost
a FindSlots a few percent of its latency (bench ``overhead``); in batches the
same formatting costs one wake-up per interval. An INFO line thus reaches the
stream up to that long after it was logged (a process killed with SIGKILL loses
at most that much; a normal exit, SIGTERM included, writes everything).
"""

from __future__ import annotations

import atexit
import copy
import json
import logging
import logging.handlers
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

from server.telemetry.tracing import current_ids

__all__ = ["WRITE_INTERVAL", "JsonFormatter", "TextFormatter", "TraceIds", "configure_logging", "flush_logs"]

WRITE_INTERVAL = 0.2  # seconds between the writer's batches of INFO lines
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TraceIds(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` of the current span to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        record.trace_id, record.span_id = ids if ids is not None else ("", "")
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


# One encoder for every line: ``json.dumps`` with arguments builds a new one for each call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace ids, the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", ""),
            "span_id": getattr(record, "span_id", ""),
        }
        line.update(_fields(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return _ENCODE(line)


class TextFormatter(logging.Formatter):
    """The usual text line, then the record's fields as key=value and the trace id when there is one."""

    def __init__(self) -> None:
        super().__init__(_TEXT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        trace_id = getattr(record, "trace_id", "")
        return " ".join(part for part in (text, extra, f"trace_id={trace_id}" if trace_id else "") if part)


class _Writer:
    """The thread that formats and writes the queued records: a batch every ``interval``, or at
    once when woken (a warning or worse, or the stop)."""

    def __init__(self, lines: queue.SimpleQueue[logging.LogRecord], handler: logging.Handler,
                 interval: float) -> None:
        self._lines, self._handler, self._interval = lines, handler, interval
        self._woken = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="convene-log-writer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._woken.set()

    def stop(self) -> None:
        """Writes everything queued, then ends the thread."""
        self._stopping = True
        self._woken.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._woken.wait(self._interval)
            self._woken.clear()
            stopping = self._stopping  # read before the drain: a stop during it is drained next round
            self._drain()
            if stopping:
                return

    def _drain(self) -> None:
        while True:
            try:
                record = self._lines.get_nowait()
            except queue.Empty:
                return
            self._handler.handle(record)


class _Handoff(logging.handlers.QueueHandler):
    """Hands a record to the writer thread: its message and traceback made text here (the
    arguments may change once the call goes on), formatting left to the writer."""

    def __init__(self, lines: queue.SimpleQueue[logging.LogRecord], wake: Callable[[], None]) -> None:
        super().__init__(lines)
        self._wake = wake

    def enqueue(self, record: logging.LogRecord) -> None:
        self.queue.put_nowait(record)
        if record.levelno >= logging.WARNING:
            self._wake()  # written at once, not with the next batch

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        ready = copy.copy(record)
        ready.msg, ready.args = record.getMessage(), None
        if record.exc_info:
            ready.exc_text = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
            ready.exc_info = None
        return ready


_TRACEBACKS = logging.Formatter()
_writer: _Writer | None = None


def flush_logs() -> None:
    """Writes every queued line and stops the writer (the next configure_logging starts one)."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None


atexit.register(flush_logs)


def configure_logging(fmt: str = "text", level: str | int = "INFO", stream: IO[str] | None = None, *,
                      interval: float = WRITE_INTERVAL) -> None:
    """The root logger writes to ``stream`` (stderr) in ``fmt`` ("text" or "json"), each line with
    its trace ids, from the writer thread (INFO lines in batches every ``interval`` seconds)."""
    global _writer
    flush_logs()
    # What the lines never show is not gathered for every record (the logging HOWTO's
    # "Optimization"): the caller's file and line (a walk up the stack), thread and process names.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    output = logging.StreamHandler(stream)
    output.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    writer = _Writer(lines, output, interval)
    handoff = _Handoff(lines, writer.wake)
    handoff.addFilter(TraceIds())  # in the calling thread: its span
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handoff)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    _writer = writer
