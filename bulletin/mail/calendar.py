"""iCalendar (RFC 5545) files for workshops, in Europe/London with its VTIMEZONE."""

from __future__ import annotations

import icalendar
from flask_babel import force_locale
from flask_babel import gettext as _

from bulletin.i18n import LONDON
from bulletin.mail.links import external_url
from bulletin.mail.markup import render_plain
from bulletin.models import Workshop, utcnow


def workshop_calendar(workshop: Workshop, lang: str, *, domain: str) -> bytes:
    """A VCALENDAR holding one VEVENT for the workshop, text in `lang` (or the other)."""
    title, text_lang = workshop.text_with_fallback("title", lang)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//bulletin//workshops//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"workshop-{workshop.id}@{domain}")
    event.add("dtstamp", utcnow())
    event.add("dtstart", workshop.starts_at.astimezone(LONDON))
    event.add("dtend", workshop.ends_at.astimezone(LONDON))
    event.add("summary", title or "")
    event.add("description", _description(workshop, text_lang))
    event.add("location", _location(workshop, text_lang))
    event.add("url", external_url("archive.workshop", slug=workshop.slug))
    if workshop.updated_at:
        event.add("last-modified", workshop.updated_at)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


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
