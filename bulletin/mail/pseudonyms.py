"""Keyed hashes that let us recognise an address or IP without storing it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from flask import current_app

from bulletin.core.addresses import address_key


def _key() -> bytes:
    configured = current_app.config.get("HASH_KEY")
    if configured:
        return configured.encode()
    # Derived from the signing secret that was first configured, so it survives rotation
    # only if HASH_KEY is set: the README says so.
    first = current_app.config["SECRET_KEYS"][0]
    return hashlib.sha256(b"bulletin-hash-key:" + first.encode()).digest()


def hash_address(address: str) -> str:
    """HMAC-SHA256 of an address's key (core.addresses), so every spelling of it hashes alike."""
    return key_hasher()(address_key(address))


def address_hasher() -> Callable[[str], str]:
    """hash_address with the key looked up once: for loops over many addresses."""
    hash_key = key_hasher()
    return lambda address: hash_key(address_key(address))


def key_hasher() -> Callable[[str], str]:
    """Hashes an address key already made by core.addresses (Subscriber.email_key)."""
    key = _key()
    return lambda mailbox: hmac.digest(key, mailbox.encode(), "sha256").hex()


def hash_ip(ip: str | None) -> str | None:
    """HMAC of a client IP for the consent trail (data minimisation)."""
    if not ip:
        return None
    return hmac.new(_key(), b"ip:" + ip.encode(), hashlib.sha256).hexdigest()
