"""All models, imported here so Alembic sees every table."""

from bulletin.models.bounce import BounceAction, BounceEvent, InboundMessage
from bulletin.models.catalogue import Bilingual, Opportunity, OpportunityKind, Workshop
from bulletin.models.challenge import SpentChallenge
from bulletin.models.clicks import ClickLink
from bulletin.models.editor import ApiToken, AuditLog, Editor, EditorSession, Role
from bulletin.models.health import AlertMetric, AlertScope, HealthAlert
from bulletin.models.importjob import ImportJob, ImportJobStatus
from bulletin.models.issue import SECTION_KEYS, Issue, IssueItem, ItemKind
from bulletin.models.mail import OutboxMessage, OutboxStatus, Suppression, SuppressionReason
from bulletin.models.media import Masthead, Media
from bulletin.models.rhythm import Rhythm, RhythmFrequency, RhythmMode
from bulletin.models.send import Delivery, DeliveryStatus, Send, SendStatus
from bulletin.models.subscriber import (
    ConsentEvent,
    ConsentWording,
    Subscriber,
    SubscriberStatus,
    Topic,
    subscriber_topic,
)
from bulletin.models.types import REGIONS, Language, UTCDateTime, region_name, utcnow
from bulletin.models.webhook import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from bulletin.models.worker import WorkerHeartbeat

__all__ = [
    "AlertMetric",
    "AlertScope",
    "HealthAlert",
    "ApiToken",
    "AuditLog",
    "Bilingual",
    "BounceAction",
    "BounceEvent",
    "ClickLink",
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
    "Masthead",
    "Media",
    "SECTION_KEYS",
    "Opportunity",
    "OpportunityKind",
    "Rhythm",
    "RhythmFrequency",
    "RhythmMode",
    "Role",
    "Send",
    "SendStatus",
    "SpentChallenge",
    "Workshop",
    "WorkerHeartbeat",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "WebhookEndpoint",
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
