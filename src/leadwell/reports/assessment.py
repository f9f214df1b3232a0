"""The marketing assessment: every funnel ranked by what it brings per unit of cost, the best one
named, and what is missing to judge better.

A **funnel** is the path a lead took: the channel that brought it (credited by the chosen
attribution model, so a lead touched by two channels counts half in each under linear), the way in
(its lead magnet, else the landing page it signed up on, else "no magnet") and the first sequence
it was enrolled in (else "no sequence"). Each funnel adds up its credited leads, qualified leads,
sales and revenue, and the cost allocated to those leads (each spend bucket shared among the leads
credited to it, in proportion to their credit).

Funnels are ranked by sales per 1,000 of cost, then qualified leads per 1,000 of cost. Funnels with
no cost tracked cannot be compared on cost: they rank after the costed ones, by sales then
qualified leads, marked "no spend tracked". Funnels with fewer than 5 leads are listed, last and
without a rank, marked "too few leads to judge": a single lucky sale proves nothing, so they are
never named best.

The notes list what the assessment lacks ("Missing: …"): an ideal client profile, any recorded
outcome (a deal won or lost), spend for channels that brought leads (free kinds — organic, direct,
referral — excepted, and said so), source keys no channel claims, leads without any touch; and
which spend and won deals are left out for their currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.orm import Session

from leadwell.db.models import Asset, Event, LandingPage, Sequence
from leadwell.db.types import UTCDateTime
from leadwell.reports.assessment_notes import missing_notes
from leadwell.reports.attribution import credits
from leadwell.reports.charts import bar_chart
from leadwell.reports.costs import (
    CENT,
    SpendTotals,
    allocate,
    report_currency,
    spend_buckets,
    spend_note,
    unallocated_note,
)
from leadwell.reports.facts import deals_note, lead_facts, other_currency_deals
from leadwell.reports.names import channel_label, channel_names
from leadwell.reports.outcomes import money, per
from leadwell.reports.query import ReportQuery
from leadwell.reports.table import Column, Report, Value

MIN_LEADS = 5
NO_MAGNET = "no magnet"
NO_SEQUENCE = "no sequence"
TOO_FEW = "too few leads to judge"
NO_SPEND = "no spend tracked"
BEST = "best funnel"
TOP_CHARTED = 10
EPSILON = 1e-9

COLUMNS = [
    Column("funnel", "Funnel"),
    Column("leads", "Leads", "count"),
    Column("qualified", "Qualified", "count"),
    Column("sales", "Sales", "count"),
    Column("revenue", "Revenue", "money"),
    Column("cost", "Cost", "money"),
    Column("qualified_per_1000", "Qualified per 1,000 of cost", "number"),
    Column("sales_per_1000", "Sales per 1,000 of cost", "number"),
    Column("cost_per_qualified", "Cost per qualified lead", "money"),
    Column("cost_per_sale", "Cost per sale", "money"),
    Column("rank", "Rank", "count"),
    Column("status", "Status"),
]
Key = tuple[str, str, str]  # (channel, way in, sequence) as labelled


@dataclass
class Funnel:
    """One funnel's credited figures and allocated cost."""

    label: str
    leads: float = 0.0
    qualified: float = 0.0
    sales: float = 0.0
    revenue: float = 0.0
    cost: Decimal = field(default_factory=Decimal)

    @property
    def judged(self) -> bool:
        return self.leads >= MIN_LEADS - EPSILON

    @property
    def costed(self) -> bool:
        return self.cost > 0

    def per_1000(self, count: float) -> float | None:
        return None if not self.costed else round(count * 1000 / float(self.cost), 6)

    def order(self) -> tuple[Any, ...]:
        """Sort key: judged before too few; costed (by sales, then qualified per cost) before
        uncosted (by sales, then qualified); then by name."""
        if self.costed:
            measures = (-(self.per_1000(self.sales) or 0.0), -(self.per_1000(self.qualified) or 0.0))
        else:
            measures = (-round(self.sales, 6), -round(self.qualified, 6))
        return (not self.judged, not self.costed, *measures, self.label)


