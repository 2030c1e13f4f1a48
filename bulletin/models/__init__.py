"""All models, imported here so Alembic sees every table."""

from .catalogue import Bilingual, Opportunity, OpportunityKind, Workshop
from .editor import ApiToken, AuditLog, Editor, Role
from .issue import Issue, IssueItem, ItemKind
from .mail import OutboxMessage, OutboxStatus, Suppression, SuppressionReason
from .subscriber import (
    ConsentEvent,
    ConsentWording,
    Subscriber,
    SubscriberStatus,
    Topic,
    subscriber_topic,
)
from .types import REGIONS, Language, UTCDateTime, region_name, utcnow

__all__ = [
    "ApiToken",
    "AuditLog",
    "Bilingual",
    "Editor",
    "Issue",
    "IssueItem",
    "ItemKind",
    "Opportunity",
    "OpportunityKind",
    "Role",
    "Workshop",
    "REGIONS",
    "ConsentEvent",
    "ConsentWording",
    "Language",
    "OutboxMessage",
    "OutboxStatus",
    "Subscriber",
    "SubscriberStatus",
    "Suppression",
    "SuppressionReason",
    "Topic",
    "UTCDateTime",
    "region_name",
    "subscriber_topic",
    "utcnow",
]
