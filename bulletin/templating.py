"""Helpers every template can use: names, links, text (the language helpers live in i18n.py)."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_datetime

from bulletin.i18n import LANGUAGES, current_lang, html_lang, language_of, switch_language_url

from bulletin.mail.issue_view import OPPORTUNITY_KINDS, access_features, partner_names
from bulletin.mail.markup import render_markdown, render_plain
from bulletin.models import region_name
from bulletin.mail.tokens import make_unsubscribe_token


def register_template_helpers(app: Flask) -> None:
    """Expose the helpers to Jinja."""
    app.jinja_env.globals.update(
        current_lang=current_lang,
        html_lang=html_lang,
        language_of=language_of,
        languages=LANGUAGES,
        switch_language_url=switch_language_url,
        region_name=region_name,
        format_datetime=format_datetime,
        make_unsubscribe_token=make_unsubscribe_token,
        access_features=access_features,
        partner_names=partner_names,
        opportunity_kinds=OPPORTUNITY_KINDS,
    )
    app.jinja_env.filters["markdown"] = lambda text, lowest=4: render_markdown(
        text, lowest_heading=lowest)
    app.jinja_env.filters["markdown_text"] = render_plain
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
