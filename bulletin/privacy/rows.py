"""One imported CSV row, checked the way the sign-up form checks its fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from bulletin.core.addresses import Address, AddressTooLong, InvalidAddress, parse
from bulletin.core.fields import CONTROL, EMAIL_MAX, SUBSCRIBER
from bulletin.extensions import db
from bulletin.i18n import BOTH, DEFAULT, LONDON, Language
from bulletin.models import REGIONS, Topic
from bulletin.privacy.messages import _

#: Longest value accepted per field: the field table's limits where a form has the field;
#: the other columns hold spellings (Cymraeg, "South East Wales") or lists of topics.
LIMITS = {
    "email": SUBSCRIBER["email"].max_length,
    "name": SUBSCRIBER["name"].max_length,
    "topics": 1000,
    "region": 60,
    "language": 20,
    "consent_date": 40,
    "consent_source": 100,
}
#: Spellings of each language a file may use (compared lower-case).
LANGUAGES: dict[str, str] = {
    "cy": Language.CY,
    "cym": Language.CY,
    "welsh": Language.CY,
    "cymraeg": Language.CY,
    "en": Language.EN,
    "eng": Language.EN,
    "en-gb": Language.EN,
    "english": Language.EN,
    "saesneg": Language.EN,
    BOTH: BOTH,
    "en+cy": BOTH,
    "both": BOTH,
    "bilingual": BOTH,
    "dwyieithog": BOTH,
}
DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
TOPIC_SEPARATORS = (";", "|", ",")


class RowError(ValueError):
    """A row that cannot be imported; the message says why."""


@dataclass(frozen=True)
class Candidate:
    """A valid row, ready to insert."""

    line: int
    email: str  #: as typed (domain normalised): where mail goes
    key: str  #: the mailbox's identity (core.addresses): what duplicates are found by
    name: str | None
    topic_ids: tuple[int, ...]
    region: str | None
    language: str
    consent_at: datetime | None
    consent_source: str | None


@dataclass(frozen=True)
class Catalogue:
    """Topic and region spellings a file may use, loaded once per import."""

    topics: dict[str, int]
    all_topic_ids: tuple[int, ...]
    regions: dict[str, str]

    @classmethod
    def load(cls) -> Catalogue:
        """Active topics by slug and name (both languages); regions by code and name."""
        topics: dict[str, int] = {}
        active = db.session.scalars(
            select(Topic).filter_by(is_active=True).order_by(Topic.position)
        ).all()
        for topic in active:
            for spelling in (topic.slug, topic.name_en, topic.name_cy):
                topics[spelling.strip().lower()] = topic.id
        regions = {}
        for code, (english, welsh) in REGIONS.items():
            for spelling in (code, english, welsh):
                regions[spelling.lower()] = code
        return cls(topics, tuple(t.id for t in active), regions)


def check_address(value: str) -> Address:
    """The address in both forms, as the sign-up form takes it (syntax only, no DNS)."""
    try:
        return parse(value)
    except AddressTooLong:
        raise RowError(
            _("The email address is longer than %(limit)s characters.", limit=EMAIL_MAX)
        ) from None
    except InvalidAddress:
        # email-validator's reasons are library English ("The part after the @-sign is not
        # valid IDNA"); the report says plainly what is wrong and what to check.
        raise RowError(
            _(
                "This is not an email address: check that it has one @ with a name before it "
                "and a domain such as example.org after it."
            )
        ) from None


def _topics(value: str, catalogue: Catalogue) -> tuple[int, ...]:
    if not value:
        return catalogue.all_topic_ids  # a list without topics took everything
    separator = next((s for s in TOPIC_SEPARATORS if s in value), ";")
    ids = []
    for part in (p.strip().lower() for p in value.split(separator)):
        if not part:
            continue
        if part not in catalogue.topics:
            raise RowError(_("Unknown topic: %(topic)s.", topic=part))
        ids.append(catalogue.topics[part])
    return tuple(dict.fromkeys(ids))


def parse_consent_date(value: str, now: datetime) -> datetime | None:
    """A consent date (ISO 8601 or day/month/year, Europe/London if no zone), or None."""
    if not value:
        return None
    parsed = _parse_date(value)
    if parsed is None:
        raise RowError(
            _("The consent date %(value)s is not a date (write it like 2024-03-31).", value=value)
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LONDON)
    parsed = parsed.astimezone(UTC)
    if parsed > now + timedelta(days=1):
        raise RowError(_("The consent date is in the future."))
    return parsed


def _parse_date(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            continue
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day)


def parse_row(
    line: int, row: list[str], columns: dict[str, int], catalogue: Catalogue, now: datetime
) -> Candidate:
    """Check every mapped cell; RowError says what is wrong."""
    values = {field: (row[i] if i < len(row) else "") for field, i in columns.items()}
    for field, value in values.items():
        if "\r" in value or "\n" in value:
            raise RowError(_("The %(field)s contains a line break.", field=field))
        if len(value) > LIMITS[field]:
            raise RowError(
                _(
                    "The %(field)s is longer than %(limit)s characters.",
                    field=field,
                    limit=LIMITS[field],
                )
            )
        if CONTROL.search(value):
            raise RowError(_("The %(field)s contains a control character.", field=field))
    values = {field: value.strip() for field, value in values.items()}
    if not values["email"]:
        raise RowError(_("The email address is missing."))
    region = values.get("region", "").lower()
    if region and region not in catalogue.regions:
        raise RowError(_("Unknown region: %(region)s.", region=values["region"]))
    language = values.get("language", "").lower()
    if language and language not in LANGUAGES:
        raise RowError(
            _(
                "Unknown language: %(language)s (write cy, en or cy+en).",
                language=values["language"],
            )
        )
    address = check_address(values["email"])
    return Candidate(
        line=line,
        email=address.typed,
        key=address.key,
        name=values.get("name") or None,
        topic_ids=_topics(values.get("topics", ""), catalogue),
        region=catalogue.regions.get(region),
        language=LANGUAGES.get(language, DEFAULT),
        consent_at=parse_consent_date(values.get("consent_date", ""), now),
        consent_source=values.get("consent_source") or None,
    )
