"""What a reader sees of an issue in one language: sections of items, text with fallback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l

from bulletin.i18n import other_language
from bulletin.mail.branding import ImageView, image_view
from bulletin.mail.links import external_url
from bulletin.mail.markup import link_targets
from bulletin.mail.merge import Placeholder, neutral_filler, replace
from bulletin.models import Issue, IssueItem, Opportunity, Workshop, utcnow

#: The sections' headings (each issue orders them: Issue.sections).
SECTIONS = {
    "workshops": _l("Workshops and events"),
    "opportunities": _l("Ways to get involved"),
    "news": _l("News"),
}
SECTION_OF_KIND = {"workshop": "workshops", "opportunity": "opportunities", "news": "news"}


@dataclass
class ItemView:
    """One item as a reader sees it; `lang` is the language its text is in."""

    kind: str
    lang: str
    fallback: bool
    title: str
    summary: str  #: Markdown
    url: str | None = None
    workshop: Workshop | None = None
    opportunity: Opportunity | None = None
    extra: dict[str, str] = field(default_factory=dict)  #: venue, accessibility, payment
    ics_url: str | None = None
    #: The item's library image; its alt text is in the reader's language, not `lang`.
    image: ImageView | None = None
    booking_url: str | None = None
    item_id: int | None = None  #: the IssueItem's id
    #: Targets of the summary's Markdown links -> the URLs written instead (counted links).
    links: dict[str, str] | None = None
    #: An opportunity closing before the next issue (Issue.closing_soon_before).
    closing_soon: bool = False


@dataclass
class SectionView:
    key: str
    heading: str
    items: list[ItemView]


@dataclass
class IssueView:
    """The issue in one language, ready for the email and web templates."""

    lang: str
    subject: str
    preheader: str
    intro: str  #: Markdown
    intro_lang: str
    date: datetime
    sections: list[SectionView]
    intro_links: dict[str, str] | None = None  #: as ItemView.links, for the introduction


@dataclass(frozen=True)
class LinkPlace:
    """Where a link sits in an issue: what a counted link's clicks are reported under."""

    item_order: int  #: 0 for the introduction, then 1, 2... in the order readers see items
    item_kind: str  #: "intro", "workshop", "opportunity" or "news"
    item_id: int | None  #: the workshop's or opportunity's id
    issue_item_id: int | None
    role: str  #: "more" (the item's page), "booking", "calendar" or "text" (in its Markdown)


#: Gives the URL a mail carries for a link: a counted /r/ link (core/clicks.py), made once
#: per send and language at render time, the same for every reader.
LinkMaker = Callable[[str, LinkPlace], str]


def _pick(source, field_name: str, lang: str) -> str:
    # A field in the item's chosen language only: never mix languages inside one item.
    return source.text(field_name, lang) or ""


def item_language(source, lang: str) -> str:
    """The reader's language when the item has a title in it, else the other one."""
    return (
        lang
        if source.has_language(lang) or not source.has_language(other_language(lang))
        else other_language(lang)
    )


#: What a merge field placeholder becomes in the view: a reader's value, a marker, a word.
Fill = Callable[[Placeholder], str]


def build_item(item: IssueItem, lang: str, fill: Fill | None = None) -> ItemView | None:
    """The reader's view of one issue item (None when it has no text in either language).

    A news item's text (the editor's own) has its merge fields replaced by `fill`, by
    default the archive's words in the language of the text."""
    source = item.workshop or item.opportunity or item
    text_lang = item_language(source, lang)
    title = _pick(source, "title", text_lang)
    if not title:
        return None
    summary = _pick(source, "body" if item.kind == "news" else "summary", text_lang)
    if item.workshop is None and item.opportunity is None:
        fill = fill or neutral_filler(text_lang)
        title, summary = replace(title, fill), replace(summary, fill)
    view = ItemView(
        kind=item.kind,
        lang=text_lang,
        fallback=text_lang != lang,
        title=title,
        summary=summary,
        image=image_view(item.image, lang) if item.image is not None else None,
        item_id=item.id,
    )
    if item.workshop is not None:
        _add_workshop(view, item.workshop, text_lang)
    elif item.opportunity is not None:
        view.opportunity = item.opportunity
        view.url = item.opportunity.url
        view.extra = {"payment": _pick(item.opportunity, "payment", text_lang)}
        view.closing_soon = closes_before_next_issue(item)
    return view


def closes_before_next_issue(item: IssueItem) -> bool:
    """Whether an opportunity closes before the issue after this one (the rhythm's next
    date, set on the issues it drafts): the mail marks it "closing soon"."""
    closes = item.opportunity.closes_at if item.opportunity is not None else None
    before = item.issue.closing_soon_before if item.issue is not None else None
    return closes is not None and before is not None and closes < before


