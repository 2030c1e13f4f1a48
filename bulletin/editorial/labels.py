"""Words for the codes the editor pages show: subscriber, delivery and mail statuses, roles,
mail kinds, audit-log actions, fill reasons, bounce records and the consent trail, in the
page's language. A code with no words yet (a new
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
    "cancelled": _l("Cancelled"),  #: a delivery of a cancelled send
}
#: A send's status (SendStatus), as the send pages and the list show it.
SEND_STATUSES = {
    "draft": _l("Draft"),
    "scheduled": _l("Scheduled"),
    #: A scheduled send whose time has come ("Send now"): not a status of its own.
    "starting": _l("Sending now: starting"),
    "sending": _l("Sending"),
    "paused": _l("Paused"),
    "cancelled": _l("Cancelled"),
    "done": _l("Done"),
    "missed": _l("Missed: its time passed while no worker ran"),
    "awaiting-approval": _l("Awaiting approval by a second editor"),
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
    "issue.move_section": _l("Section moved in an issue"),
    "issue.save_news": _l("News saved in an issue"),
    "issue.test_send": _l("Test send"),
    "issue.draft": _l("Issue drafted from the bulletin's rhythm"),
    "issue.approve": _l("Rhythm draft approved"),
    "issue.skip": _l("Rhythm draft skipped: nobody approved it in time"),
    "rhythm.save": _l("The bulletin's rhythm changed"),
    "send.approve": _l("Send approved by a second editor"),
    "send.schedule": _l("Send scheduled"),
    "send.send-now": _l("Send started now"),
    "send.pause": _l("Send paused"),
    "send.resume": _l("Send resumed"),
    "send.cancel": _l("Send cancelled"),
    "send.failed_export": _l("Failed addresses of a send downloaded"),
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
    "subscriber.api_signup": _l("Sign-up started through the API"),
    "subscriber.api_add": _l("Subscriber added through the API, with consent evidence"),
    "subscriber.api_update": _l("Subscriber's preferences changed through the API"),
    "subscriber.api_erase": _l("Subscriber erased through the API"),
    "subscribers.export": _l("Subscribers exported"),
    "subscribers.import": _l("Subscribers imported"),
    "suppression.add": _l("Address added to the suppression list"),
    "suppression.remove": _l("Address removed from the suppression list"),
    "suppression.lift": _l("Suppression lifted"),
    "suppression.export": _l("Suppression list exported"),
    "retention.purge": _l("Old data deleted (retention)"),
}
#: Why "Fill with what is coming up" left an entry out (core/fill.py FILL_REASONS).
FILL_REASONS = {
    "in-issue": _l("already in the issue"),
    "archived": _l("archived"),
    "taken-place": _l("will have taken place by the send date"),
    "booking-closed": _l("booking will have closed by the send date"),
    "closed": _l("closed before the send date"),
    "after-window": _l("starts after the window"),
}
#: What a bounce record is (BounceEvent.kind).
BOUNCE_KINDS = {
    "hard": _l("Permanent failure (hard bounce)"),
    "soft": _l("Temporary failure (soft bounce)"),
    "complaint": _l("Spam complaint"),
    "auto-reply": _l("Automatic reply"),
    "delivered": _l("Delivery report"),
    "not-bounce": _l("Not a bounce"),
    "unsubscribe": _l("Unsubscribe email"),
    "unclassified": _l("Could not be read"),
}
#: What the bounce policy did (BounceAction).
BOUNCE_ACTIONS = {
    "cleaned": _l("Removed and suppressed"),
    "suppressed": _l("Address suppressed"),
    "counted": _l("Counted (no change yet)"),
    "reset": _l("Bounce count reset"),
    "unsubscribed": _l("Unsubscribed"),
    "alert": _l("Alert: our sending is at fault"),
    "none": _l("Nothing to do"),
    "unmatched": _l("Matched no subscriber"),
    "unproven": _l("Not proven: nobody changed"),
}
#: How a bounce or complaint reached us (BounceEvent.source).
BOUNCE_SOURCES = {
    "smtp": _l("Our bounce mail server"),
    "mbox": _l("Mailbox file"),
    "maildir": _l("Mail folder"),
    "imap": _l("IMAP mailbox"),
    "ses": _l("Amazon SES notification"),
    "postmark": _l("Postmark notification"),
    "mailto": _l("Unsubscribe email"),
    "admin": _l("An admin"),
}
#: What kind of complaint a feedback report (ARF, RFC 5965) says it is.
FEEDBACK_TYPES = {
    "abuse": _l("spam"),
    "fraud": _l("fraud"),
    "virus": _l("virus"),
    "not-spam": _l("not spam"),
    "auth-failure": _l("authentication failure"),
    "other": _l("other"),
}
#: Why an address is on the suppression list (SuppressionReason); the add form's choices.
SUPPRESSION_REASONS = {
    "manual": _l("Added by an admin"),
    "bounced": _l("The address bounces"),
    "complaint": _l("The person complained"),
    "unsubscribed": _l("The person asked to stop"),
    "erased": _l("The person’s data was erased"),
}
#: What a consent-trail event records (ConsentEvent.kind).
CONSENT_KINDS = {
    "signup": _l("Signed up"),
    "confirm": _l("Confirmed"),
    "preferences": _l("Changed preferences"),
    "unsubscribe": _l("Unsubscribed"),
    "erasure": _l("Data erased"),
    "complaint": _l("Complained (marked as spam)"),
    "import": _l("Imported from a list"),
}
#: Where a consent-trail event came from (ConsentEvent.source, before any ":detail").
CONSENT_SOURCES = {
    "web:/subscribe": _l("Sign-up form"),
    "web:/confirm": _l("Confirmation link"),
    "web:/manage": _l("Manage-your-subscription page"),
    "web:/manage/erase": _l("Erase-my-data page"),
    "web:/unsubscribe": _l("Unsubscribe page"),
    "one-click": _l("One-click unsubscribe in the mail program"),
    "mailto": _l("Unsubscribe email"),
    "retention:unconfirmed": _l("Retention: never confirmed"),
}
#: Sources that carry a detail after a colon: "import:<list>", "complaint:<how it came>".
CONSENT_SOURCE_PREFIXES = {
    "import": _l("Import: %(detail)s"),
    "complaint": _l("Complaint: %(detail)s"),
}


def consent_source_label(code: str | None) -> str:
    """A consent event's (or a suppression's) source in words; a prefixed one keeps its
    detail, and a bounce source (a complaint's suppression) has its own words."""
    code = code or ""
    if code in CONSENT_SOURCES:
        return str(CONSENT_SOURCES[code])
    prefix, colon, detail = code.partition(":")
    if colon and prefix in CONSENT_SOURCE_PREFIXES:
        named = BOUNCE_SOURCES.get(detail, detail) if prefix == "complaint" else detail
        return str(CONSENT_SOURCE_PREFIXES[prefix]) % {"detail": named}
    return str(BOUNCE_SOURCES.get(code, code))


#: The measures of a send's report (core/send_report.Figures).
REPORT_MEASURES = {
    "recipients": _l("Recipients"),
    "delivered": _l("Delivered"),
    "failed": _l("Failed"),
    "skipped": _l("Not sent (left or suppressed first)"),
    "bounced_later": _l("Bounced later"),
    "complaints": _l("Complaints (marked as spam)"),
    "unsubscribes": _l("Unsubscribed from this send"),
}
#: Where a webhook delivery stands (models/webhook.py WebhookDeliveryStatus).
WEBHOOK_STATUSES = {
    "pending": _l("Waiting"),
    "delivered": _l("Delivered"),
    "failed": _l("Given up"),
}
#: Why deliveries failed (core/send_report.py failure_counts; the insights chart uses them too).
FAILURE_REASONS = {
    "mailbox-unknown": _l("Mailbox unknown"),
    "spam": _l("Rejected as spam"),
    "mailbox-full": _l("Mailbox full"),
    "refused": _l("Server refused"),
    "other": _l("Other (for example, temporary refusals until the retries ran out)"),
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
        report_measure_label=_words(REPORT_MEASURES),
        failure_reason_label=failure_reason_label,
        fill_reason_label=_words(FILL_REASONS),
        bounce_kind_label=_words(BOUNCE_KINDS),
        bounce_action_label=_words(BOUNCE_ACTIONS),
        bounce_source_label=_words(BOUNCE_SOURCES),
        feedback_type_label=_words(FEEDBACK_TYPES),
        suppression_reason_label=_words(SUPPRESSION_REASONS),
        consent_kind_label=_words(CONSENT_KINDS),
        consent_source_label=consent_source_label,
        webhook_status_label=_words(WEBHOOK_STATUSES),
    )
