"""i18n.py is the one home of Language, the BCP 47 tags, the London zone and locale selection;
core/fields.py is the one home of field rules, and doors read it rather than each other."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

import pytest

from bulletin.i18n import (
    LANGUAGES,
    LONDON,
    Language,
    NonexistentTime,
    language_of,
    language_tag,
    london_to_utc,
    other_language,
)

PACKAGE = Path(__file__).resolve().parent.parent / "bulletin"


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative ones resolved against its package)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_a_language_is_its_database_code_and_has_one_bcp47_tag():
    assert [str(lang) for lang in LANGUAGES] == ["cy", "en"]
    assert Language.CY == "cy" and f"title_{Language.EN}" == "title_en"
    assert [language_tag(code) for code in ("cy", "en", None, "fr")] == ["cy"] + ["en-GB"] * 3
    assert language_of("cy") is Language.CY and language_of("xx") is Language.EN
    assert other_language("cy") is Language.EN and other_language("en") is Language.CY


def test_the_spring_gap_is_refused_and_the_autumn_hour_means_the_first():
    with pytest.raises(NonexistentTime):
        london_to_utc(datetime(2031, 3, 30, 1, 30))
    assert london_to_utc(datetime(2031, 10, 26, 1, 30)).hour == 0


def test_the_london_zone_is_built_once():
    builders = [
        p
        for p in PACKAGE.rglob("*.py")
        if 'ZoneInfo("Europe/London")' in p.read_text() and p.name != "i18n.py"
    ]
    assert builders == []
    assert LONDON.key == "Europe/London"


def test_the_locale_selector_answers_english_outside_a_request_and_follows_lang(client):
    from bulletin.i18n import select_locale

    assert select_locale() == "en"
    assert 'lang="cy"' in client.get("/subscribe?lang=cy").text
