"""The public catalogue: upcoming workshops and open opportunities, filtered by a GET form,
and the same workshops as calendar feeds to subscribe to (/workshops.ics)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _

from bulletin.core.catalogue import PublicFilter, public_opportunities, public_workshops
from bulletin.extensions import db
from bulletin.i18n import CODES, DEFAULT, current_lang, language_of, org_name
from bulletin.mail.calendar import workshops_feed
from bulletin.mail.links import external_url, requested_page
from bulletin.mail.mime import domain_of
from bulletin.models import region_name
from bulletin.subscriptions.forms import CatalogueFilterForm
from bulletin.web import active_topic_choices

bp = Blueprint("catalogue", __name__)
#: One kind at a time (?show=workshops), page by page.
PER_PAGE = 20
#: Each kind when both are shown, with a link to the rest.
FEW = 10
#: A feed holds at most this many workshops, the soonest first.
FEED_LIMIT = 500
#: How long a calendar client or proxy may reuse a feed before asking again (with its ETag).
FEED_MAX_AGE = 900


@bp.get("/workshops")
def index():
    """Upcoming workshops and open opportunities, narrowed by the filters in the query."""
    lang = current_lang()
    form = CatalogueFilterForm(request.args)
    form.fill_choices(lang)
    if not form.validate():
        page = render_template("catalogue/index.html", form=form, lang=lang, filters=None)
        return page, 400
    wanted, show = form.wanted(), form.show.data or ""
    lists = {}
    for kind, query in (
        ("workshops", public_workshops(wanted)),
        ("opportunities", public_opportunities(wanted)),
    ):
        if show in ("", kind):
            number, size = (requested_page(), PER_PAGE) if show else (1, FEW)
            lists[kind] = db.paginate(query, page=number, per_page=size, error_out=False)
    filters = filter_args(wanted)
    return render_template(
        "catalogue/index.html",
        form=form,
        lang=lang,
        wanted=wanted,
        show=show,
        lists=lists,
        filters=filters,
        feed_url=external_url("catalogue.feed", lang=lang, **filters),
    )


def filter_args(wanted: PublicFilter) -> dict:
    """The filter as query arguments, for links that keep it (pages, feeds, 'see all')."""
    args = {
        "topic": wanted.topic,
        "region": wanted.region,
        "format": wanted.format,
        "access": list(wanted.access),
    }
    return {name: value for name, value in args.items() if value}


@bp.get("/workshops.ics")
def feed():
    """The upcoming workshops that match the filter, as an iCalendar feed in ?lang=."""
    asked = request.args.get("lang") or None  # ?lang= with no value: as if absent
    lang = language_of(asked or request.accept_languages.best_match(CODES) or DEFAULT)
    with force_locale(lang):  # never the session: the answer is cached and shared
        form = CatalogueFilterForm(request.args)
        form.fill_choices(lang)
        if not form.validate() or asked not in (None, *CODES):
            return _bad_feed(form, asked)
        wanted = form.wanted()
        workshops = db.session.scalars(public_workshops(wanted).limit(FEED_LIMIT))
        body = workshops_feed(
            workshops,
            lang,
            domain=domain_of(current_app.config["MAIL_FROM"]),
            name=_feed_name(wanted, lang),
        )
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="workshops.ics"'
    response.cache_control.public = True
    response.cache_control.max_age = FEED_MAX_AGE
    if asked is None:
        response.vary.add("Accept-Language")
    # An ETag and no Last-Modified: a workshop leaving the feed (over, or archived) changes
    # the body but no date that stays in it.
    response.add_etag()
    return response.make_conditional(request)


def _feed_name(wanted: PublicFilter, lang: str) -> str:
    topics = {choice.value: choice.label for choice in active_topic_choices(lang)}
    narrowed = [topics.get(wanted.topic, ""), region_name(wanted.region, lang)]
    name = f"{org_name(lang)}: {_('Workshops')}"
    details = ", ".join(str(part) for part in narrowed if part)
    return f"{name} ({details})" if details else name


def _bad_feed(form: CatalogueFilterForm, asked: str | None) -> Response:
    """A 400 that names each wrong parameter and the values it may take."""
    lines = [_("This calendar feed cannot be made from the address you used.")]
    for name, errors in form.errors.items():
        allowed = ", ".join(c.value for c in form[name].choices if c.value)
        lines.append(f"{name}: {errors[0]}" + (f" ({allowed})" if allowed else ""))
    if asked not in (None, *CODES):
        message = _("Choose Welsh or English")
        lines.append(f"lang: {message} ({', '.join(CODES)})")
    return Response("\n".join(lines) + "\n", 400, mimetype="text/plain")
