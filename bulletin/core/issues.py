"""Editorial verbs for issues: text, items and their order, flags. The caller commits
(filling from the catalogue is core/fill.py)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectChoice

from bulletin.core.audit import record_audit
from bulletin.core.catalogue import unique_slug
from bulletin.core.fields import ISSUE_FIELDS, NEWS_FIELDS
from bulletin.core.topics import active_topics
from bulletin.extensions import db
from bulletin.i18n import LANGUAGES
from bulletin.mail.issue_view import SECTION_OF_KIND, public_text
from bulletin.mail.merge import Reader
from bulletin.models import REGIONS, Issue, IssueItem, Media, Opportunity, Workshop, utcnow

#: The preview's reader when the editor has no name: clearly a sample.
SAMPLE_NAME = "Alex Sample"


class StaleIssue(Exception):
    """Someone else saved the issue since this editor opened it."""


def _clean(value: str | None) -> str | None:
    value = (value or "").replace("\r\n", "\n").strip()
    return value or None


def create_issue(data: dict) -> Issue:
    """A new draft issue from the issue form's data."""
    issue = Issue(slug="")
    for name in ISSUE_FIELDS:
        setattr(issue, name, _clean(data.get(name)))
    stamp = utcnow().strftime("%Y-%m")
    subject = public_text(issue, "subject", "en")[0]  # merge fields as the archive words them
    issue.slug = unique_slug(Issue, f"{stamp} {subject}", "issue")
    db.session.add(issue)
    db.session.flush()
    record_audit("issue.create", issue, detail={"subject": issue.subject_en or issue.subject_cy})
    return issue


def sample_reader(editor_name: str | None, lang: str) -> Reader:
    """Who the preview and test sends fill the merge fields for: the editor's own name (else
    a sample name), the first region and the first two active topics."""
    topics = tuple((topic.name_en, topic.name_cy) for topic in active_topics()[:2])
    return Reader(name=editor_name or SAMPLE_NAME, region=next(iter(REGIONS)), topics=topics)


def update_issue(issue: Issue, data: dict, *, version: int) -> None:
    """Save the issue's text; refuse when `version` is not the one in the database."""
    if issue.version != version:
        raise StaleIssue(issue.id)
    changed = [n for n in ISSUE_FIELDS if getattr(issue, n) != _clean(data.get(n))]
    for name in changed:
        setattr(issue, name, _clean(data.get(name)))
    db.session.flush()  # version_id_col: a concurrent save makes this raise StaleDataError
    record_audit("issue.update", issue, detail={"fields": changed})


def _next_position(issue: Issue) -> int:
    return (max((i.position for i in issue.items), default=-1)) + 1


def add_entry(issue: Issue, entry: Workshop | Opportunity, *, audit: bool = True) -> IssueItem:
    """Put a workshop or opportunity at the end of its section."""
    kind = "workshop" if isinstance(entry, Workshop) else "opportunity"
    item = IssueItem(kind=kind, section=SECTION_OF_KIND[kind], position=_next_position(issue))
    setattr(item, kind, entry)
    issue.items.append(item)
    db.session.flush()
    if audit:
        record_audit("issue.add_item", issue, detail={"kind": kind, "id": entry.id})
    return item


#: save_news_item's `image` when the caller says nothing about it (the API): keep the image.
KEEP_IMAGE = object()


def save_news_item(
    issue: Issue, item: IssueItem | None, data: dict, *, image: Media | None | object = KEEP_IMAGE
) -> IssueItem:
    """Add a free-text news item, or change one (and its library image, when given)."""
    if item is None:
        item = IssueItem(kind="news", section="news", position=_next_position(issue))
        issue.items.append(item)
    for name in NEWS_FIELDS:
        setattr(item, name, _clean(data.get(name)))
    if image is not KEEP_IMAGE:
        item.image = image
    db.session.flush()
    record_audit("issue.save_news", issue, detail={"item": item.id})
    return item


def set_item_image(item: IssueItem, image: Media | None) -> None:
    """Show a library image with an issue item (None: no image)."""
    item.image = image
    db.session.flush()
    record_audit(
        "issue.item_image",
        item.issue,
        detail={"item": item.id, "image": getattr(image, "name", None)},
    )


def section_items(item: IssueItem) -> list[IssueItem]:
    """The items of `item`'s section in its issue, in order."""
    return sorted(
        (i for i in item.issue.items if i.section == item.section),
        key=lambda i: (i.position, i.id or 0),
    )


