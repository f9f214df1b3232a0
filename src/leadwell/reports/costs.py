"""What was spent in a range, per spend bucket (channel, or channel and campaign).

A spend row covers the days ``spent_from``–``spent_to`` (inclusive); a range gets the share of its
days inside the range: amount × days inside / days covered, so a month's invoice of 3,100 gives a
range holding 15 of its 31 days 1,500. Only rows in the report currency add up (amounts in two
currencies cannot be summed without a rate we do not have); the others are totalled for a note.
Each bucket's prorated total is rounded to cents once, at the end.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Spend, Workspace
from leadwell.reports.query import ReportQuery

CENT = Decimal("0.01")
K = TypeVar("K")


@dataclass(frozen=True)
class SpendBucket:
    """Prorated spend of a channel (``campaign_id`` None: channel-level, e.g. a retainer) or of one
    of its campaigns, in the report currency."""

    channel_id: int
    campaign_id: int | None
    amount: Decimal


@dataclass
class SpendTotals:
    """The range's spend buckets (report currency) and the prorated totals left out, per currency."""

    buckets: list[SpendBucket] = field(default_factory=list)
    other_currencies: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        """All the range's spend in the report currency."""
        return sum((bucket.amount for bucket in self.buckets), Decimal("0"))


def report_currency(session: Session, workspace_id: int) -> str:
    """The currency the workspace's reports add up (its ``currency``, USD by default)."""
    currency = session.scalar(select(Workspace.currency).where(Workspace.id == workspace_id))
    return currency or "USD"


def prorate(amount: Decimal, spent_from: date, spent_to: date, start: date, end: date) -> Decimal:
    """The share of ``amount`` (spent evenly over ``spent_from``–``spent_to``) falling in
    ``start``–``end``, all days inclusive; unrounded."""
    covered = (spent_to - spent_from).days + 1
    inside = (min(spent_to, end) - max(spent_from, start)).days + 1
    if covered <= 0 or inside <= 0:
        return Decimal("0")
    return amount * inside / covered


def spend_buckets(session: Session, query: ReportQuery) -> SpendTotals:
    """The spend of the range per bucket, prorated by day: one grouped statement over the rows
    overlapping the range (rows with the same days add up first), the proration in exact decimals."""
    rows = session.execute(
        select(
            Spend.channel_id,
            Spend.campaign_id,
            Spend.currency,
            Spend.spent_from,
            Spend.spent_to,
            func.sum(Spend.amount),
        )
        .where(
            Spend.workspace_id == query.workspace_id,
            Spend.spent_from <= query.end,
            Spend.spent_to >= query.start,
        )
        .group_by(Spend.channel_id, Spend.campaign_id, Spend.currency, Spend.spent_from, Spend.spent_to)
    )
    currency = report_currency(session, query.workspace_id)
    inside: dict[tuple[int, int | None], Decimal] = defaultdict(Decimal)
    others: dict[str, Decimal] = defaultdict(Decimal)
    for channel_id, campaign_id, code, spent_from, spent_to, amount in rows:
        share = prorate(Decimal(amount), spent_from, spent_to, query.start, query.end)
        if code == currency:
            inside[(channel_id, campaign_id)] += share
        else:
            others[code] += share
    buckets = [
        SpendBucket(channel_id, campaign_id, amount.quantize(CENT, ROUND_HALF_UP))
        for (channel_id, campaign_id), amount in sorted(
            inside.items(), key=lambda item: (item[0][0], item[0][1] or 0)
        )
    ]
    return SpendTotals(
        buckets, {code: total.quantize(CENT, ROUND_HALF_UP) for code, total in sorted(others.items())}
    )


def spend_note(totals: SpendTotals, currency: str) -> list[str]:
    """Notes naming spend left out for its currency ("Spend of EUR 300.00 is not counted: reports
    add up USD")."""
    return [
        f"Spend of {code} {amount:,.2f} is not counted: reports add up {currency}"
        for code, amount in totals.other_currencies.items()
    ]


def allocate(
    weights: list[tuple[K, int | None, int | None, float]], buckets: list[SpendBucket]
) -> tuple[dict[K, Decimal], list[SpendBucket]]:
    """Each bucket's amount shared among the keys whose leads are credited to it (a campaign
    bucket: credit to the campaign; a channel bucket: credit to the channel), in proportion to
    that credit. ``weights`` are (key, channel id, campaign id, summed weight). Returns the cost per
    key (unrounded) and the buckets nobody was credited to."""
    costs: dict[K, Decimal] = defaultdict(Decimal)
    unallocated: list[SpendBucket] = []
    for bucket in buckets:
        shares = [
            (key, weight)
            for key, channel_id, campaign_id, weight in weights
            if channel_id == bucket.channel_id
            and (bucket.campaign_id is None or campaign_id == bucket.campaign_id)
        ]
        whole = sum(weight for _key, weight in shares)
        if whole <= 0:
            unallocated.append(bucket)
            continue
        for key, weight in shares:
            costs[key] += bucket.amount * Decimal(repr(weight)) / Decimal(repr(whole))
    return costs, unallocated


def unallocated_note(buckets: list[SpendBucket], channels: dict[int, str], currency: str) -> list[str]:
    """The note naming spend no lead of the range was credited with."""
    if not buckets:
        return []
    amount = sum((bucket.amount for bucket in buckets), Decimal("0"))
    where = ", ".join(sorted({channels.get(b.channel_id, f"Channel {b.channel_id}") for b in buckets}))
    return [
        f"{currency} {amount:,.2f} of spend brought no lead in this range ({where}): it is in the "
        "total, in no row"
    ]
