"""Editor pages for sends under /editor/sends: schedule, watch, pause, resume, cancel
(after a page that says how many will not get it).

The pages only write rows; the worker (`bulletin worker`) starts and sends.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateTimeLocalField, HiddenField, RadioField, SelectChoice, SelectField
from wtforms.validators import InputRequired, Optional, ValidationError

from bulletin.core import sends as ops
from bulletin.core.audit import record_audit
from bulletin.core.clicks import clicks_for_send
from bulletin.core.issues import missing_languages
from bulletin.editorial.access import editor_required
from bulletin.editorial.forms import LOCAL_FORMAT, ExistsInLondon
from bulletin.editorial.labels import SEND_STATUSES
from bulletin.editorial.views_send_report import report_context
from bulletin.extensions import db
from bulletin.i18n import LANGUAGES, Language, current_lang, london_to_utc, london_to_utc_safe
from bulletin.models import Issue, Send, SendStatus, Topic, region_name, utcnow
from bulletin.web import MultiCheckboxField, language_choices, region_choices, topic_choices

bp = Blueprint("sends", __name__, url_prefix="/editor/sends")


class SendForm(FlaskForm):
    issue = SelectField(_l("Issue"), coerce=int, validators=[InputRequired()])
    topics = MultiCheckboxField(_l("Topics"), validators=[Optional()])
    regions = MultiCheckboxField(_l("Regions"), validators=[Optional()])
    languages = MultiCheckboxField(_l("Languages"), validators=[Optional()])
    when = RadioField(
        _l("When"),
        choices=[
            SelectChoice("now", _l("Send now")),
            SelectChoice("later", _l("Schedule for a date and time")),
        ],
        default="now",
        validators=[InputRequired()],
    )
    at = DateTimeLocalField(
        _l("Date and time (UK time)"),
        format=LOCAL_FORMAT,
        validators=[Optional(), ExistsInLondon()],
    )
    #: Who of the audience gets it when some already had this issue from an earlier send.
    recipients = RadioField(
        _l("Who gets it"),
        choices=[
            SelectChoice("rest", _l("Only those who have not had this issue")),
            SelectChoice("everyone", _l("Everyone in the audience, again for those who had it")),
        ],
        default="rest",
        validators=[Optional()],
    )
    archive = RadioField(
        _l("Publish in the public archive and feed"),
        choices=[
            SelectChoice("auto", _l("Yes for a send to everyone, no for a segment")),
            SelectChoice("yes", _l("Yes, publish it")),
            SelectChoice("no", _l("No, keep it out of the archive")),
        ],
        default="auto",  # also when the field is left out (older API-like posts)
    )
    #: The audience count the editor saw; scheduling needs it, so the count is always seen.
    confirmed = HiddenField()

    def fill_choices(self, lang: str) -> None:
        issues = db.session.scalars(select(Issue).order_by(Issue.id.desc()).limit(50))
        self.issue.choices = [
            SelectChoice(i.id, i.subject_en or i.subject_cy or i.slug) for i in issues
        ]
        self.topics.choices = topic_choices(lang, active_only=True)
        self.regions.choices = region_choices(lang)
        self.languages.choices = language_choices()

    def validate(self, extra_validators=None) -> bool:
        """Optional() ends the date's own checks when it is empty; "later" still needs one."""
        valid = super().validate(extra_validators)
        if self.when.data == "later" and self.at.data is None and not self.at.errors:
            self.at.errors = [_l("Enter the date and time to send")]
            return False
        return valid

    def validate_at(self, field) -> None:
        if self.when.data == "later" and field.data is not None:
            moment = london_to_utc_safe(field.data)
            if moment is not None and moment <= utcnow():
                raise ValidationError(_l("The date and time must be in the future"))

    def publish(self) -> bool:
        """The archive choice, resolved: "auto" follows the audience."""
        if self.archive.data == "auto":
            return ops.publishes_by_default(self.audience())
        return self.archive.data == "yes"

    def audience(self) -> dict[str, list[str]]:
        return {
            "topics": self.topics.data or [],
            "regions": self.regions.data or [],
            "languages": self.languages.data or [],
        }


class ButtonOnly(FlaskForm):
    pass