def move_item_to(item: IssueItem, position: int) -> bool:
    """Put an item at `position` (1 = first) of its section, clamped to the section's ends.

    The one rule for positions: the section's items are renumbered 0, 1, 2... in their new
    order. False when the item was already there (nothing changes).
    """
    siblings = section_items(item)
    target = min(max(position, 1), len(siblings)) - 1
    if siblings.index(item) == target:
        return False
    siblings.remove(item)
    siblings.insert(target, item)
    for index, sibling in enumerate(siblings):
        sibling.position = index
    db.session.flush()
    record_audit("issue.move_item", item.issue, detail={"item": item.id, "position": target + 1})
    return True


def move_item(item: IssueItem, direction: str) -> bool:
    """Move an item one place up or down, or to the top or bottom, of its section.

    False when it is already at that end.
    """
    siblings = section_items(item)
    here = siblings.index(item) + 1
    targets = {"up": here - 1, "down": here + 1, "top": 1, "bottom": len(siblings)}
    target = targets[direction]
    if target < 1 or target > len(siblings):
        return False
    return move_item_to(item, target)


def move_section(issue: Issue, section: str, direction: str) -> bool:
    """Move a section one place up or down in the issue; False at either end."""
    order = list(issue.sections)
    here = order.index(section)
    there = here - 1 if direction == "up" else here + 1
    if there < 0 or there >= len(order):
        return False
    order[here], order[there] = order[there], order[here]
    issue.section_order = ",".join(order)
    db.session.flush()
    record_audit("issue.move_section", issue, detail={"section": section, "direction": direction})
    return True


def remove_item(item: IssueItem) -> None:
    """Take an item out of its issue."""
    issue = item.issue
    issue.items.remove(item)
    db.session.flush()
    record_audit("issue.remove_item", issue, detail={"item": item.id, "kind": item.kind})


def flag_items(issue: Issue, at: datetime) -> dict[int, str]:
    """Items that will have passed or closed by `at` (the send date): item id -> reason."""
    flags: dict[int, str] = {}
    for item in issue.items:
        if item.workshop is not None:
            if item.workshop.starts_at <= at:
                flags[item.id] = "passed"
            elif item.workshop.booking_deadline_at and item.workshop.booking_deadline_at <= at:
                flags[item.id] = "booking-closed"
        elif item.opportunity is not None and item.opportunity.closes_at is not None:
            if item.opportunity.closes_at <= at:
                flags[item.id] = "closed"
    return flags


def missing_languages(issue: Issue) -> list[tuple[str, str]]:
    """(what, language) pairs lacking text: the issue subject and each item's title."""
    missing = [
        (_l("The issue's subject"), lang) for lang in LANGUAGES if not issue.has_language(lang)
    ]
    for item in issue.reading_order():
        source = item.workshop or item.opportunity or item
        label = source.title_en or source.title_cy or ""
        missing += [(label, lang) for lang in LANGUAGES if not source.has_language(lang)]
    return missing


def catalogue_choices(issue: Issue) -> list[SelectChoice]:
    """Workshops and opportunities not yet in the issue, as select options."""
    have = {(i.kind, i.workshop_id or i.opportunity_id) for i in issue.items}
    choices = []
    for model, kind, order in (
        (Workshop, "workshop", Workshop.starts_at),
        (Opportunity, "opportunity", Opportunity.closes_at),
    ):
        rows = db.session.scalars(select(model).where(model.is_archived.is_(False)).order_by(order))
        choices += [
            SelectChoice(f"{kind}:{row.id}", row.title_en or row.title_cy or "")
            for row in rows
            if (kind, row.id) not in have
        ]
    return choices


class ArchiveStateError(ValueError):
    """The issue is not in a state that allows this archive change."""


def close_send_archive(issue: Issue, *, publish: bool, finished_at: datetime) -> None:
    """A send of the issue finished: mark it sent, and publish it if the send said so.

    A send that publishes puts the issue (back) in the archive; one that does not leaves an
    issue already public where it is, and keeps a first-time issue out of the archive.
    """
    if issue.published_at is None:
        issue.published_at = finished_at
        issue.unpublished_at = None if publish else finished_at
    elif publish:
        issue.unpublished_at = None


def unpublish_issue(issue: Issue) -> bool:
    """Take a sent issue out of the public archive and feed (its page then answers 410).

    False when it was already out (nothing changes); a draft raises ArchiveStateError.
    """
    if issue.published_at is None:
        raise ArchiveStateError("the issue has not been sent")
    if issue.unpublished_at is not None:
        return False
    issue.unpublished_at = utcnow()
    record_audit("issue.unpublish", issue)
    return True


def republish_issue(issue: Issue) -> bool:
    """Put a sent issue (back) in the public archive and feed.

    False when it was already there (nothing changes); a draft raises ArchiveStateError.
    """
    if issue.published_at is None:
        raise ArchiveStateError("the issue has not been sent")
    if issue.unpublished_at is None:
        return False
    issue.unpublished_at = None
    record_audit("issue.republish", issue)
    return True
