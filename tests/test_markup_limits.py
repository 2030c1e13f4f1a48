"""Editor Markdown cannot make a page slow: one length and nesting limit in every door,
and public pages render each text once, not on every GET."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bulletin.extensions import db
from bulletin.mail import markup
from bulletin.mail.markup import MAX_HTML_NESTING, MAX_MARKDOWN_LENGTH, html_nesting
from tests.test_editorial_catalogue import _post_workshop

DEEP = "<ul><li>" * (MAX_HTML_NESTING // 2 + 1) + "x"


def test_nesting_counts_open_elements_and_ignores_void_and_stray_tags():
    assert html_nesting("<ul><li>" * 100) == 200
    assert html_nesting("<div></span>" * 100) == 100  # a stray end tag closes nothing
    assert html_nesting("<b>x</b> <br> <img src=x> a < b > c" * 100) == 1
    assert html_nesting("<ul><li><ul><li>x</ul> <ul><li>y") == 4


def test_editor_form_refuses_deep_html_and_overlong_text(editor_client):
    deep = _post_workshop(editor_client, summary_en=DEEP)
    assert deep.status_code == 400 and "nested more than" in deep.text
    long = _post_workshop(editor_client, body_en="a" * (MAX_MARKDOWN_LENGTH + 1))
    assert long.status_code == 400
    assert _post_workshop(editor_client, body_en="a" * MAX_MARKDOWN_LENGTH).status_code == 303


@pytest.mark.parametrize(
    "path,body",
    [
        ("/api/v1/issues", {"subject_en": "S", "intro_en": DEEP}),
        (
            "/api/v1/workshops",
            {
                "title_en": "T",
                "starts_at": "2031-07-01T10:00",
                "ends_at": "2031-07-01T12:00",
                "body_cy": DEEP,
            },
        ),
    ],
)
def test_api_refuses_the_same_deep_html(api, path, body):
    response = api.post(path, json=body)
    assert response.status_code == 422, response.get_json()
    assert "nested more than" in response.get_json()["errors"][0]["message"]
    too_long = {**body, next(k for k, v in body.items() if v == DEEP): "a" * 20_001}
    assert api.post(path, json=too_long).status_code == 422


@pytest.fixture
def render_calls(monkeypatch):
    """Counts real Markdown renderings (cache misses), starting from an empty cache."""
    markup.rendered.clear()
    calls = []
    real = markup._render_html

    def counted(text, lowest_heading):
        calls.append(text)
        return real(text, lowest_heading)

    monkeypatch.setattr(markup, "_render_html", counted)
    return calls


def test_issue_page_renders_once_and_shows_an_edit_on_the_next_get(
    client, make_issue, render_calls
):
    issue = make_issue(
        "Spring",
        slug="spring",
        intro_en="Hello *readers*.",
        published_at=datetime(2030, 4, 1, tzinfo=UTC),
        items=[{"title_en": "News", "body_en": "Some **news**."}],
    )
    first = client.get("/issues/spring?lang=en")
    assert "<em>readers</em>" in first.text and "<strong>news</strong>" in first.text
    rendered_first = len(render_calls)
    assert rendered_first == 2
    second = client.get("/issues/spring?lang=en")
    assert second.text == first.text and len(render_calls) == rendered_first
    issue.intro_en = "Hello *everyone*."
    db.session.commit()
    third = client.get("/issues/spring?lang=en")
    assert "<em>everyone</em>" in third.text and "readers" not in third.text
    assert render_calls[-1] == "Hello *everyone*." and len(render_calls) == rendered_first + 1


def test_workshop_page_renders_once_and_shows_an_edit_on_the_next_get(
    client, make_workshop, render_calls
):
    workshop = make_workshop(
        "Allyship", slug="allyship", summary_en="A *short* summary.", body_en="The **full** text."
    )
    first = client.get("/workshops/allyship?lang=en")
    assert "<strong>full</strong>" in first.text and len(render_calls) == 2
    client.get("/workshops/allyship?lang=en")
    assert len(render_calls) == 2
    workshop.body_en = "The **new** text."
    db.session.commit()
    edited = client.get("/workshops/allyship?lang=en")
    assert "<strong>new</strong>" in edited.text and len(render_calls) == 3


def test_cache_holds_to_its_size_and_evicts_the_oldest():
    cache = markup.RenderCache(max_chars=10)
    assert cache.get(("k",), "a", lambda t: t * 6) == "aaaaaa"
    assert cache.get(("k",), "b", lambda t: t * 6) == "bbbbbb"  # evicts "a"
    assert cache.size == 6 and len(cache.entries) == 1
    assert cache.get(("k",), "b", lambda t: "not called") == "bbbbbb"
