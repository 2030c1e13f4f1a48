"""Render an email once per language: Jinja, then premailer inlines the CSS once."""

from __future__ import annotations

import html as html_escape
import logging
import re
from dataclasses import dataclass, replace

import premailer
from flask import render_template
from flask_babel import force_locale

from bulletin.i18n import BOTH, LANGUAGES, Language
from bulletin.mail.merge import Markers, Placeholder, Reader, field_values, fill_markers

logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)

#: Stand-ins for the per-recipient links in a once-per-language render: bulk sends replace
#: them by substitution (no per-recipient Jinja or premailer). Letters, digits and dashes
#: only, so no encoding (HTML, quoted-printable) ever changes them.
UNSUBSCRIBE_PLACEHOLDER = "BULLETIN-PERSONAL-UNSUBSCRIBE-URL"
MANAGE_PLACEHOLDER = "BULLETIN-PERSONAL-MANAGE-URL"


@dataclass(frozen=True)
class RenderedEmail:
    """The three parts of a mail, ready to be wrapped in MIME."""

    subject: str
    text: str
    html: str
    language: str  #: cy, en, or i18n.BOTH for the two composed into one (compose_bilingual)
    #: The merge fields its text holds, as markers (merge.MARKER) numbered by position here.
    fields: tuple[Placeholder, ...] = ()
    #: A bilingual mail's language for each field ('' or empty: the mail's language).
    field_languages: tuple[str, ...] = ()


#: Around the card of a mail's layout, when asked for (`part_markers`): the piece of each
#: language that compose_bilingual puts one after the other.
PART_START, PART_END = "<!--bulletin:part-->", "<!--/bulletin:part-->"
_PART = re.compile(re.escape(PART_START) + "(.*?)" + re.escape(PART_END), re.S)
_TITLE = re.compile(r"<title>.*?</title>", re.S)
#: The anchors of a bilingual mail's halves (in-page links between them).
ANCHORS = {Language.CY: "cymraeg", Language.EN: "english"}
ARROWS = {Language.CY: "\N{UPWARDS ARROW}", Language.EN: "\N{DOWNWARDS ARROW}"}
#: Between the Welsh and the English of a bilingual mail's text part.
TEXT_SEPARATOR = "=" * 60
#: Past this length a bilingual subject shortens each half at a word (mail clients show
#: about 60 to 80 characters of a subject; both languages should start within them).
SUBJECT_MAX = 120


def render_email(name: str, lang: str, **context) -> RenderedEmail:
    """Render templates/email/<name>.{subject.txt,txt,html} in a language, CSS inlined;
    for i18n.BOTH, in Welsh and in English composed into one (compose_bilingual)."""
    if lang == BOTH:
        halves = [_render(name, str(one), part_markers=True, **context) for one in LANGUAGES]
        rendered = compose_bilingual(*halves)
    else:
        rendered = _render(name, lang, **context)
    return replace(rendered, html=inline_css(rendered.html))


def _render(name: str, lang: str, **context) -> RenderedEmail:
    # Jinja only: the HTML is not inlined yet (a bilingual mail is inlined once, composed).
    context.setdefault("lang", lang)
    with force_locale(lang):
        subject = render_template(f"email/{name}.subject.txt", **context).strip()
        text = render_template(f"email/{name}.txt", subject=subject, **context)
        html = render_template(f"email/{name}.html", subject=subject, **context)
    return RenderedEmail(
        subject=" ".join(subject.split()), text=_tidy_text(text), html=html, language=lang
    )


def compose_bilingual(welsh: RenderedEmail, english: RenderedEmail) -> RenderedEmail:
    """One mail of the two (rendered with part_markers, not yet inlined): the Welsh first,
    then the English, each in a lang= block with a link at its top to the other; a subject
    with both; a text part with both, a separator line between. The document (head,
    preheader, html lang) is the Welsh one's."""
    subject = bilingual_subject(welsh.subject, english.subject)
    parts = []
    for rendered in (welsh, english):
        lang = Language(rendered.language)
        found = _PART.search(rendered.html)
        if found is None:
            raise ValueError(f"email layout has no {PART_START} (part_markers)")
        parts.append(_html_part(lang, found.group(1)))
    head, tail = welsh.html.split(PART_START, 1)[0], welsh.html.split(PART_END, 1)[1]
    head = _TITLE.sub(lambda _m: f"<title>{html_escape.escape(subject)}</title>", head, 1)
    text = "\n".join(
        [
            _text_link(Language.EN),
            "",
            welsh.text.rstrip(),
            "",
            TEXT_SEPARATOR,
            _text_link(Language.CY),
            "",
            english.text,
        ]
    )
    return RenderedEmail(subject, text, head + "".join(parts) + tail, BOTH)


