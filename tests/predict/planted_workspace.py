"""Generated workspaces with a planted history, for the discovery and backtest tests.

:func:`plant_outcomes`: decided contacts where deals are won mostly by organizations of 100 people
or more whose ROI comes within 3 months (``custom.roi_months``).

:func:`plant_period`: leads open at :data:`START` (created a month before, nothing decided), won
during the period mostly when their organization has 100 people or more, *less* often when they are
in Germany (so a profile's nice-to-have "country in DE" misleads), and more often when they replied
to an email before the start. A few leads were decided before the start and are not open then.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from leadwell.db.models import Workspace
from tests.factories import make_contact, make_deal, make_event, make_organization

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 7, 1, tzinfo=UTC)
PROFILE = """
slug = "consulting"
name = "Consulting"
[[must]]
field = "organization.employees"
op = "gte"
value = 100
[[nice]]
field = "contact.country"
op = "in"
value = ["DE"]
"""


def plant_outcomes(
    session: Session, workspace: Workspace, leads: int = 240, seed: int = 3, replies: bool = False
) -> int:
    """``leads`` decided contacts (won or lost deals closed over the last year); returns the wins.
    With ``replies``, nearly every winner (and few others) replied to an email before the outcome."""
    rng = random.Random(seed)
    closed = datetime.now(UTC) - timedelta(days=200)
    wins = 0
    for number in range(leads):
        employees = round(10 * 1000 ** rng.random())  # 10 to 10,000, log-uniform: a third under 100
        roi = rng.randint(1, 12)
        organization = make_organization(
            session, workspace, employees=employees, industry=rng.choice(["Retail", "Software", "Banking"])
        )
        contact = make_contact(
            session,
            workspace,
            organization_id=organization.id,
            custom={"roi_months": roi},
            country=rng.choice(["DE", "FR", "US"]),
            created_at=closed - timedelta(days=60),
        )
        won = rng.random() < (0.8 if employees >= 100 and roi <= 3 else 0.04)
        wins += won
        moment = closed + timedelta(days=number % 150)
        if replies and rng.random() < (0.9 if won else 0.05):
            make_event(session, contact, "email_replied", moment - timedelta(days=7), {})
        make_deal(session, contact, status="won" if won else "lost", closed_at=moment, created_at=moment)
    return wins


def plant_period(session: Session, workspace: Workspace, leads: int = 240, seed: int = 5) -> None:
    """Leads open at :data:`START` and their outcomes during the period up to :data:`END`."""
    rng = random.Random(seed)
    created = START - timedelta(days=30)
    for number in range(leads):
        employees = rng.choice([20, 50, 80, 150, 400, 900])
        country = rng.choice(["DE", "US"])
        organization = make_organization(session, workspace, employees=employees)
        contact = make_contact(
            session, workspace, organization_id=organization.id, country=country, created_at=created
        )
        replied = rng.random() < 0.3
        if replied:
            make_event(session, contact, "email_replied", START - timedelta(days=5), {})
        chance = (
            (0.5 if employees >= 100 else 0.05) * (0.3 if country == "DE" else 1.0) * (1.5 if replied else 1)
        )
        if number % 20 == 0:  # decided before the period: not an open lead then
            make_deal(
                session, contact, status="lost", created_at=created, closed_at=START - timedelta(days=3)
            )
        elif rng.random() < chance:
            won_at = START + timedelta(days=10 + number % 90)
            make_deal(session, contact, status="won", created_at=won_at, closed_at=won_at)
        elif rng.random() < 0.5:
            lost_at = START + timedelta(days=20 + number % 90)
            make_deal(session, contact, status="lost", created_at=lost_at, closed_at=lost_at)
