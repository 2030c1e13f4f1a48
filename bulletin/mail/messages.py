"""The one message builder: issues, test sends and transactional mail (confirm, welcome,
already-subscribed, manage link) are all a MessageTemplate personalised for one recipient.

A MessageTemplate holds the message as already-encoded byte segments. Each part's body is
quoted-printable encoded once, cut at the personal placeholders (the links, and the markers
of the editor's merge fields); every cut ends in a soft line break, so a per-recipient URL
or value can be dropped in on lines of its own (with its own soft breaks) without
re-encoding anything around it. Per recipient we only format four header lines (five when
the subject has merge fields), make three tokens and join bytes: no Jinja, premailer,
EmailMessage or MIME encoding.
That is the bulk fast path; a transactional mail is the same builder used once.

Signing is the last step, with the one signer in bulletin.mail.dkim: bulk sends pass it to
the template, the outbox signs each message as it sends it.
"""

from __future__ import annotations

import html
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import quoprimime
from email.header import Header
from email.headerregistry import Address
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from urllib.parse import urlsplit, urlunsplit

from bulletin.i18n import content_language, org_name
from bulletin.mail import tokens
from bulletin.mail.links import external_url
from bulletin.mail.merge import MARKER, MARKER_PREFIX, Reader, field_values
from bulletin.mail.mime import SMTP_POLICY, domain_of, safe_header
from bulletin.mail.rendering import MANAGE_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER, RenderedEmail

CRLF = b"\r\n"
SOFT_BREAK = b"=\r\n"
PLACEHOLDERS = {UNSUBSCRIBE_PLACEHOLDER: "unsubscribe", MANAGE_PLACEHOLDER: "manage"}
#: Where a body is cut: a personal link, or a merge field's marker (its number in group 1).
_CUTS = re.compile(f"{UNSUBSCRIBE_PLACEHOLDER}|{MANAGE_PLACEHOLDER}|{MARKER.pattern}")
#: Encoded merge field values kept per template (names repeat less than regions and topics).
VALUE_CACHE_SIZE = 4096
#: Longest subject sent unencoded, and the longest encoded-word line after "Subject: ".
SUBJECT_LINE = 69


def default_list_id(config) -> str:
    """The List-Id identifier: LIST_ID, else bulletin.<domain of MAIL_FROM>."""
    return config.get("LIST_ID") or f"bulletin.{domain_of(config['MAIL_FROM'])}"


@dataclass(frozen=True)
class MailSettings:
    """What building a message needs, read from the config. The worker's DeliverySettings
    has the same fields, so the builder takes either."""

    mail_from: str
    reply_to: str | None
    list_id: str
    bounce_domain: str | None

    @property
    def from_address(self) -> str:
        """The bare address of MAIL_FROM."""
        return parseaddr(self.mail_from)[1]

    @property
    def mail_domain(self) -> str:
        """The domain of MAIL_FROM, used for Message-IDs."""
        return domain_of(self.mail_from)

    @classmethod
    def from_config(cls, config) -> MailSettings:
        """Read the settings from an app's config."""
        return cls(
            mail_from=config["MAIL_FROM"],
            reply_to=config.get("REPLY_TO"),
            list_id=default_list_id(config),
            bounce_domain=config.get("BOUNCE_DOMAIN"),
        )


@dataclass(frozen=True)
class Personal:
    """One recipient's values: what changes from message to message."""

    delivery_id: int
    uid: str
    email: str
    name: str | None = None
    region: str | None = None  #: a region code (for the merge fields)
    topics: tuple[tuple[str, str], ...] = ()  #: (English, Welsh) topic names, in order
    name_in_to: bool = True  #: False: the name fills merge fields only (a test's sample)


@dataclass(frozen=True)
class Built:
    """A personalised message and its SMTP envelope."""

    message: bytes
    sender: str
    recipient: str


def _header(name: str, value: str) -> bytes:
    # Always refold: RFC 2047 encoded-words for non-ASCII text, however short (MSG-08).
    folded = SMTP_POLICY.header_factory(name, safe_header(value)).fold(policy=SMTP_POLICY)
    return folded.encode("ascii")


