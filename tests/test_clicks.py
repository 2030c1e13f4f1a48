"""Aggregate click counts, end to end: a send through a real SMTP server, its links
followed with the test client, counted per link and never per reader."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from bulletin.core.clicks import clicks_for_send
from bulletin.delivery.pipeline import finish_sends, start_due_sends
from bulletin.extensions import db
from bulletin.mail import tokens
from bulletin.models import ClickLink
from tests.support.delivery_helpers import configure, drain, make_send

BOOKING = "https://booking.example/book?id=7&x=1"
STUDY = "https://study.example/take-part"
NEWS_LINK = "https://news.example/report"
INTRO_LINK = "https://intro.example/welcome"
TARGETS = {BOOKING, STUDY, NEWS_LINK, INTRO_LINK}
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


@pytest.fixture
def sent(app, smtp_server, make_subscriber, make_workshop, make_opportunity, make_issue):
    """One send of an issue with a workshop, an opportunity and a news item, to three readers
    (two in English, one in Welsh); returns (send id, readers, received messages)."""

    def run(**config):
        settings = configure(app, smtp_server, **config)
        workshop = make_workshop(title_cy="Gweithdy", booking_url=BOOKING, summary_en="Come.")
        opportunity = make_opportunity(title_cy="Cyfle", url=STUDY)
        news = {
            "title_en": "Our report",
            "title_cy": "Ein hadroddiad",
            "body_en": f"Read [the report]({NEWS_LINK}) or <{NEWS_LINK}>. [Write](mailto:a@b.org)",
            "body_cy": f"Darllenwch [yr adroddiad]({NEWS_LINK}).",
        }
        issue = make_issue(
            subject_cy="Bwletin",
            intro_en=f"Hello, see [welcome]({INTRO_LINK}).",
            intro_cy=f"Helo, gweler [croeso]({INTRO_LINK}).",
            items=[news, workshop, opportunity],
        )
        readers = [make_subscriber(language=lang, topics=[]) for lang in ("en", "en", "cy")]
        send = make_send(issue)
        assert start_due_sends(settings) == [send.id]
        drain(app, settings)
        finish_sends()
        received = smtp_server.wait_for(3)
        return send.id, readers, received

    return run


def links_in(message) -> tuple[list[str], str]:
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    hrefs = [a["href"] for a in BeautifulSoup(html, "html.parser").find_all("a", href=True)]
    return hrefs, text


def counted_links(hrefs: list[str]) -> list[str]:
    return [h for h in hrefs if urlsplit(h).path.startswith("/r/")]


def token_of(url: str) -> str:
    return urlsplit(url).path.removeprefix("/r/")


def payload_of(token: str) -> object:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def row(link_id: int) -> ClickLink:
    db.session.expire_all()
    return db.session.get(ClickLink, link_id)


@pytest.mark.slow
def test_links_in_a_send_are_counted_per_link_never_per_reader(app, client, sent):
    send_id, readers, received = sent()
    by_reader = {r.rcpt_tos[0]: r.message for r in received}
    counted: dict[str, list[str]] = {}
    for reader in readers:
        hrefs, text = links_in(by_reader[reader.email])
        assert not TARGETS & set(hrefs), "an outgoing link went straight to its target"
        assert "mailto:a@b.org" in hrefs or reader.language == "cy"  # mailto: left alone
        mine = counted_links(hrefs)
        assert mine and all(url in text for url in mine)  # the text part carries them too
        for url in mine:
            token = token_of(url)
            assert payload_of(token) == [send_id, tokens.read_click_token(token)[1]]
            for secret in (reader.uid, reader.email, reader.email.split("@")[0]):
                assert secret not in url
            # Exactly (send, link): nothing else rides in the token.
            assert row(payload_of(token)[1]).send_id == send_id
        counted[reader.email] = mine
    english = [r for r in readers if r.language == "en"]
    # One render per language: both English readers got the very same links.
    assert counted[english[0].email] == counted[english[1].email]

    rows = db.session.scalars(select(ClickLink).where(ClickLink.send_id == send_id)).all()
    assert {r.target for r in rows} >= TARGETS
    booking_url = next(
        u
        for u in counted[english[0].email]
        if row(tokens.read_click_token(token_of(u))[1]).target == BOOKING
    )
    link_id = tokens.read_click_token(token_of(booking_url))[1]
    path = urlsplit(booking_url).path

    answer = client.get(path, headers={"User-Agent": BROWSER})
    assert answer.status_code == 302 and answer.headers["Location"] == BOOKING
    assert "Set-Cookie" not in answer.headers
    assert (row(link_id).clicks, row(link_id).scanner_hits) == (1, 0)

    assert client.head(path, headers={"User-Agent": BROWSER}).status_code == 302
    for prefetch in (
        {"Purpose": "prefetch"},
        {"Sec-Purpose": "prefetch;prerender"},
        {"X-Moz": "prefetch"},
    ):
        answer = client.get(path, headers={"User-Agent": BROWSER, **prefetch})
        assert answer.status_code == 302
    assert (row(link_id).clicks, row(link_id).scanner_hits) == (1, 0)

    for agent in ("Mozilla/5.0 (compatible; Googlebot/2.1)", "Barracuda Sentinel", ""):
        assert client.get(path, headers={"User-Agent": agent}).status_code == 302
    assert (row(link_id).clicks, row(link_id).scanner_hits) == (1, 3)

    # The editor's table: per item, in the order of the issue as readers saw it.
    items = clicks_for_send(send_id, "en")
    assert [i.item_kind for i in items] == ["intro", "workshop", "opportunity", "news"]
    assert items[1].clicks == 1 and items[1].scanner_hits == 3


def test_an_altered_or_foreign_token_is_a_404_not_a_redirect(app, client, make_issue):
    send = make_send(make_issue(subject_cy="Bwletin"))
    link = ClickLink(
        send_id=send.id, link_key="k", item_kind="intro", role="text", target=STUDY, item_order=0
    )
    db.session.add(link)
    db.session.commit()
    good = tokens.make_click_token(send.id, link.id)
    assert client.get(f"/r/{good}").headers["Location"] == STUDY
    payload, signature = good.split(".")
    other = base64.urlsafe_b64encode(json.dumps([send.id, link.id + 1]).encode()).rstrip(b"=")
    for bad in (
        f"{other.decode()}.{signature}",  # another link, the old signature
        f"{payload}.{signature[:-2]}xx",
        tokens.make_click_token(send.id + 1, link.id),  # signed, but names no link
        "nonsense",
    ):
        answer = client.get(f"/r/{bad}")
        assert answer.status_code == 404 and "Location" not in answer.headers
    app.config["CLICK_COUNTING"] = False  # links already sent still go, and count nothing
    assert client.get(f"/r/{good}").headers["Location"] == STUDY
    app.config["SECRET_KEYS"] = ["another-key"]
    assert client.get(f"/r/{good}").status_code == 404  # made with a key we do not hold
    assert row(link.id).clicks == 1


@pytest.mark.slow
def test_click_counting_off_leaves_direct_links(app, sent):
    send_id, readers, received = sent(CLICK_COUNTING=False)
    for message in (r.message for r in received):
        hrefs, text = links_in(message)
        assert not counted_links(hrefs) and "/r/" not in text
        assert STUDY in hrefs and INTRO_LINK in hrefs
    assert db.session.scalars(select(ClickLink)).all() == []


def test_a_link_still_works_after_retention_reduces_its_send(app, client, make_issue):
    from datetime import timedelta

    from bulletin.models import Delivery, SendStatus, utcnow
    from bulletin.privacy.retention import reduce_deliveries

    send = make_send(make_issue(subject_cy="Bwletin"), status=SendStatus.DONE)
    send.finished_at = utcnow() - timedelta(days=400)
    db.session.add(Delivery(send_id=send.id, subscriber_id=1, language="en", status="sent"))
    link = ClickLink(
        send_id=send.id,
        link_key="k",
        item_kind="intro",
        role="text",
        target=STUDY,
        item_order=0,
        clicks=7,
    )
    db.session.add(link)
    db.session.commit()
    assert reduce_deliveries(utcnow() - timedelta(days=365)) == (1, 1)
    db.session.commit()
    answer = client.get(
        f"/r/{tokens.make_click_token(send.id, link.id)}", headers={"User-Agent": BROWSER}
    )
    assert answer.headers["Location"] == STUDY
    assert row(link.id).clicks == 8


def table_snapshot() -> dict[str, list[tuple]]:
    return {
        t.name: sorted(db.session.execute(select(t)).all(), key=repr)
        for t in db.metadata.sorted_tables
    }


@pytest.mark.slow
def test_clicks_store_nothing_about_the_reader_anywhere(app, sent):
    from tests.test_privacy_erasure import find_traces

    send_id, readers, received = sent()
    reader = readers[0]
    hrefs, _text = links_in(next(r.message for r in received if r.rcpt_tos == [reader.email]))
    agent = "Mozilla/5.0 (Erin's-very-own-browser 9.9)"
    ip = "203.0.113.77"
    db.session.expire_all()
    before = table_snapshot()
    client = app.test_client()
    for url in counted_links(hrefs):
        answer = client.get(
            urlsplit(url).path,
            headers={"User-Agent": agent, "Cookie": f"uid={reader.uid}"},
            environ_base={"REMOTE_ADDR": ip},
        )
        assert answer.status_code == 302
    db.session.expire_all()
    after = table_snapshot()
    # Only click_link changed, and only its counts: no row was added anywhere.
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"click_link"}
    assert len(before["click_link"]) == len(after["click_link"])
    # Nothing of the request (address, agent) was written to any column of any table...
    assert find_traces([agent, ip, "Erin's-very-own-browser"]) == []
    # ...and no column of the click table holds anything of any reader.
    needles = [v for r in readers for v in (r.uid, r.email, r.email.split("@")[0])]
    assert [t for t in find_traces(needles) if t.startswith("click_link.")] == []
    columns = ClickLink.__table__.columns
    assert not {fk.column.table.name for c in columns for fk in c.foreign_keys} & {
        "subscriber",
        "delivery",
    }
    assert set(c.name for c in columns) == {
        "id",
        "send_id",
        "link_key",
        "item_order",
        "item_kind",
        "item_id",
        "issue_item_id",
        "role",
        "target",
        "clicks",
        "scanner_hits",
        "created_at",
    }


def test_the_privacy_notice_says_what_is_counted_in_both_languages(app, client):
    english = client.get("/privacy?lang=en").text
    assert "nothing about who followed it is stored" in english
    assert "no tracking pixel" in english
    welsh = client.get("/privacy?lang=cy").text
    assert "ni chedwir dim am bwy a'i dilynodd" in welsh.replace("&#39;", "'")
    assert "Nid oes picsel tracio" in welsh
    app.config["CLICK_COUNTING"] = False
    assert "go straight to the pages they name" in client.get("/privacy?lang=en").text
