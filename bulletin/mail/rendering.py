"""Render an email once per language: Jinja, then premailer inlines the CSS once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import premailer
from flask import render_template
from flask_babel import force_locale

from bulletin.mail.merge import Markers, Placeholder, Reader, fill_markers, reader_filler

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
    language: str
    #: The merge fields its text holds, as markers (merge.MARKER) numbered by position here.
    fields: tuple[Placeholder, ...] = ()


def render_email(name: str, lang: str, **context) -> RenderedEmail:
    """Render templates/email/<name>.{subject.txt,txt,html} in a language, CSS inlined."""
    context.setdefault("lang", lang)
    with force_locale(lang):
        subject = render_template(f"email/{name}.subject.txt", **context).strip()
        text = render_template(f"email/{name}.txt", subject=subject, **context)
        html = render_template(f"email/{name}.html", subject=subject, **context)
    return RenderedEmail(
        subject=" ".join(subject.split()),
        text=_tidy_text(text),
        html=inline_css(html),
        language=lang,
    )


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
    """Render an issue once in a language; personal links are placeholders for the sender.

    `links` (an issue_view.LinkMaker) rewrites every outgoing link, the same for every
    reader: a send's counted links are made here, never per recipient."""
    from bulletin.mail.issue_view import build_issue_view
    from bulletin.mail.links import external_url

    markers = Markers()
    with force_locale(lang):
        view = build_issue_view(issue, lang, now=now, fill=markers, links=links)
    links = {"view_url": None, "manage_url": None, "unsubscribe_url": None}
    if personal:
        links = {
            "view_url": external_url("archive.issue", slug=issue.slug),
            "manage_url": MANAGE_PLACEHOLDER,
            "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        }
    rendered = render_email("issue", lang, view=view, preheader=view.preheader, **links)
    return replace(rendered, fields=tuple(markers.fields))


def with_reader(rendered: RenderedEmail, reader: Reader) -> RenderedEmail:
    """The rendered issue with one reader's values in place of its markers (plain in the
    subject and text, escaped in the HTML): what the editor's preview shows. Sends join the
    values into the encoded message instead (messages.MessageTemplate)."""
    fill = reader_filler(reader, rendered.language)
    values = [fill(placeholder) for placeholder in rendered.fields]
    return replace(
        rendered,
        subject=fill_markers(rendered.subject, values),
        text=fill_markers(rendered.text, values),
        html=fill_markers(rendered.html, values, escape=True),
        fields=(),
    )
