"""Editor forms: accounts, the catalogue, issues. Times are entered in Europe/London."""

from __future__ import annotations

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from bulletin.core.catalogue import TimeProblem, time_problems
from bulletin.core.editors import MAX_PASSWORD_LENGTH, AccountError, check_new_password
from bulletin.core.fields import (
    EDITOR,
    FILL_WEEKS,
    ISSUE,
    NEWS,
    OPPORTUNITY,
    TEST_SEND,
    TOPIC,
    WORKSHOP,
    WORKSHOP_TIMES,
    Field,
)
from bulletin.i18n import BOTH, london_to_utc, london_to_utc_safe, utc_to_london
from bulletin.mail.issue_view import ACCESS_FEATURES, OPPORTUNITY_KINDS
from bulletin.models import utcnow
from bulletin.web import (
    MultiCheckboxField,
    email_field,
    language_choices,
    region_choices,
    rules,
    topic_choices,
)

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _text(label, field: Field) -> StringField:
    """A box for one field of the table: one line, or several (plain text or Markdown)."""
    box = StringField if field.is_single_line else TextAreaField
    return box(label, validators=rules(field))


def _when(label, required: bool = True) -> DateTimeLocalField:
    checks = [InputRequired(_l("Enter a date and time"))] if required else [Optional()]
    return DateTimeLocalField(label, format=LOCAL_FORMAT, validators=[*checks, ExistsInLondon()])


def require_one_language(form, field: str, message, valid: bool) -> bool:
    """At least one of `<field>_cy` / `<field>_en` must be filled (the error goes on _en)."""
    if (form[f"{field}_cy"].data or "").strip() or (form[f"{field}_en"].data or "").strip():
        return valid
    form[f"{field}_en"].errors = [*form[f"{field}_en"].errors, message]
    return False


class ExistsInLondon:
    """Refuses a wall-clock time that the spring clock change skips."""

    def __call__(self, form, field) -> None:
        if field.data is not None and london_to_utc_safe(field.data) is None:
            raise ValidationError(
                _l(
                    "That time does not exist in the UK: the clocks go forward an hour that night. "
                    "Choose a time before 1am or from 2am."
                )
            )


class NewPassword:
    """The account rule (accounts.check_new_password), shown next to the field."""

    def __call__(self, form, field) -> None:
        if field.data:
            try:
                check_new_password(field.data)
            except AccountError as exc:
                raise ValidationError(str(exc)) from exc


class LoginForm(FlaskForm):
    email = StringField(
        _l("Email address"),
        validators=[InputRequired(), Length(max=320)],
        render_kw={"autocomplete": "username", "type": "email"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired()],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password (at least 12 characters)"),
        validators=[InputRequired(), Length(max=MAX_PASSWORD_LENGTH), NewPassword()],
        render_kw={"autocomplete": "new-password"},
    )


class EditorForm(FlaskForm):
    email = email_field()
    name = _text(_l("Name"), EDITOR["name"])
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("editor", _l("Editor")), SelectChoice("admin", _l("Admin"))],
    )
    password = PasswordField(
        _l("Password (at least 12 characters)"),
        validators=[Optional(), Length(max=MAX_PASSWORD_LENGTH), NewPassword()],
        render_kw={"autocomplete": "new-password"},
    )
    is_active = BooleanField(_l("Account active"), default=True)


class TopicForm(FlaskForm):
    name_en = _text(_l("Name in English"), TOPIC["name_en"])
    name_cy = _text(_l("Name in Welsh"), TOPIC["name_cy"])
    is_active = BooleanField(_l("Readers can choose this topic"), default=True)


