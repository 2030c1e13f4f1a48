"""Public forms: every field length-capped and free of control characters (core/fields.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from bulletin.core.fields import SUBSCRIBER
from bulletin.web import (
    ButtonForm,
    MultiCheckboxField,
    active_topic_choices,
    email_field,
    language_choices,
    region_choices,
    rules,
)

__all__ = ["ButtonForm", "EmailOnlyForm", "PreferencesForm", "SubscribeForm"]


class PreferencesForm(FlaskForm):
    """Topics, region, language and name: shared by sign-up and manage."""

    name = StringField(
        _l("Name (optional)"),
        validators=rules(
            SUBSCRIBER["name"], length_message=_l("Name must be 100 characters or fewer")
        ),
        render_kw={"autocomplete": "name"},
    )
    topics = MultiCheckboxField(
        _l("Topics"),
        validators=rules(SUBSCRIBER["topics"], required=False),
        coerce=str,
        validate_choice=True,
    )
    region = RadioField(
        _l("Region"),
        validators=rules(SUBSCRIBER["region"], required=InputRequired(_l("Select your region"))),
    )
    language = RadioField(
        _l("Language"),
        choices=language_choices(),
        validators=rules(SUBSCRIBER["language"], required=InputRequired(_l("Select a language"))),
    )

    def fill_choices(self, lang: str) -> None:
        """Load the topic and region options in the page's language."""
        self.topics.choices = active_topic_choices(lang)
        self.region.choices = region_choices(lang)

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
