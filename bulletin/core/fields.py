"""The one table of field rules: lengths, characters, choices, required-ness.

Every door reads it: the public and editor forms (their WTForms validators are built from
it in bulletin/web.py), the API (its JSON Schema, api/schemas.py, and the checks a schema
cannot say), the CSV importer (privacy/rows.py) and the test-send form. A rule written here
holds the same way at every door; `problem_with` is the verdict for one value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlparse

from flask_babel import force_locale
from wtforms.validators import HostnameValidation

from bulletin.core.addresses import MAX_LENGTH, InvalidAddress, parse
from bulletin.i18n import CODE_MAX, READER_CHOICES
from bulletin.mail import merge
from bulletin.mail.markup import (
    MAX_HTML_NESTING,
    MAX_MARKDOWN_LENGTH,
    html_nesting,
    images_without_alt,
)
from bulletin.models import REGIONS, OpportunityKind

#: Control characters no single-line value may hold: CR and LF (header injection), the rest
#: of C0, DEL, and the Unicode line and paragraph separators (log forging).
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
#: Multi-line text may hold line breaks and tabs, but never NUL: no database column holds it.
NUL = "\x00"
#: RFC 5321's limit on a forward path (the address as stored and compared).
EMAIL_MAX = MAX_LENGTH  # the address rule (core/addresses.py) owns it
#: A test send goes to at most this many addresses.
MAX_TEST_ADDRESSES = 5
#: Topic slugs, as stored (Topic.slug) and named in the API.
TOPIC_SLUG_MAX = 60


class Kind(StrEnum):
    """What a field holds, which decides its character rule and its JSON type."""

    EMAIL = "email"  #: one address, on one line
    LINE = "line"  #: one line of text
    TEXT = "text"  #: several lines of plain text
    MARKDOWN = "markdown"  #: several lines of Markdown (its raw HTML kept shallow)
    LINK = "link"  #: an http(s) address
    FLAG = "flag"  #: true or false
    WHEN = "when"  #: a date and time, entered in UK time
    NUMBER = "number"  #: a whole number in a range
    CHOICE = "choice"  #: one of `choices`
    CHOICES = "choices"  #: several of `choices` (topics: the active topics, from the database)


SINGLE_LINE_KINDS = frozenset({Kind.EMAIL, Kind.LINE, Kind.LINK, Kind.CHOICE, Kind.CHOICES})


class Problem(StrEnum):
    """Why a value is refused; each door words it in its own language and voice."""

    MISSING = "missing"
    TOO_LONG = "too-long"
    CONTROL = "control"
    NOT_AN_ADDRESS = "not-an-address"
    NOT_A_LINK = "not-a-link"
    DEEP_HTML = "deep-html"
    IMAGE_WITHOUT_ALT = "image-without-alt"
    OUT_OF_RANGE = "out-of-range"
    UNKNOWN_CHOICE = "unknown-choice"
    MERGE_FIELD = "merge-field"  #: an unknown merge field, or a "{{" not in their syntax


#: The API's (and the CLI's) English wording of each problem.
PROBLEM_TEXT = {
    Problem.MISSING: "This field is required.",
    Problem.TOO_LONG: "Must be {max_length} characters or fewer.",
    Problem.CONTROL: "Remove line breaks and control characters.",
    Problem.NOT_AN_ADDRESS: "Enter an email address in the correct format, like name@example.com",
    Problem.NOT_A_LINK: "Enter a full web address starting with https://",
    Problem.DEEP_HTML: f"The HTML in this text is nested more than {MAX_HTML_NESTING} levels "
    "deep. Use Markdown or simpler HTML.",
    Problem.IMAGE_WITHOUT_ALT: "Give every image alt text: ![what the image shows](address).",
    Problem.OUT_OF_RANGE: "Must be from {minimum} to {maximum}.",
    Problem.UNKNOWN_CHOICE: "Not one of the choices.",
    Problem.MERGE_FIELD: "",  # Field.describe words it from the value (mail/merge.py)
}


@dataclass(frozen=True)
class Field:
    """One field's rules."""

    name: str
    kind: Kind
    max_length: int | None = None
    required: bool = False
    choices: tuple[str, ...] | None = None  #: None: the door loads them (topics)
    minimum: int | None = None
    maximum: int | None = None
    #: Whether it may hold merge fields ({{ name }}, mail/merge.py): an issue's own text.
    has_merge_fields: bool = False

    @property
    def is_single_line(self) -> bool:
        """Whether line breaks and other control characters are refused."""
        return self.kind in SINGLE_LINE_KINDS

    def describe(self, problem: Problem, value: str = "") -> str:
        """The English sentence for a problem with this field (`value`: what was refused)."""
        if problem is Problem.MERGE_FIELD:
            found = merge.find_problem(value)
            if found is not None:
                with force_locale("en"):
                    return merge.describe(found)
        return PROBLEM_TEXT[problem].format(
            max_length=self.max_length, minimum=self.minimum, maximum=self.maximum
        )


