"""Log lines: plain text or JSON lines, with the trace id of the span they were written in.

    configure_logging("json", "INFO")   # what ``logging.format: json`` does at ``convene serve``

Every line gets ``trace_id`` and ``span_id`` (empty outside a recorded span),
so a log line can be found from a trace and the other way round. A record may
carry structured ``fields`` (``log.info("...", extra={"fields": {...}})``,
as the access log does): a JSON line holds them as keys of its object, a text
line shows them as ``key=value``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from server.telemetry.tracing import current_ids

__all__ = ["JsonFormatter", "TextFormatter", "TraceIds", "configure_logging"]

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
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
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


def configure_logging(fmt: str = "text", level: str | int = "INFO") -> None:
    """The root logger writes to stderr in ``fmt`` ("text" or "json"), each line with its trace ids."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(TraceIds())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
