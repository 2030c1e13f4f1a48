"""Signed tokens: one make_*/read_* pair per purpose, each with its own salt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer, URLSafeTimedSerializer

SALTS = {
    "confirm": "bulletin.confirm.v1",
    "manage": "bulletin.manage.v1",
    "unsubscribe": "bulletin.unsubscribe.v1",
    "bounce": "bulletin.bounce.v2",
    "mailto": "bulletin.mailto.v1",
    "message-id": "bulletin.message-id.v1",
    "click": "bulletin.click.v1",
    "embedder": "bulletin.embedder.v1",
}

#: The uid a test send's personal links are made for. Subscriber uids are uuid4 hex, so no
#: subscriber has it; the unsubscribe and manage pages answer it with a "this was a test" page.
TEST_UID = "test"

#: Hex digits of HMAC-SHA256 kept in address tokens: 64 bits, and the local part
#: "unsubscribe+<32-hex uid>-<mac>" stays within RFC 5321's 64 octets.
ADDRESS_MAC_HEX = 16
#: Hex digits of HMAC-SHA256 in bulk Message-IDs: 128 bits, as nothing limits their length.
MESSAGE_MAC_HEX = 32
#: A bulk Message-ID: <SEND.DELIVERY.MAC@mail-domain>.
BULK_MESSAGE_ID = re.compile(r"^<(\d+)\.(\d+)\.([0-9a-fA-F]+)@([^<>\s]+)>$")


class BadToken(Exception):
    """A token that is tampered with, expired, or made for another purpose."""

    def __init__(self, reason: str = "invalid"):
        super().__init__(reason)
        self.reason = reason


def _keys() -> list[str]:
    # itsdangerous signs with the last key and verifies with all: our list is newest first.
    return list(reversed(current_app.config["SECRET_KEYS"]))


def _timed(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_keys(), salt=SALTS[purpose])


def _plain(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(_keys(), salt=SALTS[purpose])


def make_confirm_token(uid: str) -> str:
    """A confirmation token; it expires after CONFIRM_MAX_AGE_DAYS."""
    return _timed("confirm").dumps(uid)


def read_confirm_token(token: str) -> str:
    """The subscriber uid in a confirmation token, or BadToken('expired'|'invalid')."""
    max_age = timedelta(days=current_app.config["CONFIRM_MAX_AGE_DAYS"])
    try:
        return _str(_timed("confirm").loads(token, max_age=int(max_age.total_seconds())))
    except BadData as exc:
        reason = "expired" if exc.__class__.__name__ == "SignatureExpired" else "invalid"
        raise BadToken(reason) from exc


def make_manage_token(uid: str) -> str:
    """A token for the preferences page; it does not expire (old emails keep working)."""
    return _plain("manage").dumps(uid)


def read_manage_token(token: str) -> str:
    """The subscriber uid in a manage token."""
    return _read_plain("manage", token)


def unsubscribe_value(uid: str, send_id: int | None = None) -> str | list[str | int]:
    """What an unsubscribe token signs: the uid, or [uid, send id] in an issue's mail.

    The send id (the same in every copy of a send, so it tells nothing about the reader)
    lets the send's report count the unsubscribes its mail brought."""
    return uid if send_id is None else [uid, send_id]


def make_unsubscribe_token(uid: str, send_id: int | None = None) -> str:
    """A never-expiring unsubscribe token (RFC 8058 links in old emails must work)."""
    return _plain("unsubscribe").dumps(unsubscribe_value(uid, send_id))


def read_unsubscribe_token(token: str) -> str:
    """The subscriber uid in an unsubscribe token."""
    return read_unsubscribe_link(token)[0]


def read_unsubscribe_link(token: str) -> tuple[str, int | None]:
    """(subscriber uid, send id) of an unsubscribe token; the send id is None in tokens
    made before sends were named, and in those of test sends and single mails."""
    try:
        value = _plain("unsubscribe").loads(token)
    except BadData as exc:
        raise BadToken("invalid") from exc
    if isinstance(value, str):
        return value, None
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and type(value[1]) is int
        and value[1] > 0
    ):
        return value[0], value[1]
    raise BadToken("invalid")


def make_embedder_token(origin: str) -> str:
    """The partner origin that framed the embed page, carried by its form to the sign-up."""
    return _plain("embedder").dumps(origin)


def read_embedder_token(token: str) -> str:
    """The partner origin in an embedder token."""
    return _read_plain("embedder", token)


def make_bounce_token(delivery_ref: str) -> str:
    """A VERP token naming one delivery ("d<id>") or outbox message ("o<id>")."""
    return address_token_maker("bounce")(delivery_ref)


def read_bounce_token(token: str) -> str:
    """The delivery reference in a VERP token."""
    return read_address_token("bounce", token)


def make_mailto_token(uid: str) -> str:
    """The token of the List-Unsubscribe mailto: address, unsubscribe+TOKEN@BOUNCE_DOMAIN."""
    return address_token_maker("mailto")(uid)