class CatalogueForm(FlaskForm):
    """Fields workshops and opportunities share."""

    title_cy = _text(_l("Title in Welsh"), WORKSHOP["title_cy"])
    title_en = _text(_l("Title in English"), WORKSHOP["title_en"])
    summary_cy = _text(_l("Summary in Welsh (Markdown)"), WORKSHOP["summary_cy"])
    summary_en = _text(_l("Summary in English (Markdown)"), WORKSHOP["summary_en"])
    body_cy = _text(_l("Full description in Welsh (Markdown)"), WORKSHOP["body_cy"])
    body_en = _text(_l("Full description in English (Markdown)"), WORKSHOP["body_en"])
    topics = MultiCheckboxField(_l("Topics"), choices=[])
    region = SelectField(_l("Region"), choices=[], validate_choice=True)

    def fill_choices(self, lang: str) -> None:
        """Topics and regions, named in the editor's language."""
        self.topics.choices = topic_choices(lang, active_only=False)
        self.region.choices = [SelectChoice("", _l("All of Wales")), *region_choices(lang)]

    def validate(self, extra_validators=None) -> bool:
        return require_one_language(
            self,
            "title",
            _l("Enter a title in Welsh or English (or both)"),
            super().validate(extra_validators),
        )


class WorkshopForm(CatalogueForm):
    starts_at = _when(_l("Starts"))
    ends_at = _when(_l("Ends"))
    is_online = BooleanField(_l("Online"))
    venue_cy = _text(_l("Venue address in Welsh"), WORKSHOP["venue_cy"])
    venue_en = _text(_l("Venue address in English"), WORKSHOP["venue_en"])
    has_step_free_access = BooleanField(ACCESS_FEATURES["has_step_free_access"])
    has_bsl = BooleanField(ACCESS_FEATURES["has_bsl"])
    has_hearing_loop = BooleanField(ACCESS_FEATURES["has_hearing_loop"])
    has_captions = BooleanField(ACCESS_FEATURES["has_captions"])
    has_quiet_room = BooleanField(ACCESS_FEATURES["has_quiet_room"])
    accessibility_cy = _text(
        _l("Other accessibility information in Welsh"), WORKSHOP["accessibility_cy"]
    )
    accessibility_en = _text(
        _l("Other accessibility information in English"), WORKSHOP["accessibility_en"]
    )
    partners = _text(_l("Partner organisations (one per line)"), WORKSHOP["partners"])
    booking_url = _text(_l("Booking link"), WORKSHOP["booking_url"])
    booking_deadline_at = _when(_l("Booking deadline (optional)"), required=False)

    def validate(self, extra_validators=None) -> bool:
        """The workshop's times must agree (core/catalogue.py's rule, which the API applies)."""
        valid = super().validate(extra_validators)
        times = {name: self[name].data for name in WORKSHOP_TIMES if not self[name].errors}
        for name, problem in time_problems(times):
            start = format_datetime(london_to_utc(times["starts_at"]), "d MMM y, HH:mm")
            message = str(TIME_MESSAGES[problem]) % {"start": start}
            self[name].errors = [*self[name].errors, message]
            valid = False
        return valid


#: What to do about each problem with a workshop's times (%(start)s: when it starts).
TIME_MESSAGES = {
    TimeProblem.END_BEFORE_START: _l("Choose an end after the start (%(start)s)"),
    TimeProblem.DEADLINE_AFTER_START: _l(
        "Choose a booking deadline before the workshop starts (%(start)s)"
    ),
}


class OpportunityForm(CatalogueForm):
    kind = SelectField(
        _l("Kind of opportunity"),
        choices=[SelectChoice(k, label) for k, label in OPPORTUNITY_KINDS.items()],
        validators=[InputRequired(_l("Choose the kind of opportunity"))],
    )
    closes_at = _when(_l("Closing date and time (optional)"), required=False)
    payment_cy = _text(_l("Payment and expenses in Welsh"), OPPORTUNITY["payment_cy"])
    payment_en = _text(_l("Payment and expenses in English"), OPPORTUNITY["payment_en"])
    url = _text(_l("Link to find out more or apply"), OPPORTUNITY["url"])


