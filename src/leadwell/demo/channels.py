"""The demo's channels and what they cost: the default channels, the demo's own sources mapped to
them, and 90 days of believable spend in USD.

Sources in the story: contacts arrive as ``imported-list``, ``website-form``, ``linkedin``,
``webinar``, ``referral`` and ``conference``; hosted forms carry ``utm_source=website`` and the
magnets' ``utm_campaign`` (``ops-playbook-launch``, ``roi-calculator``…); email links carry
``utm_source=email``. The website's traffic is bought: its forms' visits come from the Meta
campaign (so its key is a magnet's campaign) and the first visit of a website lead from Google."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from leadwell.channels import service
from leadwell.channels.catalog import ensure_channels
from leadwell.db.models import Campaign, Spend

DAYS = 90
# contact source or utm_source → channel
MAPPING = {
    "website": "Facebook",
    "website-form": "Google",
    "webinar": "Facebook",
    "conference": "Events & speaking",
    "imported-list": "Purchased lists",
}


def _daily(
    session: Session, campaign: Campaign, today: date, rng: random.Random, base: float, origin: str
) -> None:
    """A row per day for the last 90 days, around ``base`` a day, as the platform's export gives it
    (with the import key that importing that export again would find)."""
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        key = f"{origin}:{campaign.channel_id}:{campaign.key}:{day.isoformat()}:{day.isoformat()}"
        spend = Spend(
            workspace_id=campaign.workspace_id,
            channel_id=campaign.channel_id,
            campaign_id=campaign.id,
            spent_from=day,
            spent_to=day,
            amount=Decimal(str(round(base * rng.uniform(0.7, 1.3), 2))),
            currency="USD",
            description=f"imported from a {origin} export",
            origin=origin,
            import_key=key,
        )
        session.add(spend)


def add_channels(session: Session, workspace_id: int, now: datetime) -> None:
    """Ensure the channels, map the demo's sources, and add its spend (same ``now``, same rows)."""
    ensure_channels(session, workspace_id)
    service.create_channel(session, workspace_id, "Purchased lists", "list")
    for key, name in MAPPING.items():
        service.add_source(session, workspace_id, service.channel_named(session, workspace_id, name).id, key)
    rng, today = random.Random(f"{workspace_id}-channels"), now.date()
    facebook = service.channel_named(session, workspace_id, "Facebook").id
    google = service.channel_named(session, workspace_id, "Google").id
    linkedin = service.channel_named(session, workspace_id, "LinkedIn").id
    events = service.channel_named(session, workspace_id, "Events & speaking").id
    playbook = service.create_campaign(
        session, workspace_id, facebook, "Ops playbook launch", "ops-playbook-launch"
    )
    roi = service.create_campaign(session, workspace_id, google, "ROI calculator search", "roi-calculator")
    leaders = service.create_campaign(session, workspace_id, linkedin, "Ops leaders lead gen", "ops-leaders")
    _daily(session, playbook, today, rng, 38.0, "meta")
    _daily(session, roi, today, rng, 52.0, "google")
    _daily(session, leaders, today, rng, 24.0, "linkedin")
    summit = service.create_campaign(
        session, workspace_id, events, "Ops Leaders Summit", "ops-leaders-summit"
    )
    fee = service.SpendInput(events, Decimal("2500"), "USD", today - timedelta(days=40), None, summit.id,
                             "speaking fee and booth")  # fmt: skip
    service.add_spend(session, workspace_id, fee)
    retainer = service.SpendInput(google, Decimal("1800"), "USD", today - timedelta(days=DAYS),
                                  today - timedelta(days=1), None, "search agency retainer")  # fmt: skip
    service.add_spend(session, workspace_id, retainer)
