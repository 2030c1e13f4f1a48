"""Partner sites that may embed the sign-up: EMBED_ORIGINS, and what an origin is."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import current_app

#: The consent trail's source for an embedded sign-up whose partner site is not known.
UNKNOWN = "embed:unknown"
#: A host name as DNS (and a CSP source) writes it, or an IPv6 address: nothing that could
#: end a CSP directive (;), add a source (space) or change the URL (@, slashes).
_HOST = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")


def origin_of(url: str | None) -> str | None:
    """scheme://host[:port] of an http(s) URL, lower-cased and without a default port."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(parts.hostname or ""):
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def bad_origins(entries: list[str]) -> list[str]:
    """The EMBED_ORIGINS entries that are not an origin (a path, a query, no scheme...)."""
    bad = []
    for entry in entries:
        parts = urlsplit(entry)
        if origin_of(entry) is None or parts.path not in ("", "/") or parts.query:
            bad.append(entry)
    return bad


def allowed_origins() -> tuple[str, ...]:
    """The partner origins in EMBED_ORIGINS, normalised (empty: nobody else may embed)."""
    found = (origin_of(entry) for entry in current_app.config["EMBED_ORIGINS"])
    return tuple(dict.fromkeys(origin for origin in found if origin))


def is_allowed(origin: str | None) -> bool:
    """Whether an origin (or a URL) belongs to a partner listed in EMBED_ORIGINS."""
    return origin_of(origin) in allowed_origins() if origin else False


def source_for(origin: str | None) -> str:
    """The consent trail's `source` for a sign-up made from a partner's site."""
    checked = origin_of(origin)
    if not checked or checked not in allowed_origins():
        return UNKNOWN
    return f"embed:{checked}"[:120]  # the column's size; a host name can be longer


def return_url(url: str | None) -> str | None:
    """A partner page to send the reader back to, or None unless it is on a listed origin.

    No user part, backslash, space or control character (each can make a browser and us
    read the host differently): so no open redirect.
    """
    if not url or len(url) > 2000 or any(c in url for c in "\\@") or not url.isprintable():
        return None
    if " " in url or not is_allowed(url):
        return None
    parts = urlsplit(url)
    return f"{origin_of(url)}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")