def problem_with(field: Field, value) -> Problem | None:
    """The first rule of `field` that `value` breaks (None when it is fine)."""
    if value is None or value == "" or value == []:
        return Problem.MISSING if field.required else None
    if field.kind is Kind.NUMBER:
        return _number_problem(field, value)
    if field.kind in (Kind.FLAG, Kind.WHEN):
        return None  # typed values: the form field or the schema parses them
    values = value if isinstance(value, list | tuple) else [value]
    for text in values:
        problem = _text_problem(field, str(text))
        if problem:
            return problem
    return None


def _number_problem(field: Field, value: int) -> Problem | None:
    low = field.minimum if field.minimum is not None else value
    high = field.maximum if field.maximum is not None else value
    return None if low <= value <= high else Problem.OUT_OF_RANGE


def _text_problem(field: Field, text: str) -> Problem | None:
    if field.max_length is not None and len(text) > field.max_length:
        return Problem.TOO_LONG
    if CONTROL.search(text) if field.is_single_line else NUL in text:
        return Problem.CONTROL
    if field.kind is Kind.EMAIL and not _is_address(text):
        return Problem.NOT_AN_ADDRESS
    if field.kind is Kind.LINK and not is_web_link(text):
        return Problem.NOT_A_LINK
    if field.kind is Kind.MARKDOWN and html_nesting(text) > MAX_HTML_NESTING:
        return Problem.DEEP_HTML
    if field.kind is Kind.MARKDOWN and images_without_alt(text):
        return Problem.IMAGE_WITHOUT_ALT
    if field.choices is not None and text not in field.choices:
        return Problem.UNKNOWN_CHOICE
    if field.has_merge_fields and merge.find_problem(text) is not None:
        return Problem.MERGE_FIELD
    return None


def normalise_email(text: str) -> str:
    """The address as stored and mailed: core/addresses.py's one rule (spaces trimmed, syntax
    checked without DNS, domain in lower-case IDNA). Raises addresses.InvalidAddress."""
    return parse(text).typed


def _is_address(text: str) -> bool:
    try:
        normalise_email(text)
    except InvalidAddress:
        return False
    return True


#: WTForms' URL(require_tld=False) host rule, which the editor forms used before this table.
_HOSTNAME = HostnameValidation(require_tld=False, allow_ip=True)


def is_web_link(text: str) -> bool:
    """An http or https address with a valid host: never javascript: or data: (they reach
    readers' mail)."""
    try:
        parts = urlparse(text)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not (parts.username or parts.password)
        and bool(_HOSTNAME(parts.hostname))
    )


def _table(*fields: Field) -> dict[str, Field]:
    return {f.name: f for f in fields}


def _bilingual(
    name: str, kind: Kind, max_length: int | None, *, required: bool = False, merge: bool = False
) -> tuple[Field, Field]:
    return (
        Field(f"{name}_cy", kind, max_length, required=required, has_merge_fields=merge),
        Field(f"{name}_en", kind, max_length, required=required, has_merge_fields=merge),
    )


REGION_CODES: tuple[str, ...] = tuple(REGIONS)
OPPORTUNITY_KINDS: tuple[str, ...] = tuple(OpportunityKind)

#: A subscriber, as the sign-up and manage forms, the editor search and the CSV import see one.
SUBSCRIBER = _table(
    Field("email", Kind.EMAIL, EMAIL_MAX, required=True),
    Field("name", Kind.LINE, 100),
    Field("topics", Kind.CHOICES, TOPIC_SLUG_MAX, required=True),
    Field("region", Kind.CHOICE, 40, required=True, choices=REGION_CODES),
    Field("language", Kind.CHOICE, CODE_MAX, required=True, choices=READER_CHOICES),
)

