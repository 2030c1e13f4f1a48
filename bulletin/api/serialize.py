"""Rows as the API returns them (the shapes are schemas.RESPONSES; the tests hold them to it)."""

from __future__ import annotations

from datetime import datetime

from bulletin.core.fields import (
    ISSUE_FIELDS,
    NEWS_FIELDS,
    OPPORTUNITY_FIELDS,
    OPPORTUNITY_TIMES,
    WORKSHOP_FIELDS,
    WORKSHOP_TIMES,
)
from bulletin.core.sends import count_audience, send_progress
from bulletin.models import Issue, IssueItem, Opportunity, Send, Workshop


def timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with its offset, or None."""
    return moment.isoformat() if moment is not None else None


def _entry(entry: Workshop | Opportunity, fields, times) -> dict:
    data = {
        "id": entry.id,
        "slug": entry.slug,
        "is_archived": entry.is_archived,
        "created_at": timestamp(entry.created_at),
        "updated_at": timestamp(entry.updated_at),
        "topics": [t.slug for t in entry.topics],
    }
    data.update({name: getattr(entry, name) for name in fields})
    data.update({name: timestamp(getattr(entry, name)) for name in times})
    return data


def workshop_json(workshop: Workshop) -> dict:
    """A workshop."""
    return _entry(workshop, WORKSHOP_FIELDS, WORKSHOP_TIMES)


def opportunity_json(opportunity: Opportunity) -> dict:
    """An opportunity."""
    return _entry(opportunity, OPPORTUNITY_FIELDS, OPPORTUNITY_TIMES)


def item_json(item: IssueItem) -> dict:
    """One item of an issue."""
    data = {
        "id": item.id,
        "position": item.position,
        "section": item.section,
        "kind": item.kind,
        "workshop_id": item.workshop_id,
        "opportunity_id": item.opportunity_id,
    }
    data.update({name: getattr(item, name) for name in NEWS_FIELDS})
    return data


def issue_json(issue: Issue) -> dict:
    """An issue with its items in reading order (the issue's sections, then position)."""
    items = issue.reading_order()
    data = {
        "id": issue.id,
        "slug": issue.slug,
        "version": issue.version,
        "published_at": timestamp(issue.published_at),
        "unpublished_at": timestamp(issue.unpublished_at),
        "in_archive": issue.is_in_archive,
        "sections": list(issue.sections),
        "created_at": timestamp(issue.created_at),
        "updated_at": timestamp(issue.updated_at),
        "items": [item_json(i) for i in items],
    }
    data.update({name: getattr(issue, name) for name in ISSUE_FIELDS})
    return data


def send_json(send: Send) -> dict:
    """A send, its audience and reach, and its progress."""
    audience = send.audience_filter
    # Once started, the recipients are fixed: no need to count the audience again.
    reach = (
        send.recipient_count
        if send.started_at
        else count_audience(
            audience, less_issue_id=send.issue_id if send.exclude_already_sent else None
        )
    )
    return {
        "id": send.id,
        "issue_id": send.issue_id,
        "status": send.status,
        "audience": audience,
        "audience_count": reach,
        "publish": send.publish,
        "scheduled_at": timestamp(send.scheduled_at),
        "created_at": timestamp(send.created_at),
        "started_at": timestamp(send.started_at),
        "finished_at": timestamp(send.finished_at),
        "created_by_id": send.created_by_id,
        "approved_by_id": send.approved_by_id,
        "approved_at": timestamp(send.approved_at),
        "exclude_already_sent": send.exclude_already_sent,
        "progress": send_progress(send).as_dict(),
    }


def page_json(rows, total: int, limit: int, offset: int, dump) -> dict:
    """One page of a list."""
    return {"items": [dump(row) for row in rows], "total": total, "limit": limit, "offset": offset}
