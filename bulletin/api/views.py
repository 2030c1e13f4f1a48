"""The /api/v1 blueprint: how operations are declared, errors, paging, and the small resources.

Resources live in views_catalogue, views_issues and views_sends; each declares its views
with `operation(...)` and lists them in OPERATIONS. routes.py adds every listed route and
builds the OpenAPI document (openapi.py) from the same list.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from bulletin.api.auth import require_scope
from bulletin.api.openapi import Operation
from bulletin.api.schemas import ID_MAX, LANGUAGES, REGION_CODES, TOPIC_SLUG
from bulletin.api.validation import ApiError, read_body, read_query
from bulletin.core.sends import count_audience
from bulletin.extensions import csrf, db, limiter
from bulletin.i18n import READER_CHOICES
from bulletin.models import REGIONS, Subscriber, SubscriberStatus, Topic, subscriber_topic

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer tokens, never cookies, authenticate the API: there is no session to forge a request in.
csrf.exempt(bp)
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])(bp)

LIMIT = {
    "name": "limit",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
}
OFFSET = {
    "name": "offset",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 0, "maximum": ID_MAX, "default": 0},
}
PAGE = {
    "name": "page",
    "in": "query",
    "required": False,
    "description": "1-based page of `limit` rows; overrides offset.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
}
PAGING = (LIMIT, OFFSET, PAGE)


def operation(rule: str, method: str, operation_id: str, summary: str, tag: str, **details):
    """Declare a view as an API operation: its route, validation and OpenAPI entry in one.

    Nothing is registered here: routes.py lists every operation and adds their routes.
    """
    op = Operation(
        rule=rule, method=method, operation_id=operation_id, summary=summary, tag=tag, **details
    )

    def wrap(view):
        @wraps(view)
        def run(**kwargs):
            require_scope(run.operation.scope)
            if any(kwargs[name] > ID_MAX for name in op.path_params):
                raise ApiError(404, "No such resource.")
            if op.query:
                kwargs["query"] = read_query(op.query)
            if op.body:
                kwargs["body"] = read_body(op.body)
            return view(**kwargs)

        run.operation = op
        return run

    return wrap


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    db.session.rollback()
    return error.as_json(), error.status


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    db.session.rollback()
    detail = error.description or HTTP_STATUS_CODES.get(error.code or 500, "")
    return {"error": error.name, "detail": detail}, error.code, json_safe_headers(error)


def json_safe_headers(error: HTTPException) -> list[tuple[str, str]]:
    """The exception's own headers (Allow, Retry-After...) without its HTML Content-Type."""
    return [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]


@bp.after_request
def no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def get_or_404(model, row_id: int):
    """The row, or a 404 answer."""
    row = db.session.get(model, row_id)
    if row is None:
        raise ApiError(404, f"No {model.__name__.lower()} {row_id}.")
    return row


def page_window(query: dict) -> tuple[int, int]:
    """(limit, offset) from limit/offset or limit/page."""
    limit = query["limit"]
    offset = (query["page"] - 1) * limit if query.get("page") else query["offset"]
    return limit, offset


def paginate(statement, query: dict):
    """(rows, total, limit, offset) for a select statement."""
    limit, offset = page_window(query)
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = db.session.scalars(statement.limit(limit).offset(offset)).all()
    return rows, total or 0, limit, offset


@operation(
    "/topics",
    "GET",
    "listTopics",
    "Topics readers can choose (slugs for audiences).",
    "subscribers",
    returns="TopicList",
)
def list_topics():
    topics = db.session.scalars(select(Topic).order_by(Topic.position)).all()
    return {
        "items": [
            {"slug": t.slug, "name_en": t.name_en, "name_cy": t.name_cy, "is_active": t.is_active}
            for t in topics
        ]
    }


COUNT_FILTERS = (
    {
        "name": "topic",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": TOPIC_SLUG, "maxItems": 50},
    },
    {
        "name": "region",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string", "enum": REGION_CODES}},
    },
    {
        "name": "language",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string", "enum": LANGUAGES}},
    },
)


@operation(
    "/subscribers/counts",
    "GET",
    "countSubscribers",
    "Confirmed subscribers, counted by topic, region and language (never addresses); "
    "`matching` counts those the topic/region/language filters reach, as a send would.",
    "subscribers",
    returns="SubscriberCounts",
    query=COUNT_FILTERS,
)
def subscriber_counts(query: dict):
    confirmed = Subscriber.status == SubscriberStatus.CONFIRMED
    per_topic = dict(
        db.session.execute(
            select(subscriber_topic.c.topic_id, func.count())
            .select_from(subscriber_topic)
            .join(Subscriber, Subscriber.id == subscriber_topic.c.subscriber_id)
            .where(confirmed)
            .group_by(subscriber_topic.c.topic_id)
        ).all()
    )
    topics = db.session.scalars(select(Topic).order_by(Topic.position)).all()
    by_topic = {t.slug: per_topic.get(t.id, 0) for t in topics}
    grouped = {
        column.key: dict(
            db.session.execute(select(column, func.count()).where(confirmed).group_by(column)).all()
        )
        for column in (Subscriber.region, Subscriber.language)
    }
    by_region = {code: grouped["region"].get(code, 0) for code in REGIONS}
    by_region["none"] = sum(n for code, n in grouped["region"].items() if code not in REGIONS)
    audience = {
        "topics": query["topic"],
        "regions": query["region"],
        "languages": query["language"],
    }
    return {
        "total": db.session.scalar(select(func.count(Subscriber.id)).where(confirmed)) or 0,
        "matching": count_audience(audience),
        "by_topic": by_topic,
        "by_region": by_region,
        # Readers of both languages ("cy+en") are counted under their choice, and a
        # `language` filter of either language reaches them (core.sends.audience_languages).
        "by_language": {code: grouped["language"].get(code, 0) for code in READER_CHOICES},
    }


#: This module's operations, in the order of the OpenAPI document.
OPERATIONS = (list_topics, subscriber_counts)