_TITLE = _bilingual("title", Kind.LINE, 200)
_SUMMARY = _bilingual("summary", Kind.MARKDOWN, MAX_MARKDOWN_LENGTH)
_BODY = _bilingual("body", Kind.MARKDOWN, MAX_MARKDOWN_LENGTH)
#: A catalogue entry's region: one of the regions, or none ("" or null) for all of Wales.
_REGION = Field("region", Kind.CHOICE, 40, choices=("", *REGION_CODES))

#: The columns an editor sets on a workshop (the API's WorkshopCreate, the WorkshopForm).
WORKSHOP = _table(
    *_TITLE,
    *_SUMMARY,
    *_BODY,
    Field("is_online", Kind.FLAG),
    *_bilingual("venue", Kind.TEXT, 2000),
    Field("has_step_free_access", Kind.FLAG),
    Field("has_bsl", Kind.FLAG),
    Field("has_hearing_loop", Kind.FLAG),
    Field("has_captions", Kind.FLAG),
    Field("has_quiet_room", Kind.FLAG),
    *_bilingual("accessibility", Kind.TEXT, 2000),
    Field("partners", Kind.TEXT, 2000),
    Field("booking_url", Kind.LINK, 1000),
    _REGION,
    Field("starts_at", Kind.WHEN, required=True),
    Field("ends_at", Kind.WHEN, required=True),
    Field("booking_deadline_at", Kind.WHEN),
)
OPPORTUNITY = _table(
    *_TITLE,
    *_SUMMARY,
    *_BODY,
    Field("kind", Kind.CHOICE, 30, choices=OPPORTUNITY_KINDS),
    *_bilingual("payment", Kind.TEXT, 2000),
    Field("url", Kind.LINK, 1000),
    _REGION,
    Field("closes_at", Kind.WHEN),
)
#: An issue's own text, and its news items', may hold merge fields (mail/merge.py).
ISSUE = _table(
    *_bilingual("subject", Kind.LINE, 200, merge=True),
    *_bilingual("preheader", Kind.LINE, 250, merge=True),
    *_bilingual("intro", Kind.MARKDOWN, MAX_MARKDOWN_LENGTH, merge=True),
)
NEWS = _table(
    *_bilingual("title", Kind.LINE, 200, merge=True),
    *_bilingual("body", Kind.MARKDOWN, MAX_MARKDOWN_LENGTH, merge=True),
)
TOPIC = _table(*_bilingual("name", Kind.LINE, 120, required=True))
#: A library image's alt text: required in both languages (core/media.py checks it too).
MEDIA = _table(*_bilingual("alt", Kind.LINE, 300, required=True))
#: The masthead's colours as typed (core/masthead.py makes them "#rrggbb" and checks contrast).
MASTHEAD = _table(
    Field("background_colour", Kind.LINE, 20, required=True),
    Field("text_colour", Kind.LINE, 20, required=True),
)
#: An editor's account, and an API token's description.
EDITOR = _table(Field("email", Kind.EMAIL, EMAIL_MAX, required=True), Field("name", Kind.LINE, 200))
API_TOKEN = _table(Field("name", Kind.LINE, 120, required=True))
FILL_WEEKS = Field("weeks", Kind.NUMBER, required=True, minimum=1, maximum=52)
#: The test-send form: addresses one per line (or comma-separated), and which languages.
TEST_SEND = _table(
    Field("addresses", Kind.TEXT, 2000),
    Field("language", Kind.CHOICE, CODE_MAX, required=True, choices=(*READER_CHOICES, "both")),
)


def names(table: dict[str, Field], *kinds: Kind, exclude: tuple[Kind, ...] = ()) -> tuple[str, ...]:
    """The names of a table's fields, of the given kinds (all when none) bar `exclude`."""
    return tuple(
        name
        for name, f in table.items()
        if (not kinds or f.kind in kinds) and f.kind not in exclude
    )


#: Columns an editor may set on each kind of entry, times apart (they are parsed in UK time).
WORKSHOP_FIELDS = names(WORKSHOP, exclude=(Kind.WHEN,))
WORKSHOP_TIMES = names(WORKSHOP, Kind.WHEN)
OPPORTUNITY_FIELDS = names(OPPORTUNITY, exclude=(Kind.WHEN,))
OPPORTUNITY_TIMES = names(OPPORTUNITY, Kind.WHEN)
ISSUE_FIELDS = tuple(ISSUE)
NEWS_FIELDS = tuple(NEWS)
