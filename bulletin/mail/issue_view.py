"""What a reader sees of an issue in one language: sections of items, text with fallback."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l

from bulletin.i18n import other_language
from bulletin.mail.links import external_url
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


def build_item(item: IssueItem, lang: str) -> ItemView | None:
    """The reader's view of one issue item (None when it has no text in either language)."""
    source = item.workshop or item.opportunity or item
    text_lang = item_language(source, lang)
    title = _pick(source, "title", text_lang)
    if not title:
        return None
    view = ItemView(
        kind=item.kind,
        lang=text_lang,
        fallback=text_lang != lang,
        title=title,
        summary=_pick(source, "body" if item.kind == "news" else "summary", text_lang),
    )
    if item.workshop is not None:
        _add_workshop(view, item.workshop, text_lang)
    elif item.opportunity is not None:
        view.opportunity = item.opportunity
        view.url = item.opportunity.url
        view.extra = {"payment": _pick(item.opportunity, "payment", text_lang)}
    return view


def _add_workshop(view: ItemView, workshop: Workshop, text_lang: str) -> None:
    view.workshop = workshop
    view.url = external_url("archive.workshop", slug=workshop.slug)
    view.ics_url = external_url("archive.workshop_ics", slug=workshop.slug)
    view.extra = {
        "venue": _pick(workshop, "venue", text_lang),
        "accessibility": _pick(workshop, "accessibility", text_lang),
    }


def build_sections(issue: Issue, lang: str) -> list[SectionView]:
    """Items grouped by section in the issue's section order, each in item position order."""
    grouped: dict[str, list[ItemView]] = {key: [] for key in issue.sections}
    for item in issue.reading_order():
        view = build_item(item, lang)
        if view is not None:
            grouped[item.section if item.section in grouped else "news"].append(view)
    return [SectionView(key, str(SECTIONS[key]), items) for key, items in grouped.items() if items]


def build_issue_view(issue: Issue, lang: str, *, now: datetime | None = None) -> IssueView:
    """The whole issue in a language, falling back to the other language where text is missing."""
    subject, _ = issue.text_with_fallback("subject", lang)
    preheader, _ = issue.text_with_fallback("preheader", lang)
    intro, intro_lang = issue.text_with_fallback("intro", lang)
    return IssueView(
        lang=lang,
        subject=subject or "",
        preheader=preheader or "",
        intro=intro or "",
        intro_lang=intro_lang,
        date=issue.published_at or now or utcnow(),
        sections=build_sections(issue, lang),
    )


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


def access_features(workshop: Workshop) -> list[str]:
    """The labels of the accessibility features a workshop offers."""
    return [str(label) for attr, label in ACCESS_FEATURES.items() if getattr(workshop, attr)]


def partner_names(workshop: Workshop) -> list[str]:
    """Partner organisations, one per line in the model."""
    return [line.strip() for line in (workshop.partners or "").splitlines() if line.strip()]
