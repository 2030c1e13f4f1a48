"""Keep tokens and addresses out of access logs (SEC-11)."""

from __future__ import annotations

import logging
import re

#: Path segments after these prefixes are tokens: a logged link would let anyone act on it,
#: and a counted link (/r/) logged beside a client's address would say who followed it.
TOKEN_PATH = re.compile(r"(/(?:confirm|manage|unsubscribe|u|r)/)[^/\s?#\"']+")
#: Addresses typed into query strings (plain or percent-encoded @).
ADDRESS = re.compile(r"[^\s/?&=\"'<>]+(?:@|%40)[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", re.IGNORECASE)
#: Loggers that write request lines: Werkzeug's dev server, gunicorn's access log, and aiosmtpd's
#: session log (`bulletin bounce-server`: MAIL FROM, RCPT TO with VERP tokens, DATA lines).
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "mail.log")


def redact(text: str) -> str:
    """The text with token path segments and email addresses masked."""
    return ADDRESS.sub("[address]", TOKEN_PATH.sub(r"\1[token]", text))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with tokens and addresses masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction() -> None:
    """Attach the filter to the access loggers once per process."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
