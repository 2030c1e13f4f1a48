"""The catalogue and topics: the listings every door shows, and the editorial verbs.

The verbs flush; the caller commits."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import false, func, or_, select

from bulletin.core.audit import record_audit
from bulletin.core.fields import (
    OPPORTUNITY_FIELDS,
    OPPORTUNITY_TIMES,
    WORKSHOP_FIELDS,
    WORKSHOP_TIMES,
)
from bulletin.extensions import db
from bulletin.i18n import london_to_utc, london_to_utc_safe
from bulletin.mail.issue_view import ACCESS_KEYS
from bulletin.models import Opportunity, Topic, Workshop, utcnow


@dataclass(frozen=True)
class Kind:
    """One kind of catalogue entry, as the editor pages and the API list it."""

    name: str  #: "workshop" or "opportunity"
    plural: str
    model: type
    filters: tuple[str, ...]  #: first is the default


WORKSHOPS = Kind("workshop", "workshops", Workshop, ("upcoming", "past", "archived"))
OPPORTUNITIES = Kind("opportunity", "opportunities", Opportunity, ("open", "closed", "archived"))


def catalogue_listing(kind: Kind, show: str):
    """The entries of one kind that a filter shows, in the order the pages list them."""
    model, now = kind.model, utcnow()
    query = select(model).where(model.is_archived.is_(show == "archived"))
    if kind is WORKSHOPS:
        if show == "upcoming":
            return query.where(Workshop.ends_at >= now).order_by(Workshop.starts_at)
        if show == "past":
            return query.where(Workshop.ends_at < now).order_by(Workshop.starts_at.desc())
        return query.order_by(Workshop.starts_at.desc())
    if show == "open":
        return query.where(
            or_(Opportunity.closes_at.is_(None), Opportunity.closes_at >= now)
        ).order_by(Opportunity.closes_at.is_(None), Opportunity.closes_at)
    if show == "closed":
        return query.where(Opportunity.closes_at < now).order_by(Opportunity.closes_at.desc())
    return query.order_by(Opportunity.id.desc())


CatalogueEntry = Workshop | Opportunity

#: How a workshop is attended, as the public filter names it (value of Workshop.is_online).
FORMATS = {"online": True, "in-person": False}


@dataclass(frozen=True)
class PublicFilter:
    """What a reader narrowed the public catalogue to (the /workshops page and the feeds).

    Values are already checked: a topic slug, a region code, a key of FORMATS, keys of
    ACCESS_KEYS; empty means any."""

    topic: str = ""
    region: str = ""
    format: str = ""
    access: tuple[str, ...] = ()

    @property
    def is_workshops_only(self) -> bool:
        """Opportunities have no format or access details, so these filters leave none."""
        return bool(self.format or self.access)


def _narrow(query, model, wanted: PublicFilter):
    if wanted.topic:
        query = query.where(model.topics.any(Topic.slug == wanted.topic))
    if wanted.region:
        # An entry with no region is for all of Wales: it belongs in every region's list.
        query = query.where(
            or_(model.region == wanted.region, func.coalesce(model.region, "") == "")
        )
    return query


def public_workshops(wanted: PublicFilter):
    """Upcoming, non-archived workshops (the catalogue_listing rule) that match the filter."""
    query = _narrow(catalogue_listing(WORKSHOPS, "upcoming"), Workshop, wanted)
    if wanted.format:
        query = query.where(Workshop.is_online.is_(FORMATS[wanted.format]))
    for key in wanted.access:
        query = query.where(getattr(Workshop, ACCESS_KEYS[key]).is_(True))
    return query.order_by(Workshop.id)  # after starts_at: a stable order for paging


def public_opportunities(wanted: PublicFilter):
    """Open, non-archived opportunities (the catalogue_listing rule) that match the filter."""
    query = _narrow(catalogue_listing(OPPORTUNITIES, "open"), Opportunity, wanted)
    if wanted.is_workshops_only:
        query = query.where(false())
    return query.order_by(Opportunity.id)


def slugify(text: str, fallback: str = "item") -> str:
    """Lower-case ASCII words joined by dashes: 'Gweithdy â Phartneriaid' to 'gweithdy-a-...'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-")
    return slug or fallback


def unique_slug(model, text: str, fallback: str = "item") -> str:
    """A slug for `text` not yet used by any row of `model`."""
    base = slugify(text, fallback)
    slug = base
    while db.session.scalar(select(func.count()).select_from(model).where(model.slug == slug)):
        slug = f"{base}-{secrets.token_hex(2)}"
    return slug


