"""Amazon SNS messages: signature verification (versions 1 and 2) and subscription confirmation.

The canonical string and the checks follow the SNS developer guide ("Verifying the
signatures of Amazon SNS messages"): the signing certificate must come over HTTPS from
sns.<region>.amazonaws.com, and the signature covers a fixed list of fields per message type.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Flask

#: fetch(url) -> bytes: injectable (app.extensions["bulletin.http_get"]) so tests never go out.
HttpGet = Callable[[str], bytes]

SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                 "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
                                "TopicArn", "Type"),
}
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
MAX_CERT_BYTES = 64 * 1024


class SnsError(Exception):
    """A message we must refuse: unsigned, badly signed, or from somewhere we do not trust."""


def http_get(url: str) -> bytes:
    """GET a URL over HTTPS with a short timeout (the default fetcher)."""
    if not url.startswith("https://"):
        raise SnsError("only https URLs are fetched")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - https only
        return response.read(MAX_CERT_BYTES + 1)


def fetcher(app: Flask) -> HttpGet:
    """The app's HTTP getter: the injected one, else http_get."""
    return app.extensions.get("bulletin.http_get", http_get)


def check_sns_url(url: str | None) -> str:
    """The URL, if it is https on sns.<region>.amazonaws.com; SnsError otherwise."""
    parts = urlsplit(url or "")
    if parts.scheme != "https" or not SNS_HOST.match(parts.hostname or "") or parts.port:
        raise SnsError("the URL is not an https URL on an SNS host")
    return url


def canonical_string(message: dict) -> bytes:
    """The bytes SNS signed: name and value lines of the signed fields present, in order."""
    fields = SIGNED_FIELDS.get(message.get("Type", ""))
    if fields is None:
        raise SnsError("unknown SNS message type")
    lines = []
    for name in fields:
        value = message.get(name)
        if value is None:
            if name == "Subject":
                continue
            raise SnsError(f"the message has no {name}")
        lines += [name, str(value)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def verify_message(message: dict, app: Flask) -> None:
    """Check an SNS message's signature against its certificate; SnsError when it fails."""
    algorithm = HASHES.get(str(message.get("SignatureVersion", "")))
    if algorithm is None:
        raise SnsError("unsupported signature version")
    try:
        signature = base64.b64decode(message.get("Signature") or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SnsError("the signature is not base64") from exc
    key = _certificate(check_sns_url(message.get("SigningCertURL")), app).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsError("the signing certificate has no RSA key")
    try:
        key.verify(signature, canonical_string(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature as exc:
        raise SnsError("bad signature") from exc


def _certificate(url: str, app: Flask) -> x509.Certificate:
    cache: dict[str, x509.Certificate] = app.extensions.setdefault("bulletin.sns_certs", {})
    certificate = cache.get(url)
    if certificate is None:
        try:
            pem = fetcher(app)(url)
            if len(pem) > MAX_CERT_BYTES:
                raise SnsError("the certificate is too large")
            certificate = x509.load_pem_x509_certificate(pem)
        except SnsError:
            raise
        except Exception as exc:  # network or parse failure: refuse, SNS will retry
            raise SnsError("the signing certificate could not be fetched") from exc
        cache[url] = certificate
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SnsError("the signing certificate is not valid now")
    return certificate


def confirm_subscription(message: dict, app: Flask) -> None:
    """Confirm a (verified) subscription by fetching its SubscribeURL."""
    fetcher(app)(check_sns_url(message.get("SubscribeURL")))
