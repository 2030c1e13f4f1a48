"""Images and the masthead as readers get them: the contrast rule, the masthead settings page,
an issue sent through a real SMTP server with responsive images and alt text in the mail's
language, the archive page, and Markdown images from outside addresses."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from bulletin.core import masthead as branding
from bulletin.core.masthead import MastheadRefused, check_contrast, contrast_ratio
from bulletin.delivery.pipeline import start_due_sends
from bulletin.extensions import db
from bulletin.mail.markup import render_markdown
from bulletin.mail.settings import DeliverySettings
from bulletin.models import Masthead, Media
from tests.conftest import csrf_token
from tests.factories import sign_in
from tests.support.delivery_helpers import configure, drain, make_send
from tests.support.mailtools import html_part
from tests.test_media import image_bytes, upload


def test_contrast_ratio_follows_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#123456", "#123456") == pytest.approx(1.0)
    # #767676 on white is the classic lightest grey that passes AA.
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_check_contrast_passes_and_fails_at_4_5(app):
    assert check_contrast("#767676", "#ffffff") >= 4.5
    with pytest.raises(MastheadRefused) as refused:
        check_contrast("#777777", "#ffffff")
    assert "4.47:1" in str(refused.value) or "4.48:1" in str(refused.value)
    assert "at least 4.5:1" in str(refused.value)


def _masthead_form(client) -> str:
    return csrf_token(client.get("/editor/admin/masthead").get_data(as_text=True))


def test_a_low_contrast_masthead_is_a_form_error_with_the_ratio(app, editor_client):
    response = editor_client.post(
        "/editor/admin/masthead",
        data={
            "csrf_token": _masthead_form(editor_client),
            "background_colour": "#ffffff",
            "text_colour": "#ffff00",
            "logo": "",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "1.07:1" in page
    assert "Make one colour darker or the other lighter" in page
    assert db.session.get(Masthead, 1) is None


def test_a_badly_written_colour_is_a_form_error(app, editor_client):
    response = editor_client.post(
        "/editor/admin/masthead",
        data={
            "csrf_token": _masthead_form(editor_client),
            "background_colour": "blue",
            "text_colour": "#fff",
            "logo": "",
        },
    )
    assert response.status_code == 400
    assert "six hexadecimal digits" in response.get_data(as_text=True)


def test_a_readable_masthead_with_a_logo_is_saved(app, editor_client):
    upload(editor_client, image_bytes("PNG", size=(400, 100)), alt_cy="Logo cy", alt_en="Logo en")
    logo = db.session.scalars(db.select(Media)).one()
    response = editor_client.post(
        "/editor/admin/masthead",
        data={
            "csrf_token": _masthead_form(editor_client),
            "background_colour": "1D4E89",
            "text_colour": "#FFFFFF",
            "logo": str(logo.id),
        },
    )
    assert response.status_code == 303
    saved = db.session.get(Masthead, 1)
    assert (saved.background_colour, saved.text_colour, saved.logo_id) == (
        "#1d4e89",
        "#ffffff",
        logo.id,
    )


def test_only_admins_set_the_masthead(app, make_editor):
    client = app.test_client()
    sign_in(client, make_editor("plain@example.org", role="editor"))
    assert client.get("/editor/admin/masthead").status_code == 403
    assert client.get("/editor/media").status_code == 200  # the library is for every editor


@pytest.fixture
def pictured_issue(app, editor_client, make_issue, make_subscriber):
    """An issue whose news item shows a 1,600 px library image, and a masthead with a logo."""
    upload(
        editor_client,
        image_bytes("JPEG", size=(1600, 900)),
        alt_cy="Tîm ymchwil",
        alt_en="Research team",
    )
    photo = db.session.scalars(db.select(Media)).one()
    upload(editor_client, image_bytes("PNG", size=(500, 100)), alt_cy="Logo", alt_en="Logo en")
    logo = db.session.scalars(db.select(Media).where(Media.id != photo.id)).one()
    branding.save_masthead(background="#1d4e89", text="#ffffff", logo=logo)
    issue = make_issue(
        "Pictures",
        subject_cy="Lluniau",
        items=[
            {
                "title_en": "Meet the team",
                "title_cy": "Cwrdd â'r tîm",
                "body_en": "See ![a wide chart](https://example.org/chart.png).",
                "body_cy": "Gweler ![siart llydan](https://example.org/chart.png).",
            }
        ],
    )
    issue.items[0].image = photo
    db.session.commit()
    return issue


@pytest.mark.parametrize(("lang", "alt"), [("cy", "Tîm ymchwil"), ("en", "Research team")])
def test_a_sent_issue_has_responsive_images_and_the_masthead(
    app, smtp_server, make_subscriber, pictured_issue, lang, alt
):
    configure(app, smtp_server)
    make_subscriber("reader@example.com", language=lang)
    make_send(pictured_issue)
    settings = DeliverySettings.from_app(app)
    start_due_sends(settings)
    drain(app, settings)
    [received] = smtp_server.wait_for(1)
    soup = BeautifulSoup(html_part(received.message), "html.parser")
    photo = soup.find("img", alt=alt)
    assert photo is not None, "the item's image, with its alt text in the mail's language"
    assert photo["src"].startswith("http://localhost/media/")
    assert int(photo["width"]) == 600 and int(photo["height"]) == 338
    assert "max-width:100%" in photo["style"].replace(" ", "")
    assert "height:auto" in photo["style"].replace(" ", "")
    chart = soup.find("img", src="https://example.org/chart.png")
    assert chart is not None and int(chart["width"]) <= 600
    assert "max-width:100%" in chart["style"].replace(" ", "")
    masthead = soup.find("td", class_="masthead")
    assert "#1d4e89" in masthead["style"]
    logo = masthead.find("img")
    assert logo["alt"] == ("Logo" if lang == "cy" else "Logo en")
    assert int(logo["width"]) <= 240
    for image in soup.find_all("img"):  # every image: a width for Outlook, shrinks on phones
        assert int(image["width"]) <= 600
        assert "max-width:100%" in image["style"].replace(" ", "")


def test_the_archive_page_shows_the_masthead_and_images(app, client, pictured_issue):
    from bulletin.models import utcnow

    pictured_issue.published_at = utcnow()
    db.session.commit()
    page = client.get(f"/issues/{pictured_issue.slug}?lang=en")
    assert page.status_code == 200
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    assert soup.select_one("article .masthead img")["alt"] == "Logo en"
    assert soup.find("img", alt="Research team")["width"] == "600"
    stylesheet = soup.find("link", href=lambda h: h and h.startswith("/masthead.css"))
    css = client.get(stylesheet["href"])
    assert css.mimetype == "text/css"
    assert "#1d4e89" in css.get_data(as_text=True)


def test_without_a_saved_masthead_mail_keeps_the_layout_colours(app, make_issue):
    from bulletin.mail.rendering import render_issue

    html = render_issue(make_issue("Plain"), "en").html
    masthead = BeautifulSoup(html, "html.parser").find("td", class_="masthead")
    assert "#0b0c0c" in masthead["style"] and masthead.find("img") is None


def test_markdown_images_are_responsive_with_a_width(app):
    html = str(
        render_markdown(
            '![x](https://a.example/i.png) <img src="https://b/c.png" alt="y" width="4000">'
        )
    )
    images = BeautifulSoup(html, "html.parser").find_all("img")
    assert [i["width"] for i in images] == ["600", "600"]
    assert all(i["style"] == "max-width:100%;height:auto" for i in images)


def test_a_small_width_written_in_html_is_kept(app):
    html = str(render_markdown('<img src="https://b/c.png" alt="icon" width="48">'))
    assert 'width="48"' in html


def test_markdown_images_need_alt_text(app, editor_client, make_issue):
    issue = make_issue()
    page = editor_client.get(f"/editor/issues/{issue.id}/news/new")
    response = editor_client.post(
        f"/editor/issues/{issue.id}/news/new",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "title_en": "No alt",
            "body_en": "Look: ![](https://example.org/x.png)",
            "image": "",
        },
    )
    assert response.status_code == 400
    assert "alt text" in response.get_data(as_text=True)


def test_the_api_refuses_markdown_images_without_alt(app):
    from bulletin.core.fields import NEWS, Problem, problem_with

    assert problem_with(NEWS["body_en"], "![](https://x.org/a.png)") is Problem.IMAGE_WITHOUT_ALT
    assert problem_with(NEWS["body_en"], '<img src="https://x.org/a.png">') is not None
    assert problem_with(NEWS["body_en"], "![a chart](https://x.org/a.png)") is None


def test_the_archive_list_shows_the_masthead_too(app, client, pictured_issue):
    page = client.get("/issues?lang=cy")
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    assert soup.select_one("main .masthead img")["alt"] == "Logo"
    assert soup.find("link", href=lambda h: h and h.startswith("/masthead.css?v=1d4e89ffffff"))
