"""Translated messages that also work outside a request (the CLI, the worker)."""

from __future__ import annotations

from flask import has_app_context
from flask_babel import force_locale, gettext


def _(message: str, **values) -> str:
    """gettext in the app (a request's language, English in the CLI and the worker, or the
    language of an in_language block); the English text with no app at all."""
    if has_app_context():
        return gettext(message, **values)
    return message % values if values else message


#: Messages in a language outside a request: the worker writes an import's row problems in
#: the language of the editor who uploaded the file.
in_language = force_locale
