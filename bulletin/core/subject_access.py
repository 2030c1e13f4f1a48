"""Subject access: everything held about one subscriber, built from every part in a fixed order.

Each part is named here, once: its key in the export and the function that reads that part's
records of a subscriber. Nothing registers itself, so importing this module is all it takes.
"""

from __future__ import annotations

from collections.abc import Callable

from bulletin.core.bounces import export_bounces
from bulletin.core.sends import export_deliveries
from bulletin.core.subscriber_data import (
    export_consent_events,
    export_profile,
    export_service_emails,
    export_topics,
)
from bulletin.models import Subscriber

#: The parts of an export, in the order they appear in it.
PARTS: tuple[tuple[str, Callable[[Subscriber], object]], ...] = (
    ("profile", export_profile),
    ("topics", export_topics),
    ("consent_events", export_consent_events),
    ("service_emails", export_service_emails),
    ("bulletin_deliveries", export_deliveries),
    ("bounces", export_bounces),
)


def export_subscriber(subscriber: Subscriber) -> dict:
    """The data a subject access request returns: every part, JSON-ready."""
    return {key: part(subscriber) for key, part in PARTS}