class TimeProblem(StrEnum):
    """Times of a workshop that cannot both be true; each door words it in its own voice."""

    END_BEFORE_START = "end-before-start"
    DEADLINE_AFTER_START = "deadline-after-start"


def _exact(moment: datetime | None) -> datetime | None:
    # The editor form's times are naive UK wall-clock; the API's carry their offset.
    if moment is None or moment.tzinfo is not None:
        return moment
    return london_to_utc_safe(moment)


def time_problems(times: dict[str, datetime | None]) -> list[tuple[str, TimeProblem]]:
    """The one rule for a workshop's times, for every door: (field, problem) pairs.

    The end must come after the start, and booking must close no later than the start.
    """
    start = _exact(times.get("starts_at"))
    if start is None:
        return []
    problems = []
    end = _exact(times.get("ends_at"))
    if end is not None and end <= start:
        problems.append(("ends_at", TimeProblem.END_BEFORE_START))
    deadline = _exact(times.get("booking_deadline_at"))
    if deadline is not None and deadline > start:
        problems.append(("booking_deadline_at", TimeProblem.DEADLINE_AFTER_START))
    return problems


def _fields_for(entry: CatalogueEntry) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if isinstance(entry, Workshop):
        return WORKSHOP_FIELDS, WORKSHOP_TIMES
    return OPPORTUNITY_FIELDS, OPPORTUNITY_TIMES


def _clean(value):
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").strip()
        return value or None
    return value


def apply_entry(entry: CatalogueEntry, data: dict, topics: list[str]) -> None:
    """Copy form data onto a workshop or opportunity (naive local times become UTC)."""
    fields, times = _fields_for(entry)
    for name in fields:
        if name in data:
            setattr(entry, name, _clean(data[name]))
    for name in times:
        local: datetime | None = data.get(name)
        # Aware times (the API's, with an offset) are exact already: keep them.
        exact = local if local is None or local.tzinfo else london_to_utc(local)
        setattr(entry, name, exact)
    entry.topics = list(db.session.scalars(select(Topic).where(Topic.slug.in_(topics or []))))


def save_entry(entry: CatalogueEntry, data: dict, topics: list[str]) -> CatalogueEntry:
    """Create (when new) or update a catalogue entry, with an audit row."""
    is_new = entry.id is None
    apply_entry(entry, data, topics)
    if is_new:
        fallback = "workshop" if isinstance(entry, Workshop) else "opportunity"
        entry.slug = unique_slug(type(entry), entry.title_en or entry.title_cy or "", fallback)
        db.session.add(entry)
    db.session.flush()
    kind = type(entry).__name__.lower()
    record_audit(
        f"{kind}.{'create' if is_new else 'update'}",
        entry,
        detail={"title": entry.title_en or entry.title_cy},
    )
    return entry


def duplicate_entry(entry: CatalogueEntry) -> CatalogueEntry:
    """A copy of a workshop or opportunity (new slug, not archived), for the editor to adjust."""
    fields, times = _fields_for(entry)
    copy = type(entry)()
    for name in (*fields, *times):
        setattr(copy, name, getattr(entry, name))
    copy.topics = list(entry.topics)
    copy.slug = unique_slug(type(entry), entry.title_en or entry.title_cy or "", "copy")
    db.session.add(copy)
    db.session.flush()
    record_audit(f"{type(entry).__name__.lower()}.duplicate", copy, detail={"from": entry.id})
    return copy


def set_archived(entry: CatalogueEntry, archived: bool) -> None:
    """Archive (hide from lists and fills) or restore an entry."""
    entry.is_archived = archived
    kind = type(entry).__name__.lower()
    record_audit(f"{kind}.{'archive' if archived else 'restore'}", entry)


def save_topic(topic: Topic | None, data: dict) -> Topic:
    """Add a topic or rename/deactivate one (both languages)."""
    if topic is None:
        position = db.session.scalar(select(func.coalesce(func.max(Topic.position), 0))) + 1
        topic = Topic(slug=unique_slug(Topic, data["name_en"], "topic"), position=position)
        db.session.add(topic)
    before = {"name_en": topic.name_en, "name_cy": topic.name_cy, "is_active": topic.is_active}
    topic.name_en = data["name_en"].strip()
    topic.name_cy = data["name_cy"].strip()
    topic.is_active = bool(data.get("is_active"))
    db.session.flush()
    record_audit(
        "topic.save",
        topic,
        detail={
            "before": before,
            "name_en": topic.name_en,
            "name_cy": topic.name_cy,
            "is_active": topic.is_active,
        },
    )
    return topic
