"""The media library and masthead pages in Chromium (axe-clean in Welsh and English), and an
archive page with a 1,600 px image that must not scroll sideways on a 375 px phone."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.browser.fixtures import SCREENSHOTS, save_screenshots
from tests.test_browser_editor import seed, sign_in

pytestmark = pytest.mark.browser


def _image_file(tmp_path, name: str, size: tuple[int, int], colour) -> str:
    path = tmp_path / name
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG" if name.endswith(".jpg") else "PNG")
    path.write_bytes(out.getvalue())
    return str(path)


def _upload(page, base: str, path: str, alt_cy: str, alt_en: str) -> None:
    page.goto(f"{base}/editor/media")
    page.set_input_files("#file", path)
    page.fill("#alt_cy", alt_cy)
    page.fill("#alt_en", alt_en)
    with page.expect_navigation():
        page.click("main form button[type=submit]")


@pytest.mark.slow
def test_media_library_and_masthead_pages_are_accessible(live, page, audit, tmp_path):
    seed(live.app)
    sign_in(page, live.url, audit)
    for lang in ("cy", "en"):
        page.goto(f"{live.url}/editor/media?lang={lang}")
        audit.check(page, f"{lang} empty media library")
    # An upload with no alt text: the form error page.
    page.goto(f"{live.url}/editor/media?lang=cy")
    page.set_input_files("#file", _image_file(tmp_path, "wide.jpg", (1600, 900), (20, 90, 160)))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.title().startswith("Gwall: ")
    audit.check(page, "cy media upload error")
    _upload(page, live.url, str(tmp_path / "wide.jpg"), "Tîm ymchwil", "Research team")
    _upload(
        page,
        live.url,
        _image_file(tmp_path, "logo.png", (300, 80), (255, 255, 255)),
        "Logo'r bwletin",
        "The bulletin's logo",
    )
    for lang in ("cy", "en"):
        page.goto(f"{live.url}/editor/media?lang={lang}")
        assert page.locator(".media-list li").count() == 2
        audit.check(page, f"{lang} media library with images")
        page.click(".media-list li:first-child a")
        audit.check(page, f"{lang} edit image descriptions")
        page.goto(f"{live.url}/editor/admin/masthead?lang={lang}")
        audit.check(page, f"{lang} masthead settings")
    page.fill("#background_colour", "#ffffff")
    page.fill("#text_colour", "#ffff00")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "1.07:1" in page.inner_text(".error-summary")
    audit.check(page, "en masthead contrast error")
    page.fill("#background_colour", "#1d4e89")
    page.fill("#text_colour", "#ffffff")
    page.select_option("#logo", label="The bulletin's logo (300×80)")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.locator(".error-summary").count() == 0
    save_screenshots(page, SCREENSHOTS, "masthead-settings")
    audit.assert_clean()


@pytest.mark.slow
def test_an_issue_page_with_a_wide_image_does_not_scroll_sideways_on_a_phone(
    live, page, audit, tmp_path
):
    from bulletin.core import masthead as branding
    from bulletin.core import media as library
    from bulletin.extensions import db
    from bulletin.models import Issue, IssueItem, utcnow

    wide = Image.new("RGB", (1600, 1000), (200, 60, 20))
    out = io.BytesIO()
    wide.save(out, "PNG")
    with live.app.app_context():
        photo = library.add_media(
            out.getvalue(), filename="wide.png", alt_cy="Llun llydan", alt_en="A wide photo"
        )
        branding.save_masthead(background="#1d4e89", text="#ffffff", logo=photo)
        issue = Issue(
            slug="wide-image",
            subject_en="Wide image",
            subject_cy="Delwedd lydan",
            published_at=utcnow(),
        )
        issue.items.append(
            IssueItem(
                section="news",
                kind="news",
                title_en="A very wide picture",
                title_cy="Llun llydan iawn",
                body_en="Also from outside: ![a chart](/media/" + photo.name + ")",
                body_cy="Hefyd o'r tu allan: ![siart](/media/" + photo.name + ")",
                image=photo,
            )
        )
        db.session.add(issue)
        db.session.commit()
    page.set_viewport_size({"width": 375, "height": 800})
    for lang in ("cy", "en"):
        page.goto(f"{live.url}/issues/wide-image?lang={lang}")
        page.wait_for_load_state("load")
        loaded = page.evaluate(
            "() => [...document.querySelectorAll('main img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
        assert loaded, "the library images load from /media/"
        scroll, inner = page.evaluate(
            "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
        )
        assert scroll <= inner, f"{lang}: scrolls sideways ({scroll} > {inner})"
        widths = page.evaluate(
            "() => [...document.querySelectorAll('main img')]"
            ".map(i => i.getBoundingClientRect().width)"
        )
        assert widths and max(widths) <= inner
        audit.check(page, f"{lang} archive issue with a wide image")
    save_screenshots(page, SCREENSHOTS, "archive-wide-image")
    audit.assert_clean()
