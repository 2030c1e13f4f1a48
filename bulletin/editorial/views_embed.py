"""Admin page: the code partners paste to offer the sign-up on their sites (a snippet of
HTML, or an iframe of /embed/subscribe), built for chosen topics, region and language."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import force_locale

from bulletin.core import consent, embeds
from bulletin.editorial.access import admin_required
from bulletin.editorial.forms import EmbedCodeForm
from bulletin.editorial.views import bp
from bulletin.i18n import current_lang
from bulletin.mail.links import external_url
from bulletin.web import region_choices


@bp.get("/admin/embed")
@admin_required
def embed_code():
    """The GET form; once sent and valid, the preview and the two pieces of code."""
    form = EmbedCodeForm(request.args)
    form.fill_choices(current_lang())
    asked = "language" in request.args
    if not asked or not form.validate():
        page = render_template("editorial/embed_code.html", form=form, code=None)
        return page, 400 if asked else 200
    choice = {
        "lang": form.language.data,
        "topics": form.topics.data,
        **({"region": form.region.data} if form.region.data else {}),
    }
    return_url = form.return_url.data or ""
    code = {
        "iframe": _iframe(choice),
        "snippet": _snippet(choice, return_url),
        "preview": external_url("embed.subscribe", **choice),
        "return_unlisted": bool(return_url) and embeds.return_url(return_url) is None,
        "origins": embeds.allowed_origins(),
    }
    return render_template("editorial/embed_code.html", form=form, code=code)


def _iframe(choice: dict) -> str:
    with force_locale(choice["lang"]):
        return render_template(
            "editorial/_embed_iframe.html", src=external_url("embed.subscribe", **choice)
        ).strip()


def _snippet(choice: dict, return_url: str) -> str:
    lang = choice["lang"]
    with force_locale(lang):
        return render_template(
            "editorial/_embed_snippet.html",
            lang=lang,
            topics=choice["topics"],
            region=choice.get("region"),
            regions=region_choices(lang),
            statement=consent.statement(lang),
            return_url=return_url,
            action=external_url("embed.external", lang=lang),
            challenge=external_url("embed.challenge"),
            script=external_url("static", filename="challenge.js"),
            privacy=external_url("public.privacy", lang=lang),
        ).strip()
