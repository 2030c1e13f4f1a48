"""All models, imported here so Alembic sees every table."""

from .bounce import BounceAction, BounceEvent, InboundMessage
from .catalogue import Bilingual, Opportunity, OpportunityKind, Workshop
from .editor import ApiToken, AuditLog, Editor, EditorSession, Role
from .importjob import ImportJob, ImportJobStatus
from .issue import Issue, IssueItem, ItemKind
from .mail import OutboxMessage, OutboxStatus, Suppression, SuppressionReason
from .send import Delivery, DeliveryStatus, Send, SendStatus
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
    "BounceAction",
    "BounceEvent",
    "Delivery",
    "DeliveryStatus",
    "Editor",
    "EditorSession",
    "ImportJob",
    "ImportJobStatus",
    "Issue",
    "InboundMessage",
    "IssueItem",
    "ItemKind",
    "Opportunity",
    "OpportunityKind",
    "Role",
    "Send",
    "SendStatus",
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
