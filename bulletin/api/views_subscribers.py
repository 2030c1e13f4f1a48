"""Subscribers: start a sign-up, look one up by address, change preferences, erase.

Every change runs the rule the public pages run (core/subscribers.py): the double opt-in
of the sign-up form, the manage page's preferences and its erasure. Only tokens acting as
an admin hold the subscriber scopes (core/api_tokens.py).
"""

from __future__ import annotations

from dataclasses import replace

from flask import request

from bulletin.api.serialize import timestamp
from bulletin.api.validation import ApiError, check_rules, invalid
from bulletin.api.views import get_or_404, operation
from bulletin.core import consent
from bulletin.core import subscribers as operations
from bulletin.core.audit import record_audit
from bulletin.core.fields import SUBSCRIBER, Problem, normalise_email, problem_with
from bulletin.core.topics import active_topics
from bulletin.extensions import db
from bulletin.models import Subscriber, utcnow
from bulletin.privacy.rows import RowError, parse_consent_date

#: The consent trail's source for changes made through the API.
SOURCE = "api"

EMAIL_QUERY = (
    {
        "name": "email",
        "in": "query",
        "required": True,
        "description": "The address, matched however it is spelt (case of the local part, "
        "spaces around it, Unicode domains).",
        "schema": {"type": "string", "minLength": 1, "maxLength": 320},
    },
)


def subscriber_json(subscriber: Subscriber) -> dict:
    return {
        "id": subscriber.id,
        "email": subscriber.email,
        "status": str(subscriber.status),
        "language": subscriber.language,
        "region": subscriber.region,
        "topics": [t.slug for t in subscriber.topics],
        "created_at": timestamp(subscriber.created_at),
        "confirmed_at": timestamp(subscriber.confirmed_at),
        "unsubscribed_at": timestamp(subscriber.unsubscribed_at),
        "updated_at": timestamp(subscriber.updated_at),
    }


def _check_topics(slugs: list[str]) -> list[str]:
    """The manage page's topic rule: at least one, each an active topic."""
    rule = replace(SUBSCRIBER["topics"], choices=tuple(t.slug for t in active_topics()))
    problem = problem_with(rule, slugs)
    if problem is Problem.UNKNOWN_CHOICE:
        unknown = next(slug for slug in slugs if slug not in rule.choices)
        raise invalid("topics", f"Unknown or inactive topic: {unknown}. See GET /topics.")
    if problem is not None:
        raise invalid("topics", rule.describe(problem))
    return list(slugs)


def _evidence(given: dict) -> operations.Evidence:
    try:
        given_at = parse_consent_date(given["date"], utcnow())
    except RowError as exc:
        raise invalid("consent.date", str(exc)) from None
    if not consent.is_known_version(given["wording_version"]):
        raise invalid(
            "consent.wording_version",
            f"No consent wording {given['wording_version']!r} is stored; "
            f"the current one is {consent.VERSION!r}.",
        )
    return operations.Evidence(given_at, given["source"].strip(), given["wording_version"])


@operation(
    "/subscribers",
    "POST",
    "startSubscription",
    "Start a sign-up exactly as the public form does: a confirmation mail goes to the "
    "address, and the answer is the same whether or not it is known. With `consent` "
    "evidence: add a confirmed subscriber at once (201).",
    "subscribers",
    body="SubscriberCreate",
    status=202,
    returns="SubscriptionStarted",
    also=((201, "Added as confirmed, on the consent evidence given.", "Subscriber"),),
    errors=(409,),
)
def start_subscription(body: dict):
    check_rules(SUBSCRIBER, {k: body.get(k) for k in ("email", "name")})
    choices = operations.Choices(
        topics=_check_topics(body["topics"]),
        region=body["region"],
        language=body["language"],
        name=(body.get("name") or "").strip(),
    )
    email = normalise_email(body["email"])
    if "consent" in body:
        evidence = _evidence(body["consent"])
        try:
            subscriber = operations.add_with_consent(
                email, choices, evidence, source=SOURCE, ip=request.remote_addr
            )
        except operations.NotAdded as refused:
            if refused.reason == "exists":
                raise ApiError(409, "This address is already a subscriber.") from None
            raise ApiError(
                409,
                "This address is on the suppression list (it unsubscribed, bounced, complained "
                "or was erased): only the person can sign up again, without `consent`.",
            ) from None
        record_audit(
            "subscriber.api_add",
            subscriber,
            detail={"consent_source": evidence.source, "wording_version": evidence.wording_version},
        )
        db.session.commit()
        return subscriber_json(subscriber), 201
    operations.subscribe(email, choices, source=SOURCE, ip=request.remote_addr)
    record_audit("subscriber.api_signup")  # never the address: the log must not enumerate
    db.session.commit()
    return {"detail": "If the address can receive mail, a confirmation message is on its way."}, 202


@operation(
    "/subscribers",
    "GET",
    "findSubscriber",
    "The subscriber with this address (exact match, however it is spelt).",
    "subscribers",
    returns="Subscriber",
    query=EMAIL_QUERY,
    errors=(404,),
)
def find_subscriber(query: dict):
    if not query["email"]:
        raise invalid("email", "Give the address: ?email=name@example.org")
    subscriber = operations.find_by_email(query["email"])
    if subscriber is None:
        raise ApiError(404, "No subscriber has this address.")
    return subscriber_json(subscriber)


@operation(
    "/subscribers/<int:subscriber_id>",
    "PATCH",
    "updateSubscriber",
    "Change a subscriber's topics, region or language, by the manage page's rules.",
    "subscribers",
    body="SubscriberUpdate",
    returns="Subscriber",
)
def update_subscriber(subscriber_id: int, body: dict):
    subscriber = get_or_404(Subscriber, subscriber_id)
    current = [t.slug for t in subscriber.topics]
    choices = operations.Choices(
        topics=_check_topics(body["topics"]) if "topics" in body else current,
        region=body.get("region", subscriber.region),
        language=body.get("language", subscriber.language),
        name=subscriber.name,
    )
    operations.update_preferences(subscriber, choices, ip=request.remote_addr, source=SOURCE)
    record_audit("subscriber.api_update", subscriber, detail={"fields": sorted(body)})
    db.session.commit()
    return subscriber_json(subscriber)


@operation(
    "/subscribers/<int:subscriber_id>",
    "DELETE",
    "eraseSubscriber",
    "Erase a subscriber as the manage page's erase does: only a hashed suppression entry "
    "and an address-free consent trail stay.",
    "subscribers",
    status=204,
)
def erase_subscriber(subscriber_id: int):
    subscriber = get_or_404(Subscriber, subscriber_id)
    record_audit("subscriber.api_erase", subscriber)
    operations.erase(subscriber, source=SOURCE, ip=request.remote_addr)
    db.session.commit()
    return "", 204


#: This module's operations, in the order of the OpenAPI document.
OPERATIONS = (start_subscription, find_subscriber, update_subscriber, erase_subscriber)
