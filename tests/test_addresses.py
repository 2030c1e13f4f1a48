"""One mailbox is one subscriber at every door, however its address is spelt (core.addresses)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from bulletin.bounces.classify import Classification
from bulletin.bounces.ingest import apply_classification
from bulletin.core import subscribers as operations
from bulletin.core.addresses import InvalidAddress, address_key, parse
from bulletin.core.suppressions import is_suppressed, suppress
from bulletin.editorial.testsend import parse_addresses
from bulletin.extensions import db
from bulletin.mail.pseudonyms import hash_address
from bulletin.models import OutboxMessage, Subscriber, SubscriberStatus
from bulletin.privacy.importer import ImportOptions, import_csv
from tests.conftest import csrf_token
from tests.test_subscriptions import form_data

TYPED, OTHER = "Rhys.Evans@Example.org", " rhys.evans@EXAMPLE.ORG "


def subscribers() -> list[Subscriber]:
    db.session.expire_all()
    return list(db.session.scalars(select(Subscriber).order_by(Subscriber.id)))


def mail_kinds() -> list[str]:
    return list(db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


@pytest.mark.parametrize(
    "spelling",
    [
        "rhys.evans@example.org",
        "RHYS.EVANS@EXAMPLE.ORG",
        " Rhys.Evans@example.org\t",
    ],
)
def test_spellings_of_one_mailbox_share_one_key(spelling):
    assert address_key(spelling) == address_key(TYPED) == "rhys.evans@example.org"
    assert address_key("rhys.evans@example.org") != address_key("rhys.evans@example.com")


def test_typed_form_keeps_the_local_part_and_the_key_is_stable():
    address = parse("ÉMILE@Exämple.org")
    assert address.typed == "ÉMILE@xn--exmple-cua.org"  # domain lower-case IDNA, local as typed
    assert address.key == "émile@xn--exmple-cua.org"
    assert address_key("émile@XN--EXMPLE-CUA.ORG") == address.key  # either form of the domain
    assert address_key(address.key) == address.key and parse(address.key).key == address.key
    with pytest.raises(InvalidAddress):
        parse("no-at-sign")
    assert address_key(" Not An Address ") == "not an address"


def test_the_database_refuses_a_second_spelling_and_fills_the_key_itself(app):
    db.session.add(Subscriber(email="Ann@example.org"))
    db.session.commit()
    db.session.add(Subscriber(email="ANN@example.org"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # A Core insert that names no key (as a bulk path might) still gets it from the model.
    db.session.execute(insert(Subscriber), [{"uid": "u1", "email": "Bob@example.org"}])
    assert db.session.scalar(select(Subscriber.email_key).filter_by(uid="u1")) == "bob@example.org"


def test_form_sign_up_in_two_spellings_is_one_subscriber(client):
    client.post("/subscribe", data=form_data(client, email=TYPED))
    [reader] = subscribers()
    assert operations.confirm(reader, ip=None)
    db.session.commit()
    again = client.post("/subscribe", data=form_data(client, email=OTHER, region="north-wales"))
    fresh = client.post("/subscribe", data=form_data(client, email="new@example.org"))
    # The same answer as for a new address: nothing tells a stranger the mailbox is known.
    assert (again.status_code, again.headers["Location"]) == (
        fresh.status_code,
        fresh.headers["Location"],
    )
    [reader, new] = subscribers()
    assert reader.email == "Rhys.Evans@example.org" and reader.region == "mid-wales"
    assert new.email == "new@example.org"
    assert mail_kinds() == ["confirm", "welcome", "already-subscribed", "confirm"]


def test_a_pending_sign_up_takes_the_spelling_typed_last(client):
    client.post("/subscribe", data=form_data(client, email=TYPED))
    client.post("/subscribe", data=form_data(client, email="rhys.evans@example.org"))
    [reader] = subscribers()
    assert reader.status == SubscriberStatus.PENDING
    assert reader.email == "rhys.evans@example.org"  # the confirmation goes where typed now
    assert mail_kinds() == ["confirm", "confirm"]


def test_manage_link_request_in_another_spelling_reaches_the_reader(client, make_subscriber):
    reader = make_subscriber(TYPED)
    page = client.get("/manage")
    client.post("/manage", data={"csrf_token": csrf_token(page.text), "email": OTHER.strip()})
    assert (
        db.session.scalar(select(OutboxMessage.subscriber_id).filter_by(kind="manage-link"))
        == reader.id
    )


@pytest.mark.parametrize("dry_run", [True, False])
def test_import_counts_one_mailbox_once_in_dry_run_and_real_run(app, make_subscriber, dry_run):
    make_subscriber("Known@example.org")
    text = (
        "email,consent date\n"
        f"{TYPED},2024-01-01\n"
        "rhys.evans@example.org,2024-01-02\n"
        "KNOWN@example.org,2024-01-01\n"
        "new@example.org,\n"
    )
    # A batch of one puts each spelling in its own batch: the check must see the database.
    for batch_size in (1000, 1):
        report = import_csv(
            io.BytesIO(text.encode()), ImportOptions(dry_run=dry_run, batch_size=batch_size)
        )
        counts = (report.rows, report.confirmed, report.pending, report.existing)
        if batch_size == 1000 or dry_run:
            assert counts == (4, 1, 1, 2)
        else:  # the first run wrote its rows: now all four are known
            assert counts == (4, 0, 0, 4)
    assert len(subscribers()) == (1 if dry_run else 3)


def test_a_provider_report_in_another_spelling_cleans_the_reader(app, make_subscriber):
    reader = make_subscriber(TYPED)
    report = Classification("hard", status="5.1.1", recipient="RHYS.EVANS@example.org")
    event = apply_classification(report, source="ses", vouched=True)
    assert event.action == "cleaned" and event.subscriber_id == reader.id
    assert reader.status == SubscriberStatus.CLEANED
    assert event.recipient_hash == hash_address(TYPED)
    assert is_suppressed("rhys.evans@example.org")


def test_a_5_1_1_reply_suppresses_every_spelling(app, make_subscriber):
    from bulletin.core.suppressions import Report, hard_bounce

    reader = make_subscriber(TYPED)
    hard_bounce(
        Report(
            subscriber=reader, address="rhys.evans@EXAMPLE.org", source="smtp-reply", status="5.1.1"
        )
    )
    db.session.commit()
    [reader] = subscribers()
    assert reader.status == SubscriberStatus.CLEANED
    assert is_suppressed(TYPED) and is_suppressed(OTHER)


def test_erasure_in_one_spelling_stops_every_spelling(app, make_subscriber, editor_client):
    reader = make_subscriber(TYPED)
    operations.erase(reader, source="test")
    db.session.commit()
    assert subscribers() == []
    assert is_suppressed(OTHER) and is_suppressed("RHYS.EVANS@EXAMPLE.ORG")
    report = import_csv(io.BytesIO(b"email\nrhys.evans@example.org\n"), ImportOptions())
    assert (report.suppressed, report.pending) == (1, 0)
    page = editor_client.get("/editor/subscribers")
    found = editor_client.post(
        "/editor/subscribers",
        data={"csrf_token": csrf_token(page.text), "email": "rhys.evans@example.org"},
    )
    assert found.status_code == 200 and "No subscriber has that address" in found.text
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_suppression_in_one_spelling_blocks_the_others(app):
    suppress("ÉMILE@Exämple.org", "manual", source="test")
    db.session.commit()
    for spelling in ("émile@exämple.org", "Émile@XN--EXMPLE-CUA.ORG", " ÉMILE@exämple.org "):
        assert is_suppressed(spelling), spelling
    assert not is_suppressed("emile@exämple.org")  # another mailbox: é is not e


def test_admin_search_finds_the_reader_by_any_spelling(app, make_subscriber, editor_client):
    reader = make_subscriber(TYPED)
    page = editor_client.get("/editor/subscribers")
    found = editor_client.post(
        "/editor/subscribers",
        data={"csrf_token": csrf_token(page.text), "email": "RHYS.EVANS@example.org"},
    )
    assert found.status_code == 303
    assert found.headers["Location"].endswith(f"/editor/subscribers/{reader.id}")


def test_test_send_to_two_spellings_of_one_mailbox_sends_once():
    assert parse_addresses(
        "A.Editor@Example.org, a.editor@example.org\nb@example.org", "x@example.org"
    ) == ["A.Editor@example.org", "b@example.org"]
