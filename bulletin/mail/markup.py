"""Editor-written Markdown: sanitised HTML (markdown-it-py, then nh3) and plain text.

Also the limits that keep one Markdown field from making a page slow (every door that
takes Markdown checks them through the editor forms' validators), and a small cache of
what was rendered, so a public page is not rendered again on every GET.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
from collections.abc import Callable, Mapping

import nh3
from cachetools import LRUCache
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

#: What survives sanitising: text structure, links and images, nothing that runs.
ALLOWED_TAGS = {
    "a",
    "abbr",
    "blockquote",
    "br",
    "code",
    "em",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang", "lang"},
    "img": {"src", "alt", "title", "width"},
    "abbr": {"title"},
    "ol": {"start"},
    "p": {"lang"},
}
ALLOWED_SCHEMES = {"http", "https", "mailto", "tel"}
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")
_IMG = re.compile(r"<img\b([^>]*?)\s*/?>")
_IMG_WIDTH = re.compile(r'\swidth="\s*(\d{1,6})[^"]*"')
_RAW_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_RAW_ALT = re.compile(r"""\balt\s*=\s*(?:"\s*[^"\s][^"]*"|'\s*[^'\s][^']*'|[^\s"'>]+)""", re.I)
#: The email's content column in CSS px (the widest any image is shown), and the inline style
#: every image in mail carries: library images (mail/branding.py) and Markdown ones alike.
IMAGE_MAX_WIDTH = 600
IMAGE_STYLE = "max-width:100%;height:auto"

#: Longest Markdown field, in characters. Rendering is linear in the length for every
#: construct we measured (markdown-it-py caps block nesting at 20 levels), at worst about
#: 0.8 s for 20,000 characters of "![": the cache below pays that once per edit, not per GET.
MAX_MARKDOWN_LENGTH = 20_000
#: Deepest nesting of raw HTML elements. The sanitiser (html5ever, in nh3) is quadratic in
#: it: 5,000 nested <li> (20,000 characters) took 0.4 s, 10,000 took 1.4 s. Real text
#: needs a handful of levels.
MAX_HTML_NESTING = 30
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*?(/?)>")
_VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


def _parser() -> MarkdownIt:
    # Raw HTML is parsed (so nh3 can keep the harmless part) and never trusted.
    return MarkdownIt("commonmark", {"html": True, "breaks": False}).enable("strikethrough")


def _shift_headings(tokens: list[Token], lowest: int) -> None:
    # An item body sits under the page's h1/h2/h3: its "#" becomes at least `lowest`.
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(6, int(token.tag[1]) + lowest - 1)
            token.tag = f"h{level}"


def sanitise_html(raw: str) -> str:
    """Clean HTML with the allowlist: no script, no event handlers, no javascript: links."""
    cleaned = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener noreferrer",
    )
    return _IMG.sub(_responsive_image, _IMG_WITHOUT_ALT.sub('<img alt=""', cleaned))


def _responsive_image(match: re.Match) -> str:
    # Outside images get the same limits as library ones: at most the email column wide
    # (a smaller width the editor wrote in HTML is kept), and shrinking with the screen.
    attributes = match.group(1)
    given = _IMG_WIDTH.search(attributes)
    width = min(int(given.group(1)), IMAGE_MAX_WIDTH) if given else IMAGE_MAX_WIDTH
    attributes = _IMG_WIDTH.sub("", attributes)
    return f'<img{attributes} width="{max(width, 1)}" style="{IMAGE_STYLE}">'


def images_without_alt(text: str) -> int:
    """How many images in some Markdown (Markdown or raw HTML) have no alt text."""
    missing = 0
    for token in _parser().parse(text):
        for child in token.children or []:
            if child.type == "image" and not (child.content or "").strip():
                missing += 1
            elif child.type == "html_inline":
                missing += _raw_images_without_alt(child.content)
        if token.type == "html_block":
            missing += _raw_images_without_alt(token.content)
    return missing


def _raw_images_without_alt(fragment: str) -> int:
    return sum(1 for tag in _RAW_IMG.findall(fragment) if not _RAW_ALT.search(tag))


def html_nesting(text: str) -> int:
    """How deep the raw HTML elements in some Markdown nest (stray end tags ignored)."""
    open_tags: list[str] = []
    deepest = 0
    for match in _TAG.finditer(text):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if name in _VOID or self_closing:
            continue
        if not closing:
            open_tags.append(name)
            deepest = max(deepest, len(open_tags))
        elif name in open_tags:  # an end tag closes its element and any left open inside
            del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name) :]
    return deepest


