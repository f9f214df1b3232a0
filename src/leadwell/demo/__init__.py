"""A deterministic demo workspace: a B2B operations consultancy with nine months of history.

The history is simulated rather than sprinkled, so pages show something true-looking and predictive
models have a signal to find. Every contact has a hidden fit (who they are, see :mod:`leadwell.demo.cast`)
and engagement (how much they care); emails, downloads, webinars, calls and deals follow from both, and
lifecycle stages are derived from the resulting events the way the product's own rules would.
Only ``random.Random(seed)`` and ``now`` feed it, so the same inputs give the same rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from leadwell.auth.accounts import add_member, create_user, create_workspace, find_user
from leadwell.db.models import Base, Workspace
from leadwell.db.session import Database
from leadwell.demo.capture import build_capture, prefixed, public_prefix
from leadwell.demo.cast import Calendar, Deal, Org, Person, draw_cast
from leadwell.demo.channels import add_channels
from leadwell.demo.data import HISTORY_DAYS
from leadwell.demo.experiment import build_experiment
from leadwell.demo.outreach import DemoOutreach, setup_outreach
from leadwell.demo.story import plan_sales, tell
from leadwell.errors import InvalidInput
from leadwell.icp.definition import Definition, parse_definition
from leadwell.icp.grading import grade_all
from leadwell.icp.store import apply_definition
from leadwell.predict.train_workspace import train_workspace
from leadwell.scoring.fit_sync import insert_missing
from leadwell.scoring.recompute import recompute

DEMO_EMAIL = "demo@leadwell.example"
DEMO_PASSWORD = "leadwell-demo"
STAFF = (
    (DEMO_EMAIL, "Dana Whitfield", "owner"),
    ("marketer@leadwell.example", "Marco Reyes", "marketer"),
    ("sales1@leadwell.example", "Priya Shah", "sales"),
    ("sales2@leadwell.example", "Tom Becker", "sales"),
)
CHUNK = 500  # contacts told and written at a time: keeps memory flat on big demos
ROWS_PER_INSERT = 5000


@dataclass(frozen=True)
class DemoResult:
    """What :func:`build_demo` made, and how to log in to see it."""

    workspace_id: int
    workspace_slug: str
    login_email: str
    login_password: str
    contacts: int
    organizations: int
    events: int
    deals: int


# The consultancy's ideal client, as its owner would write it: operations-heavy firms of 50 to 1,000
# people, reached through someone who decides.
DEMO_PROFILE: Definition = parse_definition(
    {
        "slug": "operations",
        "name": "Operations consulting",
        "description": "Mid-size firms whose operations we know, reached through a decision maker.",
        "must": [{"field": "organization.employees", "op": "between", "value": [50, 1000]}],
        "nice": [
            {
                "field": "organization.industry",
                "op": "in",
                "value": ["manufacturing", "logistics", "healthcare", "professional services"],
                "weight": 40,
            },
            {
                "field": "contact.title",
                "op": "matches",
                "value": "(?i)ceo|coo|cfo|founder|owner|managing director|head of operations|vp operations",
                "weight": 40,
            },
            {"field": "contact.country", "op": "in", "value": ["US", "GB", "CA", "IE"], "weight": 20},
        ],
        "avatar": {
            "roles": ["COO", "Head of Operations", "Managing Director"],
            "industries": ["Manufacturing", "Logistics", "Healthcare"],
            "company_sizes": ["51-200", "201-1000"],
            "locations": ["US", "GB", "CA", "IE"],
            "age_min": 35,
            "age_max": 60,
            "interests": ["Lean manufacturing", "Supply chain management", "Operational excellence"],
            "pains": ["Margins squeezed by rework and delays", "Growth outpacing processes"],
            "goals": ["Predictable delivery", "Return on a project within a quarter"],
            "objections": ["We tried consultants before", "No time to take on a project now"],
            "channels": ["LinkedIn", "Industry conferences", "Trade associations"],
        },
    }
)


def build_demo(
    db: Database,
    *,
    seed: int = 7,
    contacts: int = 3000,
    now: datetime | None = None,
    slug: str = "demo",
    name: str = "Northwind Consulting (demo)",
) -> DemoResult:
    """Create workspace ``slug`` holding a consultancy's believable history, in one transaction, then
    train its predictive model on that history (a ``too_few`` version when it has under 30 wins).

    The same ``seed`` and ``now`` (default: this hour) give the same rows. Raises
    :class:`~leadwell.errors.Conflict` when the slug is taken, :class:`~leadwell.errors.InvalidInput`
    for fewer than one contact or a ``now`` without a time zone.
    """
    if contacts < 1:
        raise InvalidInput("contacts: at least 1", field="contacts")
    now, rng = _clock(now), random.Random(seed)
    with db.session() as session:
        workspace = create_workspace(session, name, slug)
        salespeople = _staff(session, workspace)
        prefix = public_prefix(session, slug)
        cal = Calendar.around(now)
        orgs, people = draw_cast(rng, contacts, cal)
        plan_sales(rng, people)
        org_ids = _insert(session, "organizations", [_org_row(workspace.id, org, now) for org in orgs], True)
        ids = {org.domain: org_id for org, org_id in zip(orgs, org_ids, strict=True)}
        outreach = setup_outreach(session, workspace.id, cal, prefix, None)
        events = deals = 0
        for start in range(0, len(people), CHUNK):
            batch = people[start : start + CHUNK]
            for p in batch:
                tell(rng, p, cal)
            written = _write(session, workspace.id, batch, ids, salespeople, prefix, outreach)
            events, deals = events + written[0], deals + written[1]
            for p in batch:
                p.events.clear()
        build_capture(session, workspace.id, cal, prefix)
        events += build_experiment(session, workspace.id, outreach)  # a subject-line test: one exposure each
        add_channels(session, workspace.id, now)  # channels, the demo's sources mapped, 90 days of spend
        insert_missing(session.connection(), workspace.id)  # everyone's place in the call queue
        grade_all(session, workspace.id, apply_definition(session, workspace.id, DEMO_PROFILE).icp)
        recompute(session, workspace.id, now=now)  # engagement from the story's events: the queue's order
        result = DemoResult(workspace.id, slug, DEMO_EMAIL, DEMO_PASSWORD, contacts, len(orgs), events, deals)
    train_workspace(db, workspace.id, now=now)  # a model of who buys, when the history has 30 wins or more
    return result


def _clock(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if now.tzinfo is None:
        raise InvalidInput("now: must carry a time zone", field="now")
    return now.astimezone(UTC)


def _staff(session: Session, workspace: Workspace) -> list[int]:
    """Owner, marketer and two salespeople; existing users are reused and their passwords left alone."""
    salespeople = []
    for email, full_name, role in STAFF:
        user = find_user(session, email) or create_user(session, email, DEMO_PASSWORD, full_name)
        add_member(session, workspace, user, role)
        if role == "sales":
            salespeople.append(user.id)
    return salespeople


# --- writing it down -----------------------------------------------------------------------------


def _insert(session: Session, table: str, rows: list[dict[str, Any]], returning: bool = False) -> list[int]:
    """Core executemany in slices; with ``returning``, the new ids in the order of ``rows``."""
    target, ids = Base.metadata.tables[table], list[int]()
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        if returning:
            statement = insert(target).returning(target.c.id, sort_by_parameter_order=True)
            ids += session.scalars(statement, chunk).all()
        else:
            session.execute(insert(target), chunk)
    return ids


def _org_row(workspace_id: int, org: Org, now: datetime) -> dict[str, Any]:
    created = org.created_at or now - timedelta(days=HISTORY_DAYS)
    return {
        "workspace_id": workspace_id,
        "name": org.name,
        "domain": org.domain,
        "employees": org.employees,
        "industry": org.industry.name,
        "country": org.country.code,
        "custom": {"founded": org.founded},
        "created_at": created,
        "updated_at": created,
    }


def _contact_row(workspace_id: int, p: Person, org_id: int | None, owner_id: int | None) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "first_name": p.first,
        "last_name": p.last,
        "email": p.email,
        "phones": [p.phone] if p.phone else [],
        "title": p.title,
        "organization_id": org_id,
        "city": p.city.name,
        "region": p.city.region,
        "country": p.country.code,
        "timezone": p.city.timezone,
        "source": p.source,
        "consent": p.consent,
        "consent_at": p.consent_at,
        "stage": p.stage,
        "owner_id": owner_id,
        "custom": p.custom,
        "created_at": p.created_at,
        "updated_at": p.events[-1].at if p.events else p.created_at,
    }


def _deal_row(
    workspace_id: int, p: Person, deal: Deal, contact_id: int, org_id: int | None, owner_id: int | None
) -> dict[str, Any]:
    opened = deal.opened_at or p.created_at
    return {
        "workspace_id": workspace_id,
        "name": deal.name,
        "contact_id": contact_id,
        "organization_id": org_id,
        "value": deal.value,
        "currency": deal.currency,
        "stage": deal.stage,
        "status": deal.status,
        "reason": deal.reason,
        "expected_close_on": (deal.expected or opened).date(),
        "closed_at": deal.closed_at,
        "owner_id": owner_id,
        "created_at": opened,
        "updated_at": deal.closed_at or opened,
    }


def _write(
    session: Session,
    workspace_id: int,
    people: list[Person],
    org_ids: dict[str, int],
    salespeople: list[int],
    prefix: str,
    outreach: DemoOutreach,
) -> tuple[int, int]:
    """Insert told contacts with their email rows, events and deals; returns (events, deals) written."""
    links = [
        (org_ids[p.org.domain] if p.org else None, None if p.owner is None else salespeople[p.owner])
        for p in people
    ]
    rows = [_contact_row(workspace_id, p, org, owner) for p, (org, owner) in zip(people, links, strict=True)]
    ids = _insert(session, "contacts", rows, returning=True)
    emails = [
        {"workspace_id": workspace_id, "contact_id": i, "email": p.email, "position": 0}
        for i, p in zip(ids, people, strict=True)
    ]
    _insert(session, "contact_emails", emails)
    events = [
        {
            "workspace_id": workspace_id,
            "contact_id": i,
            "type": e.type,
            "occurred_at": e.at,
            "received_at": e.at,
            "properties": outreach.properties(p.email, e.type, prefixed(e.properties, prefix), e.campaign),
            "source": e.source,
            "campaign": e.campaign,
        }
        for i, p in zip(ids, people, strict=True)
        for e in p.events
    ]
    _insert(session, "events", events)
    added = outreach.write(session, people, ids)
    _insert(session, "stage_changes", _history(workspace_id, people, ids))
    deals = [
        _deal_row(workspace_id, p, p.deal, i, *link)
        for i, p, link in zip(ids, people, links, strict=True)
        if p.deal is not None
    ]
    _insert(session, "deals", deals)
    return len(events) + added, len(deals)


def _history(workspace_id: int, people: list[Person], ids: list[int]) -> list[dict[str, Any]]:
    """Stage history rows for the story's stage moves (its ``stage_changed`` events)."""
    return [
        {
            "workspace_id": workspace_id,
            "contact_id": i,
            "from_stage": e.properties.get("from"),
            "to_stage": e.properties["to"],
            "why": e.properties.get("why") or "",
            "rule": None,
            "changed_by_id": None,
            "changed_at": e.at,
        }
        for i, p in zip(ids, people, strict=True)
        for e in p.events
        if e.type == "stage_changed"
    ]
