"""The consent statement shown at sign-up, versioned: each consent event names its version."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from bulletin.extensions import db
from bulletin.i18n import Language, language_of, org_name
from bulletin.models import ConsentEvent, ConsentWording

#: Bump the version whenever either text changes; old versions stay in the database.
VERSION = "2026-11-v1"

STATEMENT = {
    Language.EN: (
        "{org} will email you a bulletin about workshops and opportunities to get involved "
        "in health and social care research, on the topics you choose. We use your email "
        "address, name, topics, region and language only to send you the bulletin, and we "
        "keep a record of your consent. We never share them with anyone else. You can change "
        "your choices, download your data, or unsubscribe at any time, using the link in "
        "every email."
    ),
    Language.CY: (
        "Bydd {org} yn anfon bwletin atoch drwy e-bost am weithdai a chyfleoedd i gymryd rhan "
        "mewn ymchwil iechyd a gofal cymdeithasol, ar y pynciau a ddewiswch. Rydym yn "
        "defnyddio eich cyfeiriad e-bost, eich enw, eich pynciau, eich rhanbarth a'ch iaith "
        "dim ond i anfon y bwletin atoch, ac rydym yn cadw cofnod o'ch caniatâd. Nid ydym "
        "byth yn eu rhannu ag unrhyw un arall. Gallwch newid eich dewisiadau, lawrlwytho eich "
        "data, neu ddad-danysgrifio ar unrhyw adeg, drwy'r ddolen ym mhob e-bost."
    ),
}


def statement(lang: str) -> str:
    """The consent statement in a language, with the organisation's name."""
    return STATEMENT[language_of(lang)].format(org=org_name(lang))


_STORED_LANGUAGES = select(ConsentWording.__table__.c.language).where(
    ConsentWording.__table__.c.version == bindparam("version")
)


def ensure_wording() -> None:
    """Store the current version's texts, so every consent event's version resolves."""
    # One query for both languages, built once: every sign-up runs this.
    stored = set(db.session.scalars(_STORED_LANGUAGES, {"version": VERSION}))
    missing = [lang for lang in STATEMENT if lang not in stored]
    for lang in missing:
        db.session.add(ConsentWording(version=VERSION, language=lang, text=statement(lang)))
    if missing:
        db.session.flush()


def wording_exists() -> bool:
    """Whether the current version is stored (checked before recording a sign-up)."""
    return db.session.scalar(select(ConsentWording.version).filter_by(version=VERSION)) is not None


def is_known_version(version: str) -> bool:
    """Whether a wording version is stored (the current one is stored on first use)."""
    ensure_wording()
    found = select(ConsentWording.version).filter_by(version=version).limit(1)
    return db.session.scalar(found) is not None


def consent_trail(uid: str) -> list[ConsentEvent]:
    """A subject's consent events, oldest first (they outlive the subscriber row)."""
    query = select(ConsentEvent).filter_by(subject_uid=uid).order_by(ConsentEvent.id)
    return list(db.session.scalars(query))
