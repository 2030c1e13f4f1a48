"""Both languages in one email (issue 15): a reader may choose "Cymraeg and English" and gets
one mail with the Welsh first and the English after; sends to Welsh or to English readers
reach them, once."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import func, select

from bulletin.delivery.pipeline import finish_sends, start_due_sends
from bulletin.extensions import db
from bulletin.i18n import BOTH, READER_CHOICES, content_language, language_of, languages_of
from bulletin.mail import merge, outbox
from bulletin.mail.rendering import SUBJECT_MAX, TEXT_SEPARATOR, bilingual_subject
from bulletin.models import Delivery, Issue, IssueItem, Subscriber, SubscriberStatus, utcnow
from tests.conftest import csrf_token
from tests.support.delivery_helpers import configure, drain, make_send
from tests.support.mailtools import html_part, text_part
from tests.support.worker import run_worker_once

BOTH_LABEL = "Cymraeg a Saesneg / Welsh and English"


def test_one_definition_of_the_codes():
    assert READER_CHOICES == ("cy", "en", BOTH) and BOTH == "cy+en"
    assert [str(lang) for lang in languages_of(BOTH)] == ["cy", "en"]
    assert language_of(BOTH) == "cy"  # Welsh first: the document's language
    assert content_language(BOTH) == "cy, en-GB" and content_language("en") == "en-GB"
    assert Subscriber.__table__.c.language.type.length == len(BOTH)
    assert Delivery.__table__.c.language.type.length == len(BOTH)


def test_bilingual_subject_has_both_and_stays_short():
    assert bilingual_subject("Bwletin", "Bulletin") == "Bwletin | Bulletin"
    assert bilingual_subject("Same", "Same") == "Same"
    long_cy = "Bwletin ymchwil " + "BULLETIN-FIELD-0000 " + "geiriau hir " * 10
    long_en = "Research bulletin " + "BULLETIN-FIELD-0001 " + "long words " * 10
    subject = bilingual_subject(long_cy.strip(), long_en.strip())
    assert len(subject) <= SUBJECT_MAX
    welsh, english = subject.split(" | ")
    assert welsh.startswith("Bwletin ymchwil") and english.startswith("Research bulletin")
    # A cut at a word never splits a merge field's marker.
    assert "BULLETIN-FIELD-0000" in welsh and "BULLETIN-FIELD-0001" in english
    assert all(len(m) == 4 for m in re.findall(r"BULLETIN-FIELD-(\d*)", subject))


# --- signing up ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_sign_up_choosing_both_in_either_page_language(client, lang):
    page = client.get(f"/subscribe?lang={lang}")
    assert page.status_code == 200
    assert f'value="{BOTH}"' in page.text and BOTH_LABEL in page.text
    response = client.post(
        "/subscribe",
        data={
            "csrf_token": csrf_token(page.text),
            "email": f"both-{lang}@example.org",
            "topics": ["workshops"],
            "region": "mid-wales",
            "language": BOTH,
            "consent": "y",
        },
    )
    assert response.status_code == 303
    subscriber = db.session.scalar(select(Subscriber))
    assert subscriber.language == BOTH


def test_an_unknown_language_is_refused(client):
    page = client.get("/subscribe?lang=en")
    response = client.post(
        "/subscribe",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "x@example.org",
            "topics": ["workshops"],
            "region": "mid-wales",
            "language": "en+fr",
            "consent": "y",
        },
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Subscriber.id))) == 0


def test_confirmation_mail_for_both_is_welsh_then_english(app, smtp_server, make_subscriber):
    configure(app, smtp_server)
    reader = make_subscriber("both@example.org", status=SubscriberStatus.PENDING, language=BOTH)
    outbox.enqueue(reader, "confirm")
    db.session.commit()
    run_worker_once(app)
    [received] = smtp_server.wait_for(1)
    message = received.message
    welsh_subject, english_subject = message["Subject"].split(" | ")
    assert welsh_subject.startswith("Cadarnhewch eich tanysgrifiad")
    assert english_subject.startswith("Confirm your subscription")
    assert len(message["Subject"]) <= SUBJECT_MAX
    assert message["Content-Language"] == "cy, en-GB"
    html, text = html_part(message), text_part(message)
    assert '<html lang="cy"' in html
    assert html.index('lang="cy" id="cymraeg"') < html.index('lang="en-GB" id="english"')
    assert html.index("Cadarnhau fy nhanysgrifiad") < html.index("Confirm my subscription")
    assert text.index("Read in English") < text.index("Cadarnhau fy nhanysgrifiad")
    assert text.index("Cadarnhau fy") < text.index(TEXT_SEPARATOR) < text.index("Confirm my")
    # Both halves carry the same working confirmation link.
    assert len(set(re.findall(r"https?://\S+/confirm/[\w.\-]+", text))) == 1
    assert len(re.findall(r"https?://\S+/confirm/[\w.\-]+", text)) == 2


# --- a real send --------------------------------------------------------------------------


def _issue() -> Issue:
    issue = Issue(
        slug=f"both-{utcnow().timestamp()}",
        subject_en="Hello {{ first_name | default('there') }}: news for {{ region }}",
        subject_cy="Helo {{ first_name | default('gyfaill') }}: newyddion i {{ region }}",
        intro_en="You follow {{ topics }}.",
        intro_cy="Rydych yn dilyn {{ topics }}.",
    )
    issue.items.append(
        IssueItem(
            section="news",
            kind="news",
            title_en="Panel news",
            body_en="Read [the panel page](https://example.org/panel-en).",
            title_cy="Newyddion y panel",
            body_cy="Darllenwch [dudalen y panel](https://example.org/panel-cy).",
        )
    )
    db.session.add(issue)
    db.session.commit()
    return issue


@pytest.fixture
def three_readers(make_subscriber):
    return {
        "cy": make_subscriber("cy@example.org", language="cy", name="Bryn", region="mid-wales"),
        "en": make_subscriber("en@example.org", language="en", name="Ann", region="north-wales"),
        BOTH: make_subscriber(
            "both@example.org",
            language=BOTH,
            name="Eira Jones",
            region="north-wales",
            topics=["workshops", "news"],
        ),
    }


def _run(app, settings, send) -> None:
    assert send.id in start_due_sends(settings)
    drain(app, settings)
    assert finish_sends() == [send.id]


def test_a_send_to_cy_en_and_both_readers(app, smtp_server, three_readers):
    settings = configure(app, smtp_server, BOUNCE_DOMAIN="bounces.example.org")
    send = make_send(_issue())
    _run(app, settings, send)
    assert len(smtp_server.received) == 3
    welsh = smtp_server.to("cy@example.org")[0].message
    english = smtp_server.to("en@example.org")[0].message
    both = smtp_server.to("both@example.org")[0].message

    assert welsh["Subject"] == "Helo Bryn: newyddion i Canolbarth Cymru"
    assert english["Subject"] == "Hello Ann: news for North Wales"
    assert "Read in English" not in html_part(welsh) + html_part(english)

    # The subject carries both, each half filled in its own language.
    assert (
        both["Subject"] == "Helo Eira: newyddion i Gogledd Cymru | Hello Eira: news for North Wales"
    )
    assert both["Content-Language"] == "cy, en-GB"
    assert both["List-Unsubscribe"] and "One-Click" in both["List-Unsubscribe-Post"]
    assert "unsubscribe" in both["List-Unsubscribe"]
    html, text = html_part(both), text_part(both)
    assert '<html lang="cy"' in html
    cy_at, en_at = (
        html.index('<div lang="cy" id="cymraeg"'),
        html.index('<div lang="en-GB" id="english"'),
    )
    assert cy_at < en_at
    # The links between the halves, each written in the language it leads to.
    assert re.search(
        r'<a href="#english" lang="en-GB"[^>]*>Read in English \N{DOWNWARDS ARROW}</a>', html
    )
    assert re.search(
        r'<a href="#cymraeg" lang="cy"[^>]*>Darllen yn Gymraeg \N{UPWARDS ARROW}</a>', html
    )
    assert cy_at < html.index('href="#english"') < en_at < html.index('href="#cymraeg"')
    # Merge fields in both halves: topics joined and named in each language.
    welsh_half, english_half = html[cy_at:en_at], html[en_at:]
    assert "Rydych yn dilyn Gweithdai a digwyddiadau a Newyddion." in welsh_half
    assert "You follow Workshops and events and News." in english_half
    assert "Newyddion y panel" in welsh_half and "Panel news" in english_half
    # Counted links in both halves, no reader in them.
    assert "example.org/panel-cy" not in html and "example.org/panel-en" not in html
    assert "/r/" in welsh_half and "/r/" in english_half
    # Personal links in both halves.
    assert welsh_half.count("/unsubscribe/") == 1 and english_half.count("/unsubscribe/") == 1
    # The text part: Welsh, a separator line, English.
    assert text.index("Rydych yn dilyn Gweithdai") < text.index(TEXT_SEPARATOR)
    assert text.index(TEXT_SEPARATOR) < text.index("You follow Workshops and events and News.")
    assert text.index("Darllen yn Gymraeg") > text.index(TEXT_SEPARATOR)
    whole = both.as_string() + html + text
    assert "{{" not in whole and merge.MARKER_PREFIX not in whole
    # What was sent is recorded as sent.
    languages = dict(
        db.session.execute(
            select(Delivery.subscriber_id, Delivery.language).where(Delivery.send_id == send.id)
        ).all()
    )
    assert languages[three_readers[BOTH].id] == BOTH
    assert languages[three_readers["cy"].id] == "cy"


@pytest.mark.parametrize("language", ["cy", "en"])
def test_a_send_to_one_language_reaches_both_readers_once(
    app, smtp_server, three_readers, language
):
    settings = configure(app, smtp_server)
    audience = json.dumps({"topics": [], "regions": [], "languages": [language]})
    _run(app, settings, make_send(_issue(), audience=audience))
    got = sorted(r.rcpt_tos[0] for r in smtp_server.received)
    assert got == sorted([f"{language}@example.org", "both@example.org"])
    assert len(smtp_server.to("both@example.org")) == 1
    both = smtp_server.to("both@example.org")[0].message
    assert " | " in both["Subject"]


def test_a_both_reader_of_an_issue_in_one_language_gets_that_language(
    app, smtp_server, make_subscriber
):
    settings = configure(app, smtp_server)
    make_subscriber("both@example.org", language=BOTH)
    issue = Issue(slug="only-en", subject_en="English only", intro_en="Hello.")
    db.session.add(issue)
    db.session.commit()
    _run(app, settings, make_send(issue))
    [received] = smtp_server.wait_for(1)
    assert received.message["Subject"] == "English only"
    assert received.message["Content-Language"] == "en-GB"


# --- the editor pages and the import ------------------------------------------------------


def test_audience_step_counts_each_choice(editor_client, make_subscriber):
    for i in range(6):
        make_subscriber(f"b{i}@example.org", language=BOTH)
    make_subscriber("c@example.org", language="cy")
    issue = make_send(_issue()).issue
    page = editor_client.get("/editor/sends/new?lang=en")
    data = {
        "csrf_token": csrf_token(page.text),
        "issue": str(issue.id),
        "when": "now",
        "languages": ["en"],
    }
    counted = editor_client.post("/editor/sends/new", data=data)
    assert counted.status_code == 200
    assert "This send reaches 6 people." in counted.text  # the both readers, not the Welsh one
    assert f"<li>{BOTH_LABEL}: 6</li>" in counted.text
    assert "<li>English: 0</li>" in counted.text and "<li>Cymraeg: 0</li>" in counted.text
    data["languages"] = []
    counted = editor_client.post("/editor/sends/new?lang=cy", data=data)
    assert "<li>Cymraeg: fewer than 5</li>" in counted.text or "llai na 5" in counted.text


def test_subscriber_list_filters_and_names_the_choice(editor_client, make_subscriber):
    make_subscriber("both@example.org", language=BOTH)
    make_subscriber("cy@example.org", language="cy")
    page = editor_client.get("/editor/subscribers/list?language=cy%2Ben&lang=en")
    assert page.status_code == 200
    assert "both@example.org" in page.text and "cy@example.org" not in page.text
    assert BOTH_LABEL in page.text


def test_csv_import_reads_both(app):
    from bulletin.privacy.importer import ImportOptions, import_csv

    text = (
        "Email,Topics,Region,Language,Consent date,Consent source\n"
        "a@example.org,workshops,Gogledd Cymru,cy+en,01/04/2024,paper form\n"
        "b@example.org,workshops,Gogledd Cymru,Dwyieithog,01/04/2024,paper form\n"
        "c@example.org,workshops,Gogledd Cymru,Both,01/04/2024,paper form\n"
        "d@example.org,workshops,Gogledd Cymru,cy and en,01/04/2024,paper form\n"
    )
    report = import_csv(io.BytesIO(text.encode()), ImportOptions())
    assert report.confirmed == 3 and report.problem_count == 1
    languages = dict(db.session.execute(select(Subscriber.email, Subscriber.language)).all())
    assert languages == {f"{x}@example.org": BOTH for x in "abc"}


def test_api_counts_both_readers_and_either_language_reaches_them(api, make_subscriber):
    make_subscriber("both@example.org", language=BOTH)
    make_subscriber("cy@example.org", language="cy")
    counts = api.get("/api/v1/subscribers/counts").get_json()
    assert counts["by_language"] == {"cy": 1, "en": 0, BOTH: 1}
    assert api.get("/api/v1/subscribers/counts?language=en").get_json()["matching"] == 1
    assert api.get("/api/v1/subscribers/counts?language=cy").get_json()["matching"] == 2


def test_manage_page_keeps_and_changes_the_choice(client, make_subscriber):
    from bulletin.mail import tokens

    reader = make_subscriber("both@example.org", language=BOTH, topics=["workshops"])
    token = tokens.make_manage_token(reader.uid)
    page = client.get(f"/manage/{token}?lang=cy")
    assert re.search(r'<input[^>]*checked[^>]*value="cy\+en"|value="cy\+en"[^>]*checked', page.text)
    data = {
        "csrf_token": csrf_token(page.text),
        "topics": ["workshops"],
        "region": "mid-wales",
        "language": "en",
    }
    assert client.post(f"/manage/{token}", data=data).status_code in (200, 303)
    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id).language == "en"
    data["language"] = BOTH
    client.post(f"/manage/{token}", data=data)
    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id).language == BOTH


def test_test_send_of_the_bilingual_mail(make_app, smtp_server, make_editor, run_worker_once):
    from tests.factories import sign_in

    app = make_app(SMTP_URL=smtp_server.url)
    client = app.test_client()
    with app.app_context():
        issue_id = _issue().id
        sign_in(client, make_editor("ed@example.org", name="Eira Jones"))
    page = client.get(f"/editor/issues/{issue_id}/preview?in=cy&lang=en")
    assert f'value="{BOTH}"' in page.text
    response = client.post(
        f"/editor/issues/{issue_id}/test-send",
        data={"csrf_token": csrf_token(page.text), "addresses": "", "language": BOTH},
    )
    assert response.status_code == 303
    with app.app_context():
        run_worker_once(app)
    [received] = smtp_server.wait_for(1)
    message = received.message
    assert message["Subject"] == (
        "[TEST] Helo Eira: newyddion i Gogledd Cymru | Hello Eira: news for North Wales"
    )
    html = html_part(message)
    assert html.index('<div lang="cy"') < html.index('<div lang="en-GB"')
    assert merge.MARKER_PREFIX not in html + text_part(message)
