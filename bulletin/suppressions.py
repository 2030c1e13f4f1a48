"""The suppression list: hashed addresses that no mail may reach."""

from __future__ import annotations

from sqlalchemy import select

from bulletin.extensions import db
from bulletin.models import Suppression
from bulletin.mail.pseudonyms import hash_address


def is_suppressed(address: str) -> bool:
    """Whether mail to this address is forbidden."""
    digest = hash_address(address)
    return db.session.scalar(select(Suppression.id).filter_by(address_hash=digest)) is not None


def suppress(address: str, reason: str, *, source: str, note: str | None = None) -> Suppression:
    """Add the address (hashed) to the list, or update the reason of its entry."""
    return suppress_hash(hash_address(address), reason, source=source, note=note)


def suppress_hash(digest: str, reason: str, *, source: str, note: str | None = None) -> Suppression:
    """Add an already-hashed address to the list (idempotent; the newest reason wins)."""
    entry = db.session.scalar(select(Suppression).filter_by(address_hash=digest))
    if entry is None:
        entry = Suppression(address_hash=digest, reason=reason, source=source, note=note)
        db.session.add(entry)
    else:
        entry.reason, entry.source, entry.note = reason, source, note
    db.session.flush()
    return entry


def lift(address: str) -> bool:
    """Remove the address from the list; True when there was an entry."""
    entry = db.session.scalar(select(Suppression).filter_by(address_hash=hash_address(address)))
    if entry is None:
        return False
    db.session.delete(entry)
    db.session.flush()
    return True
