"""Editor-written Markdown: sanitised HTML (markdown-it-py, then nh3) and plain text."""

from __future__ import annotations

import html
import re

import nh3
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
    "img": {"src", "alt", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "p": {"lang"},
}
ALLOWED_SCHEMES = {"http", "https", "mailto", "tel"}
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")


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
    return _IMG_WITHOUT_ALT.sub('<img alt=""', cleaned)


def render_markdown(text: str | None, *, lowest_heading: int = 4) -> Markup:
    """Markdown to safe HTML; headings start at h<lowest_heading>."""
    if not text:
        return Markup("")
    parser = _parser()
    tokens = parser.parse(text)
    _shift_headings(tokens, lowest_heading)
    return Markup(sanitise_html(parser.renderer.render(tokens, parser.options, {})))


def render_plain(text: str | None) -> str:
    """Markdown as plain text for email: headings underlined, lists, links in full."""
    if not text:
        return ""
    writer = _PlainWriter()
    writer.walk(_parser().parse(text))
    return writer.result()


def _strip_tags(fragment: str) -> str:
    return html.unescape(nh3.clean(fragment, tags=set()))


class _PlainWriter:
    """Walks markdown-it block tokens, writing readable text."""

    def __init__(self) -> None:
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
        line = _inline_text(token.children or [])
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


def _inline_text(children: list[Token]) -> str:
    parts: list[str] = []
    links: list[tuple[int, str]] = []
    for child in children:
        if child.type == "link_open":
            links.append((len(parts), str(child.attrGet("href") or "")))
        elif child.type == "link_close" and links:
            start, href = links.pop()
            label = "".join(parts[start:]).strip()
            if href and href not in (label, f"mailto:{label}"):
                parts.append(f" ({href})")
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
