"""Forms of the admin pages for the suppression list and bounces."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from bulletin.editorial.labels import SUPPRESSION_REASONS
from bulletin.web import email_field


def _reason(label) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            InputRequired(_l("Say why, for the audit log")),
            Length(max=500, message=_l("The reason must be 500 characters or fewer")),
        ],
    )


class SuppressionSearchForm(FlaskForm):
    """Look up one address (exact): the list holds only hashes."""

    email = email_field()


class SuppressionAddForm(FlaskForm):
    """Put an address on the list by hand."""

    email = email_field()
    reason = RadioField(
        _l("Reason"),
        default="manual",
        choices=[
            SelectChoice(code, SUPPRESSION_REASONS[code])
            for code in ("manual", "bounced", "complaint", "unsubscribed")
        ],
        validators=[InputRequired(_l("Choose a reason"))],
    )
    note = StringField(
        _l("Note (optional)"),
        validators=[
            Optional(),
            Length(max=500, message=_l("The note must be 500 characters or fewer")),
        ],
    )


class SuppressionRemoveForm(FlaskForm):
    """Take an address off the list, saying why."""

    email = email_field()
    reason = _reason(_l("Why may this address be mailed again?"))


class LiftForm(FlaskForm):
    """Lift a subscriber's suppression, saying why."""

    reason = _reason(_l("Why may this subscriber be mailed again?"))