def _first_sequences(query: ReportQuery, ids: Select[Any]) -> Any:
    """Per lead, the slug of the first sequence it was enrolled in (earliest event, then id)."""
    numbered = (
        select(
            Event.contact_id,
            Event.properties["sequence"].as_string().label("sequence"),
            func.row_number()
            .over(partition_by=Event.contact_id, order_by=(Event.occurred_at, Event.id))
            .label("n"),
        )
        .where(
            Event.workspace_id == query.workspace_id,
            Event.type == "sequence_enrolled",
            Event.contact_id.in_(ids),
            Event.occurred_at < literal(query.now, UTCDateTime()),
        )
        .subquery("enrolments")
    )
    # Grouped (one row per lead anyway), so SQLite indexes it for the join instead of scanning it
    # once per lead.
    return (
        select(numbered.c.contact_id, func.max(numbered.c.sequence).label("sequence"))
        .where(numbered.c.n == 1)
        .group_by(numbered.c.contact_id)
        .subquery("first_seq")
    )


def _funnel_statement(query: ReportQuery, currency: str) -> Any:
    """Credited sums per channel (or unmapped key), campaign, magnet, page and first sequence: one
    statement, the cohort built once."""
    facts = lead_facts(query, currency)
    sequences = _first_sequences(query, select(facts.c.contact_id))
    leads = (
        select(facts, sequences.c.sequence)
        .outerjoin(sequences, sequences.c.contact_id == facts.c.contact_id)
        .cte("assessed_leads")
    )
    carried = ("magnet", "landing_page", "sequence", "qualified", "won", "revenue")
    credited = credits(query, leads=leads, carry=carried)
    weight = credited.c.weight
    unmapped = case((credited.c.channel_id.is_(None), credited.c.source_key))
    group = (
        credited.c.channel_id,
        unmapped,
        credited.c.campaign_id,
        credited.c.magnet,
        credited.c.landing_page,
        credited.c.sequence,
    )
    return select(
        *group,
        func.sum(weight),
        func.sum(weight * credited.c.qualified),
        func.sum(weight * credited.c.won),
        func.sum(weight * credited.c.revenue),
    ).group_by(*group)


@dataclass
class Labels:
    """Names for the parts of a funnel: channels, magnets, pages and sequences by id or slug."""

    channels: dict[int, str]
    magnets: dict[str, str]
    pages: dict[str, str]
    sequences: dict[str, str]

    @classmethod
    def read(cls, session: Session, workspace_id: int) -> Labels:
        def titles(model: Any, name: Any) -> dict[str, str]:
            rows = session.execute(select(model.slug, name).where(model.workspace_id == workspace_id))
            return {slug: title for slug, title in rows}

        return cls(
            channel_names(session, workspace_id),
            titles(Asset, Asset.title),
            titles(LandingPage, LandingPage.title),
            titles(Sequence, Sequence.name),
        )

    def key(self, channel_id: int | None, unmapped: str | None, magnet: str | None, page: str | None,
            sequence: str | None) -> Key:  # fmt: skip
        way_in = self.magnets.get(magnet, magnet) if magnet else self.pages.get(page, page) if page else None
        return (
            channel_label(self.channels, channel_id, unmapped),
            way_in or NO_MAGNET,
            (self.sequences.get(sequence, sequence) if sequence else None) or NO_SEQUENCE,
        )


def funnels(
    session: Session, query: ReportQuery, currency: str, totals: SpendTotals
) -> tuple[list[Funnel], list[Any]]:
    """Every funnel of the range with its allocated cost, and the spend buckets no lead was
    credited with."""
    labels = Labels.read(session, query.workspace_id)
    found: dict[Key, Funnel] = {}
    weights: list[tuple[Key, int | None, int | None, float]] = []
    for channel_id, unmapped, campaign_id, magnet, page, sequence, *sums in session.execute(
        _funnel_statement(query, currency)
    ):
        key = labels.key(channel_id, unmapped, magnet, page, sequence)
        funnel = found.setdefault(key, Funnel(" → ".join(key)))
        leads, qualified, sales, revenue = (float(value or 0) for value in sums)
        funnel.leads += leads
        funnel.qualified += qualified
        funnel.sales += sales
        funnel.revenue += revenue
        weights.append((key, channel_id, campaign_id, leads))
    costs, unallocated = allocate(weights, totals.buckets)
    for key, cost in costs.items():
        found[key].cost = cost.quantize(CENT)
    return sorted(found.values(), key=Funnel.order), unallocated


def _ranks(ordered: list[Funnel]) -> dict[str, int]:
    """Competition ranks ("1, 1, 3") of the judged funnels in their order; equal measures tie."""
    ranks: dict[str, int] = {}
    previous: tuple[tuple[Any, ...], int] | None = None
    for position, funnel in enumerate((f for f in ordered if f.judged), start=1):
        measures = funnel.order()[:-1]
        rank = previous[1] if previous is not None and previous[0] == measures else position
        ranks[funnel.label] = rank
        previous = (measures, rank)
    return ranks


