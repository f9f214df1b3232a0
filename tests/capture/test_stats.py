"""Magnet numbers against hand-built data: page views, submissions, downloads, readings and webinar
attendance, per period, with exact counts, conversions and the people behind each number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from leadwell.capture.assets import AssetInput, Upload, create_asset
from leadwell.capture.form_defs import FormInput, create_form, default_fields
from leadwell.capture.page_defs import PageInput, create_page
from leadwell.capture.stats import Step, magnet_numbers, since_of, step_contacts
from leadwell.db.models import Asset, Contact, Event, FormSubmission, Reading, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from tests.capture.test_assets import pdf_bytes
from tests.factories import make_contact, make_workspace

NOW = utcnow()
RECENT = NOW - timedelta(days=3)
OLD = NOW - timedelta(days=100)


@dataclass(frozen=True)
class Seeded:
    workspace_id: int
    paper: int
    webinar: int
    people: dict[str, int]  # first name -> contact id


def view(
    session: Session, ws: Workspace, page: str, when: object, contact: Contact | None, visitor: int | None
) -> None:
    session.add(
        Event(
            workspace_id=ws.id, contact_id=contact.id if contact else None, visitor_id=visitor,
            type="page_viewed", occurred_at=when,
            properties={"url": f"https://lw.example/p/{page}", "page": page},
        )
    )  # fmt: skip


def event(session: Session, contact: Contact, kind: str, when: object, **properties: object) -> None:
    session.add(
        Event(
            workspace_id=contact.workspace_id,
            contact_id=contact.id,
            type=kind,
            occurred_at=when,
            properties=properties,
        )
    )


def reading(session: Session, contact: Contact, asset_id: int, percent: float, when: object) -> None:
    session.add(
        Reading(
            workspace_id=contact.workspace_id, contact_id=contact.id, asset_id=asset_id, pages_total=10,
            percent=percent, first_at=when, last_at=when,
        )
    )  # fmt: skip


def seed(db: Database) -> Seeded:
    """Ada and Bob (recent) and Cleo (100 days ago) through a PDF's funnel and a webinar; noise that
    must not count: another workspace, another page, another magnet."""
    with db.session() as session:
        ws = make_workspace(session, "Acme")
        paper = create_asset(
            session, ws.id, AssetInput("pdf", "ROI paper"), Upload(pdf_bytes(), "r.pdf"), 10**6
        )
        other = create_asset(session, ws.id, AssetInput("pdf", "Other"), Upload(pdf_bytes(), "o.pdf"), 10**6)
        clinic = AssetInput(
            "webinar", "Clinic", starts_at="2026-01-10T14:00Z", duration_minutes="60", location="Online"
        )
        webinar = create_asset(session, ws.id, clinic, None, 0)
        form = create_form(session, ws.id, FormInput("Get ROI", fields=default_fields(), asset=paper.slug))
        create_page(session, ws.id, PageInput("ROI landing", form=form.slug))
        create_page(session, ws.id, PageInput("About us"))
        ada, bob, cleo = (make_contact(session, ws, first_name=name) for name in ("Ada", "Bob", "Cleo"))
        for contact, visitor in ((ada, 11), (ada, 11), (bob, None)):
            view(session, ws, "roi-landing", RECENT, contact, visitor)
        for visitor in (21, 21, 22):
            view(session, ws, "roi-landing", RECENT, None, visitor)
        view(session, ws, "roi-landing", OLD, cleo, None)
        view(session, ws, "about-us", RECENT, None, 23)
        for contact, when, nonce in (
            (ada, RECENT, "a"),
            (bob, RECENT, "b"),
            (cleo, OLD, "c"),
            (ada, RECENT, "d"),
        ):
            session.add(
                FormSubmission(
                    workspace_id=ws.id, form_id=form.id, contact_id=contact.id, nonce=nonce, submitted_at=when
                )
            )
        for contact in (ada, bob, ada):
            event(session, contact, "asset_downloaded", RECENT, asset=paper.slug)
        event(session, cleo, "asset_downloaded", RECENT, asset=other.slug)
        reading(session, ada, paper.id, 95.0, RECENT)
        reading(session, bob, paper.id, 60.0, RECENT)
        reading(session, cleo, paper.id, 55.0, OLD)
        for contact, minutes, when in ((ada, 45, RECENT), (bob, 0.5, RECENT), (cleo, 20, OLD)):
            event(session, contact, "webinar_registered", when, webinar=webinar.slug, minutes=0)
            event(session, contact, "webinar_attended", when, webinar=webinar.slug, minutes=minutes)
        rival = make_workspace(session, "Rival")
        stranger = make_contact(session, rival)
        event(session, stranger, "asset_downloaded", RECENT, asset=paper.slug)
        people = {c.first_name: c.id for c in (ada, bob, cleo)}
        return Seeded(ws.id, paper.id, webinar.id, people)


def numbers(db: Database, seeded: Seeded, period: str) -> dict[int, list[Step]]:
    with db.session() as session:
        assets = [session.get(Asset, seeded.paper), session.get(Asset, seeded.webinar)]
        return magnet_numbers(session, seeded.workspace_id, [a for a in assets if a], since_of(period, NOW))


def test_a_documents_funnel_over_90_days_and_all_time(db: Database) -> None:
    seeded = seed(db)
    recent = numbers(db, seeded, "90")[seeded.paper]
    assert [(s.key, s.count, s.conversion) for s in recent] == [
        ("views", 4, None),  # Ada, Bob, and anonymous browsers 21 and 22
        ("submitted", 2, 50.0),
        ("downloaded", 2, 100.0),
        ("read50", 2, 100.0),
        ("read90", 1, 50.0),
    ]
    everything = numbers(db, seeded, "all")[seeded.paper]
    assert [(s.key, s.count) for s in everything] == [
        ("views", 5),
        ("submitted", 3),
        ("downloaded", 2),
        ("read50", 3),
        ("read90", 1),
    ]
    assert everything[2].conversion == 66.7


def test_a_webinars_funnel(db: Database) -> None:
    seeded = seed(db)
    steps = numbers(db, seeded, "all")[seeded.webinar]
    assert [(s.key, s.count, s.conversion) for s in steps] == [
        ("views", 0, None),
        ("submitted", 0, None),
        ("registered", 3, None),
        ("attended", 2, 66.7),
        ("attended30", 1, 50.0),
    ]
    assert [s.count for s in numbers(db, seeded, "30")[seeded.webinar]][2:] == [2, 1, 1]


def test_each_number_lists_its_people(db: Database) -> None:
    seeded = seed(db)
    ada, bob, cleo = (seeded.people[name] for name in ("Ada", "Bob", "Cleo"))
    expected = {
        ("views", "90"): {ada, bob},
        ("views", "all"): {ada, bob, cleo},
        ("submitted", "all"): {ada, bob, cleo},
        ("downloaded", "90"): {ada, bob},
        ("read50", "all"): {ada, bob, cleo},
        ("read90", "all"): {ada},
    }
    with db.session() as session:
        for (step, period), people in expected.items():
            query = step_contacts(step, seeded.workspace_id, seeded.paper, since_of(period, NOW))
            found = list(session.scalars(query))
            assert sorted(found) == sorted(people), (step, period)
        attended = step_contacts("attended", seeded.workspace_id, seeded.webinar, None)
        assert sorted(session.scalars(attended)) == sorted([ada, cleo])
