"""Merge fields ({{ name }} and friends): refused when wrong at save time, filled per reader
in a real send, a sample in the preview and test send, fallback words in the archive."""

from __future__ import annotations

import email
import email.policy
import itertools
import time

from bulletin.delivery.pipeline import finish_sends, start_due_sends
from bulletin.extensions import db
from bulletin.i18n import join_words
from bulletin.mail import merge
from bulletin.mail.messages import MessageTemplate, Personal
from bulletin.mail.rendering import RenderedEmail
from bulletin.mail.settings import DeliverySettings
from bulletin.models import Issue, IssueItem, OutboxMessage, utcnow
from tests.conftest import csrf_token
from tests.factories import sign_in
from tests.support.delivery_helpers import configure, drain, make_send
from tests.support.mailtools import html_part, text_part

ALLOWED = "name, first_name, region, topics"


# --- the syntax -------------------------------------------------------------------------------


def test_known_fields_in_either_quote_style_are_read():
    text = "Hi {{ name }}, {{first_name|default('there')}} {{ region | default(\"Cymru\") }}"
    found = [f for _s, _e, f in merge._scan(text)]
    assert found == [
        merge.Placeholder("name"),
        merge.Placeholder("first_name", "there"),
        merge.Placeholder("region", "Cymru"),
    ]
    assert merge.find_problem(text) is None
    assert merge.find_problem("No fields, and a lone { brace }} is fine.") is None


def test_unknown_fields_and_other_syntax_are_problems():
    unknown = merge.find_problem("Hello {{ nmae }}!")
    assert unknown == merge.MergeError("{{ nmae }}", "nmae")
    for bad in (
        "{{ name | upper }}",
        "{{ name.__class__ }}",
        "{{ name | default(there) }}",
        "{{ name | default('it's') }}",
        "{{ 7 * 7 }}",
        "{{ name",
        "{{{ name }}}",
        "{{ name | default('a') | default('b') }}",
    ):
        problem = merge.find_problem(f"Hi {bad} there")
        assert problem is not None and problem.field is None, bad
        assert problem.text.startswith("{{"), bad


def test_the_scan_is_linear_on_hostile_text():
    # Each attempt stops at the next brace: half a million characters of near-misses must
    # take a moment, not minutes.
    hostile = ("{{ name | default('" + "a" * 50) * 10_000 + "{{ " + " " * 200_000
    started = time.perf_counter()
    assert merge.find_problem(hostile) is not None
    assert len(list(merge._scan(hostile))) == 10_001
    assert time.perf_counter() - started < 2.0


def test_topics_are_joined_in_the_language_of_the_mail():
    assert join_words(["Health"], "en") == "Health"
    assert join_words(["Health", "Care", "News"], "en") == "Health, Care and News"
    assert join_words(["Iechyd", "Newyddion"], "cy") == "Iechyd a Newyddion"
    assert join_words(["Newyddion", "Iechyd", "Arolygon"], "cy") == "Newyddion, Iechyd ac Arolygon"


# --- save-time errors: the editor forms and the API ------------------------------------------


def test_issue_form_refuses_an_unknown_field_and_names_the_allowed_ones(editor_client):
    page = editor_client.get("/editor/issues/new")
    assert "{{ first_name | default(&#39;there&#39;) }}" in page.text  # the help
    response = editor_client.post(
        "/editor/issues/new",
        data={
            "csrf_token": csrf_token(page.text),
            "version": "0",
            "subject_en": "Hello {{ nmae }}",
            "intro_cy": "Helo {{ name | upper }}",
        },
    )
    assert response.status_code == 400
    assert "There is no merge field called &#34;nmae&#34;" in response.text
    assert f"Use one of: {ALLOWED}." in response.text
    assert "&#34;{{ name | upper }}&#34; is not a merge field" in response.text
    assert db.session.scalar(db.select(db.func.count(Issue.id))) == 0


def test_issue_form_errors_are_in_welsh_for_a_welsh_editor(editor_client):
    page = editor_client.get("/editor/issues/new?lang=cy")
    assert "Maes cyfuno" in page.text or "meysydd cyfuno" in page.text
    response = editor_client.post(
        "/editor/issues/new?lang=cy",
        data={"csrf_token": csrf_token(page.text), "version": "0", "subject_cy": "{{ enw }}"},
    )
    assert response.status_code == 400
    assert "&#34;enw&#34;" in response.text and ALLOWED in response.text
    assert "There is no merge field" not in response.text


