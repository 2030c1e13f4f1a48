"""DKIM signing of finished messages (rsa-sha256, relaxed/relaxed): always the last step.

Our own signer rather than dkimpy's: dkimpy re-parses the PEM key and canonicalises in
pure Python on every call (about 9 ms a message). Here the key is loaded once, the body
is canonicalised with two C-level regex passes, and RSA runs in OpenSSL. Tests verify
every signature with dkimpy (STANDARDS DKIM-08)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class DkimSettings(Protocol):
    """The settings DKIM needs (DeliverySettings has them)."""

    dkim_selector: str | None
    dkim_domain: str | None
    dkim_private_key_path: str | None


#: Headers signed when present (DKIM-02). Never trace fields (DKIM-03).
SIGNED = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "mime-version",
    "content-type",
    "content-language",
    "list-id",
    "list-help",
    "list-archive",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "feedback-id",
    "precedence",
    "auto-submitted",
)
#: Signed once more than they occur, so a prepended duplicate breaks the signature (DKIM-04).
OVERSIGNED = ("from", "subject", "to", "list-unsubscribe", "list-unsubscribe-post")

_WSP_RUN = re.compile(rb"[ \t]+")
_WSP_EOL = re.compile(rb" \r\n")
_FWS = re.compile(rb"[ \t\r\n]+")
_HEADER_START = re.compile(rb"^(?=[^ \t])", re.MULTILINE)


def canonical_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4 relaxed body: runs of WSP to one space, none at line ends, no trailing
    empty lines, and a final CRLF when anything is left."""
    body = _WSP_EOL.sub(b"\r\n", _WSP_RUN.sub(b" ", body))
    body = body.rstrip(b"\r\n")
    return body + b"\r\n" if body else b""


def canonical_header(name: bytes, value: bytes) -> bytes:
    """RFC 6376 3.4.2 relaxed header: lower-case name, unfolded value, WSP collapsed."""
    return name.strip().lower() + b":" + _FWS.sub(b" ", value).strip()


def split_headers(head: bytes) -> list[tuple[bytes, bytes]]:
    """(name, raw value) for each header field of a CRLF header block, folding kept."""
    fields = []
    for chunk in _HEADER_START.split(head):
        if chunk.strip():
            name, _, value = chunk.partition(b":")
            fields.append((name, value))
    return fields


def select_headers(fields: list[tuple[bytes, bytes]], names: list[bytes]) -> list[bytes]:
    """Canonical headers in h= order; repeated names take instances from the bottom up."""
    by_name: dict[bytes, list[tuple[bytes, bytes]]] = {}
    for field in fields:
        by_name.setdefault(field[0].strip().lower(), []).append(field)
    used: dict[bytes, int] = {}
    chosen = []
    for name in names:
        instances = by_name.get(name, [])
        seen = used.get(name, 0)
        if seen < len(instances):
            field = instances[len(instances) - 1 - seen]
            chosen.append(canonical_header(*field) + b"\r\n")
        used[name] = seen + 1
    return chosen


def header_names(fields: list[tuple[bytes, bytes]]) -> list[bytes]:
    """The h= list for a message: the SIGNED headers it has, plus the over-signed names."""
    present = {f[0].strip().lower().decode("ascii", "replace") for f in fields}
    names = [n for n in SIGNED if n in present]
    return [n.encode() for n in names + [n for n in OVERSIGNED if n in present]]


class Signer:
    """Signs messages with one key; everything that doesn't change per message is cached."""

    def __init__(self, key_pem: bytes, selector: str, domain: str):
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 1024:
            raise ValueError("DKIM needs an RSA private key of at least 1024 bits (2048 advised)")
        self.key, self.selector, self.domain = key, selector, domain

    def __call__(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header prepended."""
        split = message.find(b"\r\n\r\n")
        head, body = message[: split + 2], message[split + 4 :]
        fields = split_headers(head)
        names = header_names(fields)
        body_hash = base64.b64encode(hashlib.sha256(canonical_body(body)).digest()).decode()
        tags = (
            f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={self.domain}; s={self.selector};\r\n"
            f"\tt={int(time.time())}; h={b':'.join(names).decode()};\r\n"
            f"\tbh={body_hash};\r\n\tb="
        )
        signed = b"".join(select_headers(fields, names))
        signed += canonical_header(b"DKIM-Signature", tags.encode())
        signature = base64.b64encode(
            self.key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
        ).decode()
        folded = "\r\n\t".join(signature[i : i + 72] for i in range(0, len(signature), 72))
        return f"DKIM-Signature: {tags}{folded}\r\n".encode() + message


def make_signer(settings: DkimSettings) -> Callable[[bytes], bytes] | None:
    """The one signer of every message we send (issues, test sends, transactional mail), or
    None when DKIM is not configured. Cached per key file, which is read again when it changes
    (so the outbox picks up a key replaced in place)."""
    path = settings.dkim_private_key_path
    if not (settings.dkim_selector and settings.dkim_domain and path):
        return None
    return _signer(path, settings.dkim_selector, settings.dkim_domain, os.stat(path).st_mtime_ns)


@lru_cache(maxsize=4)
def _signer(path: str, selector: str, domain: str, _mtime_ns: int) -> Signer:
    with open(path, "rb") as handle:
        return Signer(handle.read(), selector, domain)
