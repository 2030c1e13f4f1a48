"""The bulletin's rhythm (an admin page) and approving a rhythm draft (any editor)."""

from __future__ import annotations

import json
from datetime import time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, NumberRange, Optional

from bulletin.core import rhythm as ops
from bulletin.core import sends as send_ops
from bulletin.editorial.access import admin_required
from bulletin.editorial.views import bp
from bulletin.editorial.views_sends import audience_summary, empty_audience_message
from bulletin.extensions import db
from bulletin.i18n import current_lang
from bulletin.models import Issue, RhythmFrequency, RhythmMode, SendStatus, utcnow
from bulletin.web import (
    ButtonForm,
    MultiCheckboxField,
    language_choices,
    region_choices,
    topic_choices,
)

WEEKDAYS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
WEEK_NAMES = {1: _l("First"), 2: _l("Second"), 3: _l("Third"), 4: _l("Fourth"), -1: _l("Last")}
#: The words for the rhythm's modes (the form's choices and the page).
MODES = {
    RhythmMode.APPROVE: _l("Editors approve each issue; an issue nobody approved waits for them"),
    RhythmMode.AUTO: _l(
        "Send automatically when approved, or skip the issue if nobody approved it by its time"
    ),
}


class DaysField(IntegerField):
    """A number of days; anything that is not a number gets the form's own words."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(DAYS_MESSAGE)) from None


class ClockField(TimeField):
    """A time of day (HH:MM); anything else gets the form's own words."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(TIME_MESSAGE)) from None


DAYS_MESSAGE = _l("Enter a number of days from 1 to 28")
TIME_MESSAGE = _l("Enter the time on the 24-hour clock, like 09:00")


class RhythmForm(FlaskForm):
    is_active = BooleanField(_l("Draft issues on this rhythm"))
    frequency = RadioField(
        _l("How often"),
        choices=[
            SelectChoice(RhythmFrequency.WEEKLY.value, _l("Every week")),
            SelectChoice(RhythmFrequency.MONTHLY.value, _l("Once a month")),
        ],
        default=RhythmFrequency.WEEKLY.value,
        validators=[InputRequired()],
    )
    weekday = SelectField(
        _l("Day of the week"),
        coerce=int,
        choices=[SelectChoice(i, name) for i, name in enumerate(WEEKDAYS)],
        validators=[InputRequired()],
    )
    week = SelectField(
        _l("Which one in the month (monthly only)"),
        coerce=int,
        choices=[SelectChoice(n, name) for n, name in WEEK_NAMES.items()],
        validators=[InputRequired()],
    )
    at = ClockField(
        _l("Time (UK time)"), default=time(9, 0), validators=[InputRequired(TIME_MESSAGE)]
    )
    days_before = DaysField(
        _l("Days before each issue to draft it"),
        default=3,
        validators=[InputRequired(DAYS_MESSAGE), NumberRange(1, 28, DAYS_MESSAGE)],
    )
    mode = RadioField(
        _l("Approval"),
        choices=[SelectChoice(code.value, words) for code, words in MODES.items()],
        default=RhythmMode.APPROVE.value,
        validators=[InputRequired()],
    )
    topics = MultiCheckboxField(_l("Topics"), validators=[Optional()])
    regions = MultiCheckboxField(_l("Regions"), validators=[Optional()])
    languages = MultiCheckboxField(_l("Languages"), validators=[Optional()])
    intro_cy = TextAreaField(_l("Introduction in Welsh"), validators=[Optional()])
    intro_en = TextAreaField(_l("Introduction in English"), validators=[Optional()])

    def fill_choices(self, lang: str) -> None:
        self.topics.choices = topic_choices(lang, active_only=True)
        self.regions.choices = region_choices(lang)
        self.languages.choices = language_choices()

    def data_for_save(self) -> dict:
        return {
            "is_active": self.is_active.data,
            "frequency": self.frequency.data,
            "weekday": self.weekday.data,
            "week": self.week.data,
            "hour": self.at.data.hour,
            "minute": self.at.data.minute,
            "days_before": self.days_before.data,
            "mode": self.mode.data,
            "audience": {
                "topics": self.topics.data or [],
                "regions": self.regions.data or [],
                "languages": self.languages.data or [],
            },
            "intro_cy": self.intro_cy.data,
            "intro_en": self.intro_en.data,
        }


def _form_for(rhythm) -> RhythmForm:
    if request.method != "GET" or rhythm is None:
        return RhythmForm()
    audience = json.loads(rhythm.audience or "{}")
    return RhythmForm(
        is_active=rhythm.is_active,
        frequency=rhythm.frequency,
        weekday=rhythm.weekday,
        week=rhythm.week,
        at=time(rhythm.hour, rhythm.minute),
        days_before=rhythm.days_before,
        mode=rhythm.mode,
        topics=audience.get("topics") or [],
        regions=audience.get("regions") or [],
        languages=audience.get("languages") or [],
        intro_cy=rhythm.intro_cy,
        intro_en=rhythm.intro_en,
    )


@bp.route("/admin/rhythm", methods=["GET", "POST"])
@admin_required
def rhythm():
    current = ops.get_rhythm()
    form = _form_for(current)
    form.fill_choices(current_lang())
    if form.validate_on_submit():
        ops.save_rhythm(form.data_for_save(), current_user)
        db.session.commit()
        flash(_("Rhythm saved."), "success")
        return redirect(url_for("editor.rhythm"), code=303)
    upcoming = []
    if current is not None and current.is_active:
        upcoming = [
            (when, ops.draft_at(current, when)) for when in ops.next_dates(current, utcnow(), 3)
        ]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "editorial/rhythm.html",
        form=form,
        rhythm=current,
        upcoming=upcoming,
        audience_words=audience_summary(json.loads(current.audience)) if current else None,
    ), status


@bp.post("/issues/<int:issue_id>/approve")
def approve_issue(issue_id: int):
    """Approve a rhythm draft: its send is scheduled at the rhythm's date."""
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        send = ops.approve_draft(issue, current_user._get_current_object())
    except send_ops.EmptyAudience as exc:
        flash(empty_audience_message(exc), "error")
        return redirect(url_for("editor.edit_issue", issue_id=issue.id), code=303)
    except (ops.RhythmError, send_ops.SendStateError):
        flash(_("This draft cannot be approved now: it has been approved or skipped."), "error")
        return redirect(url_for("editor.edit_issue", issue_id=issue.id), code=303)
    db.session.commit()
    if send.status == SendStatus.AWAITING_APPROVAL:
        flash(_("Approved. The send now waits for a second editor to approve it."), "success")
    else:
        flash(_("Approved: the send is scheduled for the rhythm's date."), "success")
    return redirect(url_for("sends.show", send_id=send.id), code=303)
