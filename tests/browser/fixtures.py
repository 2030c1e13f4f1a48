"""Browser-suite fixtures: Debian's Chromium, a live server with a real SMTP server, pages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.axe import Audit
from tests.browser.live import LiveServer
from tests.support.smtp import free_port

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
_SAVED: list[Path] = []
_AUDITED: list[str] = []


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the whole run (Playwright drives Debian's build).

    Without the browser the tests are skipped, unless BULLETIN_REQUIRE_BROWSER=1 (CI),
    which makes that a failure.
    """
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("BULLETIN_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def live(make_app, smtp_server):
    """The app on a free port, mailing a real aiosmtpd, links in mail pointing back at it."""
    from bulletin.core.defaults import ensure_defaults
    from tests.conftest import _empty_tables

    port = free_port()
    app = make_app(SMTP_URL=smtp_server.url, BASE_URL=f"http://127.0.0.1:{port}")
    with app.app_context():
        _empty_tables()
        ensure_defaults()
    server = LiveServer(app, port).start()
    yield server
    server.stop()


@pytest.fixture
def browser_context(chromium):
    """A fresh profile (no cookies) at desktop size."""
    context = chromium.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


@pytest.fixture
def audit():
    """Collects axe results; the test calls audit.assert_clean() at the end."""
    collected = Audit()
    yield collected
    _AUDITED.extend(collected.checked)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots go (git-ignored); printed so CI logs show it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _SAVED.append(SCREENSHOTS)
    print(f"\nscreenshots: {SCREENSHOTS}")
    return SCREENSHOTS


def save_screenshots(page, folder: Path, name: str) -> list[Path]:
    """Full-page screenshots at desktop width and at 320 CSS px."""
    saved = []
    size = page.viewport_size
    for label, viewport in (("desktop", DESKTOP), ("320px", {"width": 320, "height": 640})):
        page.set_viewport_size(viewport)
        path = folder / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        saved.append(path)
    page.set_viewport_size(size)
    return saved


def pytest_terminal_summary(terminalreporter) -> None:
    """Say where the screenshots are, when this run saved any."""
    if _SAVED:
        terminalreporter.write_line(f"browser screenshots: {_SAVED[0]}")
    if _AUDITED:
        listing = SCREENSHOTS.parent / "axe-audited.txt"
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("\n".join(_AUDITED) + "\n", encoding="utf-8")
        terminalreporter.write_line(
            f"axe-core checked {len(_AUDITED)} pages, states and emails: list in {listing}"
        )