def test_news_form_refuses_bad_placeholders(editor_client, make_issue):
    issue = make_issue("Bulletin")
    url = f"/editor/issues/{issue.id}/news/new"
    page = editor_client.get(url)
    response = editor_client.post(
        url,
        data={"csrf_token": csrf_token(page.text), "title_en": "News", "body_en": "{{ email }}"},
    )
    assert response.status_code == 400
    assert "&#34;email&#34;" in response.text
    assert db.session.scalar(db.select(db.func.count(IssueItem.id))) == 0


def test_api_refuses_bad_placeholders_on_create_and_update(api, make_issue):
    created = api.post("/api/v1/issues", json={"subject_en": "Hi {{ surname }}"})
    assert created.status_code == 422
    [error] = created.get_json()["errors"]
    assert error["field"] == "subject_en"
    assert error["message"] == (f'There is no merge field called "surname". Use one of: {ALLOWED}.')
    issue = make_issue("Fine")
    updated = api.patch(
        f"/api/v1/issues/{issue.id}", json={"version": 1, "intro_cy": "Helo {{ name }"}
    )
    assert updated.status_code == 422
    [error] = updated.get_json()["errors"]
    assert error["field"] == "intro_cy" and "is not a merge field" in error["message"]
    assert ALLOWED in error["message"]
    good = api.patch(
        f"/api/v1/issues/{issue.id}",
        json={"version": 1, "intro_en": "Hello {{ first_name | default('there') }}"},
    )
    assert good.status_code == 200


# --- a real send ------------------------------------------------------------------------------


def _merge_issue(**columns) -> Issue:
    issue = Issue(
        slug=f"merge-{utcnow().timestamp()}",
        subject_en="Hello {{ first_name | default('there') }}: news for {{ region }}",
        subject_cy="Helo {{ first_name | default('gyfaill') }}: newyddion i {{ region }}",
        intro_en='Dear {{ name | default("reader") }}, you follow {{ topics }}.',
        intro_cy="Annwyl {{ name | default('ddarllenydd') }}, rydych yn dilyn {{ topics }}.",
        **columns,
    )
    issue.items.append(
        IssueItem(
            section="news",
            kind="news",
            title_en="Just for {{ first_name | default('you') }}",
            body_en="Events in {{ region }}.",
            title_cy="I {{ first_name | default('chi') }}",
            body_cy="Digwyddiadau yn {{ region }}.",
        )
    )
    db.session.add(issue)
    db.session.commit()
    return issue


def test_each_reader_gets_their_own_values_escaped_in_html(app, smtp_server, make_subscriber):
    settings = configure(app, smtp_server)
    ann = make_subscriber(
        "ann@example.com",
        name="Ann <b>& Co",
        region="north-wales",
        topics=["workshops", "news"],
    )
    make_subscriber("bryn@example.com", language="cy", region="mid-wales", topics=["news"])
    send = make_send(_merge_issue())
    start_due_sends(settings)
    drain(app, settings)
    assert finish_sends() == [send.id]
    english = smtp_server.to(ann.email)[0].message
    welsh = smtp_server.to("bryn@example.com")[0].message

    assert english["Subject"] == "Hello Ann: news for North Wales"
    assert english["To"] == f'"Ann <b>& Co" <{ann.email}>'
    text, html = text_part(english), html_part(english)
    assert "Dear Ann <b>& Co, you follow Workshops and events and News." in text
    assert "Just for Ann" in text and "Events in North Wales." in text
    assert "Ann &lt;b&gt;&amp; Co" in html and "Ann <b>" not in html
    assert "Workshops and events and News" in html

    assert welsh["Subject"] == "Helo gyfaill: newyddion i Canolbarth Cymru"
    text, html = text_part(welsh), html_part(welsh)
    assert "Annwyl ddarllenydd, rydych yn dilyn Newyddion." in text
    assert "I chi" in text and "Digwyddiadau yn Canolbarth Cymru." in text
    assert "Annwyl ddarllenydd" in html

    for message in (english, welsh):
        whole = message.as_string() + text_part(message) + html_part(message)
        assert "{{" not in whole and merge.MARKER_PREFIX not in whole
    # The subject is RFC 2047 encoded: the raw message is ASCII, Welsh and all.
    raw = smtp_server.to(ann.email)[0].raw
    assert raw.isascii() and b"\r\nSubject: Hello Ann: news for North Wales\r\n" in raw


