"""E-mail address extraction from reports (an address's identity is core.addresses')."""

from __future__ import annotations

import re

ADDRESS_RE = re.compile(
    r"(?<![\w.+=/-])([\w.!#$%&'*+/=?^`{|}~-]{1,64}@(?:[\w-]{1,63}\.)+[A-Za-z]{2,24})(?![\w-])"
)
DAEMON_RE = re.compile(
    r"^(?:mailer-daemon|mail-daemon|maildaemon|mailerdaemon|post_?master|mdaemon"
    r"|mail-delivery-system|mail-delivery-subsystem)$",
    re.IGNORECASE,
)


def normalise(address: str | None) -> str | None:
    """Strip brackets and quotes and lower-case the domain of an address (None if invalid)."""
    if not address:
        return None
    found = ADDRESS_RE.search(address.replace("\\@", "@"))
    if found is None:
        return None
    local, _, domain = found.group(1).rpartition("@")
    local = local.strip(".'\"")
    return f"{local}@{domain.lower().strip('.')}" if local else None


def find_addresses(text: str) -> list[str]:
    """Return every address found in ``text``, normalised, in order of appearance."""
    found = (normalise(m.group(1)) for m in ADDRESS_RE.finditer(text or ""))
    return [a for a in found if a]


def is_daemon(address: str | None) -> bool:
    """Tell whether an address is a mailer-daemon/postmaster style system address."""
    if not address:
        return False
    return bool(DAEMON_RE.match(address.rpartition("@")[0]))


def field_address(value: str | None) -> str | None:
    """Extract the address from a DSN field value such as ``rfc822; <user@example.org>``."""
    if not value:
        return None
    _, sep, rest = value.partition(";")
    return normalise(rest if sep else value)
