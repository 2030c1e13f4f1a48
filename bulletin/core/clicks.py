"""Aggregate click counts: the links of a send's mail, how often each was followed, and the
rules for what counts. Nothing here knows or stores who clicked.

A send's mail is rendered once per language (delivery/templates.py), and its links are
made then: /r/TOKEN, where the token names the send and the link (a ClickLink row), the
same for every reader. Following one adds one to that row's count, or to its scanner
count, with one indexed UPDATE, and redirects to the target stored in the row.

What counts as a click (the README says the same, with the limits):
- only GET: HEAD never counts;
- never a prefetch: `Purpose: prefetch`, `Sec-Purpose: prefetch...`, `X-Moz: prefetch`,
  `X-Purpose: preview`;
- a known link scanner or preview bot (SCANNER_AGENTS, or no User-Agent at all) counts
  as a scanner hit, apart from clicks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bulletin.extensions import db
from bulletin.i18n import current_lang
from bulletin.mail import tokens
from bulletin.mail.issue_view import LinkMaker, LinkPlace
from bulletin.mail.links import external_url
from bulletin.models import ClickLink, IssueItem, Opportunity, Workshop

CLICK, SCANNER, IGNORED = "click", "scanner", "ignored"
#: Request headers that mark a prefetch or a preview (header, word in its value).
PREFETCH_HEADERS = (
    ("Purpose", "prefetch"),
    ("Sec-Purpose", "prefetch"),
    ("X-Moz", "prefetch"),
    ("X-Purpose", "preview"),
)
#: Words in a User-Agent (lower case) that mark a link scanner or preview fetcher. Many
#: scanners pretend to be a browser: those are counted as clicks (README: the limits).
SCANNER_AGENTS = (
    "safelinks",  # Microsoft Defender for Office 365 Safe Links, when it says so
    "microsoft office existence discovery",
    "barracuda",
    "proofpoint",
    "mimecast",
    "googleimageproxy",
    "google-safety",
    "headless",  # HeadlessChrome: automated browsers
    "bot",  # Googlebot, bingbot, Slackbot, Twitterbot...
    "crawler",
    "spider",
    "preview",  # link previews in chat apps and mail clients
)


def classify(method: str, headers: Mapping[str, str]) -> str:
    """CLICK, SCANNER or IGNORED for a request of /r/ (see the module's rules)."""
    if method != "GET":
        return IGNORED
    for name, word in PREFETCH_HEADERS:
        if word in (headers.get(name) or "").lower():
            return IGNORED
    agent = (headers.get("User-Agent") or "").strip().lower()
    if not agent or any(word in agent for word in SCANNER_AGENTS):
        return SCANNER
    return CLICK


def _counting(column: str):
    links = ClickLink.__table__
    return (
        update(links)
        .where(links.c.id == bindparam("link"), links.c.send_id == bindparam("send"))
        .values({column: links.c[column] + 1})
        .returning(links.c.target)
    )


#: Built once: Core statements on the table, one indexed row each (the primary key).
#: Constructing an ORM UPDATE per request cost more than running it.
_COUNT = {CLICK: _counting("clicks"), SCANNER: _counting("scanner_hits")}
_TARGET = select(ClickLink.__table__.c.target).where(
    ClickLink.__table__.c.id == bindparam("link"),
    ClickLink.__table__.c.send_id == bindparam("send"),
)


def follow_link(token: str, method: str, headers: Mapping[str, str]) -> str | None:
    """The target of a counted link, counting the request by the rules; None for a token
    that is altered, made with another key or names no link. The caller commits."""
    try:
        send_id, link_id = tokens.read_click_token(token)
    except tokens.BadToken:
        return None
    kind = classify(method, headers) if current_app.config["CLICK_COUNTING"] else IGNORED
    statement = _COUNT.get(kind, _TARGET)
    params = {"link": link_id, "send": send_id}
    return db.session.connection().execute(statement, params).scalar()


def _is_web_link(target: str) -> bool:
    return target.lower().startswith(("http://", "https://"))


def link_key(place: LinkPlace, target: str) -> str:
    """One link of a send: the same item and target are one row, whatever the language."""
    item = f"{place.item_kind}:{place.issue_item_id or 0}:{place.item_id or 0}"
    return hashlib.sha256(f"{item}\n{target}".encode()).hexdigest()


def link_maker(send_id: int) -> LinkMaker:
    """Turns a send's links into counted ones as its mail is rendered (once per language):
    each (item, target) gets one ClickLink row, made once by whichever render meets it
    first, so every language and every worker writes the same /r/ URL."""
    made: dict[str, str] = {}

    def make(target: str, place: LinkPlace) -> str:
        if not _is_web_link(target):
            return target  # mailto: and tel: links are left alone
        key = link_key(place, target)
        if key not in made:
            link_id = _ensure_link(send_id, key, place, target)
            token = tokens.make_click_token(send_id, link_id)
            made[key] = external_url("public.follow_link", token=token)
        return made[key]

    return make


def _ensure_link(send_id: int, key: str, place: LinkPlace, target: str) -> int:
    # Two workers may render the same send at once: the unique key keeps one row.
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    values = dict(
        send_id=send_id,
        link_key=key,
        item_order=place.item_order,
        item_kind=place.item_kind,
        item_id=place.item_id,
        issue_item_id=place.issue_item_id,
        role=place.role,
        target=target,
        clicks=0,
        scanner_hits=0,
    )
    insert = dialect.insert(ClickLink).values(**values)
    db.session.execute(insert.on_conflict_do_nothing(index_elements=["send_id", "link_key"]))
    return db.session.scalar(
        select(ClickLink.id).where(ClickLink.send_id == send_id, ClickLink.link_key == key)
    )


@dataclass
class LinkClicks:
    """One link of a send with its counts."""

    role: str
    target: str
    clicks: int
    scanner_hits: int


@dataclass
class ItemClicks:
    """One item of a send's issue (or its introduction) with its links' counts."""

    item_order: int
    item_kind: str
    title: str
    links: list[LinkClicks] = field(default_factory=list)

    @property
    def clicks(self) -> int:
        """Clicks on every link of the item."""
        return sum(link.clicks for link in self.links)

    @property
    def scanner_hits(self) -> int:
        """Scanner fetches of every link of the item."""
        return sum(link.scanner_hits for link in self.links)


def clicks_for_send(send_id: int, lang: str | None = None) -> list[ItemClicks]:
    """The send's counts per item, in the order of the issue as readers saw it, each with
    its links' counts; titles in `lang` (default: the page's), else the other language.
    Empty when the send counted no links. Show per-link counts only through the
    small-number rule, and not beside an item's total (the difference would tell)."""
    lang = lang or current_lang()
    rows = db.session.scalars(
        select(ClickLink)
        .where(ClickLink.send_id == send_id)
        .order_by(ClickLink.item_order, ClickLink.id)
    ).all()
    items: dict[int, ItemClicks] = {}
    for row in rows:
        item = items.get(row.item_order)
        if item is None:
            title = _title(row.item_kind, row.item_id, row.issue_item_id, lang)
            item = items[row.item_order] = ItemClicks(row.item_order, row.item_kind, title)
        item.links.append(LinkClicks(row.role, row.target, row.clicks, row.scanner_hits))
    return list(items.values())


def _title(kind: str, item_id: int | None, issue_item_id: int | None, lang: str) -> str:
    model = {"workshop": Workshop, "opportunity": Opportunity}.get(kind)
    source = db.session.get(model, item_id) if model and item_id else None
    if source is None and issue_item_id:
        source = db.session.get(IssueItem, issue_item_id)
        if source is not None and source.kind != "news":
            source = source.workshop or source.opportunity
    if source is None:
        return ""
    text, _ = source.text_with_fallback("title", lang)
    return text or ""


@dataclass
class EntryInterest:
    """A workshop or opportunity with its clicks across every send that featured it."""

    kind: str
    entry: Workshop | Opportunity
    sends: int
    clicks: int
    scanner_hits: int


def interest_by_entry() -> list[EntryInterest]:
    """Every workshop and opportunity that went out in a counted send, most clicked first."""
    query = (
        select(
            ClickLink.item_kind,
            ClickLink.item_id,
            func.count(func.distinct(ClickLink.send_id)),
            func.sum(ClickLink.clicks),
            func.sum(ClickLink.scanner_hits),
        )
        .where(ClickLink.item_kind.in_(("workshop", "opportunity")), ClickLink.item_id.is_not(None))
        .group_by(ClickLink.item_kind, ClickLink.item_id)
    )
    rows = db.session.execute(query).all()
    entries = {
        kind: {
            e.id: e
            for e in db.session.scalars(
                select(model).where(model.id.in_([r[1] for r in rows if r[0] == kind]))
            )
        }
        for kind, model in (("workshop", Workshop), ("opportunity", Opportunity))
    }
    found = [
        EntryInterest(kind, entries[kind][item_id], int(sends), int(clicks), int(scans))
        for kind, item_id, sends, clicks, scans in rows
        if item_id in entries[kind]  # an entry deleted since keeps no line
    ]
    return sorted(found, key=lambda e: (-e.clicks, e.kind, e.entry.id))