def _html_part(lang: Language, card: str) -> str:
    other = lang.other
    link = (
        f'<p style="margin: 0 0 8px;"><a href="#{ANCHORS[other]}" '
        f'lang="{other.tag}">{other.read_in} {ARROWS[other]}</a></p>'
    )
    space = "" if lang is Language.CY else " padding-top: 24px;"
    style = f"max-width: 640px; margin: 0 auto; text-align: left;{space}"
    return f'<div lang="{lang.tag}" id="{ANCHORS[lang]}" style="{style}">{link}{card}</div>'


def _text_link(lang: Language) -> str:
    return f"{lang.read_in} {ARROWS[lang]}"


def bilingual_subject(welsh: str, english: str) -> str:
    """ "Welsh | English" (one of them when they are the same), each half shortened at a
    word when the whole would pass SUBJECT_MAX. A cut at a space never splits a marker."""
    if welsh == english:
        return welsh
    joined = f"{welsh} | {english}"
    if len(joined) <= SUBJECT_MAX:
        return joined
    half = (SUBJECT_MAX - 3) // 2
    return f"{_shorten(welsh, half)} | {_shorten(english, half)}"


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:-") + "\N{HORIZONTAL ELLIPSIS}"


def inline_css(html: str) -> str:
    """premailer once: styles inlined, the <style> block kept for media queries."""
    return premailer.transform(
        html,
        keep_style_tags=True,
        strip_important=False,
        cssutils_logging_level=logging.CRITICAL,
        allow_network=False,
        disable_validation=True,
    )


def _tidy_text(text: str) -> str:
    # Collapse runs of blank lines left by template logic; keep one blank line between blocks.
    lines = [line.rstrip() for line in text.splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).strip() + "\n"


def render_issue(issue, lang: str, *, personal: bool = True, now=None, links=None) -> RenderedEmail:
    """Render an issue once in a language (i18n.BOTH: both, composed into one mail, each
    half's merge fields filled in its language); personal links are placeholders for the
    sender.

    `links` (an issue_view.LinkMaker) rewrites every outgoing link, the same for every
    reader: a send's counted links are made here, never per recipient."""
    from bulletin.mail.issue_view import build_issue_view
    from bulletin.mail.links import external_url

    markers = Markers()
    urls = {"view_url": None, "manage_url": None, "unsubscribe_url": None}
    if personal:
        urls = {
            "view_url": external_url("archive.issue", slug=issue.slug),
            "manage_url": MANAGE_PLACEHOLDER,
            "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        }

    def render(one: str, fill, **extra) -> RenderedEmail:
        with force_locale(one):
            view = build_issue_view(issue, one, now=now, fill=fill, links=links)
        return _render("issue", one, view=view, preheader=view.preheader, **urls, **extra)

    if lang == BOTH:  # one Markers: each half's fields are filled in its own language
        halves = [
            render(str(one), markers.in_language(str(one)), part_markers=True) for one in LANGUAGES
        ]
        rendered = compose_bilingual(*halves)
    else:
        rendered = render(lang, markers)
    return replace(
        rendered,
        html=inline_css(rendered.html),
        fields=tuple(markers.fields),
        field_languages=tuple(markers.languages) if lang == BOTH else (),
    )


def with_reader(rendered: RenderedEmail, reader: Reader) -> RenderedEmail:
    """The rendered issue with one reader's values in place of its markers (plain in the
    subject and text, escaped in the HTML): what the editor's preview shows. Sends join the
    values into the encoded message instead (messages.MessageTemplate)."""
    values = field_values(reader, rendered.language, rendered.fields, rendered.field_languages)
    return replace(
        rendered,
        subject=fill_markers(rendered.subject, values),
        text=fill_markers(rendered.text, values),
        html=fill_markers(rendered.html, values, escape=True),
        fields=(),
    )
