"""Reading requests: the JSON body (size, syntax, schema), query parameters and timestamps."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache

from flask import current_app, request
from jsonschema import Draft202012Validator
from werkzeug.exceptions import RequestEntityTooLarge

from bulletin.api.schemas import SCHEMAS
from bulletin.core.fields import Field, problem_with
from bulletin.i18n import london_to_utc_safe

#: At most this many problems are listed in one 422 answer.
MAX_ERRORS = 20


class ApiError(Exception):
    """A request the API refuses: status, a sentence, and optionally the fields at fault."""

    def __init__(self, status: int, detail: str, errors: list[dict] | None = None, **extra):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.extra = status, detail, errors, extra

    def as_json(self) -> dict:
        """The error body: {"error", "detail", ["errors"], ...}."""
        from werkzeug.http import HTTP_STATUS_CODES

        body = {"error": HTTP_STATUS_CODES.get(self.status, "Error"), "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return {**body, **self.extra}


def invalid(field: str, message: str) -> ApiError:
    """A 422 for one field."""
    return ApiError(422, "The request has invalid values.", [{"field": field, "message": message}])


@cache
def validator_for(name: str) -> Draft202012Validator:
    """A validator for one schema of schemas.SCHEMAS (its $refs resolve within SCHEMAS)."""
    root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": SCHEMAS}}
    return Draft202012Validator(root)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def schema_errors(name: str, value) -> list[dict]:
    """Problems of `value` against schema `name`, as [{"field", "message"}]."""
    problems = []
    for error in validator_for(name).iter_errors(value):
        for leaf in _relevant(error):
            field = ".".join(str(p) for p in leaf.absolute_path) or "(body)"
            problems.append({"field": field, "message": _short(leaf.message)})
    return problems[:MAX_ERRORS]


def _relevant(error) -> list:
    """For a oneOf, only the errors of the alternatives whose `const` fields matched."""
    if error.validator != "oneOf" or not error.context:
        return [error]
    by_branch: dict[int, list] = {}
    for leaf in error.context:
        by_branch.setdefault(leaf.relative_schema_path[0], []).append(leaf)
    chosen = [
        leaves
        for leaves in by_branch.values()
        if not any(leaf.validator == "const" for leaf in leaves)
    ]
    if chosen:
        return [leaf for leaves in chosen for leaf in leaves]
    return [error]


def _raw_body() -> bytes:
    limit = current_app.config["API_MAX_BODY_BYTES"]
    too_large = ApiError(413, f"The body is larger than {limit} bytes.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    # Read at most one byte past the cap: this also holds for bodies sent without a
    # Content-Length (chunked), which werkzeug would otherwise cut short silently.
    chunks, size = [], 0
    try:
        while size <= limit:
            chunk = request.stream.read(limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except RequestEntityTooLarge:
        raise too_large from None
    if size > limit:
        raise too_large
    return b"".join(chunks)


def read_body(schema: str) -> dict:
    """The request's JSON body, checked against a schema: 413, 415, 400 or 422 when it is not."""
    raw = _raw_body()
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiError(415, "Send the body as JSON with Content-Type: application/json.")
    try:
        body = json.loads(raw)
        problems = schema_errors(schema, body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, _short(f"The body is not valid JSON: {exc}")) from None
    except RecursionError:
        raise ApiError(400, "The body is nested too deeply.") from None
    if problems:
        raise ApiError(422, "The body does not match the schema.", problems)
    _refuse_unencodable(body, "")
    return body


def _refuse_unencodable(value, path: str) -> None:
    # JSON may carry lone surrogates ("\ud800"): no database can store them.
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid(path or "(body)", "Text must be valid Unicode.") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_unencodable(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_unencodable(item, f"{path}.{index}")


def read_query(params: tuple[dict, ...]) -> dict:
    """Query parameters as declared (OpenAPI parameter objects): typed, defaulted, checked."""
    values, problems = {}, []
    for param in params:
        name, schema = param["name"], param["schema"]
        raw = request.args.getlist(name)
        if not raw:
            values[name] = schema.get("default", [] if schema["type"] == "array" else None)
            continue
        try:
            value = raw if schema["type"] == "array" else _typed(raw[0], schema["type"])
        except ValueError:
            problems.append({"field": name, "message": f"{name} must be an {schema['type']}."})
            continue
        for error in Draft202012Validator(schema).iter_errors(value):
            problems.append({"field": name, "message": _short(error.message)})
        values[name] = value
    if problems:
        raise ApiError(422, "The query parameters are invalid.", problems[:MAX_ERRORS])
    return values


def _typed(raw: str, kind: str):
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]{1,18}", raw):
            raise ValueError(raw)
        return int(raw)
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ValueError(raw)
        return raw == "true"
    return raw


def parse_timestamp(field: str, raw: str) -> datetime:
    """An ISO 8601 string as aware UTC; without an offset it is London wall-clock time."""
    try:
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            exact = london_to_utc_safe(moment)
            if exact is None:
                raise invalid(
                    field,
                    "That time does not exist in the UK: the clocks go forward an hour that night.",
                )
            return exact
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid(field, "Enter a real date and time in ISO 8601.") from None


def check_rules(table: dict[str, Field], body: dict) -> None:
    """The field table's rules a schema cannot say (a link's host, Markdown's HTML depth)."""
    problems = []
    for name, value in body.items():
        field = table.get(name)
        if field is None or not isinstance(value, str) or not value:
            continue  # times, flags and topics are checked by the schema and the view
        problem = problem_with(field, value)
        if problem is not None:
            problems.append({"field": name, "message": field.describe(problem, value)})
    if problems:
        raise ApiError(422, "The request has invalid values.", problems)
