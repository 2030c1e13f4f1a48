"""The API's route table: every operation, listed once, in the order of the OpenAPI document.

The same list adds the routes and builds the document, so the document describes exactly
the routes that exist, whatever was imported before.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Flask, current_app

from bulletin.api import (
    auth,
    views,
    views_catalogue,
    views_issues,
    views_sends,
    views_subscribers,
)
from bulletin.api.openapi import build_document
from bulletin.api.views import bp, http_error, operation

__all__ = ["OPERATIONS", "REQUIRED_SCOPE", "http_error", "register"]


@operation(
    "/openapi.json",
    "GET",
    "getOpenApi",
    "This document (no token needed).",
    "meta",
    returns="OpenApiDocument",
    public=True,
)
def openapi_document():
    return build_document(current_app.config["ORG_NAME"], (view.operation for view in OPERATIONS))


OPERATIONS = (
    openapi_document,
    *views.OPERATIONS,
    *views_catalogue.OPERATIONS,
    *views_issues.OPERATIONS,
    *views_sends.OPERATIONS,
    *views_subscribers.OPERATIONS,
)

#: The token scope each operation needs (core/api_tokens.py SCOPES): every operation but the
#: public document is here, and nowhere else says it. views.operation checks it first.
REQUIRED_SCOPE = {
    views.list_topics: "catalogue",
    views.subscriber_counts: "sends",  # audience sizes, for planning a send
    **dict.fromkeys(views_catalogue.OPERATIONS, "catalogue"),
    **dict.fromkeys(views_issues.OPERATIONS, "issues"),
    **dict.fromkeys(views_sends.OPERATIONS, "sends"),
    views_subscribers.start_subscription: "subscribers:write",
    views_subscribers.find_subscriber: "subscribers:read",
    views_subscribers.update_subscriber: "subscribers:write",
    views_subscribers.erase_subscriber: "subscribers:write",
}

for _view in OPERATIONS:
    if _view.operation.public == (_view in REQUIRED_SCOPE):
        raise RuntimeError(f"{_view.operation.operation_id}: list its scope in REQUIRED_SCOPE")
    _view.operation = replace(_view.operation, scope=REQUIRED_SCOPE.get(_view))
    bp.add_url_rule(
        _view.operation.rule,
        endpoint=_view.operation.operation_id,
        view_func=_view,
        methods=[_view.operation.method],
    )


def register(app: Flask) -> None:
    """Add the API and the token guard for every /api/ path."""
    app.register_blueprint(bp)
    app.before_request(auth.require_token)
    app.teardown_request(auth.forget_token)
