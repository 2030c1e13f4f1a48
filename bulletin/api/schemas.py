"""Every request and response schema of the API, written once (JSON Schema 2020-12).

The views validate request bodies against these dicts and openapi.py publishes them, so
the document is what is enforced. Field limits and choices are read from the one field
table (core/fields.py), which the editor web's forms are built from too: the doors agree.
"""

from __future__ import annotations

from bulletin.core import fields
from bulletin.core.fields import (
    CONTROL,
    ISSUE,
    ISSUE_FIELDS,
    NEWS,
    NEWS_FIELDS,
    OPPORTUNITY,
    OPPORTUNITY_KINDS,
    REGION_CODES,
    SUBSCRIBER,
    TOPIC_SLUG_MAX,
    WORKSHOP,
    Field,
    Kind,
)
from bulletin.core.fill import FILL_REASONS
from bulletin.core.send_report import FAILURE_REASONS, MEASURES
from bulletin.i18n import CODES as LANGUAGE_CODES
from bulletin.mail.merge import ALLOWED
from bulletin.models import SECTION_KEYS, SendStatus, SubscriberStatus

#: Largest id a path or body may name (PostgreSQL's integer).
ID_MAX = 2**31 - 1
#: The field table's single-line rule (fields.CONTROL) as a pattern: no CR, LF or other controls.
SINGLE_LINE = "^[^" + CONTROL.pattern[1:-1] + "]*$"
#: Multi-line text (Markdown): anything but NUL, which no database column can hold.
MULTI_LINE = "^[^\\x00]*$"
#: http(s) links only, on one line (the web's WebLink rule).
_NOT_CONTROL = "[^" + CONTROL.pattern[1:-1] + "]"
WEB_LINK = "^[Hh][Tt][Tt][Pp][Ss]?://[^/" + CONTROL.pattern[1:-1] + "]" + _NOT_CONTROL + "*$"
#: ISO 8601 date and time; with an offset it is exact, without one it is UK (Europe/London) time.
TIMESTAMP_PATTERN = (
    r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$"
)
TIMESTAMP = {
    "type": "string",
    "pattern": TIMESTAMP_PATTERN,
    "description": "ISO 8601 (years 1970 to 2999), e.g. 2025-03-01T10:00:00+00:00; without an "
    "offset it is UK time (Europe/London), and a time the spring clock change skips is refused.",
}
LANGUAGES = list(LANGUAGE_CODES)
TOPIC_SLUG = {"type": "string", "minLength": 1, "maxLength": TOPIC_SLUG_MAX, "pattern": SINGLE_LINE}
ID = {"type": "integer", "minimum": 1, "maximum": ID_MAX}


def _nullable(schema: dict) -> dict:
    kind = schema["type"]
    return {**schema, "type": [kind, "null"] if isinstance(kind, str) else [*kind, "null"]}


def field_schema(field: Field) -> dict:
    """The schema of one field of the table: its type, length or range, choices, line rules."""
    if field.kind is Kind.FLAG:
        return {"type": "boolean"}
    if field.kind is Kind.WHEN:
        return dict(TIMESTAMP)
    if field.kind is Kind.NUMBER:
        return {"type": "integer", "minimum": field.minimum, "maximum": field.maximum}
    if field.kind is Kind.CHOICE:
        if "" in field.choices:  # an empty choice means "none": null says the same
            return {"type": ["string", "null"], "enum": [*field.choices, None]}
        return {"type": "string", "enum": list(field.choices)}
    schema = {"type": "string", "pattern": SINGLE_LINE if field.is_single_line else MULTI_LINE}
    if field.max_length is not None:
        schema["maxLength"] = field.max_length
    if field.kind is Kind.LINK:
        schema["pattern"] = WEB_LINK
    if field.has_merge_fields:
        schema["description"] = MERGE_FIELDS
    return schema


#: How a text that may hold merge fields says so (mail/merge.py is the set).
MERGE_FIELDS = (
    f"May hold merge fields, filled for each reader: {ALLOWED}, written {{{{ name }}}} or "
    "{{ name | default('word') }}. Anything else in {{ }} is refused (422)."
)


def _properties(table: dict[str, Field], names) -> dict:
    """Request properties: every one but a flag or a choice may be null (meaning "clear it")."""
    props = {}
    for name in names:
        schema = field_schema(table[name])
        plain = schema["type"] == "boolean" or table[name].kind is Kind.CHOICE
        props[name] = schema if plain else _nullable(schema)
    return props


def _object(properties: dict, required=(), **extra) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
        **extra,
    }


