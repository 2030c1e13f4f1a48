"""Images and the masthead as readers see them, in mail and on the archive pages.

Every image a reader sees is responsive: `max-width:100%;height:auto` (so a wide image never
pushes a phone's layout sideways) plus `width`/`height` attributes no wider than the email
column (Outlook ignores max-width and sizes images by their attributes).
"""

from __future__ import annotations

from dataclasses import dataclass

from bulletin.extensions import db
from bulletin.mail.links import external_url
from bulletin.mail.markup import IMAGE_MAX_WIDTH, IMAGE_STYLE
from bulletin.models import Masthead, Media

#: The email's content column, in CSS px: the widest an image is ever shown.
EMAIL_COLUMN = IMAGE_MAX_WIDTH
#: The widest a masthead logo is shown.
LOGO_WIDTH = 240
#: The inline style every image in mail carries.
RESPONSIVE_STYLE = IMAGE_STYLE
#: The masthead's one row.
MASTHEAD_ID = 1
#: The masthead with nothing saved: the layout's own colours (templates/email/layout.html).
DEFAULT_BACKGROUND = "#0b0c0c"
DEFAULT_TEXT = "#ffffff"


@dataclass(frozen=True)
class ImageView:
    url: str
    alt: str
    width: int
    height: int
    style: str = RESPONSIVE_STYLE


def image_view(media: Media, lang: str, *, max_width: int = EMAIL_COLUMN) -> ImageView:
    """A library image at most `max_width` wide, with its alt text in `lang`."""
    width = min(media.width, max_width)
    height = max(1, round(media.height * width / media.width))
    return ImageView(
        url=external_url("media.file", name=media.name),
        alt=media.alt(lang),
        width=width,
        height=height,
    )


@dataclass(frozen=True)
class MastheadView:
    background: str
    text: str
    logo: ImageView | None
    is_custom: bool  #: False: nothing saved, the layout's own colours apply

    @property
    def version(self) -> str:
        """Changes with the colours: the archive's stylesheet link carries it (long caching)."""
        return f"{self.background[1:]}{self.text[1:]}"

    @property
    def css(self) -> str:
        """The colours as a style rule for the .masthead class (the archive's stylesheet)."""
        return f".masthead {{ background-color: {self.background}; color: {self.text}; }}\n"


def masthead_view(lang: str) -> MastheadView:
    """The saved masthead (or the defaults), its logo's alt text in `lang`."""
    saved = db.session.get(Masthead, MASTHEAD_ID)
    if saved is None:
        return MastheadView(DEFAULT_BACKGROUND, DEFAULT_TEXT, None, is_custom=False)
    logo = image_view(saved.logo, lang, max_width=LOGO_WIDTH) if saved.logo else None
    return MastheadView(saved.background_colour, saved.text_colour, logo, is_custom=True)
