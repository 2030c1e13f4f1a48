"""The sign-up on partners' sites: the framed page /embed/subscribe, the challenge the
browser solves, and /subscribe/external, which takes sign-ups without a CSRF token.

/subscribe/external is guarded instead by the honeypot, a proof-of-work challenge spent on
first use (core/challenges.py), the same per-IP limit as /subscribe, the per-address cap and
double opt-in of core/subscribers.subscribe. It sets no cookie and answers the same whether
or not the address was known.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from bulletin.core import consent, embeds
from bulletin.core import subscribers as operations
from bulletin.core.challenges import BadChallenge, check_solution, make_challenge, spend_challenge
from bulletin.extensions import csrf, db, limiter
from bulletin.i18n import current_lang
from bulletin.mail import tokens
from bulletin.subscriptions.forms import ExternalSubscribeForm
from bulletin.subscriptions.views import subscribe_limit
from bulletin.web import allow_framing_by

bp = Blueprint("embed", __name__)


@bp.url_value_preprocessor
def _embedded(endpoint, values) -> None:
    # Framed in a partner's page, a cookie would be a third-party one: set none (?lang= is
    # not remembered in the session here), and let the partners frame these pages. Done here,
    # not in before_request, because this runs before the rate limiter's check: its 429
    # page must show in the frame too.
    g.cookieless = True
    allow_framing_by(embeds.allowed_origins())


@bp.teardown_request
def _forget(_exc=None) -> None:
    # When an app context outlives a request (tests, scripts), the next page must not
    # inherit these.
    for key in ("cookieless", "frame_ancestors", "challenge_problem"):
        g.pop(key, None)


@bp.get("/embed/subscribe")
def subscribe():
    """The compact sign-up for a partner's iframe; the query pre-selects choices."""
    lang = current_lang()
    form = ExternalSubscribeForm(formdata=None)
    form.fill_choices(lang)
    form.preselect(request.args, lang)
    embedder = embeds.origin_of(request.referrer)  # the partner page that frames us
    token = tokens.make_embedder_token(embedder) if embeds.is_allowed(embedder) else ""
    # The language links keep the pre-selection; only these keys reach url_for (a key like
    # _external or endpoint would change the link or raise).
    kept = {key: request.args.getlist(key) for key in PRESELECT if key in request.args}
    return _page(form, embedder=token, framed=True, embed_args=kept)


#: The query arguments the embed page reads (besides lang).
PRESELECT = ("topics", "region", "language")


def _page(
    form: ExternalSubscribeForm,
    *,
    embedder: str,
    framed: bool,
    status: int = 200,
    embed_args: dict | None = None,
):
    page = render_template(
        "subscriptions/embed.html",
        form=form,
        statement=consent.statement(current_lang()),
        embedder=embedder,
        framed=framed,
        return_to=embeds.return_url(request.form.get("return")) or "",
        embed_args=embed_args or {},
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/embed/check-your-email")
def check_email():
    """The framed sign-up's answer, which stays in the frame."""
    return render_template("subscriptions/embed_check_email.html")


@bp.get("/subscribe/challenge")
def challenge():
    """A proof-of-work challenge (ALTCHA JSON); partners' pages may fetch it (CORS)."""
    response = jsonify(make_challenge())
    response.headers["Cache-Control"] = "no-store"
    origin = request.headers.get("Origin")
    if embeds.is_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = embeds.origin_of(origin)
    response.vary.add("Origin")
    return response


@bp.post("/subscribe/external")
@csrf.exempt
@limiter.limit(subscribe_limit)  # the same limit as /subscribe
def external():
    """A sign-up from a partner's form or our framed page: check, subscribe, redirect."""
    lang = current_lang()
    partner = _partner()
    form = ExternalSubscribeForm()
    form.fill_choices(lang)
    if form.website.data:  # honeypot filled: drop silently, answer as for a sign-up
        return _answer(lang)
    embedder = tokens.make_embedder_token(partner) if partner else ""
    try:
        spend_challenge(*check_solution(request.form.get("altcha")))
    except BadChallenge as problem:
        g.challenge_problem = problem.reason
        return _page(form, embedder=embedder, framed=_framed(), status=400)
    if not form.validate():
        db.session.commit()  # the challenge stays spent: the page brings a new one
        return _page(form, embedder=embedder, framed=_framed(), status=400)
    source = embeds.source_for(partner)
    operations.subscribe(form.email.data, form.choices(), source=source, ip=request.remote_addr)
    db.session.commit()
    return _answer(lang)


def _framed() -> bool:
    return bool(request.form.get("framed"))


def _partner() -> str | None:
    """The listed partner origin the sign-up came from, None if unknown; 403 if not listed.

    The Origin header names the page the form was on (the Referer when Origin is absent).
    Our own pages send "null" (their referrer policy is no-referrer), so their form carries
    the partner origin we saw framing the page, signed by us. A browser or privacy tool that
    sends neither gives embed:unknown in the consent trail: the challenge and the limits
    still hold. A form on a site not in EMBED_ORIGINS is refused.
    """
    sent = request.headers.get("Origin")
    origin = embeds.origin_of(sent if sent and sent != "null" else request.referrer)
    ours = {embeds.origin_of(request.host_url), embeds.origin_of(current_app.config["BASE_URL"])}
    if origin and origin not in ours:
        if not embeds.is_allowed(origin):
            page = render_template("subscriptions/embed_refused.html")
            abort(make_response(page, 403))
        return origin
    try:
        signed = tokens.read_embedder_token(request.form.get("embedder", ""))
    except tokens.BadToken:
        return None
    return signed if embeds.is_allowed(signed) else None


def _answer(lang: str):
    """Where every accepted post goes, whatever the address's state (SEC-04)."""
    if _framed():
        return redirect(url_for("embed.check_email", lang=lang), code=303)
    back = embeds.return_url(request.form.get("return"))
    return redirect(back or url_for("public.check_email", lang=lang), code=303)
