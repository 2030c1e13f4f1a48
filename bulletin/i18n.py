"""Languages and local time: the Language enum, BCP 47 tags, the London zone, locale selection.

The database stores a language as its two-letter code ('cy', 'en'): Language is a StrEnum,
so its members compare equal to those strings and can be written to the columns directly.
A reader may also choose both: BOTH ('cy+en') is the one code for "Cymraeg and English",
one email with the Welsh first and the English after (subscriber, delivery and outbox rows
store it as it is; an issue is never written in it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context, request, session, url_for
from flask_babel import get_locale

#: Where editors enter and read dates (stored in UTC), and where consent dates are read.
LONDON = ZoneInfo("Europe/London")


class Language(StrEnum):
    """A language the bulletin is written in; the value is the code stored in the database."""

    CY = "cy"
    EN = "en"

    @property
    def tag(self) -> str:
        """BCP 47 tag for lang= attributes and Content-Language (WLS-09): cy or en-GB."""
        return "cy" if self is Language.CY else "en-GB"

    @property
    def native_name(self) -> str:
        """The language's name in itself (Cymraeg, English): never translated."""
        return "Cymraeg" if self is Language.CY else "English"

    @property
    def read_in(self) -> str:
        """The link to the part of a bilingual email in this language, written in it."""
        return "Darllen yn Gymraeg" if self is Language.CY else "Read in English"

    @property
    def other(self) -> Language:
        """Welsh for English and the other way round."""
        return Language.EN if self is Language.CY else Language.CY


#: Every language, Welsh first (the order of choices on forms and pages).
LANGUAGES: tuple[Language, ...] = (Language.CY, Language.EN)
DEFAULT = Language.EN
#: The codes as plain strings (for JSON Schema enums, click choices, Accept-Language matching).
CODES: tuple[str, ...] = tuple(str(lang) for lang in LANGUAGES)


#: A reader's choice of both languages: one email, Welsh first then English (WLS).
BOTH = "cy+en"
#: What a reader may choose for their emails: Welsh, English or both, Welsh first.
READER_CHOICES: tuple[str, ...] = (*CODES, BOTH)
#: The longest code a language column holds.
CODE_MAX = len(BOTH)


def languages_of(choice: str | None) -> tuple[Language, ...]:
    """The languages a reader's choice means, Welsh first: (cy, en) for BOTH."""
    if choice == BOTH:
        return LANGUAGES
    return (language_of(choice),)


def is_both(choice: str | None) -> bool:
    """Whether a stored choice is both languages."""
    return choice == BOTH


def choice_name(choice: str | None) -> str:
    """A reader's choice named in itself: Cymraeg, English, or "Cymraeg a/and English"."""
    if choice == BOTH:
        return "Cymraeg a Saesneg / Welsh and English"
    return language_of(choice).native_name


def language_of(value: str | None) -> Language:
    """Welsh for 'cy' and for BOTH (whose emails put the Welsh first), English for anything
    else (None, '', 'en', an unknown code)."""
    return Language.CY if value in (Language.CY, BOTH) else Language.EN


def language_tag(lang: str | None) -> str:
    """The BCP 47 tag of a stored language code: cy or en-GB."""
    return language_of(lang).tag


def content_language(choice: str | None) -> str:
    """The Content-Language of a mail in a reader's choice: cy, en-GB or "cy, en-GB"."""
    return ", ".join(lang.tag for lang in languages_of(choice))


def other_language(lang: str | None) -> Language:
    """'cy' for 'en' and the other way round."""
    return language_of(lang).other


#: Welsh writes "ac" for "and" before a vowel ("Iechyd ac Addysg"), "a" before a consonant.
_WELSH_VOWELS = frozenset("aeiouwyâêîôûŵŷáéíóúẃýàèìòùẁỳäëïöüẅÿ")


def join_words(words: Sequence[str], lang: str | None) -> str:
    """A list in running text: "A, B and C" in English, "A, B ac C" / "A, B a C" in Welsh."""
    if len(words) < 2:
        return "".join(words)
    *first, last = words
    if language_of(lang) is Language.CY:
        conjunction = "ac" if last[:1].lower() in _WELSH_VOWELS else "a"
    else:
        conjunction = "and"
    return f"{', '.join(first)} {conjunction} {last}"


# ----- locale selection (Flask-Babel) and the Jinja helpers -----


def select_locale() -> str:
    """?lang= (remembered in the session), then the subscriber's language, then the browser."""
    if not has_request_context():  # the CLI and the worker: messages in English
        return DEFAULT.value
    asked = request.args.get("lang")
    if asked in CODES:
        if not g.get("cookieless"):  # embedded pages set no cookie on partners' sites
            session["lang"] = asked
        return asked
    if g.get("subscriber_language") in CODES:
        return g.subscriber_language
    if session.get("lang") in CODES:
        return session["lang"]
    return request.accept_languages.best_match(CODES) or DEFAULT.value


def current_lang() -> Language:
    """The language of this page (English outside a request)."""
    return language_of(str(get_locale()))


def org_name(lang: str | None = None) -> str:
    """The organisation's name in a language (ORG_NAME_CY, else ORG_NAME); default: the page's."""
    return _org_setting("ORG_NAME", lang)


def org_address(lang: str | None = None) -> str:
    """The organisation's postal address in a language (ORG_POSTAL_ADDRESS_CY, else English)."""
    return _org_setting("ORG_POSTAL_ADDRESS", lang)


def _org_setting(name: str, lang: str | None) -> str:
    config = current_app.config
    if language_of(lang or current_lang()) is Language.CY:
        return config.get(f"{name}_CY") or config[name]
    return config[name]


def html_lang(lang: str | None = None) -> str:
    """BCP 47 tag for the html lang attribute (WLS-09): cy or en-GB."""
    return language_tag(lang or current_lang())


def switch_language_url(lang: str) -> str:
    """This page in another language: the same path and query, with lang= replaced."""
    if not (request.endpoint and request.method == "GET"):
        return url_for("public.subscribe", lang=lang)
    # Only the route's own arguments go to url_for. The query is copied as text: handed to
    # url_for, ?_external=1 or ?_scheme= would build a link from the Host header, and
    # ?endpoint= or ?_method= would raise a 500.
    path = url_for(request.endpoint, **(request.view_args or {}))
    query = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return f"{path}?{urlencode([*query, ('lang', lang)])}"


# ----- wall-clock time in Europe/London -----


class NonexistentTime(ValueError):
    """A local time skipped by the clocks going forward (the spring gap)."""


def london_to_utc(local: datetime) -> datetime:
    """A naive London wall-clock time in UTC; an autumn repeat means the first occurrence."""
    aware = local.replace(tzinfo=LONDON, fold=0)
    back = aware.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None)
    if back != local.replace(tzinfo=None):
        raise NonexistentTime(local.isoformat())
    return aware.astimezone(UTC)


def utc_to_london(moment: datetime) -> datetime:
    """An aware UTC datetime as naive London wall-clock time (for form fields)."""
    return moment.astimezone(LONDON).replace(tzinfo=None)


def is_ambiguous(local: datetime) -> bool:
    """Whether the wall-clock time happens twice (the autumn hour)."""
    first = local.replace(tzinfo=LONDON, fold=0).utcoffset()
    second = local.replace(tzinfo=LONDON, fold=1).utcoffset()
    return first != second and london_to_utc_safe(local) is not None


def london_to_utc_safe(local: datetime) -> datetime | None:
    """london_to_utc, or None for a time in the spring gap."""
    try:
        return london_to_utc(local)
    except NonexistentTime:
        return None
