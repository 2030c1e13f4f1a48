"""Public pages. Thin: validate, call a verb, commit, answer."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from bulletin.core import clicks, consent
from bulletin.core import subscribers as operations
from bulletin.core.subject_access import export_subscriber
from bulletin.extensions import csrf, db, limiter
from bulletin.i18n import current_lang
from bulletin.mail import tokens
from bulletin.models import Subscriber, SubscriberStatus
from bulletin.subscriptions.forms import ButtonForm, EmailOnlyForm, PreferencesForm, SubscribeForm
from bulletin.web import private_download

bp = Blueprint("public", __name__)


def _lang() -> str:
    return current_lang()


def subscribe_limit() -> str:
    """SUBSCRIBE_RATE_LIMIT: /subscribe's per-IP limit, which the partners' form shares."""
    return current_app.config["SUBSCRIBE_RATE_LIMIT"]


@bp.get("/")
def index():
    return redirect(url_for("public.subscribe"))


@bp.route("/subscribe", methods=["GET", "POST"])
@limiter.limit(subscribe_limit, methods=["POST"])
def subscribe():
    form = SubscribeForm()
    form.fill_choices(_lang())
    if request.method != "POST":  # GET or HEAD: a blank form
        form.language.data = _lang()
        return render_template(
            "subscriptions/subscribe.html", form=form, fields=_blank_signup_fields(form)
        )
    if not form.validate_on_submit():
        return render_template(
            "subscriptions/subscribe.html", form=form, statement=consent.statement(_lang())
        ), 400
    if not form.website.data:  # honeypot filled: drop silently, answer the same
        choices = _choices(form)
        operations.subscribe(
            form.email.data, choices, source="web:/subscribe", ip=request.remote_addr
        )
        db.session.commit()
    return redirect(url_for("public.check_email"), code=303)


def _blank_signup_fields(form: SubscribeForm) -> Markup:
    """The fields of a blank sign-up form, rendered once per language and topic list.

    A GET form holds no input and no errors: its fields depend only on the language, the
    topics (core/topics.py gives the same tuple until they change) and the app's settings.
    The CSRF token and the rest of the page are rendered per request as usual.
    """
    lang = _lang()
    held = current_app.extensions.setdefault("bulletin.signup_fields", {})
    topics = form.topics.choices
    kept = held.get(lang)
    if kept is None or kept[0] != topics:
        html = Markup(
            render_template(
                "subscriptions/_signup_fields.html", form=form, statement=consent.statement(lang)
            )
        )
        kept = held[lang] = (topics, html)
    return kept[1]


@bp.get("/subscribe/check-your-email")
def check_email():
    return render_template("subscriptions/check_email.html")


def _choices(form: PreferencesForm) -> operations.Choices:
    return form.choices()


def _subscriber_from(token: str, reader) -> Subscriber:
    try:
        uid = reader(token)
    except tokens.BadToken as exc:
        g.token_problem = exc.reason
        abort(410 if exc.reason == "expired" else 400)
    if uid == tokens.TEST_UID:  # a link in an editor's test send: it acts on nobody
        abort(make_response(render_template("subscriptions/test_link.html")))
    subscriber = operations.find_by_uid(uid)
    if subscriber is None:
        g.token_problem = "gone"
        abort(404)
    g.subscriber_language = subscriber.language
    return subscriber


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(subscribe_limit, methods=["POST"])
def confirm(token: str):
    subscriber = _subscriber_from(token, tokens.read_confirm_token)
    form = ButtonForm()
    if subscriber.status not in (SubscriberStatus.PENDING, SubscriberStatus.CONFIRMED):
        g.token_problem = "used"
        abort(410)
    if not form.validate_on_submit():
        return render_template("subscriptions/confirm.html", form=form, subscriber=subscriber)
    operations.confirm(subscriber, ip=request.remote_addr)
    db.session.commit()
    manage_url = url_for("public.manage", token=tokens.make_manage_token(subscriber.uid))
    return render_template("subscriptions/confirmed.html", manage_url=manage_url)


@bp.route("/manage/<token>", methods=["GET", "POST"])
def manage(token: str):
    subscriber = _subscriber_from(token, tokens.read_manage_token)
    form = PreferencesForm(obj=None)
    form.fill_choices(_lang())
    if request.method == "GET":
        _fill_preferences(form, subscriber)
    saved = False
    if form.validate_on_submit():
        operations.update_preferences(subscriber, _choices(form), ip=request.remote_addr)
        db.session.commit()
        g.subscriber_language = subscriber.language
        saved = True
    status = 400 if request.method == "POST" and not saved else 200
    return render_template(
        "subscriptions/manage.html",
        form=form,
        subscriber=subscriber,
        token=token,
        saved=saved,
        button=ButtonForm(),
    ), status


def _fill_preferences(form: PreferencesForm, subscriber: Subscriber) -> None:
    form.name.data = subscriber.name or ""
    form.topics.data = [t.slug for t in subscriber.topics]
    form.region.data = subscriber.region
    form.language.data = subscriber.language


@bp.post("/manage/<token>/data")
def download_data(token: str):
    subscriber = _subscriber_from(token, tokens.read_manage_token)
    if not ButtonForm().validate_on_submit():
        abort(400)
    body = json.dumps(export_subscriber(subscriber), indent=2, ensure_ascii=False)
    return private_download(body, "my-bulletin-data.json", "application/json")


@bp.route("/manage/<token>/erase", methods=["GET", "POST"])
def erase(token: str):
    subscriber = _subscriber_from(token, tokens.read_manage_token)
    form = ButtonForm()
    if not form.validate_on_submit():
        return render_template("subscriptions/erase.html", form=form, token=token)
    operations.erase(subscriber, source="web:/manage/erase", ip=request.remote_addr)
    db.session.commit()
    return render_template("subscriptions/erased.html")


@bp.route("/manage", methods=["GET", "POST"])
@limiter.limit(subscribe_limit, methods=["POST"])
def request_link():
    form = EmailOnlyForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("subscriptions/manage_request.html", form=form), status
    operations.request_manage_link(form.email.data)
    db.session.commit()
    return redirect(url_for("public.check_email"), code=303)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the one-click POST carries no cookie and no CSRF token
def unsubscribe(token: str):
    subscriber = _subscriber_from(token, tokens.read_unsubscribe_token)
    if request.method == "GET":
        return render_template("subscriptions/unsubscribe.html", token=token)
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    source = "one-click" if one_click else "web:/unsubscribe"
    _uid, send_id = tokens.read_unsubscribe_link(token)  # verified above: the send it names
    operations.unsubscribe(subscriber, source=source, ip=request.remote_addr, send_id=send_id)
    db.session.commit()
    # No manage link: this URL is handed to mailbox providers (List-Unsubscribe), and whoever
    # holds it may stop the mail but must not reach the reader's data. The manage link in
    # each bulletin still works.
    return render_template("subscriptions/unsubscribed.html")


@bp.get("/accessibility")
def accessibility():
    return render_template("pages/accessibility.html")


@bp.get("/privacy")
def privacy():
    return render_template(
        "pages/privacy.html", statement=consent.statement(_lang()), version=consent.VERSION
    )


@bp.route("/r/<token>", methods=["GET", "HEAD"])
def follow_link(token: str):
    """A counted link in a bulletin: count it (per link, never per reader) and go on to the
    target stored for it. An altered or unknown token is a 404, never a redirect."""
    target = clicks.follow_link(token, request.method, request.headers)
    if target is None:
        abort(404)
    db.session.commit()
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"  # each click is a request to count
    response.headers["X-Robots-Tag"] = "noindex"
    return response
