"""Test sends: an issue to the editor or a few addresses, queued in the outbox."""

from __future__ import annotations

from email_validator import EmailNotValidError
from flask import current_app

from bulletin.core.fields import MAX_TEST_ADDRESSES, normalise_email

from bulletin.core.audit import record_audit
from bulletin.mail.links import external_url
from bulletin.mail.mime import build_message
from bulletin.models import Issue
from bulletin.mail.outbox import enqueue_raw
from bulletin.mail.rendering import (
    MANAGE_PLACEHOLDER,
    UNSUBSCRIBE_PLACEHOLDER,
    RenderedEmail,
    render_issue,
)


class BadAddresses(ValueError):
    """The list of test addresses is empty, too long or holds an invalid address."""


def parse_addresses(text: str, default: str) -> list[str]:
    """Up to five valid addresses, one per line or comma-separated; the default when empty.

    Each is checked and normalised as the sign-up form does it (core/fields.py), so an
    international domain is sent to in its ASCII (IDNA) form.
    """
    raw = [a.strip() for a in text.replace(",", "\n").splitlines() if a.strip()] or [default]
    if len(raw) > MAX_TEST_ADDRESSES:
        raise BadAddresses("too-many")
    addresses = []
    for address in raw:
        try:
            addresses.append(normalise_email(address))
        except EmailNotValidError as exc:
            raise BadAddresses(address) from exc
    return list(dict.fromkeys(addresses))


def build_test_message(rendered: RenderedEmail, to: str) -> bytes:
    """The issue as the reader gets it, subject prefixed [TEST]."""
    config = current_app.config
    return build_message(rendered, to, mail_from=config["MAIL_FROM"],
                         reply_to=config.get("REPLY_TO"), subject_prefix="[TEST] ",
                         auto_submitted=False)


def _without_personal_links(rendered: RenderedEmail) -> RenderedEmail:
    # A test recipient is not a subscriber: their links lead to the "manage by email" page.
    page = external_url("public.request_link")
    swap = lambda s: s.replace(UNSUBSCRIBE_PLACEHOLDER, page).replace(MANAGE_PLACEHOLDER, page)  # noqa: E731
    return RenderedEmail(
        subject=rendered.subject,
        text=swap(rendered.text),
        html=swap(rendered.html),
        language=rendered.language,
    )


def queue_test_send(issue: Issue, addresses: list[str], languages: list[str]) -> int:
    """Queue one message per address and language; returns how many were queued."""
    queued = 0
    for lang in languages:
        rendered = _without_personal_links(render_issue(issue, lang))
        for address in addresses:
            enqueue_raw(address, build_test_message(rendered, address), kind="test")
            queued += 1
    record_audit("issue.test_send", issue, detail={"count": queued, "languages": languages})
    return queued