def _qp_segments(body: str) -> list[bytes | str | int]:
    """The body QP-encoded once: bytes segments, with what goes between them: a link's name,
    or a merge field's number."""
    pieces: list[bytes | str | int] = []
    rest, pos = body.replace("\r\n", "\n"), 0
    for cut in _CUTS.finditer(rest):
        key = PLACEHOLDERS.get(cut.group(0)) or int(cut.group(1))
        pieces += [_qp(rest[pos : cut.start()]) + SOFT_BREAK, key]
        pos = cut.end()
    pieces.append(_qp(rest[pos:]))
    return pieces


def _qp(text: str, width: int = 74) -> bytes:
    """Quoted-printable with no line starting with '.' (written '=2E'), so the message never
    needs SMTP dot-stuffing: a stuffing pass over every 30 KB message cost more than
    building it. Lines are wrapped at `width`, 74 so the two extra characters stay
    within 76."""
    if not text:
        return b""
    raw = text.encode("utf-8").decode("latin-1")
    encoded = quoprimime.body_encode(raw, width, "\r\n").encode("ascii")
    if encoded.startswith(b"."):
        encoded = b"=2E" + encoded[1:]
    return encoded.replace(b"\r\n.", b"\r\n=2E")


def qp_url(url: str) -> bytes:
    """A URL on lines of its own: soft breaks every 75 characters, ends in one. A URL with
    an '=' or a '.' that would start a line goes through _qp, which escapes both (at 73,
    leaving room for the closing soft break)."""
    lines = [url[i : i + 75] for i in range(0, len(url), 75)]
    if "=" in url or any(line.startswith(".") for line in lines):
        return _qp(url, 73) + SOFT_BREAK
    return "=\r\n".join(lines).encode("ascii") + SOFT_BREAK


def qp_value(value: str) -> bytes:
    """A merge field's value on lines of its own, ending in a soft break (nothing for '')."""
    if not value:
        return b""
    if value.isascii() and value.isprintable():
        return qp_url(value)
    return _qp(value, 73) + SOFT_BREAK


