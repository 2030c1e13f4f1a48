"""Library images at /media/<name>, and the masthead's colours as a stylesheet."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from bulletin.core import media
from bulletin.i18n import current_lang
from bulletin.mail.branding import masthead_view

bp = Blueprint("media", __name__)
#: A name is a digest of the bytes: the same URL never shows anything else.
FOREVER = "public, max-age=31536000, immutable"


@bp.get("/media/<name>")
def file(name: str):
    found = media.read_file(name)
    if found is None:
        abort(404)
    data, content_type = found
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = FOREVER
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/masthead.css")
def masthead_css():
    # Linked as /masthead.css?v=<colours>: a new pair of colours is a new URL.
    response = Response(masthead_view(current_lang()).css, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
