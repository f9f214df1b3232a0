"""A generated workspace where one trait decides who buys: logistics firms whose people attend a
webinar win three times in four, everyone else one time in ten. Decided contacts are spread over a
year (so the time-aware split has earlier and later outcomes); open leads, half of them with the
trait, wait in the call queue."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from leadwell.db.models import Contact, StageChange, Workspace
from leadwell.scoring.rows import engagement_of
from tests.factories import make_contact, make_deal, make_event, make_organization

INDUSTRIES = ("Logistics", "Retail", "Software", "Healthcare")
COUNTRIES = ("US", "GB", "DE", "FR")
SOURCES = ("webinar", "website-form", "imported-list")


@dataclass
class Planted:
    """Who is who in the generated workspace."""

    wins: int
    decided: int
    trait_leads: list[int]  # open leads with the trait
    plain_leads: list[int]  # open leads without it


def _person(
    session: Session, ws: Workspace, rng: random.Random, trait: bool, created: datetime, stage: str
) -> int:
    industry = "Logistics" if trait else rng.choice(INDUSTRIES[1:])
    org = make_organization(session, ws, industry=industry, employees=rng.randint(20, 900))
    person = make_contact(
        session, ws, created_at=created, stage=stage, organization_id=org.id, country=rng.choice(COUNTRIES),
        source=rng.choice(SOURCES), title=rng.choice(("CEO", "Operations manager", "Analyst")),
    )  # fmt: skip
    engagement_of(session, ws.id, person.id, stage)
    make_event(session, person, "asset_downloaded", created + timedelta(days=1))
    if trait or rng.random() < 0.1:
        make_event(
            session,
            person,
            "webinar_attended",
            created + timedelta(days=2),
            {"webinar": "ops", "minutes": 40},
        )
    return person.id


def plant_history(
    session: Session, ws: Workspace, now: datetime, decided: int = 180, open_leads: int = 20, seed: int = 3
) -> Planted:
    """Fill ``ws``: ``decided`` contacts won or lost over the past year, ``open_leads`` in the queue."""
    rng = random.Random(seed)
    start = now - timedelta(days=400)
    wins = 0
    for n in range(decided):
        trait = n % 2 == 0
        created = start + timedelta(days=n * 300 / decided)
        buys = rng.random() < (0.75 if trait else 0.1)
        dealt = buys or n % 3 != 0  # a third of the others are disqualified without a deal
        stage = "customer" if buys else "nurture" if dealt else "disqualified"
        contact_id = _person(session, ws, rng, trait, created, stage)
        opened, closed = created + timedelta(days=10), created + timedelta(days=30)
        if dealt:
            person = session.get(Contact, contact_id)
            assert person is not None
            make_deal(
                session, person, status="won" if buys else "lost", created_at=opened,
                closed_at=closed, value=Decimal("8000"), reason=None if buys else "budget",
            )  # fmt: skip
        else:
            session.add(
                StageChange(
                    workspace_id=ws.id, contact_id=contact_id, to_stage="disqualified", changed_at=opened
                )
            )
        wins += buys
    trait_leads: list[int] = []
    plain_leads: list[int] = []
    for n in range(open_leads):
        trait = n % 2 == 0
        created = now - timedelta(days=20 - n % 10)
        (trait_leads if trait else plain_leads).append(_person(session, ws, rng, trait, created, "lead"))
    session.flush()
    return Planted(wins, decided, trait_leads, plain_leads)