class MessageTemplate:
    """One message in one language, encoded once; personalise() fills in a recipient.

    A list message (an issue, or its test send) carries the List-* headers and personal
    unsubscribe and manage links. A transactional one (is_list=False) carries neither and is
    marked Auto-Submitted. With a send_id, Personal.delivery_id is a delivery of that send
    (Message-IDs and VERP name it); without, it is an outbox row's id and the Message-ID is
    random."""

    def __init__(
        self,
        rendered: RenderedEmail,
        settings: MailSettings,
        *,
        send_id: int | None = None,
        archive_url: str | None = None,
        sign: Callable[[bytes], bytes] | None = None,
        is_list: bool = True,
        subject_prefix: str = "",
    ):
        self.settings, self.send_id, self.sign, self.is_list = settings, send_id, sign, is_list
        self.language = rendered.language
        self.from_address = settings.from_address
        self.tokens = {"bounce": tokens.address_token_maker("bounce")}
        if send_id is None:
            domain = settings.mail_domain
            self.message_id: Callable[[int], str] = lambda _ref: make_msgid(domain=domain)
            self.verp_prefix = "o"
        else:
            self.message_id = tokens.message_id_maker(send_id, settings.mail_domain)
            self.verp_prefix = "d"
        if is_list:
            self.tokens.update({p: tokens.plain_token_maker(p) for p in ("unsubscribe", "manage")})
            self.tokens["mailto"] = tokens.address_token_maker("mailto")
            self.unsubscribe_prefix = _link_prefix("public.unsubscribe")
            self.manage_prefix = _link_prefix("public.manage")
        self.fields = rendered.fields
        self.field_languages = rendered.field_languages  #: a bilingual mail's, per field
        self.values: dict[str, tuple[bytes, bytes]] = {}  #: encoded values (text, HTML)
        self.words: dict[str, str] = {}  #: subject pieces as RFC 2047 encoded-words
        #: A subject with merge fields: its text cut at the markers (odd places: field numbers).
        self.subject_parts: list[str] | None = None
        if MARKER_PREFIX in rendered.subject:
            self.subject_parts = MARKER.split(subject_prefix + rendered.subject)
        self.fixed_headers = self._fixed_headers(rendered, archive_url, subject_prefix)
        boundary = "==bulletin-" + secrets.token_hex(12)
        self.boundary = boundary.encode("ascii")
        self.fixed_headers += (
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n'
        ).encode("ascii")
        self.text = self._part("plain", rendered.text)
        self.html = self._part("html", rendered.html)
        self._date = (0, "")

    def _fixed_headers(
        self, rendered: RenderedEmail, archive_url: str | None, subject_prefix: str
    ) -> bytes:
        s = self.settings
        lines = [
            _header("From", from_header(s.mail_from, rendered.language)),
        ]
        if self.subject_parts is None:
            lines.append(_header("Subject", subject_prefix + rendered.subject))
        if s.reply_to:
            lines.append(_header("Reply-To", s.reply_to))
        if self.is_list:
            lines.append(_header("List-Id", f"{_list_name(rendered.language)} <{s.list_id}>"))
            lines.append(_header("List-Help", f"<{external_url('public.request_link')}>"))
            if archive_url:
                lines.append(_header("List-Archive", f"<{archive_url}>"))
            lines.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
            lines.append(b"Precedence: bulk\r\n")
        else:
            lines.append(b"Auto-Submitted: auto-generated\r\n")
        lines.append(b"MIME-Version: 1.0\r\n")
        lines.append(_header("Content-Language", content_language(rendered.language)))
        return b"".join(lines)

    def _part(self, subtype: str, body: str) -> list[bytes | str | int]:
        head = (
            f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n"
            f"Content-Language: {content_language(self.language)}\r\n\r\n"
        )
        return [head.encode("ascii"), *_qp_segments(body)]

    def _now(self) -> str:
        # Date changes once a second: format it once a second, not once a message.
        second = int(time.time())
        if self._date[0] != second:
            self._date = (second, format_datetime(datetime.fromtimestamp(second, UTC)))
        return self._date[1]

    def personalise(self, who: Personal) -> Built:
        """The finished (and, when configured, DKIM-signed) message for one recipient."""
        s = self.settings
        head = (
            f"To: {_to(who)}\r\n"
            f"Date: {self._now()}\r\n"
            f"Message-ID: {self.message_id(who.delivery_id)}\r\n"
        )
        encoded: dict[str | int, tuple[bytes, bytes]] = {}
        if self.fields:
            values = self._values(who)
            encoded.update(enumerate(self._encoded(value) for value in values))
            if self.subject_parts is not None:
                head += self._subject(values)
        if self.is_list:
            links = {
                "unsubscribe": self.unsubscribe_prefix
                + self.tokens["unsubscribe"](tokens.unsubscribe_value(who.uid, self.send_id)),
                "manage": self.manage_prefix + self.tokens["manage"](who.uid),
            }
            unsubscribe = f"<{links['unsubscribe']}>"
            if s.bounce_domain:
                mailto = self.tokens["mailto"](who.uid)
                unsubscribe += f",\r\n <mailto:unsubscribe+{mailto}@{s.bounce_domain}>"
            head = f"{head}List-Unsubscribe: {unsubscribe}\r\n"
            encoded.update(_encoded_links(links))
        out = [self.fixed_headers, head.encode("ascii"), CRLF]
        for part, index in ((self.text, 0), (self.html, 1)):
            out += [b"--", self.boundary, CRLF]
            for piece in part:
                out.append(piece if isinstance(piece, bytes) else encoded[piece][index])
            out.append(CRLF)
        out += [b"--", self.boundary, b"--", CRLF]
        message = b"".join(out)
        if self.sign is not None:
            message = self.sign(message)
        if s.bounce_domain:
            sender = _verp(self.tokens["bounce"](f"{self.verp_prefix}{who.delivery_id}"), s)
        else:
            sender = self.from_address
        return Built(message, sender, who.email)

    def _values(self, who: Personal) -> list[str]:
        return field_values(who, self.language, self.fields, self.field_languages)

    def _encoded(self, value: str) -> tuple[bytes, bytes]:
        # QP-encoding is the dear part of a value: regions and topic lists repeat, so keep
        # each once (the cache is emptied when full rather than kept in order).
        found = self.values.get(value)
        if found is None:
            escaped = html.escape(value)
            text = qp_value(value)
            found = (text, text if escaped == value else qp_value(escaped))
            if len(self.values) >= VALUE_CACHE_SIZE:
                self.values.clear()
            self.values[value] = found
        return found

    def _subject(self, values: list[str]) -> str:
        # A short ASCII subject goes as it is. Any other is a run of RFC 2047 encoded-words
        # (email.header), one run per piece, each piece encoded once and kept: a decoder
        # joins adjacent encoded-words and drops the folding between them, so the reader
        # sees the pieces joined, and no message pays for folding the whole header.
        parts = self.subject_parts or []
        pieces = [values[int(p)] if i % 2 else p for i, p in enumerate(parts)]
        text = "".join(pieces)
        if text.isascii() and text.isprintable() and len(text) <= SUBJECT_LINE:
            return f"Subject: {text}\r\n"
        return "Subject: " + "\r\n ".join(self._words(p) for p in pieces if p) + "\r\n"

    def _words(self, piece: str) -> str:
        found = self.words.get(piece)
        if found is None:
            found = Header(piece, "utf-8", maxlinelen=SUBJECT_LINE - 1).encode(linesep="\r\n")
            if len(self.words) >= VALUE_CACHE_SIZE:
                self.words.clear()
            self.words[piece] = found
        return found


