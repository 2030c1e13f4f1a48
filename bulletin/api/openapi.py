"""The OpenAPI 3.1 document, built from the declared operations and schemas.SCHEMAS.

Each view declares itself with views.operation(...): its path, body schema, success schema
and the errors it can answer. The same declaration drives request validation, so the
document describes what the code enforces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bulletin.api.schemas import ID_MAX, SCHEMAS
from bulletin.core.api_tokens import ADMIN_SCOPES, SCOPES

API_PREFIX = "/api/v1"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_TEXT = {
    400: "The body is not valid JSON.",
    401: "No valid API token was sent.",
    403: "The token lacks the scope this operation needs, or its editor may not do this"
    " (admins only).",
    404: "No such resource.",
    409: "The resource changed, or is in a state that does not allow this.",
    413: "The body is too large.",
    415: "The body is not JSON.",
    422: "The request has invalid values.",
    429: "Too many requests: slow down.",
}


@dataclass(frozen=True)
class Operation:
    """One API operation, as declared beside its view."""

    rule: str  #: Flask rule under /api/v1, e.g. "/workshops/<int:workshop_id>"
    method: str
    operation_id: str
    summary: str
    tag: str
    body: str | None = None  #: request schema name
    status: int = 200
    returns: str | None = None  #: response schema name
    errors: tuple[int, ...] = ()
    query: tuple[dict, ...] = field(default_factory=tuple)
    public: bool = False
    scope: str | None = None  #: the token scope it needs (set by routes.py's table)
    #: Other success answers: (status, description, response schema name or None).
    also: tuple[tuple[int, str, str | None], ...] = ()

    @property
    def path(self) -> str:
        """The OpenAPI path template: <int:x> becomes {x}."""
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.rule)

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.rule)

    @property
    def error_codes(self) -> list[int]:
        codes = set(self.errors) | ({429} if self.public else {401, 403, 429})
        if self.body:
            codes |= {400, 413, 415, 422}
        if self.query:
            codes.add(422)
        if self.path_params:
            codes.add(404)
        return sorted(codes)


def _parameters(op: Operation) -> list[dict]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
        }
        for name in op.path_params
    ]
    return params + [dict(p) for p in op.query]


def _success(description: str, returns: str | None) -> dict:
    success = {"description": description}
    if returns:
        success["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{returns}"}}
        }
    return success


def _operation_object(op: Operation) -> dict:
    responses = {str(op.status): _success(op.summary, op.returns)}
    for status, description, returns in op.also:
        responses[str(status)] = _success(description, returns)
    for code in op.error_codes:
        responses[str(code)] = {
            "description": ERROR_TEXT[code],
            "content": {"application/json": {"schema": ERROR_REF}},
        }
    item = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": responses,
    }
    if op.path_params or op.query:
        item["parameters"] = _parameters(op)
    if op.body:
        item["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{op.body}"}}
            },
        }
    if op.public:
        item["security"] = []
    else:
        item["security"] = [{"bearerAuth": [op.scope]}]
        item["x-required-scope"] = op.scope
    return item


def _scopes_text() -> str:
    admin = ", ".join(f"`{s}`" for s in SCOPES if s in ADMIN_SCOPES)
    return (
        "A bearer token. Each token holds scopes: "
        + ", ".join(f"`{s}`" for s in SCOPES)
        + ". Each operation names the one it needs (its security requirement and "
        "`x-required-scope`); without it the answer is 403, naming the missing scope. "
        f"{admin} are only for tokens acting as an admin."
    )


def build_document(title: str, operations: Iterable[Operation], version: str = "1.0.0") -> dict:
    """The whole OpenAPI 3.1 document for these operations."""
    paths: dict[str, dict] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation_object(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{title} API",
            "version": version,
            "description": "Send `Authorization: Bearer <token>`; admins issue tokens at "
            "/editor/api-tokens or with `bulletin api-token create`. Times are returned in "
            "UTC with an offset; times sent without an offset are UK time (Europe/London).",
        },
        "servers": [{"url": API_PREFIX}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": _scopes_text()}
            },
            "schemas": SCHEMAS,
        },
    }
