"""Log lines: plain text or JSON lines, with the trace id of the span they were written in.

    configure_logging("json", "INFO")   # what ``logging.format: json`` does at ``convene serve``

Every line gets ``trace_id`` and ``span_id`` (empty outside a recorded span),
so a log line can be found from a trace and the other way round. A record may
carry structured ``fields`` (``log.info("...", extra={"fields": {...}})``,
as the access log does): a JSON line holds them as keys of its object, a text
line shows them as ``key=value``.

Lines are written by a thread of their own (``logging.handlers.QueueListener``):
a call only hands its record over, so a slow or blocked stderr (a backed-up
container log pipe) never holds up a call, and formatting a line costs the
call nothing. The trace ids and the message are taken in the calling thread;
``flush_logs`` (also run at exit) writes whatever is still queued.
"""

from __future__ import annotations

import atexit
import copy
import json
import logging
import logging.handlers
import queue
from datetime import UTC, datetime
from typing import IO, Any

from server.telemetry.tracing import current_ids

__all__ = ["JsonFormatter", "TextFormatter", "TraceIds", "configure_logging", "flush_logs"]

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
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The usual text line, then the record's fields as key=value and the trace id when there is one."""

    def __init__(self) -> None:
        super().__init__(_TEXT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        trace_id = getattr(record, "trace_id", "")
        return " ".join(part for part in (text, extra, f"trace_id={trace_id}" if trace_id else "") if part)


class _Handoff(logging.handlers.QueueHandler):
    """Hands a record to the writer thread: its message and traceback made text here (the
    arguments may change once the call goes on), formatting left to the writer."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        ready = copy.copy(record)
        ready.msg, ready.args = record.getMessage(), None
        if record.exc_info:
            ready.exc_text = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
            ready.exc_info = None
        return ready


_TRACEBACKS = logging.Formatter()
_listener: logging.handlers.QueueListener | None = None


def flush_logs() -> None:
    """Writes every queued line and stops the writer (the next configure_logging starts one)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


atexit.register(flush_logs)


def configure_logging(fmt: str = "text", level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    """The root logger writes to ``stream`` (stderr) in ``fmt`` ("text" or "json"), each line with
    its trace ids, from the writer thread."""
    global _listener
    flush_logs()
    writer = logging.StreamHandler(stream)
    writer.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handoff = _Handoff(lines)
    handoff.addFilter(TraceIds())  # in the calling thread: its span
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handoff)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    _listener = logging.handlers.QueueListener(lines, writer)
    _listener.start()
