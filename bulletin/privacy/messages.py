"""Translated messages that also work outside a request (the CLI, the worker)."""

from __future__ import annotations

from flask import has_request_context
from flask_babel import gettext


def _(message: str, **values) -> str:
    """gettext in a request (the page's language); the English text elsewhere."""
    if has_request_context():
        return gettext(message, **values)
    return message % values if values else message
