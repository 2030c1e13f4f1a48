"""The embeddable sign-up in Chromium, with partner pages served from other ports (other
origins): framing allowed and refused by CSP, the cross-origin form post with its
proof-of-work, no replay, no sign-up without the challenge or with the honeypot, axe."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest
from sqlalchemy import func, select

from tests.browser.mail import next_mail
from tests.support.smtp import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output readable
        pass


class Partner:
    """A partner's website: static pages on 127.0.0.1 at a port of its own."""

    def __init__(self, folder):
        self.port = free_port()
        self.folder = folder
        handler = functools.partial(_Quiet, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, name: str, body: str) -> str:
        head = '<!DOCTYPE html><html lang="en"><head><title>Partner</title></head>'
        page = f"{head}<body>{body}</body></html>"
        (self.folder / name).write_text(page, encoding="utf-8")
        return f"{self.origin}/{name}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def partners(tmp_path):
    made = []
    for name in ("listed", "unlisted"):
        (tmp_path / name).mkdir()
        made.append(Partner(tmp_path / name))
    yield made
    for partner in made:
        partner.stop()


@pytest.fixture
def embed_live(make_app, smtp_server, partners):
    """The app on a free port, with the first partner (only) in EMBED_ORIGINS."""
    from bulletin.core.defaults import ensure_defaults
    from tests.browser.live import LiveServer
    from tests.conftest import _empty_tables

    port = free_port()
    app = make_app(
        SMTP_URL=smtp_server.url,
        BASE_URL=f"http://127.0.0.1:{port}",
        EMBED_ORIGINS=[partners[0].origin],
    )
    with app.app_context():
        _empty_tables()
        ensure_defaults()
    server = LiveServer(app, port).start()
    yield server
    server.stop()


def _rows(app, model) -> int:
    from bulletin.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _sources(app) -> list[str]:
    from bulletin.extensions import db
    from bulletin.models import ConsentEvent

    with app.app_context():
        return list(db.session.scalars(select(ConsentEvent.source).order_by(ConsentEvent.id)))


def _snippet(app, **choice) -> str:
    from bulletin.editorial.views_embed import _snippet as build

    with app.test_request_context():
        return build({"lang": "en", "topics": ["workshops"], **choice}, choice.pop("ret", ""))


def test_iframe_shows_on_a_listed_partner_and_is_refused_elsewhere(
    embed_live, partners, page, smtp_server
):
    listed, unlisted = partners
    src = f"{embed_live.url}/embed/subscribe?lang=en&topics=workshops"
    frame_tag = f'<iframe src="{src}" title="Sign up"></iframe>'
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))

    page.goto(unlisted.add("framed.html", frame_tag))
    page.wait_for_load_state("load")
    [child] = page.main_frame.child_frames
    assert child.url.startswith("chrome-error://"), child.url  # the frame was not rendered
    assert any("frame-ancestors" in text for text in messages), messages

    page.goto(listed.add("framed.html", frame_tag))
    frame = page.frame_locator("iframe")
    assert frame.locator("h1").inner_text() == "Sign up for the research bulletin"
    assert frame.locator("#topics-0").is_checked()

    # Signing up inside the frame: the answer stays in the frame, and the mail goes out.
    frame.locator("#email").fill("framed@example.org")
    frame.locator("#region-0").check()
    frame.locator("#consent").check()
    frame.locator("form[data-bulletin-solved]").wait_for(state="attached")
    frame.locator("form button[type=submit]").click()
    frame.locator("h1", has_text="Check your email").wait_for()
    confirm = next_mail(embed_live, smtp_server, 1, "framed@example.org")
    assert str(confirm["Subject"]).startswith("Confirm your subscription")
    assert _sources(embed_live.app) == [f"embed:{listed.origin}"]