def best_funnel(ordered: list[Funnel]) -> Funnel | None:
    """The funnel to name: the first judged, costed one, if it brought a sale or a qualified lead."""
    for funnel in ordered:
        if funnel.judged and funnel.costed:
            return funnel if funnel.sales > EPSILON or funnel.qualified > EPSILON else None
    return None


def row(funnel: Funnel, rank: int | None, best: bool) -> dict[str, Value]:
    """A funnel as a report row."""
    status = TOO_FEW if not funnel.judged else NO_SPEND if not funnel.costed else BEST if best else None
    cost = funnel.cost
    return {
        "funnel": funnel.label,
        "leads": round(funnel.leads, 6),
        "qualified": round(funnel.qualified, 6),
        "sales": round(funnel.sales, 6),
        "revenue": money(funnel.revenue),
        "cost": cost,
        "qualified_per_1000": funnel.per_1000(funnel.qualified),
        "sales_per_1000": funnel.per_1000(funnel.sales),
        "cost_per_qualified": per(cost, funnel.qualified) if funnel.costed else None,
        "cost_per_sale": per(cost, funnel.sales) if funnel.costed else None,
        "rank": rank,
        "status": status,
    }


def _count(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < EPSILON else f"{value:,.1f}"


def _plural(value: float, one: str, many: str) -> str:
    return f"{_count(value)} {one if abs(value - 1) < EPSILON else many}"


def summary(ordered: list[Funnel], best: Funnel | None, currency: str) -> list[str]:
    """The sentence naming the best funnel with its figures, or saying why none can be named."""
    if best is not None:
        leads = _plural(best.leads, "lead", "leads")
        if best.sales > EPSILON:
            cost = per(best.cost, best.sales)
            figures = (
                f"{_plural(best.sales, 'sale', 'sales')} from {leads} at {currency} {cost:,.0f} per sale"
            )
        else:
            cost = per(best.cost, best.qualified)
            qualified = _plural(best.qualified, "qualified lead", "qualified leads")
            figures = f"{qualified} from {leads} at {currency} {cost:,.0f} per qualified lead, no sale yet"
        return [f"Your best funnel: {best.label}: {figures}."]
    judged = [funnel for funnel in ordered if funnel.judged]
    if not ordered:
        why = "no leads were captured in this range"
    elif not judged:
        why = f"no funnel has {MIN_LEADS} leads or more in this range"
    elif not any(funnel.costed for funnel in judged):
        why = "no funnel with enough leads has any spend tracked, so none can be compared on cost"
    else:
        why = "no funnel with spend has brought a qualified lead or a sale yet"
    return [f"No best funnel can be named: {why}."]


def charts(ordered: list[Funnel], currency: str) -> list[dict[str, Any]]:
    """Sales per 1,000 of cost (costed funnels with enough leads, the top 10) and qualified leads per
    funnel."""
    compared = [funnel for funnel in ordered if funnel.costed and funnel.judged][:TOP_CHARTED]
    costed = [{"funnel": f.label, "sales_per_1000": f.per_1000(f.sales)} for f in compared]
    qualified = [{"funnel": f.label, "qualified": round(f.qualified, 6)} for f in ordered]
    return [
        bar_chart(
            f"Sales per 1,000 {currency} of cost", costed, "funnel", "sales_per_1000",
            f"Sales per 1,000 {currency}", "number", "Funnel",
        ),
        bar_chart(
            "Qualified leads per funnel", qualified, "funnel", "qualified", "Qualified leads", "count",
            "Funnel",
        ),
    ]  # fmt: skip


def assessment_report(session: Session, query: ReportQuery) -> Report:
    """Every funnel of the range ranked by sales and qualified leads per unit of cost, the best one
    named, and what is missing (see the module's description)."""
    currency = report_currency(session, query.workspace_id)
    totals = spend_buckets(session, query)
    ordered, unallocated = funnels(session, query, currency, totals)
    ranks = _ranks(ordered)
    best = best_funnel(ordered)
    rows = [row(funnel, ranks.get(funnel.label), funnel is best) for funnel in ordered]
    names = channel_names(session, query.workspace_id)
    notes = missing_notes(session, query)
    notes += spend_note(totals, currency)
    notes += deals_note(other_currency_deals(session, query, currency), currency)
    notes += unallocated_note(unallocated, names, currency)
    return Report(
        "assessment",
        "Marketing assessment",
        query,
        currency,
        COLUMNS,
        rows,
        charts(ordered, currency),
        summary(ordered, best, currency),
        notes,
    )