class RenderCache:
    """A thread-safe LRU of rendered text keyed by a digest of the source, held to a total
    size in characters. Keyed by content, an edit can never be served stale: new text is a
    new key."""

    def __init__(self, max_chars: int = 8_000_000):
        self.entries: LRUCache[tuple, str] = LRUCache(maxsize=max_chars, getsizeof=len)
        self.lock = threading.Lock()

    @property
    def size(self) -> int:
        """Characters held."""
        return int(self.entries.currsize)

    def get(self, kind: tuple, text: str, render: Callable[[str], str]) -> str:
        """The cached rendering of `text`, rendering (outside the lock) on a miss."""
        key = (*kind, hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
        with self.lock:
            found = self.entries.get(key)  # a hit becomes the most recently used
        if found is not None:
            return found
        result = render(text)
        with self.lock:
            if len(result) <= self.entries.maxsize:  # the least recently used go to make room
                self.entries[key] = result
        return result

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


#: One per process: the web app's public pages and the worker's emails share it.
rendered = RenderCache()


def _render_html(text: str, lowest_heading: int) -> str:
    parser = _parser()
    tokens = parser.parse(text)
    _shift_headings(tokens, lowest_heading)
    return sanitise_html(parser.renderer.render(tokens, parser.options, {}))


def _render_plain(text: str, links: Mapping[str, str] | None = None) -> str:
    writer = _PlainWriter(links or {})
    writer.walk(_parser().parse(text))
    return writer.result()


def link_targets(text: str | None) -> list[str]:
    """The http(s) link targets in some Markdown, in order, each once (as the renderer
    writes them: the keys `links` below are looked up by)."""
    found: dict[str, None] = {}
    for token in _parser().parse(text or ""):
        for child in token.children or []:
            href = str(child.attrGet("href") or "") if child.type == "link_open" else ""
            if href.lower().startswith(("http://", "https://")):
                found.setdefault(href, None)
    return list(found)


def _retarget(tokens: list[Token], links: Mapping[str, str]) -> None:
    for token in tokens:
        for child in token.children or []:
            if child.type == "link_open":
                href = str(child.attrGet("href") or "")
                child.attrSet("href", links.get(href, href))


def render_markdown(
    text: str | None, *, lowest_heading: int = 4, links: Mapping[str, str] | None = None
) -> Markup:
    """Markdown to safe HTML; headings start at h<lowest_heading>. `links` maps targets to
    the URLs to write instead (counted links): such a render is made once per send and
    language, so it skips the cache."""
    if not text:
        return Markup("")
    if links:
        parser = _parser()
        tokens = parser.parse(text)
        _shift_headings(tokens, lowest_heading)
        _retarget(tokens, links)
        return Markup(sanitise_html(parser.renderer.render(tokens, parser.options, {})))
    html_text = rendered.get(
        ("html", lowest_heading), text, lambda source: _render_html(source, lowest_heading)
    )
    return Markup(html_text)


def render_plain(text: str | None, links: Mapping[str, str] | None = None) -> str:
    """Markdown as plain text for email: headings underlined, lists, links in full
    (`links`: as for render_markdown)."""
    if not text:
        return ""
    if links:
        return _render_plain(text, links)
    return rendered.get(("plain",), text, _render_plain)


def _strip_tags(fragment: str) -> str:
    return html.unescape(nh3.clean(fragment, tags=set()))


class _PlainWriter:
    """Walks markdown-it block tokens, writing readable text."""

    def __init__(self, links: Mapping[str, str]) -> None:
        self.links = links
        self.blocks: list[tuple[str, bool]] = []  # (text, follows the previous line directly)
        self.in_list_run = False
        self.lists: list[list[int | None]] = []  # per nesting level: [next number or None]
        self.prefix = ""
        self.heading: int | None = None

    def walk(self, tokens: list[Token]) -> None:
        for token in tokens:
            handler = getattr(self, "on_" + token.type, None)
            if handler:
                handler(token)

    def on_heading_open(self, token: Token) -> None:
        self.heading = int(token.tag[1])

    def on_heading_close(self, token: Token) -> None:
        self.heading = None

    def on_bullet_list_open(self, token: Token) -> None:
        self.lists.append([None])

    def on_ordered_list_open(self, token: Token) -> None:
        self.lists.append([int(token.attrGet("start") or 1)])

    def on_bullet_list_close(self, token: Token) -> None:
        self.lists.pop()
        if not self.lists:  # the next list starts after a blank line
            self.in_list_run = False

    on_ordered_list_close = on_bullet_list_close

    def on_list_item_open(self, token: Token) -> None:
        counter = self.lists[-1]
        indent = "  " * (len(self.lists) - 1)
        if counter[0] is None:
            self.prefix = f"{indent}- "
        else:
            self.prefix = f"{indent}{counter[0]}. "
            counter[0] += 1

    def on_inline(self, token: Token) -> None:
        line = _inline_text(token.children or [], self.links)
        if self.heading is not None:
            mark = "=" if self.heading == 1 else "-"
            self.add(f"{line}\n{mark * len(line)}")
        elif self.prefix:
            self.add(self.prefix + line.replace("\n", "\n" + " " * len(self.prefix)), item=True)
            self.prefix = ""
        else:
            self.add(line, item=bool(self.lists))

    def on_fence(self, token: Token) -> None:
        self.add(token.content.rstrip("\n"))

    on_code_block = on_fence

    def on_html_block(self, token: Token) -> None:
        text = _strip_tags(token.content).strip()
        if text:
            self.add(text)

    def on_hr(self, token: Token) -> None:
        self.add("----")

    def add(self, text: str, *, item: bool = False) -> None:
        self.blocks.append((text, item and self.in_list_run))
        self.in_list_run = item

    def result(self) -> str:
        out = "".join(("\n" if tight else "\n\n") + text for text, tight in self.blocks)
        return out.strip() + "\n"


def _inline_text(children: list[Token], targets: Mapping[str, str]) -> str:
    parts: list[str] = []
    links: list[tuple[int, str]] = []
    for child in children:
        if child.type == "link_open":
            links.append((len(parts), str(child.attrGet("href") or "")))
        elif child.type == "link_close" and links:
            start, href = links.pop()
            label = "".join(parts[start:]).strip()
            target = targets.get(href, href)
            if href and href not in (label, f"mailto:{label}"):
                parts.append(f" ({target})")
            elif target != href:  # a bare URL that is counted: the counted one replaces it
                parts[start:] = [target]
        elif child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "image":
            alt = child.content or ""
            parts.append(f"[{alt}]" if alt else "")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "html_inline":
            parts.append(_strip_tags(child.content))
    return "".join(parts)
