"""The editor door in Chromium: sign in, compose, preview, schedule; axe on every page."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser.fixtures import save_screenshots
from tests.browser.mail import check_email
from tests.support.mailtools import text_part
from tests.support.worker import run_worker_once

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
#: Links the crawl does not follow: downloads, actions and the bare email documents.
SKIP = (".csv", ".json", ".ics", "/preview/", "/logout", "/export/download", "download")
MAX_PAGES = 80


def seed(app) -> dict:
    """An admin, a bilingual workshop, an English-only opportunity and a Welsh reader."""
    from bulletin.core.editors import hash_password
    from bulletin.extensions import db
    from bulletin.models import Editor, Opportunity, Subscriber, Workshop, utcnow

    start = utcnow().replace(second=0, microsecond=0) + timedelta(days=10)
    with app.app_context():
        db.session.add(
            Editor(
                email="golygydd@example.org",
                role="admin",
                name="Golygydd",
                password_hash=hash_password(PASSWORD),
            )
        )
        db.session.add(
            Workshop(
                slug="plain-language",
                title_en="Plain-language summaries",
                title_cy="Crynodebau iaith glir",
                summary_en="Learn how.",
                summary_cy="Dysgwch sut.",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                is_online=True,
            )
        )
        db.session.add(
            Opportunity(
                slug="panel",
                title_en="Join the dementia research panel",
                summary_en="Help shape a study.",
                kind="public-contributor",
                closes_at=start + timedelta(days=5),
            )
        )
        db.session.add(
            Subscriber(
                email="darllenydd@example.org",
                status="confirmed",
                language="cy",
                region="north-wales",
                confirmed_at=utcnow(),
            )
        )
        db.session.commit()
    return {"email": "golygydd@example.org"}


def sign_in(page, base: str, audit) -> None:
    page.goto(f"{base}/editor/login?lang=cy")
    audit.check(page, "cy editor sign-in")
    page.fill("#email", "golygydd@example.org")
    page.fill("#password", "not the password")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.locator(".error-summary").count() == 1
    audit.check(page, "cy editor sign-in failed")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "/editor/login" not in page.url
    page.goto(f"{base}/editor/?lang=cy")  # signing in starts a fresh session


def compose(page, base: str, audit) -> str:
    """A new issue with both catalogue entries in it; returns the issue's edit URL."""
    page.goto(f"{base}/editor/issues/new")
    audit.check(page, "cy new issue")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.title().startswith("Gwall: ")
    audit.check(page, "cy new issue with errors")
    page.fill("#subject_cy", "Bwletin mis Mawrth")
    page.fill("#subject_en", "March bulletin")
    page.fill("#intro_cy", "Croeso {{ enw }} i rifyn mis Mawrth.")  # not a merge field
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "first_name" in page.inner_text(".error-summary")
    audit.check(page, "cy new issue with a merge field error")
    page.fill("#intro_cy", "Croeso {{ first_name | default('gyfaill') }} i rifyn mis Mawrth.")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    edit_url = page.url
    for _ in range(2):
        page.select_option("#entry", index=0)
        with page.expect_navigation():
            page.click("form[action$='/items'] button[type=submit]")
    assert page.locator("text=Crynodebau iaith glir").count() >= 1
    audit.check(page, "cy issue edit with items")
    return edit_url


