"""The one rule for an address's identity: which spellings are one mailbox.

A reader's address is kept as they typed it, with only the domain lower-cased and
IDNA-encoded (mail goes there). Every comparison (uniqueness, look-ups, suppression hashes,
imports, bounce matching, erasure) uses its key instead: the same address with the local
part lower-cased too, so that Rhys.Evans@Example.org and rhys.evans@example.org are one
subscriber everywhere. The syntax check is email-validator's, with no DNS.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

#: Longest address accepted (RFC 5321's path limit less the angle brackets).
MAX_LENGTH = 254


class InvalidAddress(ValueError):
    """Not an address we can mail; the message (email-validator's, in English) says why."""


class AddressTooLong(InvalidAddress):
    """Valid syntax, but longer than MAX_LENGTH once normalised."""


@dataclass(frozen=True)
class Address:
    """An address in its two forms."""

    #: Local part as typed, domain lower-case ASCII (IDNA): where mail goes.
    typed: str
    #: The mailbox's identity: what is compared, made unique and hashed.
    key: str


def parse(text: str) -> Address:
    """Check the syntax (no DNS) and give both forms; InvalidAddress says what is wrong."""
    local, at, domain = text.strip().rpartition("@")
    if not at:
        raise InvalidAddress("An email address must have an @-sign.")
    try:
        # The local part against a short stand-in domain, the domain on its own (cached:
        # lists repeat a few domains many times); together they are email-validator's check.
        local_part = validate_email(f"{local}@a.co", check_deliverability=False).local_part
        typed = f"{local_part}@{_ascii_domain(domain)}"
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None
    if len(typed) > MAX_LENGTH:
        raise AddressTooLong(f"The email address is longer than {MAX_LENGTH} characters.")
    return Address(typed, typed.lower())


def address_key(text: str) -> str:
    """The key of any text naming an address; text that is no valid address is lower-cased."""
    try:
        return parse(text).key
    except InvalidAddress:
        return text.strip().lower()


@lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str:
    result = validate_email(f"a@{domain}", check_deliverability=False)
    return (result.ascii_domain or result.domain).lower()
