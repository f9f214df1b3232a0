"""What the marketing assessment lacks, as notes starting "Missing: ": an ideal client profile,
any recorded outcome, spend for channels that brought leads (free kinds excepted, and said so),
a channel for source keys in use, a touch for every lead."""

from __future__ import annotations

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Channel, Deal, Icp, Spend
from leadwell.reports.attribution import credits
from leadwell.reports.query import ReportQuery

FREE_KINDS = ("organic", "direct", "referral")


def _plural(value: int, one: str, many: str) -> str:
    return f"{value:,} {one if value == 1 else many}"


def _reach(session: Session, query: ReportQuery) -> tuple[set[int], dict[str, int], int]:
    """Whoever touched the range's leads, by the linear model (every touch counts): the channels
    that brought leads, the unmapped source keys with how many leads each, and the leads with no
    touch at all."""
    credited = credits(query, "linear")
    unmapped = case((credited.c.channel_id.is_(None), credited.c.source_key))
    rows = session.execute(
        select(credited.c.channel_id, unmapped, func.count(distinct(credited.c.contact_id))).group_by(
            credited.c.channel_id, unmapped
        )
    )
    channels: set[int] = set()
    keys: dict[str, int] = {}
    untouched = 0
    for channel_id, key, leads in rows:
        if channel_id is not None:
            channels.add(channel_id)
        elif key is not None:
            keys[key] = int(leads)
        else:
            untouched = int(leads)
    return channels, keys, untouched


def _spend_notes(session: Session, query: ReportQuery, brought: set[int]) -> list[str]:
    """Channels that brought leads with no spend in the range (in any currency): missing, unless
    their kind is free by nature."""
    spent = set(
        session.scalars(
            select(Spend.channel_id).where(
                Spend.workspace_id == query.workspace_id,
                Spend.spent_from <= query.end,
                Spend.spent_to >= query.start,
            )
        )
    )
    rows = session.execute(
        select(Channel.name, Channel.kind).where(Channel.id.in_(brought - spent)).order_by(Channel.name)
    )
    paid: list[str] = []
    free: list[str] = []
    for name, kind in rows:
        (free if kind in FREE_KINDS else paid).append(name)
    notes = []
    if paid:
        notes.append(
            f"Missing: spend for {', '.join(paid)}, which brought leads in this range with no spend "
            "tracked: their funnels cannot be compared on cost (add or import it under Channels → Spend)"
        )
    if free:
        notes.append(
            f"{', '.join(free)} brought leads with no spend: organic, direct and referral channels "
            "are free by nature, so that is expected"
        )
    return notes


def missing_notes(session: Session, query: ReportQuery) -> list[str]:
    """What the assessment lacks, each a note starting "Missing: " (see the module's description)."""
    workspace_id = query.workspace_id
    notes = []
    if not session.scalar(select(func.count()).select_from(Icp).where(Icp.workspace_id == workspace_id)):
        notes.append("Missing: an ideal client profile: leads are not graded by fit (define one under ICP)")
    outcomes = select(func.count()).where(Deal.workspace_id == workspace_id, Deal.status.in_(("won", "lost")))
    if not session.scalar(outcomes):
        notes.append(
            "Missing: outcomes: no deal was ever marked won or lost, so sales and revenue read 0 and "
            "funnels are judged on qualified leads only"
        )
    brought, keys, untouched = _reach(session, query)
    notes += _spend_notes(session, query, brought)
    if keys:
        listed = ", ".join(f"'{key}' ({_plural(keys[key], 'lead', 'leads')})" for key in sorted(keys))
        notes.append(f"Missing: a channel for the source keys {listed}: map them under Channels")
    if untouched:
        notes.append(
            f"Missing: a source for {_plural(untouched, 'lead', 'leads')} with no touch at all (no source, "
            "form, email click or channel tag): no channel gets credit for them"
        )
    return notes