def schedule(page, base: str, audit) -> None:
    """Count the audience, confirm, and see the scheduled send (the delivery engineer's pages)."""
    from bulletin.models import utcnow

    page.goto(f"{base}/editor/sends/new?lang=cy")
    audit.check(page, "cy send or schedule")
    page.select_option("#issue", label="March bulletin")
    page.check("#when-1")  # later
    page.fill("#at", (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "Mae'r anfoniad hwn yn cyrraedd 1 person." in page.locator("[role=status]").inner_text()
    audit.check(page, "cy send: audience counted")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "Mae'r anfoniad wedi'i drefnu." in page.inner_text("main")
    audit.check(page, "cy send scheduled")


def send_now_and_receive(page, live, smtp_server):
    """Bring the scheduled send forward and run the worker until the reader's copy arrives."""
    with page.expect_navigation():
        page.click("main form button:has-text('Anfon nawr')")
    for _ in range(5):  # start the send, then the senders: a few worker passes at most
        run_worker_once(live.app)
        if smtp_server.to("darllenydd@example.org"):
            break
    [received] = smtp_server.to("darllenydd@example.org")
    return received.message


def test_editor_signs_in_composes_previews_and_schedules_in_welsh(
    live, smtp_server, browser_context, page, audit, screenshots
):
    seed(live.app)
    sign_in(page, live.url, audit)
    audit.check(page, "cy editor dashboard")
    edit_url = compose(page, live.url, audit)

    page.goto(f"{edit_url}/preview?in=cy")
    assert page.get_attribute("html", "lang") == "cy"
    warning = page.locator("#missing-languages").inner_text()
    assert "Nid oes fersiwn Gymraeg o Join the dementia research panel" in warning
    assert "Gogledd Cymru" in page.locator("#sample-reader").inner_text()
    audit.check(page, "cy preview (with missing-language warning)")
    save_screenshots(page, screenshots, "preview-cy")
    page.goto(f"{edit_url}/preview?in=en&lang=en")
    audit.check(page, "en preview")

    # The email documents the preview frames: the issue email exactly as rendered.
    for lang, tag in (("cy", "cy"), ("en", "en-GB")):
        page.goto(f"{edit_url}/preview/{lang}.html")
        assert page.get_attribute("html", "lang") == tag
        fallback = page.locator("[lang='en-GB'] h3, h3[lang='en-GB']") if lang == "cy" else None
        if fallback is not None:
            assert "Join the dementia research panel" in fallback.first.inner_text()
        audit.check(page, f"{lang} issue email (light)")
        page.emulate_media(color_scheme="dark")
        audit.check(page, f"{lang} issue email (dark mode)", reflow=False)
        page.emulate_media(color_scheme="light")
    schedule(page, live.url, audit)

    # The Welsh reader's copy, as the worker sent it: Welsh, with the English-only item marked.
    issue_mail = send_now_and_receive(page, live, smtp_server)
    assert str(issue_mail["Subject"]).strip() == "Bwletin mis Mawrth"
    assert "Dad-danysgrifio" in text_part(issue_mail)
    mail_page = check_email(browser_context, audit, issue_mail, "cy", "cy issue (as sent)")
    fallback = mail_page.locator(".item[lang='en-GB']")
    assert "Join the dementia research panel" in fallback.inner_text()
    save_screenshots(mail_page, screenshots, "email-issue-cy")
    unpublish_and_republish(page, live, edit_url, audit)
    count_again(page, live.url, audit, screenshots)
    audit.assert_clean()


def count_again(page, base: str, audit, screenshots) -> None:
    """A second send of the issue: the count warns that the reader had it, in both languages."""
    for lang, warning in (
        ("cy", "Mae 1 person yn y gynulleidfa hon wedi cael y rhifyn hwn yn barod."),
        ("en", "1 person in this audience has already had this issue."),
    ):
        page.goto(f"{base}/editor/sends/new?lang={lang}")
        page.select_option("#issue", label="March bulletin")
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert warning in page.locator("[role=status]").inner_text()
        assert page.is_checked("input[name=recipients][value=rest]")
        audit.check(page, f"{lang} send again: some already had it")
        save_screenshots(page, screenshots, f"send-again-{lang}")


def unpublish_and_republish(page, live, edit_url: str, audit) -> None:
    """The sent issue is in the archive; the editor takes it out (410) and puts it back."""
    run_worker_once(live.app)  # the send finishes: the issue is published
    page.goto(edit_url)
    audit.check(page, "cy sent issue in the archive")
    with page.expect_navigation():
        page.click("main form button:has-text('Dad-gyhoeddi o’r archif a’r ffrwd')")
    audit.check(page, "cy issue unpublished")
    from bulletin.extensions import db
    from bulletin.models import Issue

    issue_id = int(re.search(r"/issues/(\d+)", edit_url).group(1))  # this issue, not an older one
    with live.app.app_context():
        slug = db.session.scalar(db.select(Issue.slug).where(Issue.id == issue_id))
    response = page.goto(f"{live.url}/issues/{slug}?lang=cy")
    assert response.status == 410 and "Nid yw’r bwletin hwn yn yr archif" in page.inner_text("main")
    page.goto(edit_url)
    with page.expect_navigation():
        page.click("main form button:has-text('Cyhoeddi yn yr archif a’r ffrwd')")
    assert page.goto(f"{live.url}/issues/{slug}?lang=cy").status == 200


def crawl(page, start: str, audit, lang: str) -> list[str]:
    """Every editor page reachable by links from the dashboard, each audited once."""
    base = "{0.scheme}://{0.netloc}".format(urlsplit(start))
    queue, seen = [start], set()
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        path = urlsplit(url).path + ("?" + urlsplit(url).query if urlsplit(url).query else "")
        if path in seen:
            continue
        seen.add(path)
        page.goto(url)
        assert page.get_attribute("html", "lang") == ("cy" if lang == "cy" else "en-GB"), url
        audit.check(page, f"{lang} {path}")
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        for href in hrefs:
            target = urljoin(url, href).split("#")[0]
            if (
                target.startswith(base + "/editor")
                and not any(s in target for s in SKIP)
                and "lang=" not in target
            ):
                queue.append(target)
    return sorted(seen)


ERROR_FORMS = [
    "/editor/workshops/new",
    "/editor/opportunities/new",
    "/editor/account/password",
    "/editor/admin/editors/new",
    "/editor/admin/topics/new",
    "/editor/api-tokens",
    "/editor/sends/new",
    "/editor/subscribers/import",
    "/editor/subscribers/list",
]
#: What to do before sending a form so that it is refused (default: leave it empty).
MAKE_INVALID = {
    "/editor/sends/new": lambda page: (
        page.check("#when-1"),  # later, but past
        page.fill("#at", "2020-01-01T09:00"),
    ),
    "/editor/subscribers/list": lambda page: (  # past the maxlength a browser keeps to
        page.eval_on_selector("#q", "e => e.removeAttribute('maxlength')"),
        page.fill("#q", "x" * 201),
    ),
}


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_every_editor_page_and_error_state_passes_axe(live, page, audit, lang, screenshots):
    seed(live.app)
    sign_in(page, live.url, audit)
    compose(page, live.url, audit)
    page.goto(f"{live.url}/editor/?lang={lang}")
    pages = crawl(page, f"{live.url}/editor/", audit, lang)
    assert len(pages) >= 10, pages
    assert "/editor/subscribers/list" in pages, pages
    page.goto(f"{live.url}/editor/subscribers/list?language=cy")
    assert "darllenydd@example.org" in page.inner_text("main")
    save_screenshots(page, screenshots, f"subscriber-list-{lang}")
    for path in ERROR_FORMS:
        page.goto(live.url + path)
        MAKE_INVALID.get(path, lambda page: None)(page)
        with page.expect_navigation():
            page.click("main form:not(.inline-form) button[type=submit] >> nth=-1")
        assert page.locator(".error-summary").count() == 1, page.inner_text("main")[:500]
        audit.check(page, f"{lang} {path} with errors")
    print(f"\naudited {len(audit.checked)} editor pages and states ({lang})")
    audit.assert_clean()


def test_the_composer_reorders_without_script_and_passes_axe(
    live, chromium, page, audit, screenshots
):
    """Positions, top/bottom and section order by plain form posts; axe in both languages."""
    from bulletin.extensions import db
    from bulletin.models import Issue, IssueItem, Workshop

    seed(live.app)
    with live.app.app_context():
        workshops = db.session.scalars(db.select(Workshop)).all()
        for n in (2, 3):
            copy = Workshop(
                slug=f"copy-{n}",
                title_en=f"Workshop {n}",
                title_cy=f"Gweithdy {n}",
                starts_at=workshops[0].starts_at,
                ends_at=workshops[0].ends_at,
            )
            workshops.append(copy)
        issue = Issue(slug="order", subject_en="Order", subject_cy="Trefn")
        for position, workshop in enumerate(workshops):
            issue.items.append(
                IssueItem(
                    section="workshops", kind="workshop", workshop=workshop, position=position
                )
            )
        issue.items.append(
            IssueItem(section="news", kind="news", title_en="News", title_cy="Newyddion")
        )
        db.session.add(issue)
        db.session.commit()
        ids = {i.workshop.title_en if i.workshop else "News": i.id for i in issue.items}
        edit_url = f"{live.url}/editor/issues/{issue.id}"

    context = chromium.new_context(java_script_enabled=False)
    nojs = context.new_page()
    nojs.goto(f"{live.url}/editor/login?lang=en")
    nojs.fill("#email", "golygydd@example.org")
    nojs.fill("#password", PASSWORD)
    with nojs.expect_navigation():
        nojs.click("main form button[type=submit]")
    nojs.goto(f"{edit_url}?lang=en")
    nojs.fill(f"#position-{ids['Workshop 3']}", "1")
    with nojs.expect_navigation():
        nojs.click(f"#item-{ids['Workshop 3']} .move-form button")
    order = nojs.locator("ol.issue-items >> nth=0").locator("li > strong").all_inner_texts()
    assert [o.split(" / ")[0] for o in order] == [
        "Workshop 3",
        "Plain-language summaries",
        "Workshop 2",
    ]
    with nojs.expect_navigation():
        nojs.click(f"#item-{ids['Workshop 3']} button:has-text('Move to bottom')")
    for _ in range(2):  # past the (empty) opportunities, then past the workshops
        with nojs.expect_navigation():
            nojs.click("button:has-text('Move News up')")
    headings = nojs.locator("#items ~ h3").all_inner_texts()
    assert headings[1:3] == ["News", "Workshops and events"]
    context.close()

    sign_in(page, live.url, audit)
    for lang in ("cy", "en"):
        page.goto(f"{edit_url}?lang={lang}")
        label = page.locator(f"label[for=position-{ids['Workshop 2']}]").inner_text()
        assert label.startswith("Safle" if lang == "cy" else "Position")
        audit.check(page, f"{lang} composer: reorder controls")
        with page.expect_navigation():
            page.click("form[action$='/fill'] button[type=submit]")
        assert page.locator("#fill-report").count() == 1
        audit.check(page, f"{lang} composer: fill report")
        save_screenshots(page, screenshots, f"composer-order-{lang}")
    audit.assert_clean()
