"""The Welsh catalogue: complete, consistent, compiled, shipped; templates hide no English.

Workflow when strings change (English is the source; the .po is the source of truth):

    pybabel extract -F babel.cfg -k _l -k lazy_gettext -o /tmp/messages.pot .
    pybabel update -i /tmp/messages.pot -d bulletin/translations -l cy --no-fuzzy-matching
    (translate every empty msgstr in bulletin/translations/cy/LC_MESSAGES/messages.po)
    pybabel compile -d bulletin/translations

The compiled messages.mo is committed (so an installed wheel needs no build step) and
test_compiled_catalogue_matches_po fails when someone forgets the last command.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "bulletin" / "translations" / "cy" / "LC_MESSAGES"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}

#: Words that are the same in both languages, or are names, and so need no msgid.
UNTRANSLATED_WORDS = {"Cymraeg", "English", "WCAG", "AA", "RSS", "Atom", "API"}
#: msgids whose Welsh is spelt the same as the English.
SAME_IN_WELSH = {"Cymraeg", "system", "Problem", "Drafft", "Logo"}


def extract_messages() -> dict[str, list[str]]:
    """Every msgid babel.cfg finds in the tree, with the files that use it."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message  # plurals: the singular
        if msgid:
            found.setdefault(msgid, []).append(filename)
    return found


def read_catalogue() -> Catalog:
    with open(CATALOGUE / "messages.po", "rb") as po:
        return read_po(po, locale="cy")


@pytest.fixture(scope="module")
def extracted() -> dict[str, list[str]]:
    return extract_messages()


@pytest.fixture(scope="module")
def catalogue() -> Catalog:
    return read_catalogue()


def test_extraction_finds_the_public_pages_and_emails(extracted):
    files = {f for uses in extracted.values() for f in uses}
    assert "templates/base.html" in files
    assert "templates/email/confirm.html" in files
    assert "bulletin/subscriptions/forms.py" in files  # lazy_gettext (_l) strings
    assert "Tick the box to agree to receive the bulletin" in extracted


def test_every_extracted_string_has_a_welsh_translation(extracted, catalogue):
    problems = []
    for msgid, uses in sorted(extracted.items()):
        entry = catalogue.get(msgid)
        if entry is None:
            problems.append(f"missing: {msgid!r} (used in {', '.join(sorted(set(uses)))})")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(s and s.strip() for s in strings):
            problems.append(f"untranslated or fuzzy: {msgid!r}")
    assert not problems, "Welsh catalogue incomplete:\n" + "\n".join(problems)


def test_catalogue_passes_babels_checks(catalogue):
    # Placeholders (%(org)s, %(days)d) must match between English and Welsh.
    errors = [f"{m.id!r}: {errs}" for m, errs in catalogue.check()]
    assert not errors, "\n".join(errors)


def test_welsh_is_not_a_copy_of_the_english(catalogue):
    same = [m.id for m in catalogue if m.id and m.string == m.id and m.id not in SAME_IN_WELSH]
    assert not same, f"msgstr equals msgid: {same}"


def test_compiled_catalogue_matches_po(catalogue):
    with open(CATALOGUE / "messages.mo", "rb") as mo:
        compiled = read_mo(mo)

    def table(messages):
        return {
            (m.id if isinstance(m.id, str) else tuple(m.id)): (
                m.string if isinstance(m.string, str) else tuple(m.string)
            )
            for m in messages
            if m.id and m.string and not m.fuzzy
        }

    expected, actual = table(catalogue), table(compiled)
    assert actual == expected, (
        "messages.mo is stale: run `pybabel compile -d bulletin/translations`"
    )


def test_wheel_ships_the_translations():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"translations/*/LC_MESSAGES/*"' in pyproject
    assert (CATALOGUE / "messages.mo").is_file()


def _visible_english(template: Path) -> list[str]:
    """Text and user-facing attributes of a template that are not inside {{ }} or {% %}."""
    source = template.read_text(encoding="utf-8")
    source = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    source = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", source, flags=re.S)
    if template.suffix == ".txt":
        chunks = [source]
    else:
        soup = BeautifulSoup(source, "html.parser")
        for hidden in soup(["style", "script"]):
            hidden.decompose()
        chunks = list(soup.stripped_strings)
        for tag in soup.find_all(True):
            chunks += [tag.get(a, "") for a in ("alt", "title", "aria-label", "placeholder")]
    words = {w for chunk in chunks for w in re.findall(r"[A-Za-z][A-Za-z'’]+", chunk)}
    return sorted(words - UNTRANSLATED_WORDS)


@pytest.mark.parametrize(
    "template",
    sorted((ROOT / "templates").rglob("*.html")) + sorted((ROOT / "templates").rglob("*.txt")),
    ids=lambda p: str(p.relative_to(ROOT / "templates")),
)
def test_templates_have_no_hard_coded_text(template):
    assert _visible_english(template) == [], "wrap visible text in {{ _(...) }}"
