"""Translated messages that also work outside a request (the CLI, the worker)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g, has_app_context, has_request_context
from flask_babel import force_locale, gettext


def _(message: str, **values) -> str:
    """gettext in a request (the page's language) or inside in_language(); English elsewhere."""
    if has_request_context() or (has_app_context() and g.get("messages_language")):
        return gettext(message, **values)
    return message % values if values else message


@contextmanager
def in_language(lang: str) -> Iterator[None]:
    """Messages in `lang` outside a request: the worker writes an import's row problems in
    the language of the editor who uploaded the file."""
    with force_locale(lang):
        g.messages_language = lang
        try:
            yield
        finally:
            g.pop("messages_language", None)
