"""Issues and their items: compose, edit with optimistic locking, order, fill, delete drafts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from bulletin.api.serialize import issue_json, page_json, timestamp
from bulletin.api.validation import ApiError, check_rules, invalid, parse_timestamp
from bulletin.api.views import PAGING, get_or_404, operation, paginate
from bulletin.core import fields
from bulletin.core import fill as fill_ops
from bulletin.core import issues as ops
from bulletin.core.audit import record_audit
from bulletin.extensions import db
from bulletin.i18n import LANGUAGES
from bulletin.models import Issue, IssueItem, Opportunity, Send, Workshop, utcnow

ONE = "/issues/<int:issue_id>"
ITEM = ONE + "/items/<int:item_id>"
STATUS = {
    "name": "status",
    "in": "query",
    "required": False,
    "description": "draft: not yet sent; published: sent "
    "(in_archive says whether the public archive shows it).",
    "schema": {"type": "string", "enum": ["all", "draft", "published"], "default": "all"},
}


def _require_one(data: dict, field: str) -> None:
    if not any((data.get(f"{field}_{lang}") or "").strip() for lang in LANGUAGES):
        raise invalid(f"{field}_en", f"Enter a {field} in Welsh or English (or both).")


def _item(issue: Issue, item_id: int) -> IssueItem:
    item = db.session.get(IssueItem, item_id)
    if item is None or item.issue_id != issue.id:
        raise ApiError(404, f"Issue {issue.id} has no item {item_id}.")
    return item


@operation(
    "/issues",
    "GET",
    "listIssues",
    "Issues, drafts first, newest first.",
    "issues",
    returns="IssuePage",
    query=(STATUS, *PAGING),
)
def list_issues(query: dict):
    statement = select(Issue).order_by(
        Issue.published_at.is_not(None), Issue.created_at.desc(), Issue.id.desc()
    )
    if query["status"] == "draft":
        statement = statement.where(Issue.published_at.is_(None))
    elif query["status"] == "published":
        statement = statement.where(Issue.published_at.is_not(None))
    rows, total, limit, offset = paginate(statement, query)
    return page_json(rows, total, limit, offset, issue_json)


@operation(
    "/issues",
    "POST",
    "createIssue",
    "Start a draft issue.",
    "issues",
    body="IssueCreate",
    status=201,
    returns="Issue",
)
def create_issue(body: dict):
    check_rules(fields.ISSUE, body)
    _require_one(body, "subject")
    issue = ops.create_issue(body)
    db.session.commit()
    return issue_json(issue), 201, {"Location": f"/api/v1/issues/{issue.id}"}


@operation(ONE, "GET", "getIssue", "One issue with its items.", "issues", returns="Issue")
def get_issue(issue_id: int):
    return issue_json(get_or_404(Issue, issue_id))


@operation(
    ONE,
    "PATCH",
    "updateIssue",
    "Change an issue's text. Send the `version` you read: if someone saved since, "
    "the answer is 409 with current_version, and nothing changes.",
    "issues",
    body="IssueUpdate",
    returns="Issue",
    errors=(409,),
)
def update_issue(issue_id: int, body: dict):
    issue = get_or_404(Issue, issue_id)
    check_rules(fields.ISSUE, body)
    data = {name: body.get(name, getattr(issue, name)) for name in fields.ISSUE_FIELDS}
    _require_one(data, "subject")
    try:
        ops.update_issue(issue, data, version=body["version"])
        db.session.commit()
    except (ops.StaleIssue, StaleDataError):
        db.session.rollback()
        current = db.session.get(Issue, issue_id)
        raise ApiError(
            409,
            "Someone else saved this issue since you read it: read it again.",
            current_version=current.version if current else 0,
        ) from None
    return issue_json(issue)


@operation(
    ONE,
    "DELETE",
    "deleteIssue",
    "Delete an issue that has never had a send.",
    "issues",
    status=204,
    errors=(409,),
)
def delete_issue(issue_id: int):
    issue = get_or_404(Issue, issue_id)
    if db.session.scalar(select(func.count(Send.id)).where(Send.issue_id == issue.id)):
        raise ApiError(409, "This issue has sends; it cannot be deleted.")
    record_audit("issue.delete", issue, detail={"slug": issue.slug})
    db.session.delete(issue)
    db.session.commit()
    return "", 204


@operation(
    ONE + "/unpublish",
    "POST",
    "unpublishIssue",
    "Take a sent issue out of the public archive and Atom feed; its archive page then "
    "answers 410. Unpublishing an issue already out changes nothing; 409 for a draft.",
    "issues",
    returns="Issue",
    errors=(409,),
)
def unpublish_issue(issue_id: int):
    issue = get_or_404(Issue, issue_id)
    try:
        ops.unpublish_issue(issue)
    except ops.ArchiveStateError as exc:
        raise ApiError(409, f"This issue cannot be unpublished: {exc}.") from None
    db.session.commit()
    return issue_json(issue)


@operation(
    ONE + "/republish",
    "POST",
    "republishIssue",
    "Put a sent issue that is kept out of the archive (back) in the public archive and "
    "Atom feed. Republishing an issue already there changes nothing; 409 for a draft.",
    "issues",
    returns="Issue",
    errors=(409,),
)
def republish_issue(issue_id: int):
    issue = get_or_404(Issue, issue_id)
    try:
        ops.republish_issue(issue)
    except ops.ArchiveStateError as exc:
        raise ApiError(409, f"This issue cannot be published: {exc}.") from None
    db.session.commit()
    return issue_json(issue)


def _catalogue_entry(issue: Issue, body: dict):
    model = Workshop if body["kind"] == "workshop" else Opportunity
    entry = db.session.get(model, int(body["entry_id"]))  # JSON allows 3.0 for 3
    if entry is None or entry.is_archived:
        raise invalid("entry_id", f"No {body['kind']} {body['entry_id']} to add.")
    if any(getattr(i, f"{body['kind']}_id") == entry.id for i in issue.items):
        raise invalid("entry_id", f"That {body['kind']} is in the issue already.")
    return entry


@operation(
    ONE + "/items",
    "POST",
    "addIssueItem",
    "Add a workshop or opportunity (at the end of its section) or a news item.",
    "issues",
    body="ItemCreate",
    status=201,
    returns="Issue",
)
def add_item(issue_id: int, body: dict):
    issue = get_or_404(Issue, issue_id)
    if body["kind"] == "news":
        news = {k: v for k, v in body.items() if k != "kind"}
        check_rules(fields.NEWS, news)
        _require_one(news, "title")
        ops.save_news_item(issue, None, news)
    else:
        ops.add_entry(issue, _catalogue_entry(issue, body))
    db.session.commit()
    return issue_json(issue), 201


@operation(
    ITEM,
    "PATCH",
    "updateNewsItem",
    "Change a news item's text (fields not sent stay).",
    "issues",
    body="NewsUpdate",
    returns="Issue",
)
def update_news(issue_id: int, item_id: int, body: dict):
    issue = get_or_404(Issue, issue_id)
    item = _item(issue, item_id)
    if item.kind != "news":
        raise invalid("(body)", "Only news items have their own text.")
    check_rules(fields.NEWS, body)
    data = {name: body.get(name, getattr(item, name)) for name in fields.NEWS_FIELDS}
    _require_one(data, "title")
    ops.save_news_item(issue, item, data)
    db.session.commit()
    return issue_json(issue)


@operation(
    ITEM + "/move",
    "POST",
    "moveIssueItem",
    "Move an item in its section: one place up or down, to the top or bottom, or to a "
    "position (1 = first); moved is false when it was already there.",
    "issues",
    body="ItemMove",
    returns="ItemMoved",
)
def move_item(issue_id: int, item_id: int, body: dict):
    issue = get_or_404(Issue, issue_id)
    item = _item(issue, item_id)
    if "position" in body:
        moved = ops.move_item_to(item, body["position"])
    else:
        moved = ops.move_item(item, body["direction"])
    db.session.commit()
    return {"moved": moved, "issue": issue_json(issue)}


@operation(
    ONE + "/sections/move",
    "POST",
    "moveIssueSection",
    "Move a section (workshops, opportunities, news) one place up or down in the issue: "
    "the email and the archive follow; moved is false at either end.",
    "issues",
    body="SectionMove",
    returns="ItemMoved",
)
def move_section(issue_id: int, body: dict):
    issue = get_or_404(Issue, issue_id)
    moved = ops.move_section(issue, body["section"], body["direction"])
    db.session.commit()
    return {"moved": moved, "issue": issue_json(issue)}


@operation(
    ITEM, "DELETE", "removeIssueItem", "Take an item out of the issue.", "issues", returns="Issue"
)
def remove_item(issue_id: int, item_id: int):
    issue = get_or_404(Issue, issue_id)
    ops.remove_item(_item(issue, item_id))
    db.session.commit()
    return issue_json(issue)


@operation(
    ONE + "/fill",
    "POST",
    "fillIssue",
    "Add every workshop starting from send_at (default now) until `until` (default `weeks` "
    "after send_at, 6 weeks when neither is given), and every opportunity open at send_at; "
    "the answer lists what was added and what was left out and why.",
    "issues",
    body="IssueFill",
    returns="IssueFilled",
)
def fill_issue(issue_id: int, body: dict):
    issue = get_or_404(Issue, issue_id)
    send_at = parse_timestamp("send_at", body["send_at"]) if body.get("send_at") else utcnow()
    if body.get("until"):
        until = parse_timestamp("until", body["until"])
        if until <= send_at:
            raise invalid("until", "Choose an end of the window after send_at.")
    else:
        until = fill_ops.fill_window_end(send_at, body.get("weeks") or fill_ops.FILL_DEFAULT_WEEKS)
    report = fill_ops.fill_issue(issue, until=until, send_at=send_at)
    db.session.commit()
    return {
        "added": len(report.added),
        "until": timestamp(report.until),
        "added_entries": [_entry_ref(e) for e in report.added],
        "left_out": [{**_entry_ref(e), "reason": reason} for e, reason in report.left_out],
        "issue": issue_json(issue),
    }


def _entry_ref(entry: Workshop | Opportunity) -> dict:
    kind = "workshop" if isinstance(entry, Workshop) else "opportunity"
    return {"kind": kind, "id": entry.id, "title": entry.title_en or entry.title_cy}


#: This module's operations, in the order of the OpenAPI document.
OPERATIONS = (
    list_issues,
    create_issue,
    get_issue,
    update_issue,
    delete_issue,
    unpublish_issue,
    republish_issue,
    add_item,
    update_news,
    move_item,
    move_section,
    remove_item,
    fill_issue,
)
