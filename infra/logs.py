"""Log plumbing: the current request id travels in a context variable to every log line."""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("current_request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request (or task) that produced it.

    Django logs a response's error (`django.request`, "Internal Server Error: …") after the
    middleware chain has returned, when the context variable is already reset; those records
    carry the request itself, whose id RequestIdMiddleware stored on it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = current_request_id.get()
            if request_id == "-":
                request_id = getattr(getattr(record, "request", None), "request_id", "-")
            record.request_id = request_id
        return True


# Attributes every LogRecord has; anything else was passed through `extra=` and is kept.
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers in production mode."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
