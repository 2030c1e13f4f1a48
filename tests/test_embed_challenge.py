"""The proof-of-work challenge of /subscribe/external (core/challenges.py): what it refuses."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bulletin.core.challenges import (
    BadChallenge,
    check_solution,
    make_challenge,
    solve,
    spend_challenge,
)
from bulletin.extensions import db
from bulletin.models import utcnow
from bulletin.models.challenge import SpentChallenge


def _edit(payload: str, **changes) -> str:
    solution = json.loads(base64.b64decode(payload)) | changes
    return base64.b64encode(json.dumps(solution).encode()).decode()


def _reason(payload, **kwargs) -> str:
    with pytest.raises(BadChallenge) as caught:
        check_solution(payload, **kwargs)
    return caught.value.reason


def test_a_solved_challenge_is_accepted_once(app):
    challenge = make_challenge()
    assert challenge["algorithm"] == "SHA-256" and "?expires=" in challenge["salt"]
    payload = solve(challenge)
    spend_challenge(*check_solution(payload))
    db.session.commit()
    # Still sound, but spent: a second use is a replay.
    with pytest.raises(BadChallenge) as caught:
        spend_challenge(*check_solution(payload))
    assert caught.value.reason == "replayed"
    assert db.session.scalar(select(func.count()).select_from(SpentChallenge)) == 1


def test_a_forged_signature_is_refused(app):
    payload = solve(make_challenge())
    assert _reason(_edit(payload, signature="0" * 64)) == "signature"


def test_a_challenge_signed_with_another_key_is_refused(app, make_app):
    payload = solve(make_challenge())
    other = make_app(SECRET_KEYS=["another-secret-key-entirely"])
    with other.app_context():
        assert _reason(payload) == "signature"


def test_a_rotated_key_still_verifies_challenges_it_signed(app, make_app):
    payload = solve(make_challenge())
    rotated = make_app(SECRET_KEYS=["the-new-key-for-rotation", "test-secret-key"])
    with rotated.app_context():
        assert check_solution(payload)[0]


def test_an_expired_challenge_is_refused(app):
    payload = solve(make_challenge())
    later = utcnow() + timedelta(minutes=app.config["EMBED_CHALLENGE_MINUTES"], seconds=1)
    assert _reason(payload, now=later) == "expired"


def test_a_wrong_number_is_refused(app):
    payload = solve(make_challenge())
    number = json.loads(base64.b64decode(payload))["number"]
    assert _reason(_edit(payload, number=number + 1)) == "number"


def test_a_salt_with_a_later_expiry_breaks_the_hash(app):
    # The expiry sits in the salt, which the challenge hashes: pushing it back is detected.
    payload = solve(make_challenge())
    salt = json.loads(base64.b64decode(payload))["salt"]
    later = salt.split("?")[0] + "?expires=99999999999"
    assert _reason(_edit(payload, salt=later)) == "number"


@pytest.mark.parametrize(
    "payload",
    [None, "", "not base64!", base64.b64encode(b"[1, 2]").decode(), "x" * 3000],
)
def test_malformed_payloads_are_refused(app, payload):
    assert _reason(payload) in ("missing", "malformed")


def test_another_algorithm_or_a_string_number_is_refused(app):
    payload = solve(make_challenge())
    assert _reason(_edit(payload, algorithm="SHA-1")) == "malformed"
    assert _reason(_edit(payload, number="7")) == "malformed"


def test_spent_challenges_are_dropped_once_expired(app):
    old = SpentChallenge(challenge="a" * 64, expires_at=utcnow() - timedelta(seconds=1))
    db.session.add(old)
    db.session.commit()
    spend_challenge(*check_solution(solve(make_challenge())))
    db.session.commit()
    kept = db.session.scalars(select(SpentChallenge.challenge)).all()
    assert "a" * 64 not in kept and len(kept) == 1
