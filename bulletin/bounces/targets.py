"""Whom an inbound report is about, on proof only: a signed token or our signed Message-ID.

The recipient a report names is not proof: anyone can write any address into a DSN or an
ARF and mail it to any local part of BOUNCE_DOMAIN. It counts only when an authenticated
provider (a signed SES notification, a Postmark webhook behind its credentials) says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask import current_app

from bulletin.bounces.classify import Classification
from bulletin.core.subscribers import find_by_email, find_by_uid
from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.mail.messages import default_list_id
from bulletin.mail.mime import domain_of
from bulletin.models import Delivery, OutboxMessage, Subscriber


@dataclass(frozen=True)
class Target:
    """The subscriber (and delivery) a report names, or a bare address we mailed."""

    subscriber: Subscriber | None = None
    delivery_id: int | None = None
    #: A typed-in address (an editor's test send) named by an outbox token.
    address: str | None = None
    #: What proved it: token / message-id / provider; none when nothing did.
    how: str = "none"

    @property
    def email(self) -> str | None:
        """The address to act on."""
        return self.subscriber.email if self.subscriber is not None else self.address


def mail_domain() -> str:
    """The domain of MAIL_FROM: our Message-IDs end with it."""
    return domain_of(current_app.config["MAIL_FROM"]).lower()


def list_id() -> str:
    """Our List-Id identifier (LIST_ID, else bulletin.<domain>)."""
    return default_list_id(current_app.config).lower()


def find_target(result: Classification, *, vouched: bool = False) -> Target:
    """The first proof that names someone; a proof whose row is gone; else Target() (none).

    `vouched`: an authenticated provider sent the report, so the recipient it names is
    whom that provider delivered our message to; our own token or Message-ID still wins."""
    gone = None
    for target in _proofs(result, vouched):
        if target is not None and target.email is not None:
            return target
        gone = gone or target
    return gone or Target()


def _proofs(result: Classification, vouched: bool) -> Iterator[Target | None]:
    # A generator, so the lookups after the first proof that names someone never run.
    for kind, token in result.envelope_tokens:
        yield from_bounce_token(token) if kind == "bounces" else from_unsubscribe_token(token)
    yield from_message_id(result.original_message_id)
    if vouched:
        yield from_provider(result)


def from_bounce_token(token: str) -> Target | None:
    """The delivery ("d<id>") or outbox message ("o<id>") a VERP token names."""
    try:
        ref = tokens.read_bounce_token(token)
    except tokens.BadToken:
        return None
    kind, number = ref[:1], ref[1:]
    if not number.isdigit():
        return None
    if kind == "d":
        return _delivery_target(int(number), "token")
    if kind == "o":
        row = db.session.get(OutboxMessage, int(number))
        if row is not None and (row.subscriber is not None or row.to_address):
            return Target(
                row.subscriber, None, None if row.subscriber else row.to_address, how="token"
            )
    return Target(how="token")  # signed by us, but the row is gone


def from_unsubscribe_token(token: str) -> Target | None:
    """The subscriber named by the token of an unsubscribe+TOKEN@ (mailto) address."""
    try:
        uid = tokens.read_mailto_token(token)
    except tokens.BadToken:
        return None
    return Target(find_by_uid(uid), how="token")


def from_message_id(message_id: str | None) -> Target | None:
    """The delivery named by one of our bulk Message-IDs, if its MAC verifies."""
    if not message_id:
        return None
    try:
        send_id, delivery_id = tokens.read_message_id(message_id, mail_domain())
    except tokens.BadToken:
        return None  # not ours, forged, or the old guessable form (send time as the nonce)
    return _delivery_target(delivery_id, "message-id", send_id)


def from_provider(result: Classification) -> Target:
    """The subscriber an authenticated provider reports, unless the mail was another list's."""
    if result.original_list_id and result.original_list_id.lower() != list_id():
        return Target(how="provider")  # some other list's mail, sent through the same account
    return Target(find_by_address(result.recipient), how="provider")


def _delivery_target(delivery_id: int, how: str, send_id: int | None = None) -> Target:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or (send_id is not None and delivery.send_id != send_id):
        return Target(how=how)  # signed by us, but the row is gone (purged or erased)
    return Target(db.session.get(Subscriber, delivery.subscriber_id), delivery.id, how=how)


def find_by_address(address: str | None) -> Subscriber | None:
    """The subscriber with this address, however the report spells it (core.addresses)."""
    if not address or "@" not in address:
        return None
    return find_by_email(address)
