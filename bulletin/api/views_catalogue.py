"""Workshops and opportunities: list (with the web's filters), create, read, change, delete.

Archiving (the web's Archive button) is PATCH is_archived. DELETE removes only an entry that
no issue uses: deleting one in a sent issue would change what readers were sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import func, select

from bulletin.api.serialize import opportunity_json, page_json, timestamp, workshop_json
from bulletin.api.validation import ApiError, check_rules, invalid, parse_timestamp
from bulletin.api.views import PAGING, get_or_404, operation, paginate
from bulletin.core import catalogue as ops
from bulletin.core import fields
from bulletin.core.audit import record_audit
from bulletin.core.catalogue import (
    OPPORTUNITIES,
    WORKSHOPS,
    Kind,
    TimeProblem,
    catalogue_listing,
)
from bulletin.extensions import db
from bulletin.i18n import LANGUAGES
from bulletin.models import IssueItem, Topic, Workshop


@dataclass(frozen=True)
class Resource:
    kind: Kind  #: the web's listing filters for this kind
    table: dict  #: its fields' rules (core/fields.py), which the web form applies too
    dump: object
    title: str  #: "Workshop" / "Opportunity"

    @property
    def model(self):
        return self.kind.model

    @property
    def show(self) -> dict:
        filters = list(self.kind.filters)
        return {
            "name": "show",
            "in": "query",
            "required": False,
            "description": "Which entries, as on the web: " + ", ".join(filters) + ".",
            "schema": {"type": "string", "enum": filters, "default": filters[0]},
        }


WORKSHOP = Resource(WORKSHOPS, fields.WORKSHOP, workshop_json, "Workshop")
OPPORTUNITY = Resource(OPPORTUNITIES, fields.OPPORTUNITY, opportunity_json, "Opportunity")


def _current(entry, body: dict, name: str):
    return body[name] if name in body else getattr(entry, name, None)


def _check_title(entry, body: dict) -> None:
    if not any((_current(entry, body, f"title_{lang}") or "").strip() for lang in LANGUAGES):
        raise invalid("title_en", "Enter a title in Welsh or English (or both).")


def _times(entry, body: dict, names) -> dict:
    times = {}
    for name in names:
        if name not in body:
            times[name] = getattr(entry, name)
        elif body[name] is not None:
            times[name] = parse_timestamp(name, body[name])
        else:
            times[name] = None
    return times


def _topics(entry, body: dict) -> list[str]:
    if "topics" not in body:
        return [t.slug for t in entry.topics]
    known = set(db.session.scalars(select(Topic.slug).where(Topic.slug.in_(body["topics"]))))
    unknown = [slug for slug in body["topics"] if slug not in known]
    if unknown:
        raise invalid("topics", f"Unknown topic: {unknown[0]}.")
    return body["topics"]


def entry_data(resource: Resource, entry, body: dict) -> tuple[dict, list[str]]:
    """Form-style data for save_entry: the body over the entry's current values, checked."""
    check_rules(resource.table, body)
    _check_title(entry, body)
    is_workshop = isinstance(entry, Workshop)
    names = fields.WORKSHOP_FIELDS if is_workshop else fields.OPPORTUNITY_FIELDS
    time_names = fields.WORKSHOP_TIMES if is_workshop else fields.OPPORTUNITY_TIMES
    data = {name: body[name] for name in names if name in body}
    data.update(_times(entry, body, time_names))
    if is_workshop:
        _check_times(data)
    return data, _topics(entry, body)


#: What to do about each problem with a workshop's times (core/catalogue.py's rule).
TIME_MESSAGES = {
    TimeProblem.END_BEFORE_START: "Choose an end after the start ({start}).",
    TimeProblem.DEADLINE_AFTER_START: (
        "Choose a booking deadline before the workshop starts ({start})."
    ),
}


def _check_times(times: dict) -> None:
    problems = ops.time_problems(times)
    if problems:
        start = timestamp(times["starts_at"])
        raise ApiError(
            422,
            "The request has invalid values.",
            [{"field": f, "message": TIME_MESSAGES[p].format(start=start)} for f, p in problems],
        )


