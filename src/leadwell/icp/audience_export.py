"""An ad-platform audience from a profile: its targeting spec, a lookalike seed and an exclusion list.

- The **seed** is the people a platform should find more of: customers (stage ``customer`` or a won
  deal) whose fit to the profile is grade A.
- The **exclusion list** is the people not to pay to reach: every customer, and everyone the profile
  qualifies out.

Both lists carry hashed identifiers only (see :mod:`leadwell.icp.audience`); the contacts are read
with a few set-based queries and streamed to the files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, ContactEmail, Deal, Fit, Icp, Organization
from leadwell.errors import InvalidInput
from leadwell.icp.audience import (
    LINKEDIN_COLUMNS,
    META_COLUMNS,
    customer_list_rows,
    linkedin_list_rows,
    targeting_spec,
    write_customer_list,
)
from leadwell.icp.store import load_definition

Platform = Literal["meta", "linkedin"]
BATCH = 2000  # contacts read per query, so memory stays flat on big workspaces


@dataclass
class AudienceFiles:
    """What was written: paths, row counts, and the values that could not be used."""

    targeting: Path
    seed: Path
    exclude: Path
    seed_rows: int = 0
    exclude_rows: int = 0
    issues: list[InvalidInput] = field(default_factory=list)


def _is_customer() -> ColumnElement[bool]:
    won = exists().where(Deal.contact_id == Contact.id, Deal.status == "won")
    return or_(Contact.stage == "customer", won)


def _fit(icp: Icp) -> Any:
    return select(Fit.contact_id).where(Fit.icp_id == icp.id)


def seed_condition(icp: Icp) -> ColumnElement[bool]:
    """A-grade customers of the profile."""
    return _is_customer() & Contact.id.in_(_fit(icp).where(Fit.grade == "A"))


def exclusion_condition(icp: Icp) -> ColumnElement[bool]:
    """Customers, and contacts the profile qualifies out."""
    return or_(_is_customer(), Contact.id.in_(_fit(icp).where(Fit.qualified_out.is_(True))))


def audience_contacts(
    session: Session, workspace_id: int, condition: ColumnElement[bool]
) -> Iterator[dict[str, Any]]:
    """Live contacts matching ``condition`` as the mappings the list writers read, by id, in batches."""
    after = 0
    while True:
        rows = session.execute(
            select(Contact, Organization.name)
            .outerjoin(Organization, Organization.id == Contact.organization_id)
            .where(Contact.workspace_id == workspace_id, Contact.merged_into_id.is_(None), Contact.id > after)
            .where(condition)
            .order_by(Contact.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        ids = [contact.id for contact, _company in rows]
        emails: dict[int, list[str]] = {}
        for contact_id, email in session.execute(
            select(ContactEmail.contact_id, ContactEmail.email)
            .where(ContactEmail.contact_id.in_(ids))
            .order_by(ContactEmail.contact_id, ContactEmail.position)
        ):
            emails.setdefault(contact_id, []).append(email)
        for contact, company in rows:
            yield {
                "emails": emails.get(contact.id, []),
                "phones": list(contact.phones or []),
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "city": contact.city,
                "region": contact.region,
                "postal_code": contact.postal_code,
                "country": contact.country,
                "title": contact.title,
                "company": company,
            }
        after = ids[-1]


def export_audience(
    session: Session,
    workspace_id: int,
    icp: Icp,
    platform: Platform,
    out: Path,
    default_region: str | None = None,
) -> AudienceFiles:
    """Write ``<out>-targeting.json``, ``<out>-seed.csv`` and ``<out>-exclude.csv`` for ``platform``.

    The targeting spec comes from the profile's avatar; a profile without one is refused, naming it."""
    avatar = load_definition(session, icp).avatar
    if not avatar:
        raise InvalidInput(
            f"icp: profile {icp.slug!r} has no [avatar] to target; add one (see docs/icp.md)", field="icp"
        )
    files = AudienceFiles(Path(f"{out}-targeting.json"), Path(f"{out}-seed.csv"), Path(f"{out}-exclude.csv"))
    spec = targeting_spec(avatar, platform)
    files.targeting.write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for condition, path, count in (
        (seed_condition(icp), files.seed, "seed_rows"),
        (exclusion_condition(icp), files.exclude, "exclude_rows"),
    ):
        contacts = audience_contacts(session, workspace_id, condition)
        if platform == "meta":
            rows = customer_list_rows(contacts, default_region, issues=files.issues)
            written = write_customer_list(path, rows, META_COLUMNS)
        else:
            rows = linkedin_list_rows(contacts, issues=files.issues)
            written = write_customer_list(path, rows, LINKEDIN_COLUMNS)
        setattr(files, count, written)
    return files
