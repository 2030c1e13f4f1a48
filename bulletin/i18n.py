"""Wall-clock time in Europe/London, where editors enter and read dates (stored in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


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