def _add_workshop(view: ItemView, workshop: Workshop, text_lang: str) -> None:
    view.workshop = workshop
    view.url = external_url("archive.workshop", slug=workshop.slug)
    view.ics_url = external_url("archive.workshop_ics", slug=workshop.slug)
    view.booking_url = workshop.booking_url or None
    view.extra = {
        "venue": _pick(workshop, "venue", text_lang),
        "accessibility": _pick(workshop, "accessibility", text_lang),
    }


def build_sections(issue: Issue, lang: str, fill: Fill | None = None) -> list[SectionView]:
    """Items grouped by section in the issue's section order, each in item position order."""
    grouped: dict[str, list[ItemView]] = {key: [] for key in issue.sections}
    for item in issue.reading_order():
        view = build_item(item, lang, fill)
        if view is not None:
            grouped[item.section if item.section in grouped else "news"].append(view)
    return [SectionView(key, str(SECTIONS[key]), items) for key, items in grouped.items() if items]


def public_text(issue: Issue, name: str, lang: str, fill: Fill | None = None) -> tuple[str, str]:
    """(text, its language) of an issue's field, falling back to the other language, with
    its merge fields replaced by `fill` (by default the archive's words in that language)."""
    text, text_lang = issue.text_with_fallback(name, lang)
    return replace(text or "", fill or neutral_filler(text_lang)), text_lang


def build_issue_view(
    issue: Issue,
    lang: str,
    *,
    now: datetime | None = None,
    fill: Fill | None = None,
    links: LinkMaker | None = None,
) -> IssueView:
    """The whole issue in a language, falling back to the other language where text is
    missing; merge fields filled by `fill` (by default the public archive's words); with
    `links`, every outgoing link goes through it (counted links)."""
    subject, _ = public_text(issue, "subject", lang, fill)
    preheader, _ = public_text(issue, "preheader", lang, fill)
    intro, intro_lang = public_text(issue, "intro", lang, fill)
    view = IssueView(
        lang=lang,
        subject=subject,
        preheader=preheader,
        intro=intro,
        intro_lang=intro_lang,
        date=issue.published_at or now or utcnow(),
        sections=build_sections(issue, lang, fill),
    )
    if links is not None:
        count_links(view, links)
    return view


def count_links(view: IssueView, links: LinkMaker) -> None:
    """Put every link of the view through `links`, in the order readers meet them."""
    intro = LinkPlace(0, "intro", None, None, "text")
    view.intro_links = {t: links(t, intro) for t in link_targets(view.intro)}
    items = [item for section in view.sections for item in section.items]
    for order, item in enumerate(items, start=1):
        catalogue = item.workshop or item.opportunity
        catalogue_id = catalogue.id if catalogue is not None else None

        def place(role: str, order=order, item=item, catalogue_id=catalogue_id) -> LinkPlace:
            return LinkPlace(order, item.kind, catalogue_id, item.item_id, role)

        for name, role in (("url", "more"), ("booking_url", "booking"), ("ics_url", "calendar")):
            target = getattr(item, name)
            if target:
                setattr(item, name, links(target, place(role)))
        item.links = {t: links(t, place("text")) for t in link_targets(item.summary)}


#: Kinds of opportunity, as readers see them.
OPPORTUNITY_KINDS = {
    "public-contributor": _l("Public contributor role"),
    "research-study": _l("Research study"),
    "survey": _l("Survey"),
    "consultation": _l("Consultation"),
    "other": _l("Other opportunity"),
}

#: Workshop accessibility flags (model attribute, label).
ACCESS_FEATURES = {
    "has_step_free_access": _l("Step-free access"),
    "has_bsl": _l("British Sign Language (BSL) interpretation"),
    "has_hearing_loop": _l("Hearing loop"),
    "has_captions": _l("Live captions"),
    "has_quiet_room": _l("Quiet room"),
}


#: The same flags as they appear in public URLs (?access=bsl): the attribute without has_.
ACCESS_KEYS = {attr.removeprefix("has_").replace("_", "-"): attr for attr in ACCESS_FEATURES}


def access_features(workshop: Workshop) -> list[str]:
    """The labels of the accessibility features a workshop offers."""
    return [str(label) for attr, label in ACCESS_FEATURES.items() if getattr(workshop, attr)]


def partner_names(workshop: Workshop) -> list[str]:
    """Partner organisations, one per line in the model."""
    return [line.strip() for line in (workshop.partners or "").splitlines() if line.strip()]
