"""Reading test mail: parts, links."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

URL_RE = re.compile(r"https?://[^\s<>\"')\]]+")


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def links(message, path_prefix: str) -> list[str]:
    """Paths (no scheme/host) of the links in the text part starting with a prefix."""
    found = []
    for url in URL_RE.findall(text_part(message)):
        parts = urlsplit(url)
        if parts.path.startswith(path_prefix):
            found.append(parts.path)
    return found