TOPICS = {"type": "array", "items": TOPIC_SLUG, "maxItems": 50, "uniqueItems": True}
_WORKSHOP = {
    **_properties(WORKSHOP, WORKSHOP),
    "starts_at": TIMESTAMP,
    "ends_at": TIMESTAMP,
    "topics": TOPICS,
}
_OPPORTUNITY = {**_properties(OPPORTUNITY, OPPORTUNITY), "topics": TOPICS}
_ARCHIVED = {"is_archived": {"type": "boolean", "description": "Archive (hide) or restore."}}
_ISSUE = _properties(ISSUE, ISSUE_FIELDS)
_NEWS = _properties(NEWS, NEWS_FIELDS)
VERSION = {
    "type": "integer",
    "minimum": 0,
    "maximum": ID_MAX,
    "description": "The version you last read; a newer one in the database gets 409.",
}

#: A reader's preferences, by the manage page's field rules (core/fields.py SUBSCRIBER).
_PREFERENCES = {
    "topics": {**TOPICS, "minItems": 1, "description": "Slugs of active topics (GET /topics)."},
    "region": field_schema(SUBSCRIBER["region"]),
    "language": field_schema(SUBSCRIBER["language"]),
}
CONSENT_DATE_PATTERN = r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"

REQUESTS: dict[str, dict] = {
    "WorkshopCreate": _object(_WORKSHOP, ("starts_at", "ends_at"), minProperties=1),
    "WorkshopUpdate": _object({**_WORKSHOP, **_ARCHIVED}, minProperties=1),
    "OpportunityCreate": _object(_OPPORTUNITY, minProperties=1),
    "OpportunityUpdate": _object({**_OPPORTUNITY, **_ARCHIVED}, minProperties=1),
    "IssueCreate": _object(_ISSUE, minProperties=1),
    "IssueUpdate": _object({**_ISSUE, "version": VERSION}, ("version",)),
    "ItemCreate": {
        "oneOf": [
            _object({"kind": {"const": "workshop"}, "entry_id": ID}, ("kind", "entry_id")),
            _object({"kind": {"const": "opportunity"}, "entry_id": ID}, ("kind", "entry_id")),
            _object({"kind": {"const": "news"}, **_NEWS}, ("kind",)),
        ]
    },
    "NewsUpdate": _object(_NEWS, minProperties=1),
    "ItemMove": _object(
        {
            "direction": {"type": "string", "enum": ["up", "down", "top", "bottom"]},
            "position": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10000,
                "description": "The place in its section (1 = first); past the end means last.",
            },
        },
        minProperties=1,
        maxProperties=1,
    ),
    "SectionMove": _object(
        {
            "section": {"type": "string", "enum": list(SECTION_KEYS)},
            "direction": {"type": "string", "enum": ["up", "down"]},
        },
        ("section", "direction"),
    ),
    "IssueFill": _object(
        {
            "weeks": field_schema(fields.FILL_WEEKS),
            "until": _nullable(TIMESTAMP),
            "send_at": _nullable(TIMESTAMP),
        }
    ),
    "SendCreate": _object(
        {
            "audience": {"$ref": "#/components/schemas/Audience"},
            "scheduled_at": {
                "anyOf": [{"const": "now"}, TIMESTAMP],
                "description": '"now" (the next worker tick), or ' + TIMESTAMP["description"],
            },
            "exclude_already_sent": {
                "type": "boolean",
                "default": True,
                "description": "Leave out readers who already had this issue from an earlier "
                "send (a delivery with status sent; failed ones get it again). "
                "false: everyone in the audience.",
            },
            "publish": {
                "type": "boolean",
                "description": "Put the issue in the public archive and feed when the send "
                "ends. Default: true for a send to everyone (empty audience), false for a "
                "segment.",
            },
        },
        ("audience", "scheduled_at"),
    ),
    "SubscriberCreate": _object(
        {
            "email": field_schema(SUBSCRIBER["email"]),
            "name": _nullable(field_schema(SUBSCRIBER["name"])),
            **_PREFERENCES,
            "consent": {"$ref": "#/components/schemas/ConsentEvidence"},
        },
        ("email", "topics", "region", "language"),
        description="Without `consent`: the double opt-in of the public form (a confirmation "
        "mail; 202 whether or not the address is known). With `consent` (evidence of consent "
        "given elsewhere): a confirmed subscriber at once, the evidence in the consent trail.",
    ),
    "ConsentEvidence": _object(
        {
            "date": {
                "type": "string",
                "pattern": CONSENT_DATE_PATTERN,
                "description": "The day consent was given (YYYY-MM-DD, UK), not in the future.",
            },
            "source": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "pattern": SINGLE_LINE,
                "description": 'Where it was given, e.g. "paper form, Cardiff open day".',
            },
            "wording_version": {
                "type": "string",
                "minLength": 1,
                "maxLength": 40,
                "pattern": SINGLE_LINE,
                "description": "The version of the consent statement agreed to (stored here).",
            },
        },
        ("date", "source", "wording_version"),
    ),
    "SubscriberUpdate": _object(_PREFERENCES, minProperties=1),
}

