"""Reading spend back: the rows overlapping a range of days, with totals per channel and currency,
and deleting a row."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Campaign, Channel, Spend
from leadwell.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class SpendLine:
    id: int
    channel: str
    campaign: str
    spent_from: date
    spent_to: date
    amount: Decimal
    currency: str
    origin: str
    description: str

    def as_dict(self) -> dict[str, str]:
        """Plain values for CSV and JSON."""
        return {
            "id": str(self.id),
            "channel": self.channel,
            "campaign": self.campaign,
            "from": self.spent_from.isoformat(),
            "to": self.spent_to.isoformat(),
            "amount": f"{self.amount:.2f}",
            "currency": self.currency,
            "origin": self.origin,
            "description": self.description,
        }


@dataclass(frozen=True)
class Total:
    channel: str
    currency: str
    amount: Decimal
    rows: int


def list_spend(
    session: Session, workspace_id: int, since: date | None = None, until: date | None = None
) -> list[SpendLine]:
    """Spend rows whose days overlap [since, until] (either end open), by first day then channel."""
    if since is not None and until is not None and until < since:
        raise InvalidInput("to: must not be before from", "to")
    query = (
        select(Spend, Channel.name, Campaign.name)
        .join(Channel, Channel.id == Spend.channel_id)
        .outerjoin(Campaign, Campaign.id == Spend.campaign_id)
        .where(Spend.workspace_id == workspace_id)
        .order_by(Spend.spent_from, Channel.name, Campaign.name, Spend.id)
    )
    if since is not None:
        query = query.where(Spend.spent_to >= since)
    if until is not None:
        query = query.where(Spend.spent_from <= until)
    return [
        SpendLine(
            spend.id,
            channel,
            campaign or "",
            spend.spent_from,
            spend.spent_to,
            spend.amount,
            spend.currency,
            spend.origin,
            spend.description,
        )
        for spend, channel, campaign in session.execute(query)
    ]


def totals(lines: list[SpendLine]) -> list[Total]:
    """The rows' amounts added up per channel and currency (whole rows: a report counts only the
    days of a row inside its range)."""
    amounts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        amounts[(line.channel, line.currency)] += line.amount
        counts[(line.channel, line.currency)] += 1
    return [Total(channel, currency, amounts[(channel, currency)], counts[(channel, currency)])
            for channel, currency in sorted(amounts)]  # fmt: skip


def delete_spend(session: Session, workspace_id: int, spend_id: int) -> None:
    """Delete one spend row (NotFound unless it is the workspace's)."""
    spend = session.get(Spend, spend_id)
    if spend is None or spend.workspace_id != workspace_id:
        raise NotFound("No such spend row in this workspace.", "spend")
    session.delete(spend)
    session.flush()
