"""The demo data of `bulletin demo`: a small bilingual catalogue, issue and admin, seeded once."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from bulletin.core.editors import create_editor
from bulletin.extensions import db
from bulletin.models import Editor, Issue, IssueItem, Opportunity, Topic, Workshop, utcnow

DEMO_ADMIN = "admin@example.org"

#: (slug, days from now, hours long, topic, columns)
WORKSHOPS = [
    (
        "allyship-community-partners",
        10,
        2.5,
        "workshops",
        dict(
            title_en="Allyship in research: working with community partners",
            title_cy="Cynghreiriaeth mewn ymchwil: gweithio gyda phartneriaid cymunedol",
            summary_en="A practical workshop on how researchers and members of the public can "
            "work together as allies, run with community organisations from across Wales.",
            summary_cy="Gweithdy ymarferol ar sut y gall ymchwilwyr ac aelodau'r cyhoedd "
            "gydweithio fel cynghreiriaid, wedi'i gynnal gyda sefydliadau cymunedol o bob rhan "
            "o Gymru.",
            is_online=True,
            has_captions=True,
            has_bsl=True,
            partners="Race Council Cymru\nAnabledd Cymru / Disability Wales",
            booking_url="https://example.org/book/allyship",
        ),
    ),
    (
        "introduction-public-involvement",
        18,
        3,
        "public-involvement",
        dict(
            title_en="Introduction to public involvement in research",
            title_cy="Cyflwyniad i gynnwys y cyhoedd mewn ymchwil",
            summary_en="Find out what public involvement means, how your experience can shape "
            "health and social care research, and how to get started.",
            summary_cy="Dewch i ddysgu beth yw ystyr cynnwys y cyhoedd, sut y gall eich profiad "
            "lunio ymchwil iechyd a gofal cymdeithasol, a sut i ddechrau arni.",
            venue_en="Aberystwyth Arts Centre, Penglais, Aberystwyth SY23 3DE",
            venue_cy="Canolfan y Celfyddydau Aberystwyth, Penglais, Aberystwyth SY23 3DE",
            has_step_free_access=True,
            has_hearing_loop=True,
            has_quiet_room=True,
            region="mid-wales",
            booking_url="https://example.org/book/introduction",
        ),
    ),
    (
        "allyship-lgbtq-care-research",
        30,
        2,
        "workshops",
        dict(
            title_en="Allyship for LGBTQ+ inclusion in care research",
            title_cy="Cynghreiriaeth er mwyn cynnwys pobl LHDTC+ mewn ymchwil gofal",
            summary_en="How to make social care research welcoming and safe for LGBTQ+ people.",
            summary_cy="Sut i wneud ymchwil gofal cymdeithasol yn groesawgar ac yn ddiogel i bobl "
            "LHDTC+.",
            is_online=True,
            has_captions=True,
            partners="Pride Cymru",
        ),
    ),
]

#: (slug, days until it closes, topic, columns)
OPPORTUNITIES = [
    (
        "dementia-study-contributor",
        21,
        "public-involvement",
        dict(
            kind="public-contributor",
            title_en="Public contributor for a dementia care study",
            title_cy="Cyfrannwr cyhoeddus ar gyfer astudiaeth gofal dementia",
            summary_en="Help a research team plan a study of care at home for people living with "
            "dementia. No research experience needed.",
            summary_cy="Helpwch dîm ymchwil i gynllunio astudiaeth o ofal yn y cartref i bobl sy'n "
            "byw gyda dementia. Nid oes angen profiad ymchwil.",
            payment_en="£25 an hour, with travel and care costs paid.",
            payment_cy="£25 yr awr, a chostau teithio a gofal yn cael eu talu.",
            url="https://example.org/opportunities/dementia",
        ),
    ),
    (
        "waiting-for-care-survey",
        14,
        "studies-surveys",
        dict(
            kind="survey",
            title_en="Survey: your experience of waiting for care",
            title_cy="Arolwg: eich profiad o aros am ofal",
            summary_en="Tell us about waiting for health or social care in Wales. The survey takes "
            "about ten minutes.",
            summary_cy="Dywedwch wrthym am aros am ofal iechyd neu ofal cymdeithasol yng Nghymru. "
            "Mae'r arolwg yn cymryd tua deg munud.",
            url="https://example.org/survey/waiting",
        ),
    ),
    (
        "sleep-shift-work-study",
        40,
        "studies-surveys",
        dict(
            kind="research-study",
            title_en="Research study: sleep and shift work in care homes",
            summary_en="Care home staff who work night shifts are invited to take part. The Welsh "
            "version of this notice is on its way.",
            url="https://example.org/studies/sleep",
        ),
    ),
]


def _ensure(model, slug: str, topic: str, **columns):
    row = db.session.scalar(select(model).where(model.slug == slug))
    if row is None:
        row = model(slug=slug, **columns)
        row.topics = list(db.session.scalars(select(Topic).where(Topic.slug == topic)))
        db.session.add(row)
    return row


def _at(days: int, hour: int) -> datetime:
    day = utcnow() + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def seed_catalogue() -> tuple[list[Workshop], list[Opportunity]]:
    """The demo workshops and opportunities (existing ones are left as they are)."""
    workshops = [
        _ensure(
            Workshop,
            slug,
            topic,
            starts_at=_at(days, 9),
            ends_at=_at(days, 9) + timedelta(hours=hours),
            **columns,
        )
        for slug, days, hours, topic, columns in WORKSHOPS
    ]
    opportunities = [
        _ensure(Opportunity, slug, topic, closes_at=_at(days, 16), **columns)
        for slug, days, topic, columns in OPPORTUNITIES
    ]
    db.session.flush()
    return workshops, opportunities


def seed_issue(workshops: list[Workshop], opportunities: list[Opportunity]) -> Issue:
    """One published issue in the archive."""
    issue = db.session.scalar(select(Issue).where(Issue.slug == "demo-spring-bulletin"))
    if issue is not None:
        return issue
    issue = Issue(
        slug="demo-spring-bulletin",
        subject_en="Research bulletin: spring",
        subject_cy="Bwletin ymchwil: y gwanwyn",
        preheader_en="Allyship workshops, a dementia study and a survey on waiting for care",
        preheader_cy="Gweithdai cynghreiriaeth, astudiaeth dementia ac arolwg ar aros am ofal",
        intro_en="Welcome to this issue. Below are workshops, ways to get involved in research "
        "and news from across Wales.",
        intro_cy="Croeso i'r rhifyn hwn. Isod mae gweithdai, ffyrdd o gymryd rhan mewn ymchwil "
        "a newyddion o bob rhan o Gymru.",
        published_at=utcnow() - timedelta(days=2),
    )
    entries = [*workshops, *opportunities]
    for position, entry in enumerate(entries):
        kind = "workshop" if isinstance(entry, Workshop) else "opportunity"
        item = IssueItem(
            kind=kind,
            section=f"{kind}s" if kind == "workshop" else "opportunities",
            position=position,
        )
        setattr(item, kind, entry)
        issue.items.append(item)
    issue.items.append(
        IssueItem(
            kind="news",
            section="news",
            position=len(entries),
            title_en="New public involvement network for North Wales",
            title_cy="Rhwydwaith cynnwys y cyhoedd newydd i Ogledd Cymru",
            body_en="Members of the public can now join a **regional network** that meets online "
            "every month.",
            body_cy="Gall aelodau'r cyhoedd nawr ymuno â **rhwydwaith rhanbarthol** sy'n cyfarfod "
            "ar-lein bob mis.",
        )
    )
    db.session.add(issue)
    return issue


def seed_admin() -> str | None:
    """The demo admin; returns its new random password, or None when it already exists."""
    if db.session.scalar(select(Editor).where(Editor.email == DEMO_ADMIN)) is not None:
        return None
    password = secrets.token_urlsafe(12)
    create_editor(DEMO_ADMIN, password, role="admin", name="Demo admin")
    return password


def seed_demo() -> str | None:
    """Seed everything (idempotent); returns the admin password when it was created now."""
    password = seed_admin()
    seed_issue(*seed_catalogue())
    db.session.commit()
    return password
