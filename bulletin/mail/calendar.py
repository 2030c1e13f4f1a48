"""iCalendar (RFC 5545) for workshops, in Europe/London with its VTIMEZONE: one workshop's
file (the "Add to calendar" link in mail and on its page) and the subscribable feeds.

icalendar writes the text: CRLF line ends, folding at 75 octets (never inside a UTF-8
character) and TEXT escaping of commas, semicolons, backslashes and new lines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import icalendar
from flask_babel import force_locale
from flask_babel import gettext as _

from bulletin.i18n import LONDON
from bulletin.mail.links import external_url
from bulletin.mail.markup import render_plain
from bulletin.models import Workshop, utcnow

#: How often a subscribed calendar should fetch the feed again (REFRESH-INTERVAL, RFC 7986).
REFRESH = timedelta(hours=6)


def workshop_calendar(workshop: Workshop, lang: str, *, domain: str) -> bytes:
    """A VCALENDAR holding one VEVENT for the workshop, text in `lang` (or the other)."""
    calendar = _calendar()
    calendar.add("method", "PUBLISH")
    calendar.add_component(_event(workshop, lang, domain=domain, stamp=utcnow()))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def workshops_feed(workshops: Iterable[Workshop], lang: str, *, domain: str, name: str) -> bytes:
    """A calendar to subscribe to: one VEVENT per workshop (same UIDs as the single files).

    No METHOD: a feed is a copy of a calendar store, so each DTSTAMP is when the workshop was
    last revised (RFC 5545, 3.8.7.2). The body then changes only when a workshop does, and
    its ETag lets calendar clients poll cheaply."""
    calendar = _calendar()
    calendar.add("name", name)  # RFC 7986
    calendar.add("x-wr-calname", name)  # the same, for Outlook and Apple Calendar
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(REFRESH).to_ical().decode())
    for workshop in workshops:
        stamp = workshop.updated_at or workshop.created_at
        calendar.add_component(_event(workshop, lang, domain=domain, stamp=stamp))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _calendar() -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//bulletin//workshops//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    return calendar


def _event(workshop: Workshop, lang: str, *, domain: str, stamp: datetime) -> icalendar.Event:
    title, text_lang = workshop.text_with_fallback("title", lang)
    event = icalendar.Event()
    event.add("uid", f"workshop-{workshop.id}@{domain}")
    event.add("dtstamp", stamp)
    event.add("dtstart", workshop.starts_at.astimezone(LONDON))
    event.add("dtend", workshop.ends_at.astimezone(LONDON))
    event.add("summary", title or "")
    event.add("description", _description(workshop, text_lang))
    event.add("location", _location(workshop, text_lang))
    event.add("url", external_url("archive.workshop", slug=workshop.slug))
    if workshop.updated_at:
        event.add("last-modified", workshop.updated_at)
    return event


def _description(workshop: Workshop, lang: str) -> str:
    parts = [render_plain(workshop.text("summary", lang)).strip()]
    if workshop.booking_url:
        parts.append(workshop.booking_url)
    return "\n\n".join(p for p in parts if p)


def _location(workshop: Workshop, lang: str) -> str:
    if workshop.is_online:
        with force_locale(lang):
            return _("Online")
    return " ".join((workshop.text("venue", lang) or "").split())
