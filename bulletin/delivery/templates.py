"""One MessageTemplate per (send, language), rendered once per worker and shared by its senders."""

from __future__ import annotations

import threading

from bulletin.core.clicks import link_maker
from bulletin.extensions import db
from bulletin.mail.dkim import make_signer
from bulletin.mail.links import external_url
from bulletin.mail.messages import MessageTemplate
from bulletin.mail.rendering import render_issue
from bulletin.mail.settings import DeliverySettings
from bulletin.models import Send


def build_template(
    send: Send, language: str, settings: DeliverySettings, sign=None
) -> MessageTemplate:
    """Render the send's issue once in a language (Jinja + premailer) and encode it once;
    its links become the send's counted links when CLICK_COUNTING is on (the caller
    commits the link rows)."""
    links = link_maker(send.id) if settings.click_counting else None
    rendered = render_issue(send.issue, language, links=links)
    return MessageTemplate(
        rendered,
        settings,
        send_id=send.id,
        archive_url=external_url("archive.issue", slug=send.issue.slug),
        sign=sign,
    )


class TemplateCache:
    """Templates by (send id, language), built on first use under a lock."""

    def __init__(self, settings: DeliverySettings):
        self.settings = settings
        self.sign = make_signer(settings)
        self.lock = threading.Lock()
        self.templates: dict[tuple[int, str], MessageTemplate] = {}

    def get(self, send_id: int, language: str) -> MessageTemplate:
        """The template, rendering it the first time it is asked for."""
        key = (send_id, language)
        template = self.templates.get(key)
        if template is None:
            with self.lock:
                template = self.templates.get(key)
                if template is None:
                    template = self._build(send_id, language)
                    if len(self.templates) > 32:  # old sends: drop them
                        self.templates.clear()
                    self.templates[key] = template
        return template

    def _build(self, send_id: int, language: str) -> MessageTemplate:
        try:
            send = db.session.get(Send, send_id)
            template = build_template(send, language, self.settings, self.sign)
            db.session.commit()  # the send's link rows, before any message names them
            return template
        finally:
            db.session.remove()
