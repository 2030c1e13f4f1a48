"""Small form pieces several doors share: validators and choices built from core/fields.py."""

from __future__ import annotations

from email_validator import EmailNotValidError
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from bulletin.core import fields
from bulletin.core.fields import CONTROL, NUL, Field, Kind, normalise_email
from bulletin.i18n import LANGUAGES
from bulletin.mail.markup import MAX_HTML_NESTING, html_nesting
from bulletin.models import REGIONS, Topic, region_name


class ButtonForm(FlaskForm):
    """A form that is only a button (and its CSRF token): confirm, unsubscribe, erase..."""


class NoControlCharacters:
    """Refuses CR, LF and every other control character (header injection, log forging)."""

    def __call__(self, form, field) -> None:
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(isinstance(v, str) and CONTROL.search(v) for v in values):
            raise ValidationError(_l("Remove line breaks and control characters."))


class NoNul:
    """Refuses NUL in multi-line text: no database column can hold it."""

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and NUL in field.data:
            raise ValidationError(_l("Remove line breaks and control characters."))


class ValidEmail:
    """Checks syntax (no DNS) and normalises: domain lower-cased and IDNA-encoded."""

    def __call__(self, form, field) -> None:
        try:
            field.data = normalise_email(field.data or "")
        except EmailNotValidError as exc:
            raise ValidationError(
                _l("Enter an email address in the correct format, like name@example.com")
            ) from exc


class WebLink:
    """Only http and https links: never javascript: or data: (they reach readers' mail)."""

    def __call__(self, form, field) -> None:
        if field.data and not fields.is_web_link(field.data):
            raise ValidationError(_l("Enter a full web address starting with https://"))


class ShallowHtml:
    """Refuses Markdown whose raw HTML nests deeper than the sanitiser handles quickly."""

    def __call__(self, form, field) -> None:
        if field.data and html_nesting(field.data) > MAX_HTML_NESTING:
            raise ValidationError(
                _l(
                    "The HTML in this text is nested more than %(levels)s levels deep. "
                    "Use Markdown or simpler HTML.",
                    levels=MAX_HTML_NESTING,
                )
            )


def rules(field: Field, *, required=None, length_message=None) -> list:
    """The WTForms validators of a text field of the table (required-ness, length, characters).

    `required` (a validator) replaces the plain DataRequired/Optional the table implies;
    False leaves presence to the form (a checkbox list says "select at least one" itself). A
    choice field is held to its choices by WTForms (validate_choice), not by a length.
    """
    if required is None:
        required = DataRequired() if field.required else Optional()
    checks = [required] if required is not False else []
    if field.max_length is not None and field.kind not in (Kind.CHOICE, Kind.CHOICES):
        checks.append(Length(max=field.max_length, message=length_message))
    checks.append(NoControlCharacters() if field.is_single_line else NoNul())
    if field.kind is Kind.LINK:
        checks.append(WebLink())
    if field.kind is Kind.MARKDOWN:
        checks.append(ShallowHtml())
    return checks


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def email_field(label=None, **render_kw) -> StringField:
    """The email address box: required, at most 254 characters, one valid address."""
    return StringField(
        label or _l("Email address"),
        validators=rules(
            fields.SUBSCRIBER["email"],
            required=InputRequired(_l("Enter your email address")),
            length_message=_l("Email address must be 254 characters or fewer"),
        ) + [ValidEmail()],
        render_kw={"autocomplete": "email", "type": "email", "spellcheck": "false", **render_kw},
    )


def language_choices() -> list[SelectChoice]:
    """Cymraeg, English: each language named in itself."""
    return [SelectChoice(str(lang), lang.native_name) for lang in LANGUAGES]


def region_choices(lang: str) -> list[SelectChoice]:
    """Every region, named in `lang`."""
    return [SelectChoice(code, region_name(code, lang)) for code in REGIONS]


def topic_choices(lang: str, *, active_only: bool) -> list[SelectChoice]:
    """Topics in their order, named in `lang` (readers see only the active ones)."""
    query = Topic.query.filter_by(is_active=True) if active_only else Topic.query
    return [SelectChoice(t.slug, t.name(lang)) for t in query.order_by(Topic.position)]
