"""Proof-of-work challenges for sign-ups without a CSRF token (the ALTCHA protocol, v1).

We issue {algorithm, challenge, maxnumber, salt, signature}: the salt carries its expiry
(`<random>?expires=<unix time>`), the challenge is SHA-256(salt + N) for a secret random N
up to maxnumber, and the signature is HMAC-SHA256 of the challenge under a key derived from
SECRET_KEY. The browser tries numbers until the hash matches (about maxnumber/2 hashes) and
sends back base64(JSON) with the number it found; checking that costs us one hash and one
HMAC. A solved challenge is spent: stored until it expires and refused a second time.

Written here (about 80 lines) rather than taken from the `altcha` package: the protocol is
this small, and it keeps the key handling and the spent-challenge table in one place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bulletin.extensions import db
from bulletin.models import utcnow
from bulletin.models.challenge import SpentChallenge

ALGORITHM = "SHA-256"


class BadChallenge(Exception):
    """A solution that is missing, malformed, forged, wrong, expired or already used."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _keys() -> list[bytes]:
    # Newest key first (SECRET_KEYS order): sign with it, accept any (rotation).
    return [
        hashlib.sha256(b"bulletin-challenge:" + key.encode()).digest()
        for key in current_app.config["SECRET_KEYS"]
    ]


def _sign(challenge: str, key: bytes) -> str:
    return hmac.new(key, challenge.encode(), hashlib.sha256).hexdigest()


def _hash(salt: str, number: int) -> str:
    return hashlib.sha256(f"{salt}{number}".encode()).hexdigest()


def make_challenge(now: datetime | None = None) -> dict:
    """A fresh challenge for the browser to solve (JSON-ready, the ALTCHA fields)."""
    now = now or utcnow()
    maxnumber = current_app.config["EMBED_CHALLENGE_MAX_NUMBER"]
    expires = now + timedelta(minutes=current_app.config["EMBED_CHALLENGE_MINUTES"])
    salt = f"{secrets.token_hex(12)}?expires={int(expires.timestamp())}"
    challenge = _hash(salt, secrets.randbelow(maxnumber + 1))
    return {
        "algorithm": ALGORITHM,
        "challenge": challenge,
        "maxnumber": maxnumber,
        "salt": salt,
        "signature": _sign(challenge, _keys()[0]),
    }


def check_solution(payload: str | None, now: datetime | None = None) -> tuple[str, datetime]:
    """The challenge a solution answers and its expiry; BadChallenge unless it is sound.

    Checks the form, the signature, the expiry and the number; not whether it was used
    (spend_challenge does that, in the sign-up's transaction).
    """
    solution = _decode(payload)
    challenge, salt = solution["challenge"], solution["salt"]
    if not any(
        hmac.compare_digest(_sign(challenge, key), solution["signature"]) for key in _keys()
    ):
        raise BadChallenge("signature")
    expires = _expiry(salt)
    if expires <= (now or utcnow()):
        raise BadChallenge("expired")
    if not hmac.compare_digest(_hash(salt, solution["number"]), challenge):
        raise BadChallenge("number")
    return challenge, expires


def _decode(payload: str | None) -> dict:
    if not payload or len(payload) > 2000:
        raise BadChallenge("missing")
    try:
        solution = json.loads(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise BadChallenge("malformed") from exc
    fields = {"algorithm": str, "challenge": str, "number": int, "salt": str, "signature": str}
    if not isinstance(solution, dict) or any(
        type(solution.get(name)) is not kind for name, kind in fields.items()
    ):
        raise BadChallenge("malformed")
    if solution["algorithm"] != ALGORITHM or solution["number"] < 0:
        raise BadChallenge("malformed")
    return solution


def _expiry(salt: str) -> datetime:
    _, _, query = salt.partition("?")
    try:
        stamp = int(parse_qs(query)["expires"][0])
        return datetime.fromtimestamp(stamp, UTC)
    except (KeyError, ValueError, OverflowError, OSError) as exc:
        raise BadChallenge("malformed") from exc


def spend_challenge(challenge: str, expires: datetime) -> None:
    """Mark a checked challenge used; BadChallenge("replayed") if it already was.

    The primary key decides, so two requests racing with one solution cannot both pass:
    the second insert fails. Spent rows past their expiry are dropped on the way.
    """
    db.session.execute(delete(SpentChallenge).where(SpentChallenge.expires_at < utcnow()))
    if db.session.scalar(select(SpentChallenge.challenge).filter_by(challenge=challenge)):
        raise BadChallenge("replayed")
    savepoint = db.session.begin_nested()
    try:
        db.session.add(SpentChallenge(challenge=challenge, expires_at=expires))
        db.session.flush()
    except IntegrityError as exc:  # a racing request spent it first
        savepoint.rollback()
        raise BadChallenge("replayed") from exc
    savepoint.commit()


def solve(challenge: dict) -> str:
    """The payload a browser would send for `challenge` (what challenge.js does; for tests)."""
    for number in range(challenge["maxnumber"] + 1):
        if _hash(challenge["salt"], number) == challenge["challenge"]:
            fields = ("algorithm", "challenge", "salt", "signature")
            solved = {name: challenge[name] for name in fields} | {"number": number}
            return base64.b64encode(json.dumps(solved).encode()).decode()
    raise ValueError("no solution up to maxnumber")
