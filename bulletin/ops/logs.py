"""LOG_FORMAT=json: one JSON object per line, each with the request id it belongs to."""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Response, request

from bulletin.core.redaction import redact

#: The request being answered on this thread. It outlives the request context, so the
#: server's access line (written as the response goes out) carries it too, and is forgotten
#: when the server closes the response.
REQUEST_ID: ContextVar[str | None] = ContextVar("bulletin_request_id", default=None)
#: An incoming X-Request-ID is kept only if it is short and made of safe characters.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: Loggers that write to their own handlers (not through the root logger's).
OWN_HANDLERS = ("gunicorn.error", "gunicorn.access")


def new_request_id() -> str:
    return secrets.token_hex(8)


def start_request() -> None:
    """before_request: take a safe incoming X-Request-ID, or make one."""
    incoming = request.headers.get("X-Request-ID", "")
    REQUEST_ID.set(incoming if SAFE_REQUEST_ID.fullmatch(incoming) else new_request_id())


def tag_response(response: Response) -> Response:
    """after_request: hand the request id back, so a client can quote it."""
    request_id = REQUEST_ID.get()
    if request_id:
        response.headers["X-Request-ID"] = request_id
        response.call_on_close(forget_request)
    return response


def forget_request() -> None:
    """Lines logged between requests (a worker exiting) belong to none."""
    REQUEST_ID.set(None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id; all redacted.

    The access loggers' records are already redacted by their filter; this masks tokens and
    addresses in every other logger's message and traceback too.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Send the root logger (and gunicorn's loggers, if any) to stderr in this format."""
    if log_format == "json":
        formatter: logging.Formatter = JsonFormatter()
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.basicConfig(level=level, force=True, stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
    if log_format == "json":
        for name in OWN_HANDLERS:
            for handler in logging.getLogger(name).handlers:
                handler.setFormatter(formatter)


def use_json_format() -> None:
    """Format the handlers already installed (gunicorn's, the root's) as JSON lines.

    create_app calls this when LOG_FORMAT=json, so gunicorn's access and error logs, set up
    before the app is loaded, come out as JSON too; with no handler at all, one is added.
    """
    formatter = JsonFormatter()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
        if root.level == logging.WARNING:
            root.setLevel(logging.INFO)
    for logger in (root, *map(logging.getLogger, OWN_HANDLERS)):
        for handler in logger.handlers:
            if not isinstance(handler.formatter, JsonFormatter):
                handler.setFormatter(formatter)