def test_partner_form_posts_across_origins_once_and_mail_arrives(
    embed_live, partners, browser_context, page, smtp_server, audit
):
    from bulletin.models import OutboxMessage

    listed, unlisted = partners
    thanks = listed.add("thanks.html", "<h1>Thank you</h1>")
    page.goto(listed.add("signup.html", _snippet(embed_live.app, region="mid-wales", ret=thanks)))
    page.fill("#bulletin-email", "partner@example.org")
    page.check("#bulletin-consent")
    page.locator("form[data-bulletin-solved]").wait_for(state="attached")
    solution = page.input_value("input[name=altcha]")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == thanks and page.inner_text("h1") == "Thank you"
    confirm = next_mail(embed_live, smtp_server, 1, "partner@example.org")
    assert str(confirm["Subject"]).startswith("Confirm your subscription")
    assert _sources(embed_live.app) == [f"embed:{listed.origin}"]

    # The same solution again, straight from the partner's origin: refused, nothing queued.
    replay = browser_context.request.post(
        f"{embed_live.url}/subscribe/external",
        form={
            "email": "second@example.org",
            "topics": "workshops",
            "region": "mid-wales",
            "language": "en",
            "consent": "y",
            "altcha": solution,
        },
        headers={"Origin": listed.origin},
        max_redirects=0,
    )
    assert replay.status == 400
    assert _rows(embed_live.app, OutboxMessage) == 1

    # The same form on a site that is not listed: the post is refused.
    page.goto(unlisted.add("signup.html", _snippet(embed_live.app, region="mid-wales")))
    page.fill("#bulletin-email", "elsewhere@example.org")
    page.check("#bulletin-consent")
    # No CORS grant for this site: its script cannot even fetch a challenge, and the form,
    # sent without one, is refused for where it comes from.
    with page.expect_navigation() as refused:
        page.click("button[type=submit]")
    assert refused.value.status == 403
    assert page.url.startswith(f"{embed_live.url}/subscribe/external")
    assert _rows(embed_live.app, OutboxMessage) == 1
    audit.check(page, "en sign-up from an unlisted site refused")
    audit.assert_clean()


def test_without_a_solved_challenge_or_with_the_honeypot_nothing_is_sent(
    embed_live, partners, chromium, page, audit
):
    from bulletin.models import OutboxMessage, Subscriber

    listed = partners[0]
    url = listed.add("signup.html", _snippet(embed_live.app, region="mid-wales"))
    # Scripts off: the form goes without a solution, and our page asks for one more step.
    context = chromium.new_context(java_script_enabled=False)
    try:
        bare = context.new_page()
        bare.goto(url)
        bare.fill("#bulletin-email", "noscript@example.org")
        bare.check("#bulletin-consent")
        with bare.expect_navigation():
            bare.click("button[type=submit]")
        assert "Your sign-up has not been sent yet" in bare.inner_text("main")
        assert bare.locator("noscript").count() == 1  # it offers /subscribe instead
    finally:
        context.close()
    # A bot that fills the hidden field: the usual answer, and nothing recorded.
    page.goto(url)
    page.fill("#bulletin-email", "bot@example.org")
    page.check("#bulletin-consent")
    page.evaluate("document.querySelector('#bulletin-website').value = 'https://spam.example'")
    page.locator("form[data-bulletin-solved]").wait_for(state="attached")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.inner_text("h1") == "Check your email"
    audit.check(page, "en check your email, after a partner's form")
    assert _rows(embed_live.app, Subscriber) == 0
    assert _rows(embed_live.app, OutboxMessage) == 0
    audit.assert_clean()


def test_embed_page_and_builder_are_axe_clean_in_both_languages(embed_live, page, audit):
    from tests.test_browser_editor import seed, sign_in

    for lang, title in (("cy", "Tanysgrifio i'r bwletin"), ("en", "Sign up for the research")):
        page.goto(f"{embed_live.url}/embed/subscribe?lang={lang}&topics=workshops")
        assert page.get_attribute("html", "lang") == {"cy": "cy", "en": "en-GB"}[lang]
        assert page.title().startswith(title)
        audit.check(page, f"{lang} embed sign-up")
        page.click("form button[type=submit]")  # nothing filled in: the errors
        page.wait_for_url("**/subscribe/external**")
        assert page.locator(".error-summary").count() == 1
        audit.check(page, f"{lang} embed sign-up with errors")
    seed(embed_live.app)
    sign_in(page, embed_live.url, audit)
    for lang in ("cy", "en"):
        page.goto(f"{embed_live.url}/editor/admin/embed?lang={lang}")
        audit.check(page, f"{lang} embed code builder")
        page.check("#topics-0")
        page.click("main form button[type=submit]")
        page.wait_for_url("**language=**")
        assert page.locator("textarea").count() == 2
        frame = page.frame_locator("iframe.embed-preview")
        assert frame.locator("#topics-0").is_checked()
        audit.check(page, f"{lang} embed code builder with code")
    audit.assert_clean()
