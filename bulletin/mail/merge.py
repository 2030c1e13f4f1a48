"""Merge fields: the few reader values an editor may write into an issue's text.

The one home of the set (FIELDS), its syntax and its values. An editor writes `{{ name }}`
or `{{ name | default('there') }}` (single or double quotes) in a subject, preview text,
introduction or news item; nothing else that looks like `{{ ... }}` is allowed, and the text
is never evaluated as Jinja (that would be template injection): a small regex, tried only
where a `{{` starts, reads each placeholder in linear time.

A send renders the issue once per language with each placeholder replaced by a marker
(Markers), a word of letters, digits and dashes that no encoding changes; the message
builder cuts the encoded parts at the markers and joins each reader's values in. The public
archive and feed show the editor's fallback word, or the field's neutral word.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from bulletin.i18n import Language, join_words
from bulletin.models import region_name


@dataclass(frozen=True)
class Reader:
    """What the fields are filled from: one subscriber (or the preview's sample)."""

    name: str | None = None
    region: str | None = None  #: a region code
    #: the reader's topics as (English, Welsh) names, in topic order: a bilingual mail
    #: names them in each of its halves' languages
    topics: tuple[tuple[str, str], ...] = ()


class ReaderValues(Protocol):
    """Anything with a reader's values: a Reader, or the message builder's Personal."""

    @property
    def name(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...
    @property
    def topics(self) -> tuple[tuple[str, str], ...]: ...


def _name(reader: ReaderValues, lang: str) -> str:
    return " ".join((reader.name or "").split())


def _first_name(reader: ReaderValues, lang: str) -> str:
    words = (reader.name or "").split()
    return words[0] if words else ""


def _region(reader: ReaderValues, lang: str) -> str:
    return region_name(reader.region, lang)


def _topics(reader: ReaderValues, lang: str) -> str:
    welsh = lang == Language.CY
    return join_words([pair[welsh] for pair in reader.topics], lang)


@dataclass(frozen=True)
class MergeField:
    """One field: what the editor sees of it, and how a reader's value is found."""

    name: str
    description: str  #: lazy: shown on the issue pages in the editor's language
    neutral: tuple[str, str]  #: (English, Welsh) word for the archive when no default is given
    value: Callable[[ReaderValues, str], str]

    @property
    def example(self) -> str:
        """How an editor writes it."""
        return "{{ " + self.name + " }}"


FIELDS: dict[str, MergeField] = {
    f.name: f
    for f in (
        MergeField(
            "name", _l("The reader's name as they gave it."), ("reader", "darllenydd"), _name
        ),
        MergeField(
            "first_name",
            _l("The first word of the reader's name."),
            ("reader", "darllenydd"),
            _first_name,
        ),
        MergeField(
            "region",
            _l("The reader's region, named in the language of the email."),
            ("Wales", "Cymru"),
            _region,
        ),
        MergeField(
            "topics",
            _l("The topics the reader chose, joined in the language of the email."),
            ("research", "ymchwil"),
            _topics,
        ),
    )
}
#: The allowed names, as error messages list them.
ALLOWED = ", ".join(FIELDS)
#: A field with a fallback word, as the help on the issue pages shows it.
EXAMPLE_WITH_DEFAULT = "{{ first_name | default('there') }}"

#: One placeholder from its "{{": a field name, then optionally | default('word').
_PLACEHOLDER = re.compile(
    r"""\{\{[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*"""
    r"""(?:\|[ \t]*default\([ \t]*(?:'([^'{}\r\n]*)'|"([^"{}\r\n]*)")[ \t]*\)[ \t]*)?\}\}"""
)
#: How much of a malformed placeholder an error message quotes.
SNIPPET = 40


@dataclass(frozen=True)
class Placeholder:
    """A field with the editor's fallback word ('' when none was given)."""

    field: str
    default: str = ""


@dataclass(frozen=True)
class MergeError:
    """A `{{ ... }}` that is not one of ours: an unknown field (named) or bad syntax."""

    text: str  #: the placeholder as written (cut at SNIPPET characters)
    field: str | None = None  #: set when the syntax was right but the field is unknown


def _scan(text: str) -> Iterator[tuple[int, int, Placeholder | MergeError]]:
    # Only where "{{" starts: each attempt stops at the next brace, so the scan is linear.
    pos = 0
    while (start := text.find("{{", pos)) != -1:
        match = _PLACEHOLDER.match(text, start)
        if match is None:
            end = text.find("}}", start + 2, start + SNIPPET)
            end = start + SNIPPET if end == -1 else end + 2
            yield start, start + 2, MergeError(text[start:end])
            pos = start + 2
            continue
        field, single, double = match.groups()
        if field in FIELDS:
            found = Placeholder(field, single if single is not None else (double or ""))
        else:
            found = MergeError(match.group(0)[:SNIPPET], field)
        yield start, match.end(), found
        pos = match.end()


def find_problem(text: str | None) -> MergeError | None:
    """The first placeholder in `text` that is not a known field in the allowed syntax."""
    for _start, _end, found in _scan(text or ""):
        if isinstance(found, MergeError):
            return found
    return None


def describe(problem: MergeError) -> str:
    """What is wrong and what to write instead, in the current locale (the forms' language;
    the API asks for English)."""
    if problem.field is not None:
        return _(
            'There is no merge field called "%(field)s". Use one of: %(allowed)s.',
            field=problem.field,
            allowed=ALLOWED,
        )
    return _(
        "\"%(text)s\" is not a merge field. Write {{ name }} or {{ name | default('word') }}, "
        "with one of: %(allowed)s.",
        text=problem.text,
        allowed=ALLOWED,
    )


def replace(text: str, fill: Callable[[Placeholder], str]) -> str:
    """`text` with each placeholder replaced by fill(placeholder). What is not a placeholder
    of ours stays as written (the forms and the API refuse it before it is saved)."""
    if "{{" not in text:
        return text
    out, pos = [], 0
    for start, end, found in _scan(text):
        if isinstance(found, Placeholder):
            out += [text[pos:start], fill(found)]
            pos = end
    out.append(text[pos:])
    return "".join(out)


def neutral_filler(lang: str) -> Callable[[Placeholder], str]:
    """The archive's and feed's words: the editor's fallback, else the field's neutral word."""
    welsh = lang == Language.CY
    return lambda p: p.default or FIELDS[p.field].neutral[1 if welsh else 0]


def reader_filler(reader: ReaderValues, lang: str) -> Callable[[Placeholder], str]:
    """A reader's words: their value, else the editor's fallback."""
    return lambda p: FIELDS[p.field].value(reader, lang) or p.default


#: A marker: what a placeholder is rendered as when each reader's value is joined in later.
#: Letters, digits and dashes only, so Markdown, HTML, premailer and quoted-printable leave
#: it alone.
MARKER_PREFIX = "BULLETIN-FIELD-"
MARKER = re.compile(MARKER_PREFIX + r"([0-9]{4})")


class Markers:
    """Hands out one marker per distinct placeholder and remembers which is which.

    A bilingual mail renders both languages with one Markers, each half through
    in_language(): the same field gets a marker per language, filled in that language."""

    def __init__(self) -> None:
        self.fields: list[Placeholder] = []
        #: The language each field is filled in ('' : the mail's own language).
        self.languages: list[str] = []
        self._index: dict[tuple[Placeholder, str], int] = {}

    def __call__(self, placeholder: Placeholder, lang: str = "") -> str:
        index = self._index.get((placeholder, lang))
        if index is None:
            index = self._index[(placeholder, lang)] = len(self.fields)
            self.fields.append(placeholder)
            self.languages.append(lang)
        return f"{MARKER_PREFIX}{index:04d}"

    def in_language(self, lang: str) -> Callable[[Placeholder], str]:
        """The markers of one half of a bilingual mail, filled in `lang`."""
        return lambda placeholder: self(placeholder, lang)


def field_values(
    reader: ReaderValues, lang: str, fields: tuple[Placeholder, ...], languages: tuple[str, ...]
) -> list[str]:
    """A reader's value for each field, by marker number: in the field's language when the
    mail is bilingual (`languages`), else in the mail's language `lang`."""
    fills = {code: reader_filler(reader, code) for code in {lang, *languages} if code}
    if not languages:
        return [fills[lang](placeholder) for placeholder in fields]
    return [fills[code or lang](p) for p, code in zip(fields, languages, strict=True)]


def fill_markers(text: str, values: list[str], *, escape: bool = False) -> str:
    """Markers replaced by values (by marker number), HTML-escaped when `escape`."""
    if escape:
        values = [html.escape(v) for v in values]
    return MARKER.sub(lambda m: values[int(m.group(1))], text)
