"""Words for the codes the editor pages show: subscriber, delivery and mail statuses, roles,
mail kinds and audit-log actions, in the page's language. A code with no words yet (a new
audit action, say) is shown as it is rather than hidden."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

SUBSCRIBER_STATUSES = {
    "pending": _l("Waiting for confirmation"),
    "confirmed": _l("Subscribed"),
    "unsubscribed": _l("Unsubscribed"),
    "cleaned": _l("Removed after bounces"),
}
#: Deliveries of a send and transactional mails (outbox rows) share these words.
MAIL_STATUSES = {
    "queued": _l("Queued"),
    "pending": _l("Waiting to be sent"),
    "sending": _l("Being sent"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "skipped": _l("Not sent"),
}
ROLES = {"admin": _l("Admin"), "editor": _l("Editor")}
MAIL_KINDS = {
    "confirm": _l("Confirmation request"),
    "welcome": _l("Welcome"),
    "already-subscribed": _l("Already subscribed"),
    "manage-link": _l("Link to manage the subscription"),
}
AUDIT_ACTIONS = {
    "api_token.create": _l("API token created"),
    "api_token.revoke": _l("API token revoked"),
    "editor.create": _l("Editor account created"),
    "editor.update": _l("Editor account changed"),
    "editor.password": _l("Password changed"),
    "editor.password_reset": _l("Password set from the command line"),
    "issue.create": _l("Issue created"),
    "issue.update": _l("Issue changed"),
    "issue.delete": _l("Issue deleted"),
    "issue.fill": _l("Issue filled with what is coming up"),
    "issue.unpublish": _l("Issue taken out of the public archive"),
    "issue.republish": _l("Issue put back in the public archive"),
    "issue.add_item": _l("Item added to an issue"),
    "issue.remove_item": _l("Item removed from an issue"),
    "issue.move_item": _l("Item moved in an issue"),
    "issue.save_news": _l("News saved in an issue"),
    "issue.test_send": _l("Test send"),
    "send.schedule": _l("Send scheduled"),
    "send.send-now": _l("Send started now"),
    "send.pause": _l("Send paused"),
    "send.resume": _l("Send resumed"),
    "send.cancel": _l("Send cancelled"),
    "workshop.create": _l("Workshop created"),
    "workshop.update": _l("Workshop changed"),
    "workshop.delete": _l("Workshop deleted"),
    "workshop.archive": _l("Workshop archived"),
    "workshop.restore": _l("Workshop restored"),
    "workshop.duplicate": _l("Workshop copied"),
    "opportunity.create": _l("Opportunity created"),
    "opportunity.update": _l("Opportunity changed"),
    "opportunity.delete": _l("Opportunity deleted"),
    "opportunity.archive": _l("Opportunity archived"),
    "opportunity.restore": _l("Opportunity restored"),
    "opportunity.duplicate": _l("Opportunity copied"),
    "topic.save": _l("Topic saved"),
    "webhook.create": _l("Webhook endpoint added"),
    "webhook.rotate": _l("Webhook secret rotated"),
    "webhook.drop-old-secret": _l("Old webhook secret dropped"),
    "webhook.disable": _l("Webhook endpoint switched off"),
    "webhook.enable": _l("Webhook endpoint switched on"),
    "subscriber.subject_access": _l("Subscriber's data downloaded (subject access)"),
    "subscriber.consent_export": _l("Subscriber's consent record downloaded"),
    "subscribers.export": _l("Subscribers exported"),
    "subscribers.import": _l("Subscribers imported"),
    "suppression.add": _l("Address added to the suppression list"),
    "suppression.remove": _l("Address removed from the suppression list"),
    "suppression.lift": _l("Suppression lifted"),
    "suppression.export": _l("Suppression list exported"),
    "retention.purge": _l("Old data deleted (retention)"),
}
#: Where a webhook delivery stands (models/webhook.py WebhookDeliveryStatus).
WEBHOOK_STATUSES = {
    "pending": _l("Waiting"),
    "delivered": _l("Delivered"),
    "failed": _l("Given up"),
}
#: Why a send's messages failed or came back (core/health.py failure_reasons).
FAILURE_REASONS = {
    "hard": _l("Address does not exist (hard bounce)"),
    "soft": _l("Temporary problem (soft bounce)"),
    "complaint": _l("Marked as spam (complaint)"),
    "sender-fault": _l("Refused because of us (policy, reputation, authentication)"),
    "refused": _l("Refused for another reason"),
}


def failure_reason_label(code: str) -> str:
    """A failure reason in the page's language."""
    return _words(FAILURE_REASONS)(code)


def _words(table: dict):
    def label(code: str | None) -> str:
        return str(table.get(code, code or ""))

    return label


def register(app: Flask) -> None:
    """Make the labels Jinja globals for the editor pages."""
    app.jinja_env.globals.update(
        subscriber_status_label=_words(SUBSCRIBER_STATUSES),
        mail_status_label=_words(MAIL_STATUSES),
        role_label=_words(ROLES),
        mail_kind_label=_words(MAIL_KINDS),
        audit_action_label=_words(AUDIT_ACTIONS),
        failure_reason_label=failure_reason_label,
        webhook_status_label=_words(WEBHOOK_STATUSES),
    )