def test_long_non_ascii_values_survive_quoted_printable(app):
    rendered = RenderedEmail(
        subject="Newyddion i BULLETIN-FIELD-0000",
        text="Annwyl BULLETIN-FIELD-0000,\n.BULLETIN-FIELD-0001 diwedd\n",
        html="<p>Annwyl BULLETIN-FIELD-0000,</p><p>BULLETIN-FIELD-0001</p>\n",
        language="cy",
        fields=(merge.Placeholder("name"), merge.Placeholder("region", "Cymru")),
    )
    template = MessageTemplate(rendered, DeliverySettings.from_app(app), send_id=3)
    name = "Siân Ŵyn ab Iorwerth " * 12 + "= . <&>"
    built = template.personalise(Personal(1, "u" * 32, "s@example.com", name, None))
    message = email.message_from_bytes(built.message, policy=email.policy.default)
    squeezed = " ".join(name.split())
    assert f"Annwyl {squeezed},\n.Cymru diwedd\n" in text_part(message).replace("\r\n", "\n")
    assert "Annwyl " + squeezed.replace("&", "&amp;").replace("<", "&lt;").replace(
        ">", "&gt;"
    ) in html_part(message)
    assert message["Subject"] == f"Newyddion i {squeezed}"
    # The value is on lines of its own within QP's 76 characters; the subject is folded.
    head, _blank, body = built.message.partition(b"\r\n\r\n")
    assert [line for line in body.split(b"\r\n") if len(line) > 76] == []
    subject = head[head.index(b"\r\nSubject:") :].split(b"\r\n")[1:]
    subject = [subject[0], *itertools.takewhile(lambda line: line[:1] == b" ", subject[1:])]
    assert len(subject) > 1 and all(len(line) <= 78 for line in subject)


# --- the preview, the test send and the archive ----------------------------------------------


def test_preview_and_test_send_use_a_sample_reader(
    make_app, smtp_server, make_editor, run_worker_once
):
    app = make_app(SMTP_URL=smtp_server.url)
    client = app.test_client()
    with app.app_context():
        issue_id = _merge_issue().id
        sign_in(client, make_editor("ed@example.org", name="Eira Jones"))
    page = client.get(f"/editor/issues/{issue_id}/preview?in=en")
    assert page.status_code == 200
    assert "Hello Eira: news for North Wales" in page.text
    assert "Dear Eira Jones, you follow" in page.text and "{{" not in page.text
    document = client.get(f"/editor/issues/{issue_id}/preview/en.html")
    assert "Dear Eira Jones" in document.text and merge.MARKER_PREFIX not in document.text
    response = client.post(
        f"/editor/issues/{issue_id}/test-send",
        data={"csrf_token": csrf_token(page.text), "addresses": "", "language": "cy"},
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 1
        run_worker_once(app)
    [received] = smtp_server.wait_for(1)
    assert received.message["Subject"] == "[TEST] Helo Eira: newyddion i Gogledd Cymru"
    assert received.message["To"] == "ed@example.org"
    assert "Annwyl Eira Jones, rydych yn dilyn" in text_part(received.message)


def test_archive_and_feed_show_fallback_words_never_placeholders(client, app):
    issue = _merge_issue(published_at=utcnow())
    issue.intro_en = "Dear {{ name }}, in {{ region }}: {{ topics }}."
    db.session.commit()
    page = client.get(f"/issues/{issue.slug}?lang=en")
    assert page.status_code == 200
    assert "{{" not in page.text and merge.MARKER_PREFIX not in page.text
    assert "Hello there: news for Wales" in page.text
    assert "Dear reader, in Wales: research." in page.text
    assert "Just for you" in page.text
    welsh = client.get(f"/issues/{issue.slug}?lang=cy")
    assert "Helo gyfaill: newyddion i Cymru" in welsh.text and "{{" not in welsh.text
    for url in ("/issues?lang=en", "/issues.atom?lang=en"):
        listing = client.get(url)
        assert "Hello there" in listing.text and "{{" not in listing.text
