"""Public forms: every field length-capped and free of control characters (core/fields.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from bulletin.core.catalogue import FORMATS, PublicFilter
from bulletin.core.fields import SUBSCRIBER
from bulletin.core.subscribers import Choices
from bulletin.i18n import CODES
from bulletin.mail.issue_view import ACCESS_FEATURES, ACCESS_KEYS
from bulletin.web import (
    ButtonForm,
    MultiCheckboxField,
    active_topic_choices,
    email_field,
    reader_language_choices,
    region_choices,
    rules,
)

__all__ = [
    "ButtonForm",
    "CatalogueFilterForm",
    "EmailOnlyForm",
    "ExternalSubscribeForm",
    "PreferencesForm",
    "SubscribeForm",
]


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
        choices=reader_language_choices(),
        validators=rules(SUBSCRIBER["language"], required=InputRequired(_l("Select a language"))),
    )

    def fill_choices(self, lang: str) -> None:
        """Load the topic and region options in the page's language."""
        self.topics.choices = active_topic_choices(lang)
        self.region.choices = region_choices(lang)

    def validate_topics(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Select at least one topic"))

    def choices(self) -> Choices:
        """What the person chose (after validate()), for the core's verbs."""
        return Choices(
            topics=list(self.topics.data or []),
            region=self.region.data,
            language=self.language.data,
            name=(self.name.data or "").strip(),
        )


class SubscribeForm(PreferencesForm):
    email = email_field()
    consent = BooleanField(
        _l("I agree to receive the bulletin by email"),
        validators=[DataRequired(_l("Tick the box to agree to receive the bulletin"))],
    )
    #: Honeypot: hidden from people (and screen readers), filled by bots.
    website = StringField(_l("Leave this field empty"), validators=[Optional(), Length(max=200)])


class ExternalSubscribeForm(SubscribeForm):
    """The sign-up posted from a partner's site or our embed page: no CSRF token (the page
    that holds it is not ours, or sits in a partner's frame where our cookie is not sent);
    a solved proof-of-work challenge stands in for it (core/challenges.py)."""

    class Meta:
        csrf = False

    def preselect(self, args, lang: str) -> None:
        """Tick what the query asks (?topics=&region=&language=), ignoring what is not offered."""
        offered = {choice.value for choice in self.topics.choices}
        self.topics.data = [slug for slug in args.getlist("topics") if slug in offered]
        regions = {choice.value for choice in self.region.choices}
        self.region.data = args.get("region") if args.get("region") in regions else None
        language = args.get("language")
        self.language.data = language if language in CODES else lang


class EmailOnlyForm(FlaskForm):
    """Ask for a fresh manage link by email."""

    email = email_field()


#: What the catalogue page lists: both kinds (a few of each), or one kind page by page.
SHOW = ("", "workshops", "opportunities")


class CatalogueFilterForm(FlaskForm):
    """The public catalogue's filters, shared by /workshops and its calendar feeds (a GET form:
    no CSRF, bookmarkable). A value not in the lists is an error that says what to choose."""

    class Meta:
        csrf = False

    show = SelectField(
        _l("Show"),
        choices=[
            SelectChoice("", _l("Workshops and opportunities")),
            SelectChoice("workshops", _l("Workshops only")),
            SelectChoice("opportunities", _l("Opportunities only")),
        ],
        default="",
        validate_choice=False,
    )
    topic = SelectField(_l("Topic"), default="", validate_choice=False)
    region = SelectField(_l("Region"), default="", validate_choice=False)
    format = SelectField(
        _l("Online or in person"),
        choices=[
            SelectChoice("", _l("Online or in person")),
            SelectChoice("online", _l("Online")),
            SelectChoice("in-person", _l("In person")),
        ],
        default="",
        validate_choice=False,
    )
    access = MultiCheckboxField(
        _l("Accessibility"),
        choices=[SelectChoice(key, ACCESS_FEATURES[attr]) for key, attr in ACCESS_KEYS.items()],
        coerce=str,
        validate_choice=False,
    )

    def fill_choices(self, lang: str) -> None:
        """Load the topic and region options in the page's language."""
        self.topic.choices = [SelectChoice("", _l("All topics")), *active_topic_choices(lang)]
        self.region.choices = [SelectChoice("", _l("All regions")), *region_choices(lang)]

    def wanted(self) -> PublicFilter:
        """The checked filter (after validate())."""
        return PublicFilter(
            topic=self.topic.data or "",
            region=self.region.data or "",
            format=self.format.data or "",
            access=tuple(dict.fromkeys(self.access.data or ())),
        )

    def validate_show(self, field) -> None:
        if (field.data or "") not in SHOW:
            raise ValidationError(_l("Choose workshops, opportunities or both"))

    def validate_topic(self, field) -> None:
        if not _offered(field):
            raise ValidationError(_l("Choose a topic from the list"))

    def validate_region(self, field) -> None:
        if not _offered(field):
            raise ValidationError(_l("Choose a region from the list"))

    def validate_format(self, field) -> None:
        if (field.data or "") not in ("", *FORMATS):
            raise ValidationError(_l("Choose online, in person or either"))

    def validate_access(self, field) -> None:
        if any(key not in ACCESS_KEYS for key in field.data or ()):
            raise ValidationError(_l("Choose accessibility features from the list"))


def _offered(field: SelectField) -> bool:
    return (field.data or "") in {choice.value for choice in field.choices}
