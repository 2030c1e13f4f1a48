"""Forms of the admin subscriber pages: search, export filter, import upload."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from bulletin.core.fields import SUBSCRIBER
from bulletin.editorial.labels import SUBSCRIBER_STATUSES
from bulletin.models import SubscriberStatus
from bulletin.privacy.csvsource import FIELDS
from bulletin.web import (
    NoControlCharacters,
    ValidEmail,
    reader_language_choices,
    region_choices,
    rules,
    topic_choices,
)


def _any() -> SelectChoice:
    return SelectChoice("", _l("Any"))


class SearchForm(FlaskForm):
    """Find one subscriber by their exact address (POSTed, so it stays out of access logs)."""

    email = StringField(
        _l("Email address"),
        validators=[
            *rules(SUBSCRIBER["email"], required=InputRequired(_l("Enter an email address"))),
            ValidEmail(),
        ],
        render_kw={"type": "email", "spellcheck": "false", "autocomplete": "off"},
    )


class ExportForm(FlaskForm):
    """Which subscribers go into the CSV."""

    status = SelectField(_l("Status"), validators=[Optional()])
    topic = SelectField(_l("Topic"), validators=[Optional()])
    region = SelectField(_l("Region"), validators=[Optional()])
    language = SelectField(
        _l("Language"),
        validators=[Optional()],
        choices=[_any(), *reader_language_choices()],
    )

    def fill_choices(self, lang: str) -> None:
        """Load statuses, topics and regions."""
        self.status.choices = [_any()] + [SelectChoice(s.value, s.value) for s in SubscriberStatus]
        self.topic.choices = [_any(), *topic_choices(lang, active_only=False)]
        self.region.choices = [_any(), *region_choices(lang)]


class ImportForm(FlaskForm):
    """A CSV file, optional column names, and what to do with rows lacking consent."""

    file = FileField(
        _l("CSV file"),
        validators=[
            FileRequired(_l("Choose a CSV file")),
            FileAllowed(["csv", "txt"], _l("The file must be a CSV file")),
        ],
    )
    invite = BooleanField(_l("Send rows without a consent date an invitation to confirm"))
    dry_run = BooleanField(_l("Check the file only: change nothing"), default=True)


COLUMN_LABELS = {
    "email": _l("Column with the email address"),
    "name": _l("Column with the name"),
    "topics": _l("Column with the topics"),
    "region": _l("Column with the region"),
    "language": _l("Column with the language"),
    "consent_date": _l("Column with the consent date"),
    "consent_source": _l("Column with the consent source"),
}

#: One optional "which column" box per field; blank means "recognise the header".
for _field in FIELDS:
    setattr(
        ImportForm,
        f"map_{_field}",
        StringField(
            COLUMN_LABELS[_field], validators=[Optional(), Length(max=200), NoControlCharacters()]
        ),
    )


class ListForm(FlaskForm):
    """The subscriber list's filters and search (a GET form: no CSRF, bookmarkable)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Part of an address or name"),
        validators=[Optional(), Length(max=200, message=_l("Search for 200 characters or fewer"))],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    status = SelectField(_l("Status"), validators=[Optional()])
    topic = SelectField(_l("Topic"), validators=[Optional()])
    region = SelectField(_l("Region"), validators=[Optional()])
    language = SelectField(
        _l("Language"), validators=[Optional()], choices=[_any(), *reader_language_choices()]
    )
    since = DateField(
        _l("Signed up on or after"),
        validators=[Optional()],
        render_kw={"type": "date"},
    )
    until = DateField(
        _l("Signed up on or before"),
        validators=[Optional()],
        render_kw={"type": "date"},
    )

    def fill_choices(self, lang: str) -> None:
        """Load statuses (as words), topics and regions."""
        self.status.choices = [_any()] + [
            SelectChoice(s.value, SUBSCRIBER_STATUSES[s]) for s in SubscriberStatus
        ]
        self.topic.choices = [_any(), *topic_choices(lang, active_only=False)]
        self.region.choices = [_any(), *region_choices(lang)]