@bp.get("")
@editor_required
def index():
    sends = db.session.scalars(select(Send).order_by(Send.id.desc()).limit(50)).all()
    return render_template(
        "editorial/sends/index.html", rows=[(s, ops.send_progress(s)) for s in sends]
    )


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def new():
    form = SendForm()
    form.fill_choices(current_lang())
    if not form.is_submitted():
        return render_template("editorial/sends/new.html", form=form, reach=None)
    if not form.validate():
        return render_template("editorial/sends/new.html", form=form, reach=None), 400
    issue = db.get_or_404(Issue, form.issue.data)
    reach = ops.count_reach(issue, form.audience(), by_language=True)
    if reach.audience == 0:
        form.topics.errors = [empty_audience_message(ops.EmptyAudience(all_had_it=False))]
        form.confirmed.data = ""
        return render_template("editorial/sends/new.html", form=form, reach=None), 400
    # The figures the editor saw: both of them once anyone in the audience had the issue.
    seen = f"{reach.audience}-{reach.already_had}" if reach.already_had else str(reach.audience)
    if form.confirmed.data != seen:
        form.confirmed.data = seen  # show the counts; the next press schedules
        return render_template(
            "editorial/sends/new.html",
            form=form,
            reach=reach,
            audience_words=audience_summary(form.audience()),
            missing=missing_languages(issue),
            publish=form.publish(),
        )
    return _schedule(form)


def _schedule(form: SendForm):
    issue = db.get_or_404(Issue, form.issue.data)
    audience = form.audience()
    when = london_to_utc(form.at.data) if form.when.data == "later" else None
    exclude = form.recipients.data != "everyone"
    try:
        send = ops.schedule_send(
            issue,
            ops.audience_json(**audience),
            when,
            current_user,
            exclude_already_sent=exclude,
            publish=form.publish(),
        )
    except ops.EmptyAudience as exc:
        field = form.recipients if exc.all_had_it else form.topics
        field.errors = [empty_audience_message(exc)]
        return render_template(
            "editorial/sends/new.html",
            form=form,
            reach=ops.count_reach(issue, audience, by_language=True),
            audience_words=audience_summary(audience),
            missing=missing_languages(issue),
            publish=form.publish(),
        ), 400
    except ops.SendStateError:
        abort(409)
    record_audit(
        "send.schedule",
        send,
        detail={
            "audience": audience,
            "publish": send.publish,
            "scheduled_at": send.scheduled_at.isoformat(),
            "exclude_already_sent": exclude,
        },
    )
    db.session.commit()
    if send.status == SendStatus.AWAITING_APPROVAL:
        flash(_("Scheduled. The send now waits for a second editor to approve it."))
    else:
        flash(_sending_now() if when is None else _("The send is scheduled."))
    return redirect(url_for("sends.show", send_id=send.id), code=303)


def _sending_now() -> str:
    return _("Sending now: the worker starts it within a few seconds.")


@bp.get("/<int:send_id>")
@editor_required
def show(send_id: int):
    send = db.get_or_404(Send, send_id)
    return render_template(
        "editorial/sends/show.html",
        send=send,
        progress=ops.send_progress(send),
        starting=ops.is_starting(send),
        button=ButtonOnly(),
        **_clicks_context(send),
        **report_context(send),
        needs_approval=ops.needs_approval(send),
    )


def _clicks_context(send: Send) -> dict:
    """Clicks per item in the order of the issue, and the same as (label, count) for the
    bar chart (issue 14); per item only, never per link (see _clicks.html)."""
    clicks = clicks_for_send(send.id)
    pairs = [
        (
            _("Introduction")
            if item.item_kind == "intro"
            else item.title or _("(item since deleted)"),
            item.clicks,
        )
        for item in clicks
    ]
    return {"clicks": clicks, "click_pairs": pairs}


@bp.get("/<int:send_id>/cancel")
@editor_required
def confirm_cancel(send_id: int):
    """Cancelling asks first: how many will not get it, then Confirm (a POST) or Back."""
    send = db.get_or_404(Send, send_id)
    if not send.is_open:
        flash(_("That cannot be done to a send in this state."), "error")
        return redirect(url_for("sends.show", send_id=send.id), code=303)
    return render_template(
        "editorial/sends/cancel.html",
        send=send,
        unsent=ops.will_not_send(send),
        started=send.started_at is not None,
    )


