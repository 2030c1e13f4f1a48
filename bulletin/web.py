"""What the web doors share: error pages, security headers, private downloads, and the small
form pieces (validators, choices, the button form) built from core/fields.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask, Response, g, render_template, request
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from wtforms import SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from bulletin.core import fields
from bulletin.core.addresses import InvalidAddress
from bulletin.core.disclosure import SMALL_COUNT, shown_count
from bulletin.core.fields import CONTROL, NUL, Field, Kind, normalise_email
from bulletin.core.topics import active_topics
from bulletin.i18n import (
    LANGUAGES,
    READER_CHOICES,
    choice_name,
    current_lang,
    html_lang,
    is_both,
    language_of,
    org_address,
    org_name,
    switch_language_url,
)
from bulletin.mail import merge
from bulletin.mail.branding import masthead_view
from bulletin.mail.issue_view import (
    OPPORTUNITY_KINDS,
    access_features,
    partner_names,
    public_text,
)
from bulletin.mail.markup import (
    MAX_HTML_NESTING,
    html_nesting,
    images_without_alt,
    render_markdown,
    render_plain,
)
from bulletin.mail.tokens import make_unsubscribe_token
from bulletin.models import REGIONS, Topic, region_name


def register_error_pages(app: Flask, json_errors: dict[str, Callable]) -> None:
    """HTML error pages, except under a prefix in `json_errors` (the API answers in JSON)."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/error.html", code=400, reason="csrf"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        for prefix, answer in json_errors.items():
            if request.path.startswith(prefix):  # no route of that door matched: answer as it does
                return answer(error)
        return render_template("errors/error.html", code=error.code, reason=None), error.code


def allow_framing_by(origins: Iterable[str]) -> None:
    """Let this answer be shown in frames on these origins as well as our own (the embed)."""
    g.frame_ancestors = tuple(origins)


def security_headers(response):
    """The same headers on every answer: CSP, no sniffing, no referrer, HSTS over https.

    Only our own pages may frame a page, unless its view called allow_framing_by.
    """
    partners = g.get("frame_ancestors")
    ancestors = " ".join(("'self'", *(partners or ())))
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"frame-src 'self'; frame-ancestors {ancestors}; form-action 'self'; base-uri 'none'; "
        "object-src 'none'"
    )
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if partners is None:  # X-Frame-Options cannot name other sites: framed pages go without
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    if request.is_secure:  # behind a proxy, X-Forwarded-Proto counts when TRUSTED_PROXIES says
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    return response


def private_download(body: str | Iterable[str], filename: str, mimetype: str) -> Response:
    """`body` (a string, or an iterable for a streamed file) as `filename`, never cached:
    downloads of personal or admin data that no browser or proxy may keep."""
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


class ButtonForm(FlaskForm):
    """A form that is only a button (and its CSRF token): confirm, unsubscribe, erase..."""


class NoControlCharacters:
    """Refuses CR, LF and every other control character (header injection, log forging)."""

    def __call__(self, form, field) -> None:
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(isinstance(v, str) and CONTROL.search(v) for v in values):
            raise ValidationError(_l("Remove line breaks and control characters."))


class NoNul:
    """Refuses NUL in multi-line text: no database column can hold it."""

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and NUL in field.data:
            raise ValidationError(_l("Remove line breaks and control characters."))


class ValidEmail:
    """Checks syntax (no DNS) and normalises: domain lower-cased and IDNA-encoded."""

    def __call__(self, form, field) -> None:
        try:
            field.data = normalise_email(field.data or "")
        except InvalidAddress as exc:
            raise ValidationError(
                _l("Enter an email address in the correct format, like name@example.com")
            ) from exc


class WebLink:
    """Only http and https links: never javascript: or data: (they reach readers' mail)."""

    def __call__(self, form, field) -> None:
        if field.data and not fields.is_web_link(field.data):
            raise ValidationError(_l("Enter a full web address starting with https://"))


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


class ImagesHaveAlt:
    """Refuses Markdown with an image that has no alt text (readers who cannot see it)."""

    def __call__(self, form, field) -> None:
        if field.data and images_without_alt(field.data):
            raise ValidationError(
                _l(
                    "Give every image a description (alt text), like "
                    "![what the image shows](https://example.org/image.png)."
                )
            )


