"""Public forms: every field length-capped and free of control characters."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from bulletin.core.addresses import InvalidAddress, parse

from bulletin.models import REGIONS, Topic, region_name

CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
EMAIL_MAX = 254


class NoControlCharacters:
    """Refuses CR, LF and every other control character (header injection, log forging)."""

    def __call__(self, form, field) -> None:
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(isinstance(v, str) and CONTROL.search(v) for v in values):
            raise ValidationError(_l("Remove line breaks and control characters."))


class ValidEmail:
    """Checks syntax (no DNS) and normalises: domain lower-cased and IDNA-encoded."""

    def __call__(self, form, field) -> None:
        try:
            address = parse(field.data or "")
        except InvalidAddress as exc:
            raise ValidationError(
                _l("Enter an email address in the correct format, like name@example.com")
            ) from exc
        field.data = address.typed


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def email_field() -> StringField:
    return StringField(
        _l("Email address"),
        validators=[
            InputRequired(_l("Enter your email address")),
            Length(max=EMAIL_MAX, message=_l("Email address must be 254 characters or fewer")),
            NoControlCharacters(),
            ValidEmail(),
        ],
        render_kw={"autocomplete": "email", "type": "email", "spellcheck": "false"},
    )


class PreferencesForm(FlaskForm):
    """Topics, region, language and name: shared by sign-up and manage."""

    name = StringField(
        _l("Name (optional)"),
        validators=[
            Optional(),
            Length(max=100, message=_l("Name must be 100 characters or fewer")),
            NoControlCharacters(),
        ],
        render_kw={"autocomplete": "name"},
    )
    topics = MultiCheckboxField(
        _l("Topics"), validators=[NoControlCharacters()], coerce=str, validate_choice=True
    )
    region = RadioField(
        _l("Region"),
        validators=[InputRequired(_l("Select your region")), NoControlCharacters()],
    )
    language = RadioField(
        _l("Language"),
        choices=[SelectChoice("cy", "Cymraeg"), SelectChoice("en", "English")],
        validators=[InputRequired(_l("Select a language")), NoControlCharacters()],
    )

    def fill_choices(self, lang: str) -> None:
        """Load the topic and region options in the page's language."""
        topics = Topic.query.filter_by(is_active=True).order_by(Topic.position).all()
        self.topics.choices = [SelectChoice(t.slug, t.name(lang)) for t in topics]
        self.region.choices = [SelectChoice(code, region_name(code, lang)) for code in REGIONS]

    def validate_topics(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Select at least one topic"))


class SubscribeForm(PreferencesForm):
    email = email_field()
    consent = BooleanField(
        _l("I agree to receive the bulletin by email"),
        validators=[DataRequired(_l("Tick the box to agree to receive the bulletin"))],
    )
    #: Honeypot: hidden from people (and screen readers), filled by bots.
    website = StringField(_l("Leave this field empty"), validators=[Optional(), Length(max=200)])


class EmailOnlyForm(FlaskForm):
    """Ask for a fresh manage link by email."""

    email = email_field()


class ButtonForm(FlaskForm):
    """A single button: confirm, unsubscribe, erase, download."""
