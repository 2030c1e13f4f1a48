"""Amazon SNS messages: signature verification (versions 1 and 2) and subscription confirmation.

The canonical string and the checks follow the SNS developer guide ("Verifying the
signatures of Amazon SNS messages"): the signing certificate must come over HTTPS from
sns.<region>.amazonaws.com, and the signature covers a fixed list of fields per message type.
Nothing else is fetched: no other host, no redirect; the certificate must be issued to SNS,
and at most CERT_CACHE_SIZE certificates are kept.
"""

from __future__ import annotations

import base64
import binascii
import re
import ssl
import threading
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cachetools import LRUCache
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from flask import Flask

#: fetch(url) -> bytes: injectable (app.extensions["bulletin.http_get"]) so tests never go out.
HttpGet = Callable[[str], bytes]

#: An AWS region name (us-east-1, us-gov-west-1, cn-north-1, eusc-de-east-1). Letters first,
#: so an S3 bucket named "sns" (sns.s3.amazonaws.com, sns.s3-external-1.amazonaws.com) fails.
REGION = r"[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}"
SNS_HOST = re.compile(rf"sns\.{REGION}\.amazonaws\.com(?:\.cn)?")
#: Names SNS signs with (as the AWS SDK for Java's SnsHostProvider lists them): mostly
#: sns.amazonaws.com(.cn); sns-<region> and sns-signing.<region> in GovCloud, China and the
#: opt-in regions.
SIGNER_NAME = re.compile(rf"sns(?:-{REGION}|-signing\.{REGION})?\.amazonaws\.com(?:\.cn)?")
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
MAX_CERT_BYTES = 64 * 1024
#: Signing certificates kept per app; SNS uses a handful, so more would only be an attacker's.
CERT_CACHE_SIZE = 32
_CACHE_LOCK = threading.Lock()


class SnsError(Exception):
    """A message we must refuse: unsigned, badly signed, or from somewhere we do not trust."""


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """SNS answers these URLs itself: a redirect could lead anywhere, so it is refused."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        fp.close()
        raise SnsError(f"refused a redirect ({code}) away from an SNS URL")


def http_get(url: str, *, context: ssl.SSLContext | None = None) -> bytes:
    """GET a URL over verified HTTPS, no redirects, with a short timeout (the default fetcher).

    context: the TLS context (default: the system's authorities, host name checked)."""
    if not url.startswith("https://"):
        raise SnsError("only https URLs are fetched")
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context or ssl.create_default_context()),
        _RefuseRedirects(),
    )
    with opener.open(url, timeout=10) as response:
        return response.read(MAX_CERT_BYTES + 1)


def fetcher(app: Flask) -> HttpGet:
    """The app's HTTP getter: the injected one, else http_get."""
    return app.extensions.get("bulletin.http_get", http_get)


def check_sns_url(url: str | None) -> str:
    """The URL, if it is https on exactly sns.<region>.amazonaws.com; SnsError otherwise."""
    parts = urlsplit(url or "")
    # The whole authority must be the host: no user@, no :port (nor a bad one), no backslash.
    if (
        parts.scheme != "https"
        or parts.netloc != parts.hostname
        or not SNS_HOST.fullmatch(parts.netloc)
    ):
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
    cache = app.extensions.get("bulletin.sns_certs")
    if cache is None:
        cache = app.extensions.setdefault("bulletin.sns_certs", LRUCache(CERT_CACHE_SIZE))
    with _CACHE_LOCK:  # web servers answer several webhooks at once
        certificate = cache.get(url)  # a hit becomes the most recently used
    if certificate is None:
        certificate = _fetch_certificate(url, app)
        with _CACHE_LOCK:
            cache[url] = certificate  # the least recently used goes past CERT_CACHE_SIZE
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SnsError("the signing certificate is not valid now")
    return certificate


def _fetch_certificate(url: str, app: Flask) -> x509.Certificate:
    try:
        pem = fetcher(app)(url)
        if len(pem) > MAX_CERT_BYTES:
            raise SnsError("the certificate is too large")
        certificate = x509.load_pem_x509_certificate(pem)
    except SnsError:
        raise
    except Exception as exc:  # network or parse failure: refuse, SNS will retry
        raise SnsError("the signing certificate could not be fetched") from exc
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or not SIGNER_NAME.fullmatch(str(names[0].value)):
        raise SnsError("the signing certificate is not issued to SNS")
    return certificate


def confirm_subscription(message: dict, app: Flask) -> None:
    """Confirm a (verified) subscription by fetching its SubscribeURL."""
    fetcher(app)(check_sns_url(message.get("SubscribeURL")))
