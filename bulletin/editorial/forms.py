"""Editor forms: accounts, the catalogue, issues. Times are entered in Europe/London."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from bulletin.mail.issue_view import ACCESS_FEATURES, OPPORTUNITY_KINDS
from bulletin.i18n import london_to_utc_safe
from bulletin.mail.markup import MAX_HTML_NESTING, MAX_MARKDOWN_LENGTH, html_nesting
from bulletin.models import REGIONS, Topic
from bulletin.subscriptions.forms import MultiCheckboxField, NoControlCharacters, email_field
from bulletin.core.editors import AccountError, check_new_password

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _text(label, max_length: int = 200, required: bool = False) -> StringField:
    checks = [DataRequired()] if required else [Optional()]
    return StringField(label, validators=[*checks, Length(max=max_length), NoControlCharacters()])


def _markdown(label) -> TextAreaField:
    # The API reads these validators too (api/schemas.py, api/validation.py): one limit.
    return TextAreaField(
        label, validators=[Optional(), Length(max=MAX_MARKDOWN_LENGTH), ShallowHtml()]
    )


def _when(label, required: bool = True) -> DateTimeLocalField:
    checks = [InputRequired(_l("Enter a date and time"))] if required else [Optional()]
    return DateTimeLocalField(label, format=LOCAL_FORMAT, validators=[*checks, ExistsInLondon()])


def _link(label) -> StringField:
    return StringField(
        label,
        validators=[
            Optional(),
            Length(max=1000),
            NoControlCharacters(),
            URL(require_tld=False, message=_l("Enter a full web address starting with https://")),
            WebLink(),
        ],
    )


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


class WebLink:
    """Only http and https links: never javascript: or data: (they reach readers' mail)."""

    def __call__(self, form, field) -> None:
        if field.data and not field.data.lower().startswith(("https://", "http://")):
            raise ValidationError(_l("Enter a full web address starting with https://"))


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
        validators=[InputRequired(), Length(max=1000)],
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
        validators=[InputRequired(), Length(max=1000), NewPassword()],
        render_kw={"autocomplete": "new-password"},
    )


class ButtonForm(FlaskForm):
    """A form that is only a button (and its CSRF token)."""


class EditorForm(FlaskForm):
    email = email_field()
    name = _text(_l("Name"), 200)
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("editor", _l("Editor")), SelectChoice("admin", _l("Admin"))],
    )
    password = PasswordField(
        _l("Password (at least 12 characters)"),
        validators=[Optional(), Length(max=1000), NewPassword()],
        render_kw={"autocomplete": "new-password"},
    )
    is_active = BooleanField(_l("Account active"), default=True)


class TopicForm(FlaskForm):
    name_en = _text(_l("Name in English"), 120, required=True)
    name_cy = _text(_l("Name in Welsh"), 120, required=True)
    is_active = BooleanField(_l("Readers can choose this topic"), default=True)


class CatalogueForm(FlaskForm):
    """Fields workshops and opportunities share."""

    title_cy = _text(_l("Title in Welsh"))
    title_en = _text(_l("Title in English"))
    summary_cy = _markdown(_l("Summary in Welsh (Markdown)"))
    summary_en = _markdown(_l("Summary in English (Markdown)"))
    body_cy = _markdown(_l("Full description in Welsh (Markdown)"))
    body_en = _markdown(_l("Full description in English (Markdown)"))
    topics = MultiCheckboxField(_l("Topics"), choices=[])
    region = SelectField(_l("Region"), choices=[], validate_choice=True)

    def fill_choices(self, lang: str) -> None:
        """Topics and regions, named in the editor's language."""
        topics = Topic.query.order_by(Topic.position).all()
        self.topics.choices = [SelectChoice(t.slug, t.name(lang)) for t in topics]
        self.region.choices = [SelectChoice("", _l("All of Wales"))] + [
            SelectChoice(code, names[1] if lang == "cy" else names[0])
            for code, names in REGIONS.items()
        ]

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
    venue_cy = TextAreaField(
        _l("Venue address in Welsh"), validators=[Optional(), Length(max=2000)]
    )
    venue_en = TextAreaField(
        _l("Venue address in English"), validators=[Optional(), Length(max=2000)]
    )
    has_step_free_access = BooleanField(ACCESS_FEATURES["has_step_free_access"])
    has_bsl = BooleanField(ACCESS_FEATURES["has_bsl"])
    has_hearing_loop = BooleanField(ACCESS_FEATURES["has_hearing_loop"])
    has_captions = BooleanField(ACCESS_FEATURES["has_captions"])
    has_quiet_room = BooleanField(ACCESS_FEATURES["has_quiet_room"])
    accessibility_cy = TextAreaField(
        _l("Other accessibility information in Welsh"), validators=[Optional(), Length(max=2000)]
    )
    accessibility_en = TextAreaField(
        _l("Other accessibility information in English"), validators=[Optional(), Length(max=2000)]
    )
    partners = TextAreaField(
        _l("Partner organisations (one per line)"), validators=[Optional(), Length(max=2000)]
    )
    booking_url = _link(_l("Booking link"))
    booking_deadline_at = _when(_l("Booking deadline (optional)"), required=False)

    def validate_ends_at(self, field) -> None:
        if field.data and self.starts_at.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The end must be after the start"))


class OpportunityForm(CatalogueForm):
    kind = SelectField(
        _l("Kind of opportunity"),
        choices=[SelectChoice(k, label) for k, label in OPPORTUNITY_KINDS.items()],
    )
    closes_at = _when(_l("Closing date and time (optional)"), required=False)
    payment_cy = TextAreaField(
        _l("Payment and expenses in Welsh"), validators=[Optional(), Length(max=2000)]
    )
    payment_en = TextAreaField(
        _l("Payment and expenses in English"), validators=[Optional(), Length(max=2000)]
    )
    url = _link(_l("Link to find out more or apply"))


class IssueForm(FlaskForm):
    version = HiddenField(validators=[InputRequired()])
    subject_cy = _text(_l("Subject in Welsh"))
    subject_en = _text(_l("Subject in English"))
    preheader_cy = _text(_l("Preview text in Welsh"), 250)
    preheader_en = _text(_l("Preview text in English"), 250)
    intro_cy = _markdown(_l("Introduction in Welsh (Markdown)"))
    intro_en = _markdown(_l("Introduction in English (Markdown)"))

    def validate(self, extra_validators=None) -> bool:
        return require_one_language(
            self,
            "subject",
            _l("Enter a subject in Welsh or English (or both)"),
            super().validate(extra_validators),
        )


class NewsItemForm(FlaskForm):
    title_cy = _text(_l("Title in Welsh"))
    title_en = _text(_l("Title in English"))
    body_cy = _markdown(_l("Text in Welsh (Markdown)"))
    body_en = _markdown(_l("Text in English (Markdown)"))

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
    weeks = IntegerField(
        _l("Workshops starting in the next how many weeks?"),
        default=6,
        validators=[InputRequired(), NumberRange(min=1, max=52)],
    )
    send_date = _when(_l("When will the issue be sent?"), required=False)


class TestSendForm(FlaskForm):
    addresses = TextAreaField(
        _l("Send to (up to 5 addresses, one per line)"), validators=[Optional(), Length(max=2000)]
    )
    language = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("cy", "Cymraeg"),
            SelectChoice("en", "English"),
            SelectChoice("both", _l("Both languages")),
        ],
    )
