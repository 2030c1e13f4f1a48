"""The embeddable sign-up: framing rules, /subscribe/external's guards, the consent source."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from bulletin.core.challenges import make_challenge, solve
from bulletin.extensions import db
from bulletin.models import ConsentEvent, OutboxMessage, Subscriber, SubscriberStatus

PARTNER = "https://partner.example"


@pytest.fixture
def app(make_app):
    """The app with two partners listed (the factories use it too)."""
    from bulletin.core.defaults import ensure_defaults
    from tests.conftest import _empty_tables

    application = make_app(EMBED_ORIGINS=[PARTNER + "/", "https://uni.example:8443"])
    with application.app_context():
        _empty_tables()
        ensure_defaults()
        yield application
        db.session.rollback()


@pytest.fixture
def web(app):
    return app.test_client()


def _csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().partition(" ")[::2] for part in policy.split(";"))


def _payload(client) -> str:
    challenge = client.get("/subscribe/challenge").get_json()
    return solve(challenge)


def _data(client, **overrides) -> dict:
    data = {
        "email": "Nia@Example.org",
        "topics": ["workshops"],
        "region": "mid-wales",
        "language": "cy",
        "consent": "y",
        "altcha": _payload(client),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _counts() -> tuple[int, int]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Subscriber, OutboxMessage)
    )


def test_embed_page_may_be_framed_by_listed_partners_only(web):
    page = web.get("/embed/subscribe")
    assert page.status_code == 200
    assert _csp(page)["frame-ancestors"] == f"'self' {PARTNER} https://uni.example:8443"
    assert "X-Frame-Options" not in page.headers
    assert "Set-Cookie" not in page.headers
    other = web.get("/subscribe")
    assert _csp(other)["frame-ancestors"] == "'self'"
    assert other.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_without_embed_origins_nobody_else_may_frame_the_embed_page(app, make_app):
    page = make_app().test_client().get("/embed/subscribe")
    assert _csp(page)["frame-ancestors"] == "'self'"


def test_query_preselects_topics_region_and_language_without_a_cookie(web):
    page = web.get("/embed/subscribe?lang=cy&topics=workshops&topics=nonsense&region=mid-wales")
    # Links to our other pages leave the frame; the form and the language links stay in it.
    assert page.text.count('<a href="/privacy" target="_blank">') == 2  # fields and footer
    assert "<base" not in page.text
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert 'lang="cy"' in page.text
    assert re.search(r'<input[^>]*checked[^>]*value="workshops"', page.text)
    assert re.search(r'<input[^>]*checked[^>]*value="mid-wales"', page.text)
    assert re.search(r'<input[^>]*checked[^>]*value="cy"', page.text)
    assert 'value="nonsense"' not in page.text


def test_language_links_keep_the_choices_and_nothing_else(web):
    page = web.get("/embed/subscribe?lang=en&topics=news&_external=1&endpoint=x&_scheme=ftp")
    assert page.status_code == 200
    assert 'href="/embed/subscribe?lang=cy&amp;topics=news"' in page.text


def test_partner_post_subscribes_with_double_opt_in_and_embed_source(web):
    response = web.post(
        "/subscribe/external",
        data=_data(web, **{"return": PARTNER + "/thanks?from=bulletin"}),
        headers={"Origin": PARTNER},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == PARTNER + "/thanks?from=bulletin"
    assert "Set-Cookie" not in response.headers
    subscriber = db.session.scalar(select(Subscriber))
    assert subscriber.status == SubscriberStatus.PENDING and subscriber.language == "cy"
    [event] = db.session.scalars(select(ConsentEvent)).all()
    assert event.source == f"embed:{PARTNER}" and event.wording_version
    [mail] = db.session.scalars(select(OutboxMessage)).all()
    assert mail.kind == "confirm"


def test_a_solution_cannot_be_replayed(web):
    data = _data(web)
    first = web.post("/subscribe/external", data=data, headers={"Origin": PARTNER})
    assert first.status_code == 303
    again = web.post(
        "/subscribe/external",
        data=data | {"email": "other@example.org"},
        headers={"Origin": PARTNER},
    )
    assert again.status_code == 400
    assert _counts() == (1, 1)


@pytest.mark.parametrize("altcha", [None, "", "bm90IGpzb24="])
def test_a_post_without_a_solved_challenge_sends_nothing(web, altcha):
    response = web.post(
        "/subscribe/external", data=_data(web, altcha=altcha), headers={"Origin": PARTNER}
    )
    assert response.status_code == 400
    assert "Your sign-up has not been sent yet" in response.text
    assert 'value="nia@example.org"' in response.text.lower()  # the form comes back as sent
    assert _counts() == (0, 0)


def test_a_filled_honeypot_answers_as_usual_and_sends_nothing(web):
    response = web.post(
        "/subscribe/external", data=_data(web, website="spam"), headers={"Origin": PARTNER}
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/subscribe/check-your-email")
    assert _counts() == (0, 0)


def test_a_site_not_listed_is_refused(web):
    response = web.post(
        "/subscribe/external", data=_data(web), headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert _counts() == (0, 0)


@pytest.mark.parametrize(
    "back",
    [
        "https://evil.example/",
        "https://partner.example@evil.example/",
        "https://partner.example\\@evil.example/",
        "//evil.example/",
        "javascript:alert(1)",
        "http://partner.example/",  # the scheme is part of the origin
    ],
)
def test_return_goes_only_to_listed_origins(web, back):
    response = web.post(
        "/subscribe/external", data=_data(web, **{"return": back}), headers={"Origin": PARTNER}
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/subscribe/check-your-email")


def test_the_answer_does_not_tell_whether_the_address_was_subscribed(web, make_subscriber):
    make_subscriber(email="known@example.org", status=SubscriberStatus.CONFIRMED)
    db.session.commit()
    answers = []
    for address in ("known@example.org", "new@example.org"):
        response = web.post(
            "/subscribe/external", data=_data(web, email=address), headers={"Origin": PARTNER}
        )
        answers.append((response.status_code, response.headers["Location"], response.data))
    assert answers[0] == answers[1]


def test_framed_page_carries_the_partner_it_saw_and_answers_inside_the_frame(web):
    page = web.get("/embed/subscribe?lang=en", headers={"Referer": PARTNER + "/news"})
    embedder = re.search(r'name="embedder" value="([^"]+)"', page.text).group(1)
    response = web.post(
        "/subscribe/external?lang=en",
        data=_data(web, embedder=embedder, framed="1"),
        headers={"Origin": "null"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/embed/check-your-email")
    assert db.session.scalar(select(ConsentEvent.source)) == f"embed:{PARTNER}"
    answer = web.get(response.headers["Location"])
    assert _csp(answer)["frame-ancestors"].startswith("'self' " + PARTNER)


def test_a_sign_up_from_nowhere_known_is_recorded_as_unknown(web):
    page = web.get("/embed/subscribe", headers={"Referer": "https://elsewhere.example/"})
    assert 'name="embedder"' not in page.text
    response = web.post("/subscribe/external", data=_data(web, embedder="forged"))
    assert response.status_code == 303
    assert db.session.scalar(select(ConsentEvent.source)) == "embed:unknown"


def test_invalid_fields_come_back_with_errors_in_the_page_language(web):
    response = web.post(
        "/subscribe/external?lang=cy",
        data=_data(web, email="not-an-address", consent=None),
        headers={"Origin": PARTNER},
    )
    assert response.status_code == 400
    assert "<title>Gwall:" in response.text
    assert _counts() == (0, 0)


def test_partners_may_fetch_a_challenge_and_others_get_no_cors_grant(web):
    mine = web.get("/subscribe/challenge", headers={"Origin": PARTNER})
    assert mine.headers["Access-Control-Allow-Origin"] == PARTNER
    assert mine.headers["Cache-Control"] == "no-store"
    theirs = web.get("/subscribe/challenge", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in theirs.headers
    assert set(mine.get_json()) == set(make_challenge())


def test_the_per_ip_limit_is_the_sign_up_limit(app, make_app):
    limited = make_app(SUBSCRIBE_RATE_LIMIT="2 per minute", EMBED_ORIGINS=[PARTNER])
    client = limited.test_client()
    answers = [client.post("/subscribe/external", data={"website": "x"}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [303, 303, 429]
    # The 429 page shows in the partner's frame too.
    assert _csp(answers[-1])["frame-ancestors"] == f"'self' {PARTNER}"


def test_the_per_address_cap_holds_across_addresses_and_answers_the_same(web, app):
    cap = app.config["CONFIRMATIONS_PER_ADDRESS_PER_DAY"]
    answers = set()
    for number in range(cap + 2):
        response = web.post(
            "/subscribe/external",
            data=_data(web),
            headers={"Origin": PARTNER},
            environ_base={"REMOTE_ADDR": f"10.0.0.{number + 1}"},
        )
        answers.add((response.status_code, response.headers["Location"]))
    assert len(answers) == 1
    assert _counts() == (1, cap)


def test_admin_builds_snippet_and_iframe_code_for_chosen_topics(editor_client):
    page = editor_client.get(
        "/editor/admin/embed?topics=workshops&language=cy&region=&return_url=" + PARTNER + "/diolch"
    )
    assert page.status_code == 200
    text = page.text
    textareas = re.findall(r"<textarea[^>]*>(.*?)</textarea>", text, re.S)
    assert len(textareas) == 2
    iframe, snippet = textareas
    assert "/embed/subscribe?lang=cy&amp;amp;topics=workshops" in iframe
    assert "&lt;iframe" in iframe and "&lt;form" in snippet  # escaped: shown, not rendered
    assert "/subscribe/external?lang=cy" in snippet and "challenge.js" in snippet
    assert "name=&#34;return&#34; value=&#34;https://partner.example/diolch&#34;" in snippet
    assert "name=&#34;website&#34;" in snippet  # the honeypot
    assert "Bydd " in snippet  # the consent statement, in Welsh
    assert re.search(r'<iframe[^>]*src="http://localhost/embed/subscribe\?lang=cy', text)


def test_the_snippet_posts_a_sign_up_that_works(editor_client, web):
    page = editor_client.get("/editor/admin/embed?topics=workshops&language=en&region=mid-wales")
    snippet = re.search(r'<textarea id="snippet-code"[^>]*>(.*?)</textarea>', page.text, re.S)
    form = html.unescape(snippet.group(1))
    fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert fields["region"] == "mid-wales" and fields["topics"] == "workshops"
    data = fields | {"email": "snip@example.org", "consent": "y", "altcha": _payload(web)}
    response = web.post("/subscribe/external?lang=en", data=data, headers={"Origin": PARTNER})
    assert response.status_code == 303
    assert db.session.scalar(select(Subscriber.region)) == "mid-wales"


def test_builder_without_topics_says_what_to_do(editor_client):
    page = editor_client.get("/editor/admin/embed?language=en&region=")
    assert page.status_code == 400
    assert "Select at least one topic" in page.text and "<textarea" not in page.text


def test_the_builder_is_for_admins_only(app, make_editor):
    from tests.factories import sign_in

    client = app.test_client()
    sign_in(client, make_editor("plain@example.org", role="editor"))
    assert client.get("/editor/admin/embed").status_code == 403
    assert app.test_client().get("/editor/admin/embed").status_code in (302, 303)


@pytest.mark.parametrize(
    "entry",
    [
        "partner.example",
        "https://partner.example/page",
        "https://partner.example; script-src *",
        "https://partner.example https://evil.example",
        "ftp://partner.example",
        "https://partner.example?x=1",
    ],
)
def test_embed_origins_that_are_not_origins_stop_the_app(make_app, entry):
    with pytest.raises(RuntimeError, match="EMBED_ORIGINS"):
        make_app(EMBED_ORIGINS=[entry])


def test_origins_are_compared_normalised(app):
    from bulletin.core import embeds

    assert embeds.origin_of("HTTPS://Partner.Example:443/x?y") == PARTNER
    assert embeds.is_allowed("https://uni.example:8443/page")
    assert not embeds.is_allowed("https://uni.example/page")  # another port: another origin
    assert embeds.source_for("https://elsewhere.example") == embeds.UNKNOWN
