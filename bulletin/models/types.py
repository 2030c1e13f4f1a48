"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

from bulletin.i18n import Language


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC in the database, hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


#: Region codes with their names in (English, Welsh).
REGIONS: dict[str, tuple[str, str]] = {
    "north-wales": ("North Wales", "Gogledd Cymru"),
    "mid-wales": ("Mid Wales", "Canolbarth Cymru"),
    "south-west-wales": ("South West Wales", "De-orllewin Cymru"),
    "south-east-wales": ("South East Wales", "De-ddwyrain Cymru"),
    "outside-wales": ("Outside Wales", "Y tu allan i Gymru"),
}


def region_name(code: str | None, lang: str) -> str:
    """The region's name in the given language ('' for none)."""
    if not code or code not in REGIONS:
        return ""
    english, welsh = REGIONS[code]
    return welsh if lang == Language.CY else english
