"""Test sends: an issue to the editor or a few addresses, queued in the outbox."""

from __future__ import annotations

from flask import current_app

from bulletin.core.addresses import InvalidAddress, parse

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

MAX_TEST_ADDRESSES = 5


class BadAddresses(ValueError):
    """The list of test addresses is empty, too long or holds an invalid address."""


def parse_addresses(text: str, default: str) -> list[str]:
    """Up to five valid addresses, one per line or comma-separated; the default when empty."""
    raw = [a.strip() for a in text.replace(",", "\n").splitlines() if a.strip()] or [default]
    if len(raw) > MAX_TEST_ADDRESSES:
        raise BadAddresses("too-many")
    addresses: dict[str, str] = {}  # by key: two spellings of one mailbox get one mail
    for address in raw:
        try:
            parsed = parse(address)
        except InvalidAddress as exc:
            raise BadAddresses(address) from exc
        addresses.setdefault(parsed.key, parsed.typed)
    return list(addresses.values())


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