class MergeFields:
    """Refuses a `{{ ... }}` that is not a known merge field in the allowed syntax, naming
    the field and the allowed ones (mail/merge.py): it would otherwise reach readers as is."""

    def __call__(self, form, field) -> None:
        problem = merge.find_problem(field.data) if isinstance(field.data, str) else None
        if problem is not None:
            raise ValidationError(merge.describe(problem))


def rules(field: Field, *, required=None, length_message=None) -> list:
    """The WTForms validators of a text field of the table (required-ness, length, characters).

    `required` (a validator) replaces the plain DataRequired/Optional the table implies;
    False leaves presence to the form (a checkbox list says "select at least one" itself). A
    choice field is held to its choices by WTForms (validate_choice), not by a length.
    """
    if required is None:
        required = DataRequired() if field.required else Optional()
    checks = [required] if required is not False else []
    if field.max_length is not None and field.kind not in (Kind.CHOICE, Kind.CHOICES):
        checks.append(Length(max=field.max_length, message=length_message))
    checks.append(NoControlCharacters() if field.is_single_line else NoNul())
    if field.kind is Kind.LINK:
        checks.append(WebLink())
    if field.kind is Kind.MARKDOWN:
        checks += [ShallowHtml(), ImagesHaveAlt()]
    if field.has_merge_fields:
        checks.append(MergeFields())
    return checks


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def email_field(label=None, **render_kw) -> StringField:
    """The email address box: required, at most 254 characters, one valid address."""
    return StringField(
        label or _l("Email address"),
        validators=rules(
            fields.SUBSCRIBER["email"],
            required=InputRequired(_l("Enter your email address")),
            length_message=_l("Email address must be 254 characters or fewer"),
        )
        + [ValidEmail()],
        render_kw={"autocomplete": "email", "type": "email", "spellcheck": "false", **render_kw},
    )


def language_choices() -> list[SelectChoice]:
    """Cymraeg, English: each language named in itself."""
    return [SelectChoice(str(lang), lang.native_name) for lang in LANGUAGES]


def reader_language_choices() -> list[SelectChoice]:
    """A reader's choices: Cymraeg, English, and both in one email (i18n.READER_CHOICES)."""
    return [SelectChoice(code, choice_name(code)) for code in READER_CHOICES]


def region_choices(lang: str) -> list[SelectChoice]:
    """Every region, named in `lang`."""
    return [SelectChoice(code, region_name(code, lang)) for code in REGIONS]


def topic_choices(lang: str, *, active_only: bool) -> list[SelectChoice]:
    """Topics in their order, named in `lang` (readers see only the active ones)."""
    query = Topic.query.filter_by(is_active=True) if active_only else Topic.query
    return [SelectChoice(t.slug, t.name(lang)) for t in query.order_by(Topic.position)]


def active_topic_choices(lang: str) -> list[SelectChoice]:
    """The active topics named in `lang`, for readers' forms (held briefly: core/topics.py)."""
    return [SelectChoice(t.slug, t.name(lang)) for t in active_topics()]


def small_count(count: int) -> str:
    """A breakdown's count for a page: exact, or "fewer than 5" (core/disclosure.py)."""
    shown = shown_count(count)
    if shown is None:
        return small_count_words()
    return f"{shown:,}"


def small_count_words() -> str:
    """What a page or a CSV export says instead of a count under SMALL_COUNT."""
    return str(_l("fewer than %(n)d", n=SMALL_COUNT))


def register_template_helpers(app: Flask) -> None:
    """Expose the helpers to Jinja."""
    app.jinja_env.globals.update(
        current_lang=current_lang,
        html_lang=html_lang,
        language_of=language_of,
        choice_name=choice_name,
        is_both=is_both,
        languages=LANGUAGES,
        switch_language_url=switch_language_url,
        region_name=region_name,
        format_datetime=format_datetime,
        make_unsubscribe_token=make_unsubscribe_token,
        access_features=access_features,
        partner_names=partner_names,
        public_text=public_text,
        merge_fields=merge.FIELDS,
        merge_example=merge.EXAMPLE_WITH_DEFAULT,
        opportunity_kinds=OPPORTUNITY_KINDS,
        org_name=org_name,
        org_address=org_address,
        masthead=masthead_view,
    )
    app.jinja_env.filters["markdown"] = lambda text, lowest=4, links=None: render_markdown(
        text, lowest_heading=lowest, links=links
    )
    app.jinja_env.filters["markdown_text"] = render_plain
    app.jinja_env.filters["small_count"] = small_count
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
