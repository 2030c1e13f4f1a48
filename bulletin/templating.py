"""Helpers every template can use: language, links to the other language, names."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, request, url_for
from flask_babel import format_datetime, get_locale

from bulletin.mail.issue_view import OPPORTUNITY_KINDS, access_features, partner_names
from bulletin.mail.markup import render_markdown, render_plain
from bulletin.models import region_name
from bulletin.mail.tokens import make_unsubscribe_token


def current_lang() -> str:
    """'cy' or 'en': the language of this page."""
    return "cy" if str(get_locale()) == "cy" else "en"


def html_lang(lang: str | None = None) -> str:
    """BCP 47 tag for the html lang attribute (WLS-09): cy or en-GB."""
    return "cy" if (lang or current_lang()) == "cy" else "en-GB"


def switch_language_url(lang: str) -> str:
    """This page in another language: the same path and query, with lang= replaced."""
    if not (request.endpoint and request.method == "GET"):
        return url_for("public.subscribe", lang=lang)
    # Only the route's own arguments go to url_for. The query is copied as text: handed to
    # url_for, ?_external=1 or ?_scheme= would build a link from the Host header, and
    # ?endpoint= or ?_method= would raise a 500.
    path = url_for(request.endpoint, **(request.view_args or {}))
    query = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return f"{path}?{urlencode([*query, ('lang', lang)])}"


def register_template_helpers(app: Flask) -> None:
    """Expose the helpers to Jinja."""
    app.jinja_env.globals.update(
        current_lang=current_lang,
        html_lang=html_lang,
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