class IssueForm(FlaskForm):
    version = HiddenField(validators=[InputRequired()])
    subject_cy = _text(_l("Subject in Welsh"), ISSUE["subject_cy"])
    subject_en = _text(_l("Subject in English"), ISSUE["subject_en"])
    preheader_cy = _text(_l("Preview text in Welsh"), ISSUE["preheader_cy"])
    preheader_en = _text(_l("Preview text in English"), ISSUE["preheader_en"])
    intro_cy = _text(_l("Introduction in Welsh (Markdown)"), ISSUE["intro_cy"])
    intro_en = _text(_l("Introduction in English (Markdown)"), ISSUE["intro_en"])

    def validate(self, extra_validators=None) -> bool:
        return require_one_language(
            self,
            "subject",
            _l("Enter a subject in Welsh or English (or both)"),
            super().validate(extra_validators),
        )


class NewsItemForm(FlaskForm):
    title_cy = _text(_l("Title in Welsh"), NEWS["title_cy"])
    title_en = _text(_l("Title in English"), NEWS["title_en"])
    body_cy = _text(_l("Text in Welsh (Markdown)"), NEWS["body_cy"])
    body_en = _text(_l("Text in English (Markdown)"), NEWS["body_en"])
    image = SelectField(_l("Image (optional)"), choices=[], validate_choice=True, default="")

    def validate(self, extra_validators=None) -> bool:
        return require_one_language(
            self,
            "title",
            _l("Enter a title in Welsh or English (or both)"),
            super().validate(extra_validators),
        )


class AddItemForm(FlaskForm):
    entry = SelectField(_l("Workshop or opportunity"), choices=[], validate_choice=True)


class FillForm(FlaskForm):
    send_date = _when(_l("When will the issue be sent?"), required=False)
    until = DateField(
        _l("Add workshops starting up to and including"),
        validators=[InputRequired(_l("Enter the last day of workshops to add"))],
    )

    def validate_until(self, field) -> None:
        sent = self.send_date.data or utc_to_london(utcnow())
        if field.data and field.data < sent.date():
            raise ValidationError(
                _l(
                    "Choose a day on or after the send date (%(date)s)",
                    date=sent.strftime("%d/%m/%Y"),
                )
            )
        if field.data and (field.data - sent.date()).days > 7 * FILL_WEEKS.maximum:
            raise ValidationError(
                _l("Choose a day within %(weeks)s weeks of the send date", weeks=FILL_WEEKS.maximum)
            )


class TestSendForm(FlaskForm):
    addresses = _text(_l("Send to (up to 5 addresses, one per line)"), TEST_SEND["addresses"])
    language = SelectField(
        _l("Language"),
        choices=[
            *language_choices(),
            SelectChoice("both", _l("Both languages")),
            SelectChoice(BOTH, _l("One email in both languages, as readers who chose both get it")),
        ],
    )


class EmbedCodeForm(FlaskForm):
    """What a partner's sign-up box offers (a GET form: no CSRF, nothing is saved)."""

    class Meta:
        csrf = False

    topics = MultiCheckboxField(_l("Topics"), coerce=str, validate_choice=True)
    region = SelectField(_l("Region"), default="", validate_choice=True)
    language = SelectField(
        _l("Language of the sign-up box and of the emails"),
        choices=language_choices(),
        default="cy",
        validate_choice=True,
    )
    return_url = StringField(
        _l("Page to return to after signing up (optional)"),
        validators=[Optional(), Length(max=2000)],
        render_kw={"inputmode": "url", "spellcheck": "false"},
    )

    def fill_choices(self, lang: str) -> None:
        """All active topics and regions, named in the editor's language."""
        self.topics.choices = topic_choices(lang, active_only=True)
        self.region.choices = [SelectChoice("", _l("Let the reader choose")), *region_choices(lang)]

    def validate_topics(self, field) -> None:
        if not field.data:
            raise ValidationError(_l("Select at least one topic"))