@bp.get("/<int:send_id>/progress.json")
@editor_required
def progress(send_id: int):
    return jsonify(ops.send_progress(db.get_or_404(Send, send_id)).as_dict())


ACTIONS = {
    "pause": ops.pause_send,
    "resume": ops.resume_send,
    "cancel": ops.cancel_send,
    "send-now": ops.send_now,
}


#: What the page says once an action is done ("send-now": _sending_now()).
DONE_WORDS = {
    "pause": _l("Paused: the messages already on their way still go; the rest wait."),
    "resume": _l("Resumed: sending carries on."),
    "cancel": _l("Cancelled: the messages already on their way still go; no others will."),
}


@bp.post("/<int:send_id>/<action>")
@editor_required
def act(send_id: int, action: str):
    send = db.get_or_404(Send, send_id)
    if action not in ACTIONS or not ButtonOnly().validate_on_submit():
        abort(400)
    try:
        ACTIONS[action](send)
    except ops.EmptyAudience as exc:
        flash(empty_audience_message(exc), "error")
        return redirect(url_for("sends.show", send_id=send.id), code=303)
    except ops.SendStateError:
        flash(_("That cannot be done to a send in this state."), "error")
        return redirect(url_for("sends.show", send_id=send.id), code=303)
    record_audit(f"send.{action}", send, detail={"status": send.status})
    db.session.commit()
    flash(_sending_now() if action == "send-now" else str(DONE_WORDS[action]))
    return redirect(url_for("sends.show", send_id=send.id), code=303)


@bp.post("/<int:send_id>/approve")
@editor_required
def approve(send_id: int):
    """Four eyes (REQUIRE_APPROVAL): a second editor approves a send awaiting approval."""
    send = db.get_or_404(Send, send_id)
    if not ButtonOnly().validate_on_submit():
        abort(400)
    try:
        ops.approve_send(send, current_user._get_current_object())
    except ops.SelfApproval:
        flash(_("You scheduled this send, so you cannot approve it: another editor must."), "error")
        return redirect(url_for("sends.show", send_id=send.id), code=303)
    except ops.SendStateError:
        flash(_("That cannot be done to a send in this state."), "error")
        return redirect(url_for("sends.show", send_id=send.id), code=303)
    db.session.commit()
    flash(_("Approved: the send goes at its time."), "success")
    return redirect(url_for("sends.show", send_id=send.id), code=303)


def empty_audience_message(exc: ops.EmptyAudience) -> str:
    """Why a send to this audience is refused, and what to do, in the page's language."""
    if exc.all_had_it:
        why = _(
            "everyone in it has already had this issue. Choose “Everyone in the audience” "
            "to send it again, or choose another audience."
        )
    else:
        why = _("no confirmed subscriber matches it. Choose other topics, regions or languages.")
    return _("This audience has no readers: %(why)s", why=why)


def audience_summary(audience: dict[str, list[str]]) -> str:
    """An audience in words, named in the page's language: "News; Outside Wales; Cymraeg"."""
    lang = current_lang()
    topics = {t.slug: t.name(lang) for t in db.session.scalars(select(Topic))}
    namers = {
        "topics": lambda slug: topics.get(slug, slug),
        "regions": lambda code: region_name(code, lang) or code,
        "languages": lambda code: Language(code).native_name if code in LANGUAGES else code,
    }
    parts = [
        ", ".join(namers[key](value) for value in audience[key])
        for key in ("topics", "regions", "languages")
        if audience[key]
    ]
    return "; ".join(parts) if parts else _("Everyone confirmed")


@bp.app_template_global("send_status_label")
def send_status_label(status: str, send: Send | None = None) -> str:
    """The translated name of a send status ("sending now" for a send about to start)."""
    if send is not None and ops.is_starting(send):
        status = "starting"
    return str(SEND_STATUSES.get(status, status))


@bp.app_template_global("send_audience")
def send_audience(send: Send) -> str:
    """The audience of a send, in words."""
    return audience_summary(send.audience_filter)
