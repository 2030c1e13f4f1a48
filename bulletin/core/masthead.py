"""The masthead: the organisation's logo and colours at the top of issue emails and archive
pages, and the one contrast rule (WCAG 2.x, 4.5:1 for text) its colours must meet."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from bulletin.core.audit import record_audit
from bulletin.extensions import db
from bulletin.mail.branding import MASTHEAD_ID
from bulletin.models import Masthead, Media

#: WCAG 2.2 SC 1.4.3 (AA): normal text needs 4.5:1 against its background.
MIN_CONTRAST = 4.5
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class MastheadRefused(ValueError):
    """A masthead the rules refuse; str() says why and what to do."""


def parse_colour(value: str | None) -> str:
    """A colour as "#rrggbb" in lower case (a leading # may be left out)."""
    text = (value or "").strip()
    if text and not text.startswith("#"):
        text = "#" + text
    if not COLOUR.match(text):
        raise MastheadRefused(_l("Enter a colour as # and six hexadecimal digits, like #0b0c0c."))
    return text.lower()


def _luminance(colour: str) -> float:
    # WCAG 2.x relative luminance of an sRGB colour.
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two "#rrggbb" colours, from 1 to 21."""
    first, second = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (first + 0.05) / (second + 0.05)


def check_contrast(text_colour: str, background_colour: str) -> float:
    """The ratio; refuses a pair below MIN_CONTRAST with the ratio and what to do."""
    ratio = contrast_ratio(text_colour, background_colour)
    if ratio < MIN_CONTRAST:
        raise MastheadRefused(
            _l(
                "The text and background colours have a contrast ratio of %(ratio)s:1; it must "
                "be at least 4.5:1 so everyone can read the masthead. Make one colour darker "
                "or the other lighter.",
                ratio=f"{int(ratio * 100) / 100:.2f}",
            )
        )
    return ratio


def save_masthead(*, background: str, text: str, logo: Media | None, editor=None) -> Masthead:
    """Check and save the masthead (one row). The caller commits."""
    background, text = parse_colour(background), parse_colour(text)
    check_contrast(text, background)
    masthead = db.session.get(Masthead, MASTHEAD_ID) or Masthead(id=MASTHEAD_ID)
    masthead.background_colour = background
    masthead.text_colour = text
    masthead.logo = logo
    db.session.add(masthead)
    db.session.flush()
    record_audit(
        "masthead.update",
        masthead,
        detail={"background": background, "text": text, "logo": logo.name if logo else None},
        editor=editor,
    )
    return masthead
