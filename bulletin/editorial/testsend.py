"""Test sends: an issue to the editor or a few addresses, queued in the outbox."""

from __future__ import annotations

from flask import current_app

from bulletin.core.addresses import InvalidAddress, parse
from bulletin.core.audit import record_audit
from bulletin.core.fields import MAX_TEST_ADDRESSES
from bulletin.core.issues import sample_reader
from bulletin.extensions import db
from bulletin.mail.links import external_url
from bulletin.mail.messages import MailSettings, build_test
from bulletin.mail.outbox import enqueue_raw
from bulletin.mail.rendering import render_issue
from bulletin.models import Issue


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
    addresses: dict[str, str] = {}  # by key: two spellings of one mailbox get one mail
    for address in raw:
        try:
            parsed = parse(address)
            if not parsed.typed.isascii():  # the builder does not use SMTPUTF8
                raise InvalidAddress("needs SMTPUTF8")
        except InvalidAddress as exc:
            raise BadAddresses(address) from exc
        addresses.setdefault(parsed.key, parsed.typed)
    return list(addresses.values())


def queue_test_send(
    issue: Issue, addresses: list[str], languages: list[str], *, editor_name: str | None = None
) -> int:
    """Queue one message per address and language, each the issue exactly as a reader gets it
    (headers, VERP, signature) but for a test token and the preview's sample reader; returns
    how many were queued."""
    settings = MailSettings.from_config(current_app.config)
    archive_url = external_url("archive.issue", slug=issue.slug)
    queued = 0
    for lang in languages:
        rendered = render_issue(issue, lang)
        for address in addresses:
            row = enqueue_raw(address, b"", kind="test")
            db.session.flush()  # the row's id goes into the VERP sender
            row.message = build_test(
                rendered,
                settings,
                outbox_id=row.id,
                to=address,
                archive_url=archive_url,
                reader=sample_reader(editor_name, lang),
            ).message
            queued += 1
    record_audit("issue.test_send", issue, detail={"count": queued, "languages": languages})
    return queued