def delete_catalogue_entry(entry) -> None:
    """Delete an entry no issue uses (ApiError 409 otherwise), with an audit row."""
    column = IssueItem.workshop_id if isinstance(entry, Workshop) else IssueItem.opportunity_id
    if db.session.scalar(select(func.count(IssueItem.id)).where(column == entry.id)):
        raise ApiError(409, "It is in an issue: archive it instead (PATCH is_archived true).")
    kind = type(entry).__name__.lower()
    record_audit(f"{kind}.delete", entry, detail={"title": entry.title_en or entry.title_cy})
    db.session.delete(entry)


def _save(resource: Resource, entry, body: dict):
    data, topics = entry_data(resource, entry, body)
    saved = ops.save_entry(entry, data, topics)
    if "is_archived" in body and body["is_archived"] != saved.is_archived:
        ops.set_archived(saved, body["is_archived"])
    db.session.commit()
    return saved


def operations_of(res: Resource) -> tuple:
    """The six operations of one catalogue kind."""
    plural, name, tag = res.kind.plural, res.kind.name, res.kind.plural
    one = f"/{plural}/<int:entry_id>"

    @operation(
        f"/{plural}",
        "GET",
        "list" + plural.capitalize(),
        f"{res.title} list, filtered as on the web.",
        tag,
        returns=f"{res.title}Page",
        query=(res.show, *PAGING),
    )
    def list_entries(query: dict):
        rows, total, limit, offset = paginate(catalogue_listing(res.kind, query["show"]), query)
        return page_json(rows, total, limit, offset, res.dump)

    @operation(
        f"/{plural}",
        "POST",
        f"create{res.title}",
        f"Add a {name}.",
        tag,
        body=f"{res.title}Create",
        status=201,
        returns=res.title,
    )
    def create_entry(body: dict):
        saved = _save(res, res.model(), body)
        location = url_for(f"api.get{res.title}", entry_id=saved.id)
        return res.dump(saved), 201, {"Location": location}

    @operation(one, "GET", f"get{res.title}", f"One {name}.", tag, returns=res.title)
    def get_entry(entry_id: int):
        return res.dump(get_or_404(res.model, entry_id))

    @operation(
        one,
        "PATCH",
        f"update{res.title}",
        f"Change a {name}: only the fields sent change.",
        tag,
        body=f"{res.title}Update",
        returns=res.title,
    )
    def update_entry(entry_id: int, body: dict):
        entry = get_or_404(res.model, entry_id)
        if set(body) == {"is_archived"}:
            if body["is_archived"] != entry.is_archived:
                ops.set_archived(entry, body["is_archived"])
                db.session.commit()
            return res.dump(entry)
        return res.dump(_save(res, entry, body))

    @operation(
        one,
        "DELETE",
        f"delete{res.title}",
        f"Delete a {name} that is in no issue; one in an issue gets 409: archive it "
        "instead (PATCH is_archived), so sent issues stay as they were.",
        tag,
        status=204,
        errors=(409,),
    )
    def delete_entry(entry_id: int):
        delete_catalogue_entry(get_or_404(res.model, entry_id))
        db.session.commit()
        return "", 204

    @operation(
        f"{one}/duplicate",
        "POST",
        f"duplicate{res.title}",
        f"Copy a {name} (new slug, not archived).",
        tag,
        status=201,
        returns=res.title,
    )
    def duplicate_entry(entry_id: int):
        copy = ops.duplicate_entry(get_or_404(res.model, entry_id))
        db.session.commit()
        return res.dump(copy), 201, {"Location": url_for(f"api.get{res.title}", entry_id=copy.id)}

    return (list_entries, create_entry, get_entry, update_entry, delete_entry, duplicate_entry)


#: This module's operations, in the order of the OpenAPI document.
OPERATIONS = (*operations_of(WORKSHOP), *operations_of(OPPORTUNITY))
