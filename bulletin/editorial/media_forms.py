"""Editor forms for the media library, the masthead, and an issue item's image."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, ValidationError

from bulletin.core.fields import MASTHEAD, MEDIA
from bulletin.core.masthead import MastheadRefused, parse_colour
from bulletin.core.media import image_choices
from bulletin.web import rules


def _alt(label, name: str) -> StringField:
    return StringField(
        label,
        validators=rules(
            MEDIA[name],
            required=InputRequired(_l("Describe the image in this language (its alt text)")),
        ),
    )


class MediaAltForm(FlaskForm):
    alt_cy = _alt(_l("Description in Welsh (alt text)"), "alt_cy")
    alt_en = _alt(_l("Description in English (alt text)"), "alt_en")


class MediaUploadForm(MediaAltForm):
    # Presence, size and format are checked by core/media.py (one rule for every door);
    # the field stays optional here so its own message never hides that one.
    file = FileField(_l("Image file (PNG, JPEG, GIF or WebP)"))


def _colour(label, name: str) -> StringField:
    return StringField(
        label,
        validators=[
            *rules(MASTHEAD[name], required=InputRequired(_l("Enter a colour, like #0b0c0c"))),
            _is_colour,
        ],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )


def _is_colour(form, field) -> None:
    try:
        field.data = parse_colour(field.data)
    except MastheadRefused as exc:
        raise ValidationError(str(exc)) from exc


class ImageChoiceForm(FlaskForm):
    """One library image, or none."""

    image = SelectField(_l("Image"), choices=[], validate_choice=True, default="")

    @staticmethod
    def choices_for(lang: str, none_label=None) -> list[SelectChoice]:
        """The library's images, described in `lang`; the first choice is no image."""
        return [
            SelectChoice("", none_label or _l("No image")),
            *(SelectChoice(value, label) for value, label in image_choices(lang)),
        ]


class MastheadForm(FlaskForm):
    background_colour = _colour(_l("Background colour"), "background_colour")
    text_colour = _colour(_l("Text colour"), "text_colour")
    logo = SelectField(_l("Logo"), choices=[], validate_choice=True, default="")

    def fill_choices(self, lang: str) -> None:
        """The library's images as logo choices; the first is no logo."""
        self.logo.choices = ImageChoiceForm.choices_for(lang, _l("No logo"))