def read_mailto_token(token: str) -> str:
    """The subscriber uid in a mailto: unsubscribe token."""
    return read_address_token("mailto", token)


def make_click_token(send_id: int, link_id: int) -> str:
    """The token of a counted link, /r/TOKEN: it names a send and a link of it, never a
    reader (the same token goes to everyone), and it does not expire (old emails work)."""
    return _plain("click").dumps([send_id, link_id])


def read_click_token(token: str) -> tuple[int, int]:
    """The (send id, link id) in a click token, or BadToken."""
    try:
        value = _plain("click").loads(token)
    except BadData as exc:
        raise BadToken("invalid") from exc
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(type(v) is int and v > 0 for v in value)
    ):
        raise BadToken("invalid")
    return value[0], value[1]


def _address_key(purpose: str, key: str) -> bytes:
    return hashlib.sha256(f"{SALTS[purpose]}:{key}".encode()).digest()


def address_token_maker(purpose: str) -> Callable[[str], str]:
    """Tokens for e-mail local parts: lower-case hex only (MTAs may fold case), short.

    `value-mac`, where value is [a-z0-9] and mac is a truncated HMAC; built once per send."""
    key = _address_key(purpose, current_app.config["SECRET_KEYS"][0])

    def make(value: str) -> str:
        if not value.isalnum() or not value.isascii():
            raise ValueError("address token values are letters and digits only")
        value = value.lower()
        return f"{value}-{hmac.digest(key, value.encode(), 'sha256').hex()[:ADDRESS_MAC_HEX]}"

    return make


def read_address_token(purpose: str, token: str) -> str:
    """The value in an address token, checked against every configured key."""
    value, sep, given = token.strip().lower().rpartition("-")
    if not sep or not value.isalnum() or not value.isascii():
        raise BadToken("invalid")
    for key in current_app.config["SECRET_KEYS"]:
        mac = hmac.digest(_address_key(purpose, key), value.encode(), "sha256")
        if hmac.compare_digest(given, mac.hex()[:ADDRESS_MAC_HEX]):
            return value
    raise BadToken("invalid")


def message_id_maker(send_id: int, domain: str) -> Callable[[int], str]:
    """Bulk Message-IDs of one send, <SEND.DELIVERY.MAC@domain>; built once per send.

    The MAC (first key) is what makes a Message-ID proof that we sent that delivery: ids
    are sequential, so without it anyone could write down another reader's."""
    key = _address_key("message-id", current_app.config["SECRET_KEYS"][0])
    # The key and "SEND." are hashed once per send; each message copies that state (never
    # updating the shared object, so sender threads can share it) and adds its delivery id.
    per_send = hmac.new(key, f"{send_id}.".encode("ascii"), "sha256")
    size = MESSAGE_MAC_HEX // 2

    def make(delivery_id: int) -> str:
        mac = per_send.copy()
        mac.update(str(delivery_id).encode("ascii"))
        return f"<{send_id}.{delivery_id}.{mac.digest()[:size].hex()}@{domain}>"

    return make


def read_message_id(message_id: str, domain: str) -> tuple[int, int]:
    """The (send id, delivery id) of one of our bulk Message-IDs, checked against every key."""
    match = BULK_MESSAGE_ID.match(message_id.strip())
    if match is None or match.group(4).lower() != domain.lower():
        raise BadToken("invalid")
    send_id, delivery_id, given = match.group(1), match.group(2), match.group(3).lower()
    ref = f"{send_id}.{delivery_id}".encode("ascii")  # int() only once it verifies
    for key in current_app.config["SECRET_KEYS"]:
        mac = hmac.digest(_address_key("message-id", key), ref, "sha256")
        if hmac.compare_digest(given, mac.hex()[:MESSAGE_MAC_HEX]):
            return int(send_id), int(delivery_id)
    raise BadToken("invalid")


def _read_plain(purpose: str, token: str) -> str:
    try:
        return _str(_plain(purpose).loads(token))
    except BadData as exc:
        raise BadToken("invalid") from exc


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise BadToken("invalid")
    return value


def plain_token_maker(purpose: str) -> Callable[[str | list[str | int]], str]:
    """For bulk sends: the same tokens as make_unsubscribe/manage_token, made in a few us.

    itsdangerous derives the key, builds a Signer and tries zlib on every call (about
    150 us a token, two tokens a message); here the key is derived once by itsdangerous
    itself and each token costs one HMAC copy. Tests check the tokens are identical."""
    signer = _plain(purpose).make_signer()
    key, digest, sep = signer.derive_key(), signer.digest_method().name, signer.sep.decode()

    def make(value: str | list[str | int]) -> str:
        # itsdangerous's own compact JSON, so the token is byte for byte the slow one.
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        payload = base64.urlsafe_b64encode(text.encode()).rstrip(b"=")
        signature = base64.urlsafe_b64encode(hmac.digest(key, payload, digest)).rstrip(b"=")
        return f"{payload.decode()}{sep}{signature.decode()}"

    return make