#: One working example per request schema: documentation, and the fuzz test's first case.
EXAMPLES: dict[str, dict] = {
    "WorkshopCreate": {
        "title_en": "Writing a plain-language summary",
        "title_cy": "Ysgrifennu crynodeb iaith glir",
        "summary_en": "A two-hour online session.",
        "starts_at": "2030-03-04T10:00",
        "ends_at": "2030-03-04T12:30",
        "is_online": True,
        "has_captions": True,
        "booking_url": "https://example.org/book",
        "region": "south-east-wales",
        "topics": ["workshops"],
    },
    "WorkshopUpdate": {"ends_at": "2030-03-04T13:00:00+00:00", "has_bsl": True},
    "OpportunityCreate": {
        "title_en": "Join our public panel",
        "kind": "public-contributor",
        "closes_at": "2030-05-01T17:00:00+01:00",
        "url": "https://example.org/panel",
        "payment_en": "£25 an hour, and travel costs.",
        "topics": ["public-involvement"],
    },
    "OpportunityUpdate": {"closes_at": "2030-06-01T17:00", "region": None},
    "IssueCreate": {
        "subject_en": "Research bulletin: March",
        "subject_cy": "Bwletin ymchwil: Mawrth",
        "intro_en": "Welcome to *March*.",
    },
    "IssueUpdate": {"version": 1, "subject_en": "Research bulletin: March (updated)"},
    "ItemCreate": {
        "kind": "news",
        "title_en": "New funding round",
        "body_en": "Applications open in April.",
    },
    "NewsUpdate": {"body_en": "Applications open on 1 April."},
    "ItemMove": {"direction": "down"},
    "SectionMove": {"section": "news", "direction": "up"},
    "IssueFill": {"weeks": 6},
    "SubscriberCreate": {
        "email": "reader@example.org",
        "topics": ["workshops"],
        "region": "north-wales",
        "language": "cy",
    },
    "ConsentEvidence": {
        "date": "2026-11-20",
        "source": "Paper form, Cardiff open day",
        "wording_version": "2026-11-v1",
    },
    "SubscriberUpdate": {"topics": ["news", "workshops"], "language": "en"},
    "SendCreate": {
        "audience": {"topics": ["workshops"], "regions": [], "languages": LANGUAGES},
        "scheduled_at": "2030-03-01T09:00",
    },
}
for _name, _example in EXAMPLES.items():
    REQUESTS[_name]["examples"] = [_example]

_STRING = {"type": ["string", "null"]}
_WHEN = {"type": "string", "format": "date-time"}
_MAYBE_WHEN = {"type": ["string", "null"], "format": "date-time"}
_COUNT = {"type": "integer", "minimum": 0}


def _record(properties: dict) -> dict:
    """A response object: every property always present, nothing else."""
    return _object(properties, tuple(properties))


def _text_of(names) -> dict:
    return {name: _STRING for name in names}


def _output_of(write: dict) -> dict:
    """Response properties for a catalogue entry's writable fields (times in UTC)."""
    out = {}
    for name, schema in write.items():
        if schema.get("pattern") == TIMESTAMP_PATTERN:
            out[name] = _MAYBE_WHEN
        elif schema.get("type") == "boolean":
            out[name] = {"type": "boolean"}
        else:
            out[name] = _STRING
    out["topics"] = {"type": "array", "items": {"type": "string"}}
    return out


def _page_of(name: str) -> dict:
    return _record(
        {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
            "total": _COUNT,
            "limit": _COUNT,
            "offset": _COUNT,
        }
    )


_ENTRY = {
    "id": ID,
    "slug": {"type": "string"},
    "is_archived": {"type": "boolean"},
    "created_at": _WHEN,
    "updated_at": _WHEN,
}
_SEND_STATUS = {"type": "string", "enum": [str(s) for s in SendStatus]}
#: A count under the small-number rule: null stands for 1 to 4 ("fewer than 5").
_SHOWN = {"type": ["integer", "null"], "minimum": 0}