def envelope_sender(settings: MailSettings, ref: str) -> str:
    """The SMTP MAIL FROM of one message: VERP (bounces+TOKEN@) naming a delivery ("d<id>")
    or an outbox row ("o<id>") when a bounce domain is configured, else MAIL_FROM."""
    if settings.bounce_domain:
        return _verp(tokens.make_bounce_token(ref), settings)
    return settings.from_address


def _verp(token: str, settings: MailSettings) -> str:
    return f"bounces+{token}@{settings.bounce_domain}"


def build_transactional(
    rendered: RenderedEmail, settings: MailSettings, *, outbox_id: int, to: str
) -> Built:
    """A confirmation, welcome, already-subscribed or manage-link mail, unsigned (the outbox
    signs what it sends)."""
    template = MessageTemplate(rendered, settings, is_list=False)
    return template.personalise(Personal(outbox_id, "", to))


def build_test(
    rendered: RenderedEmail,
    settings: MailSettings,
    *,
    outbox_id: int,
    to: str,
    archive_url: str | None = None,
    reader: Reader | None = None,
) -> Built:
    """An issue as a reader gets it, subject marked [TEST], its personal links (and the
    List-Unsubscribe ones) made for tokens.TEST_UID, which acts on nobody; its merge fields
    filled from `reader` (the preview's sample)."""
    template = MessageTemplate(
        rendered, settings, archive_url=archive_url, subject_prefix="[TEST] "
    )
    reader = reader or Reader()
    who = Personal(outbox_id, tokens.TEST_UID, to, reader.name, reader.region, reader.topics, False)
    return template.personalise(who)


def _encoded_links(links: dict[str, str]) -> dict[str, tuple[bytes, bytes]]:
    """Each link QP-encoded for the text part and, HTML-escaped, for the HTML part: once
    each, and once for both when escaping changes nothing (our tokens are URL-safe)."""
    encoded = {}
    for name, url in links.items():
        text, escaped = qp_url(url), html.escape(url)
        encoded[name] = (text, text if escaped == url else qp_url(escaped))
    return encoded


def _to(who: Personal) -> str:
    if not who.email.isascii():
        raise ValueError("the address needs SMTPUTF8, which we do not use")
    if "\n" in who.email or "\r" in who.email:
        raise ValueError("the address contains a line break")
    name = " ".join((who.name or "").split()) if who.name_in_to else ""
    return formataddr((name, who.email), charset="utf-8") if name else who.email


def from_header(mail_from: str, lang: str) -> str:
    """MAIL_FROM, with the organisation's name (in the mail's language) as its display name
    when MAIL_FROM is a bare address: mail from a bare address looks like spam."""
    name, address = parseaddr(mail_from)
    if name or not address:
        return mail_from
    return str(Address(display_name=org_name(lang), addr_spec=address))


def _list_name(lang: str) -> str:
    return org_name(lang).replace('"', "")


def _link_prefix(endpoint: str) -> str:
    marker = "TOKENMARKER"
    url = external_url(endpoint, token=marker)
    parts = urlsplit(url)
    assert parts.path.endswith(marker) and not parts.query
    return urlunsplit(parts._replace(path=parts.path[: -len(marker)]))
