"""Mail in the browser suite: run the worker, fetch what arrived, audit an email's HTML."""

from __future__ import annotations

from tests.support.mailtools import URL_RE, html_part, text_part
from tests.support.worker import run_worker_once

HTML_LANG = {"cy": "cy", "en": "en-GB", "cy+en": "cy"}

_SMALL_TEXT = """() => [...document.querySelectorAll('body *')].filter(el =>
  [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) &&
  el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden' &&
  parseFloat(getComputedStyle(el).fontSize) < 16).map(el => el.outerHTML.slice(0, 80))"""


def next_mail(live, smtp_server, count: int, address: str):
    """Run the worker until `count` messages arrived in all; the latest one to an address."""
    run_worker_once(live.app)
    smtp_server.wait_for(count)
    received = smtp_server.to(address)
    assert len(received) >= 1, f"no mail for {address}"
    return received[-1].message


def link_from(message, base: str, path: str) -> str:
    """The first link in the plain-text part under base + path."""
    found = [u for u in URL_RE.findall(text_part(message)) if u.startswith(base + path)]
    assert found, f"no {path} link in:\n{text_part(message)}"
    return found[0]


def check_email(context, audit, message, lang: str, label: str):
    """axe in light and dark mode, reflow, 16px text, html lang, alt text, headings. A mail
    in both languages (lang "cy+en") has one h1 in each language's part."""
    page = context.new_page()
    page.set_content(html_part(message))
    assert page.get_attribute("html", "lang") == HTML_LANG[lang]
    assert page.locator("h1").count() == (2 if lang == "cy+en" else 1)
    assert page.locator("img:not([alt])").count() == 0
    assert page.locator("table:not([role=presentation])").count() == 0
    assert page.evaluate(_SMALL_TEXT) == [], f"{label}: text under 16px"
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    # In-page links (between the parts of a mail in both languages) have no place in text.
    missing = [h for h in hrefs if h not in text_part(message) and not h.startswith("#")]
    assert not missing, f"{label}: links missing from the plain-text part: {missing}"
    audit.check(page, f"email {label} (light)")
    page.emulate_media(color_scheme="dark")
    audit.check(page, f"email {label} (dark mode)", reflow=False)
    page.emulate_media(color_scheme="light")
    return page