RESPONSES: dict[str, dict] = {
    "Error": _object(
        {
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": _record({"field": {"type": "string"}, "message": {"type": "string"}}),
            },
            "current_version": {"type": "integer"},
            "missing_scope": {"type": "string", "description": "The scope a 403 lacks."},
        },
        ("error", "detail"),
    ),
    "Workshop": _record({**_ENTRY, **_output_of(_WORKSHOP), "starts_at": _WHEN, "ends_at": _WHEN}),
    "Opportunity": _record(
        {
            **_ENTRY,
            **_output_of(_OPPORTUNITY),
            "kind": {"type": "string", "enum": list(OPPORTUNITY_KINDS)},
        }
    ),
    "IssueItem": _record(
        {
            "id": ID,
            "position": {"type": "integer"},
            "section": {"type": "string", "enum": ["workshops", "opportunities", "news"]},
            "kind": {"type": "string", "enum": ["workshop", "opportunity", "news"]},
            "workshop_id": {"type": ["integer", "null"]},
            "opportunity_id": {"type": ["integer", "null"]},
            **_text_of(NEWS_FIELDS),
        }
    ),
    "Issue": _record(
        {
            "id": ID,
            "slug": {"type": "string"},
            **_text_of(ISSUE_FIELDS),
            "version": {"type": "integer"},
            "published_at": _MAYBE_WHEN,
            "unpublished_at": _MAYBE_WHEN,
            "in_archive": {
                "type": "boolean",
                "description": "Whether the public archive and Atom feed show the issue.",
            },
            "sections": {
                "type": "array",
                "items": {"type": "string", "enum": list(SECTION_KEYS)},
                "description": "The sections in the order the email and archive show them.",
            },
            "created_at": _WHEN,
            "updated_at": _WHEN,
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/IssueItem"}},
        }
    ),
    "ItemMoved": _record(
        {"moved": {"type": "boolean"}, "issue": {"$ref": "#/components/schemas/Issue"}}
    ),
    "IssueFilled": _record(
        {
            "added": _COUNT,
            "until": _WHEN,
            "added_entries": {"type": "array", "items": {"$ref": "#/components/schemas/FillEntry"}},
            "left_out": {
                "type": "array",
                "items": {
                    "$ref": "#/components/schemas/FillEntry",
                    "description": "With `reason`: " + ", ".join(FILL_REASONS) + ".",
                },
            },
            "issue": {"$ref": "#/components/schemas/Issue"},
        }
    ),
    "FillEntry": _object(
        {
            "kind": {"type": "string", "enum": ["workshop", "opportunity"]},
            "id": ID,
            "title": _STRING,
            "reason": {"type": "string", "enum": list(FILL_REASONS)},
        },
        ("kind", "id", "title"),
    ),
    "Audience": _object(
        {
            "topics": {"type": "array", "items": TOPIC_SLUG, "maxItems": 50, "uniqueItems": True},
            "regions": {
                "type": "array",
                "items": {"type": "string", "enum": REGION_CODES},
                "uniqueItems": True,
            },
            "languages": {
                "type": "array",
                "items": {"type": "string", "enum": LANGUAGES},
                "uniqueItems": True,
            },
        },
        description="Confirmed subscribers matching every non-empty list; empty lists: all.",
    ),
    "Progress": _record(
        {
            "status": _SEND_STATUS,
            "total": _COUNT,
            "queued": _COUNT,
            "sending": _COUNT,
            "sent": _COUNT,
            "failed": _COUNT,
            "skipped": {
                **_COUNT,
                "description": "Left, suppressed or erased before their message went.",
            },
            "cancelled": {
                **_COUNT,
                "description": "Not sent because the send was cancelled. queued + sending + "
                "sent + failed + skipped + cancelled = total.",
            },
            "done": {
                **_COUNT,
                "description": "Deliveries that are final: sent + failed + skipped + cancelled.",
            },
            "percent": {"type": "integer", "minimum": 0, "maximum": 100},
            "rate_per_second": {
                "type": "number",
                "minimum": 0,
                "description": "Over the last minute while the send runs; once it ended, "
                "the average over the whole send.",
            },
            "seconds_left": {"type": ["number", "null"]},
            "average_per_second": {
                "type": ["number", "null"],
                "minimum": 0,
                "description": "Messages sent a second from started_at to finished_at (to "
                "now while it runs); null before it started.",
            },
            "average_per_minute": {"type": ["number", "null"], "minimum": 0},
        }
    ),
    "Send": _record(
        {
            "id": ID,
            "issue_id": ID,
            "status": _SEND_STATUS,
            "audience": {"$ref": "#/components/schemas/Audience"},
            "audience_count": {
                **_COUNT,
                "description": "Recipients once the send started; "
                "before that, how many the audience reaches now.",
            },
            "publish": {
                "type": "boolean",
                "description": "Whether the issue goes into the public archive and feed when "
                "this send ends.",
            },
            "scheduled_at": _MAYBE_WHEN,
            "created_at": _WHEN,
            "started_at": _MAYBE_WHEN,
            "finished_at": _MAYBE_WHEN,
            "created_by_id": {"type": ["integer", "null"]},
            "approved_by_id": {
                "type": ["integer", "null"],
                "description": "REQUIRE_APPROVAL: the second editor who approved the send; "
                'until then its status is "awaiting-approval" and it goes to nobody.',
            },
            "approved_at": _MAYBE_WHEN,
            "exclude_already_sent": {"type": "boolean"},
            "progress": {"$ref": "#/components/schemas/Progress"},
        }
    ),
    "ReportFigures": _record(
        {
            name: {**_SHOWN, "description": text}
            for name, text in (
                ("recipients", "Deliveries made for the send."),
                ("delivered", "Accepted by the receiving server."),
                ("failed", "Refused for good, or refused until the retries ran out."),
                ("skipped", "Left, suppressed or cancelled before their message went."),
                ("bounced_later", "Accepted, then a bounce came back."),
                ("complaints", "Readers who marked it as spam (feedback loops)."),
                ("unsubscribes", "Readers who unsubscribed through this send's links."),
            )
        }
    ),
    "ReportSegment": _record(
        {
            "segment": {
                "type": "string",
                "description": 'A language or region code; "none": not given or not known.',
            },
            **{name: _SHOWN for name in MEASURES},
        }
    ),
    "SendReport": _record(
        {
            "send_id": ID,
            "issue_id": ID,
            "status": _SEND_STATUS,
            "is_final": {
                "type": "boolean",
                "description": "Whether the send has ended (done or cancelled).",
            },
            "started_at": _MAYBE_WHEN,
            "finished_at": _MAYBE_WHEN,
            "totals": {
                "$ref": "#/components/schemas/ReportFigures",
                "description": "Exact, unless the send went to fewer than 5 readers.",
            },
            "failure_reasons": _record({name: _SHOWN for name in FAILURE_REASONS}),
            "breakdowns": _record(
                {
                    name: {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ReportSegment"},
                    }
                    for name in ("language", "region")
                }
            ),
        }
    ),
    "SendFailure": _record(
        {
            "email": {"type": "string"},
            "language": {"type": "string", "enum": LANGUAGES},
            "region": {"type": ["string", "null"]},
            "reason": {"type": "string", "enum": list(FAILURE_REASONS)},
            "reply": {
                "type": ["string", "null"],
                "description": "The receiving server's last reply, as it gave it.",
            },
            "attempts": _COUNT,
        }
    ),
    "Topic": _record(
        {
            "slug": {"type": "string"},
            "name_en": {"type": "string"},
            "name_cy": {"type": "string"},
            "is_active": {"type": "boolean"},
        }
    ),
    "TopicList": _record(
        {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Topic"}}}
    ),
    "SubscriberCounts": _record(
        {
            "total": _COUNT,
            "matching": _COUNT,
            "by_topic": {"type": "object", "additionalProperties": _COUNT},
            "by_region": {
                "type": "object",
                "additionalProperties": _COUNT,
                "description": 'Region code to count; "none" for no region given.',
            },
            "by_language": {"type": "object", "additionalProperties": _COUNT},
        }
    ),
    "Subscriber": _record(
        {
            "id": ID,
            "email": {"type": "string"},
            "status": {"type": "string", "enum": [str(s) for s in SubscriberStatus]},
            "language": {"type": "string"},
            "region": _STRING,
            "topics": {"type": "array", "items": {"type": "string"}},
            "created_at": _WHEN,
            "confirmed_at": _MAYBE_WHEN,
            "unsubscribed_at": _MAYBE_WHEN,
            "updated_at": _WHEN,
        }
    ),
    "SubscriptionStarted": _record({"detail": {"type": "string"}}),
    "OpenApiDocument": {
        "type": "object",
        "required": ["openapi", "info", "paths"],
        "description": "This OpenAPI document.",
    },
    "WorkshopPage": _page_of("Workshop"),
    "OpportunityPage": _page_of("Opportunity"),
    "IssuePage": _page_of("Issue"),
    "SendPage": _page_of("Send"),
    "SendFailurePage": _page_of("SendFailure"),
}

#: Everything under components/schemas in the OpenAPI document.
SCHEMAS: dict[str, dict] = {**REQUESTS, **RESPONSES}
