"""DKIM signing of finished messages (rsa-sha256, relaxed/relaxed): always the last step."""

from __future__ import annotations

import email.parser
from collections.abc import Callable

import dkim

from .settings import DeliverySettings

#: Headers signed when present (DKIM-02). Never trace fields (DKIM-03).
SIGNED = ("from", "to", "subject", "date", "message-id", "reply-to", "mime-version",
          "content-type", "content-language", "list-id", "list-help", "list-archive",
          "list-unsubscribe", "list-unsubscribe-post", "feedback-id", "precedence")
#: Signed once more than they occur, so a prepended duplicate breaks the signature (DKIM-04).
OVERSIGNED = ("from", "subject", "to", "list-unsubscribe", "list-unsubscribe-post")


def header_names(message: bytes) -> list[bytes]:
    """The h= list for a message: the SIGNED headers it has, plus the over-signed names."""
    head = message.split(b"\r\n\r\n", 1)[0]
    present = {name.lower() for name in
               email.parser.BytesHeaderParser().parsebytes(head + b"\r\n\r\n").keys()}
    names = [n for n in SIGNED if n in present]
    return [n.encode() for n in names + [n for n in OVERSIGNED if n in present]]


def make_signer(settings: DeliverySettings) -> Callable[[bytes], bytes] | None:
    """A function adding a DKIM-Signature header, or None when DKIM is not configured."""
    if not (settings.dkim_selector and settings.dkim_domain and settings.dkim_private_key_path):
        return None
    with open(settings.dkim_private_key_path, "rb") as handle:
        key = handle.read()
    selector, domain = settings.dkim_selector.encode(), settings.dkim_domain.encode()
    cache: dict[bytes, list[bytes]] = {}

    def sign(message: bytes) -> bytes:
        # Bulk messages of one template share their header names: parse them once.
        head = message[:message.find(b"\r\n\r\n")]
        shape = b"\n".join(line.split(b":", 1)[0] for line in head.split(b"\r\n")
                           if line[:1] not in (b" ", b"\t"))
        names = cache.get(shape) or cache.setdefault(shape, header_names(message))
        signature = dkim.sign(message, selector, domain, key, include_headers=names,
                              canonicalize=(b"relaxed", b"relaxed"), linesep=b"\r\n")
        return signature + message

    return sign
