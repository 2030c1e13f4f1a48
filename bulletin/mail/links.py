"""Links: absolute ones for mail, built from BASE_URL (the worker has no request to copy), and
the page number a paged list's links carry."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

#: The highest page a ?page= link may ask for: past it every list is empty anyway, and an
#: offset much larger overflows the database's integer (a 500 instead of an empty page).
MAX_PAGE = 100_000


def external_url(endpoint: str, **values) -> str:
    """An absolute URL under BASE_URL for an endpoint."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def requested_page() -> int:
    """?page= as a page number from 1 to MAX_PAGE: 1 when missing or not a number."""
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
