"""Cost and outcomes: leads, qualified leads, meetings, sales and revenue with what they cost.

By channel or campaign, a lead counts for each channel as much as the attribution model credits
it (a third of a lead under linear with three touches), and a row's spend is what its buckets
cost in the range (a channel's includes its campaigns'); channels that spent without bringing a
lead still show, with no leads. By lead magnet, landing page or ICP grade, a lead counts once for
its own value, and a row's cost is the spend allocated to its leads: each spend bucket shared among
the leads its channel or campaign is credited with, in proportion to their credit. Spend no lead
was credited with is in the total only, and named in a note.

Three statements do the work whatever the size (the spend buckets, and one or two grouped over
the range's leads joined with their credits); the rest is arithmetic over their few rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    String,
    Subquery,
    case,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from leadwell.reports.attribution import credits
from leadwell.reports.charts import bar_chart, grouped_bar_chart
from leadwell.reports.costs import (
    CENT,
    SpendBucket,
    SpendTotals,
    allocate,
    report_currency,
    spend_buckets,
    spend_note,
    unallocated_note,
)
from leadwell.reports.facts import deals_note, lead_facts, other_currency_deals
from leadwell.reports.names import campaign_names, channel_label, channel_names
from leadwell.reports.query import DIMENSIONS, ReportQuery
from leadwell.reports.table import Column, Report, Value

TOTAL = "All"
NO_VALUE = {"magnet": "No lead magnet", "landing_page": "No landing page", "grade": "Not graded"}
LABELS = {**DIMENSIONS, "campaign": "Channel / Campaign"}
Key = tuple[Any, ...]


@dataclass
class Tally:
    """A row's credited counts (fractional under linear and position-based) and revenue."""

    leads: float = 0.0
    qualified: float = 0.0
    meetings: float = 0.0
    sales: float = 0.0
    revenue: float = 0.0

    def add(self, other: Tally) -> None:
        self.leads += other.leads
        self.qualified += other.qualified
        self.meetings += other.meetings
        self.sales += other.sales
        self.revenue += other.revenue


def columns(dimension: str) -> list[Column]:
    """The outcome columns, the first naming the dimension's values."""
    return [
        Column("label", LABELS[dimension]),
        Column("leads", "Leads", "count"),
        Column("qualified", "Qualified", "count"),
        Column("meetings", "Meetings", "count"),
        Column("sales", "Sales", "count"),
        Column("revenue", "Revenue", "money"),
        Column("spend", "Spend", "money"),
        Column("cost_per_lead", "Cost per lead", "money"),
        Column("cost_per_qualified", "Cost per qualified lead", "money"),
        Column("cost_per_meeting", "Cost per meeting", "money"),
        Column("cost_per_sale", "Cost per sale", "money"),
        Column("roi", "ROI", "percent"),
        Column("roas", "ROAS", "ratio"),
        Column("lead_to_qualified", "Lead → qualified", "percent"),
        Column("lead_to_sale", "Lead → sale", "percent"),
    ]


def money(value: float | Decimal) -> Decimal:
    """An amount rounded to cents."""
    return Decimal(repr(round(float(value), 2))).quantize(CENT, ROUND_HALF_UP)


def per(amount: Decimal, count: float) -> Decimal | None:
    """``amount`` per unit of ``count`` in cents; None when there is nothing to divide by."""
    if abs(count) < 1e-9:
        return None
    return (amount / Decimal(repr(count))).quantize(CENT, ROUND_HALF_UP)


def share(part: float, whole: float) -> float | None:
    """``part`` / ``whole``, None when ``whole`` is 0."""
    return None if abs(whole) < 1e-9 else round(part / whole, 6)


def figures(label: str, tally: Tally, spend: Decimal) -> dict[str, Value]:
    """One row: the counts, revenue and spend with every ratio derived from them."""
    revenue = money(tally.revenue)
    return {
        "label": label,
        "leads": round(tally.leads, 6),
        "qualified": round(tally.qualified, 6),
        "meetings": round(tally.meetings, 6),
        "sales": round(tally.sales, 6),
        "revenue": revenue,
        "spend": spend,
        "cost_per_lead": per(spend, tally.leads),
        "cost_per_qualified": per(spend, tally.qualified),
        "cost_per_meeting": per(spend, tally.meetings),
        "cost_per_sale": per(spend, tally.sales),
        "roi": None if not spend else round(float((revenue - spend) / spend), 6),
        "roas": None if not spend else round(float(revenue / spend), 6),
        "lead_to_qualified": share(tally.qualified, tally.leads),
        "lead_to_sale": share(tally.sales, tally.leads),
    }


# The lead figures the credits carry (see attribution.ranked_touches): summed weighted per channel.
CARRIED = ("qualified", "meetings", "won", "revenue")


def _weighted(credited: Subquery, *group: Any) -> Any:
    """The credited sums per ``group``: leads, qualified, meetings, sales, revenue (``credited``
    carries :data:`CARRIED`)."""
    weight = credited.c.weight
    return select(
        *group, func.sum(weight), *(func.sum(weight * credited.c[name]) for name in CARRIED)
    ).group_by(*group)


def _unmapped_key(credited: Subquery) -> Any:
    return case((credited.c.channel_id.is_(None), credited.c.source_key)).label("unmapped_key")


def _tally(values: Iterable[Any]) -> Tally:
    return Tally(*(float(value or 0) for value in values))


def _sort(rows: list[dict[str, Value]]) -> list[dict[str, Value]]:
    """Most sales first, then most qualified leads, then by label."""
    return sorted(
        rows, key=lambda row: (-float(row["sales"] or 0), -float(row["qualified"] or 0), str(row["label"]))
    )


@dataclass
class Tallies:
    """A report's rows before the ratios: tallies and spend per key, labels and unmapped keys."""

    tallies: dict[Key, Tally]
    spend: dict[Key, Decimal]
    labels: dict[Key, str]
    unmapped: set[str]


def by_channel(session: Session, query: ReportQuery, currency: str, totals: SpendTotals) -> Tallies:
    """Credited figures and spend per channel (or per channel and campaign): one statement."""
    facts = lead_facts(query, currency)
    credited = credits(query, leads=facts, carry=CARRIED)
    campaigns = query.dimension == "campaign"
    group = [credited.c.channel_id, _unmapped_key(credited)]
    if campaigns:
        group.insert(1, credited.c.campaign_id)
    found = Tallies({}, defaultdict(Decimal), {}, set())
    for row in session.execute(_weighted(credited, *group)):
        key, unmapped = tuple(row[: len(group)]), row[len(group) - 1]
        found.tallies[key] = _tally(row[len(group) :])
        if unmapped:
            found.unmapped.add(unmapped)
    for bucket in totals.buckets:
        key = (bucket.channel_id, bucket.campaign_id, None) if campaigns else (bucket.channel_id, None)
        found.spend[key] += bucket.amount
        found.tallies.setdefault(key, Tally())
    channels = channel_names(session, query.workspace_id)
    named = campaign_names(session, query.workspace_id) if campaigns else {}
    for key in found.tallies:
        label = channel_label(channels, key[0], key[-1])
        if campaigns and key[0] is not None:
            label += " / " + (named[key[1]][1] if key[1] in named else "No campaign")
        found.labels[key] = label
    return found


def _by_value_statement(query: ReportQuery, currency: str) -> Any:
    """Counts per value of the lead (weight 1) and, in the same statement, the credit weights per
    value, channel and campaign that the allocation of spend needs (the cohort is built once)."""
    facts = lead_facts(query, currency)
    value = facts.c[query.dimension]
    counts = select(
        literal("count"),
        value,
        cast(null(), BigInteger),
        cast(null(), BigInteger),
        cast(null(), String),
        cast(func.count(), Float),
        cast(func.sum(facts.c.qualified), Float),
        cast(func.sum(facts.c.meetings), Float),
        cast(func.sum(facts.c.won), Float),
        cast(func.sum(facts.c.revenue), Float),
    ).group_by(value)
    credited = credits(query, leads=facts, carry=(query.dimension,))
    credited_value = credited.c[query.dimension]
    unmapped = _unmapped_key(credited)
    zero = cast(literal(0.0), Float)
    weights = select(
        literal("weight"),
        credited_value,
        credited.c.channel_id,
        credited.c.campaign_id,
        unmapped,
        cast(func.sum(credited.c.weight), Float),
        zero,
        zero,
        zero,
        zero,
    ).group_by(credited_value, credited.c.channel_id, credited.c.campaign_id, unmapped)
    return union_all(counts, weights)


def by_value(
    session: Session, query: ReportQuery, currency: str, totals: SpendTotals
) -> tuple[Tallies, list[SpendBucket]]:
    """Figures per value of the lead's magnet, landing page or grade, each lead counted once, with
    the spend allocated to its leads; and the buckets no lead was credited with."""
    found = Tallies({}, {}, {}, set())
    weights: list[tuple[Key, int | None, int | None, float]] = []
    for kind, value, channel_id, campaign_id, unmapped, *sums in session.execute(
        _by_value_statement(query, currency)
    ):
        key = (value,)
        if kind == "count":
            found.tallies[key] = _tally(sums)
            found.labels[key] = value or NO_VALUE[query.dimension]
        else:
            weights.append((key, channel_id, campaign_id, float(sums[0])))
            if unmapped:
                found.unmapped.add(unmapped)
    costs, unallocated = allocate(weights, totals.buckets)
    found.spend = {key: cost.quantize(CENT, ROUND_HALF_UP) for key, cost in costs.items()}
    return found, unallocated


def unmapped_note(keys: set[str]) -> list[str]:
    """The note counting the source keys no channel claims."""
    if not keys:
        return []
    shown = ", ".join(sorted(keys)[:5]) + (", …" if len(keys) > 5 else "")
    many = "1 source key is" if len(keys) == 1 else f"{len(keys)} source keys are"
    return [f"{many} mapped to no channel ({shown}): add them to a channel under Channels to credit it"]


def summary(rows: list[dict[str, Value]], currency: str) -> list[str]:
    """One sentence naming the row with the lowest cost per sale (per qualified lead when no row
    with spend has a sale)."""
    for measure, what in (("cost_per_sale", "sales"), ("cost_per_qualified", "qualified leads")):
        paid = [row for row in rows if row[measure] is not None and row["spend"]]
        if paid:
            best = min(paid, key=lambda row: (Decimal(str(row[measure])), str(row["label"])))
            unit = "sale" if measure == "cost_per_sale" else "qualified lead"
            cost = f"{currency} {best[measure]:,.2f}"
            return [f"{best['label']} brings {what} at the lowest cost: {cost} per {unit}."]
    return ["No spend in this range has brought a qualified lead yet."]


def charts(rows: list[dict[str, Value]], currency: str, dimension: str) -> list[dict[str, Any]]:
    """Cost per qualified lead by row (bars) and revenue beside spend (grouped bars)."""
    costly = [
        {"label": row["label"], "cost_per_qualified": row["cost_per_qualified"]}
        for row in rows
        if row["cost_per_qualified"] is not None
    ]
    money_rows = [
        {"label": row["label"], "measure": measure.title(), "amount": row[measure]}
        for row in rows
        for measure in ("revenue", "spend")
    ]
    return [
        bar_chart(
            "Cost per qualified lead",
            costly,
            "label",
            "cost_per_qualified",
            f"{currency} per qualified lead",
            "money",
            LABELS[dimension],
        ),
        grouped_bar_chart("Revenue and spend", money_rows, "label", "measure", "amount", currency, "money"),
    ]


def outcomes_report(session: Session, query: ReportQuery) -> Report:
    """Leads, qualified leads, meetings, sales, revenue, spend and their ratios per value of
    ``query.dimension``, most sales first, with a total row ("All")."""
    currency = report_currency(session, query.workspace_id)
    totals = spend_buckets(session, query)
    notes: list[str] = []
    if query.dimension in ("channel", "campaign"):
        found = by_channel(session, query, currency, totals)
    else:
        found, unallocated = by_value(session, query, currency, totals)
        notes += unallocated_note(unallocated, channel_names(session, query.workspace_id), currency)
    rows = _sort(
        [
            figures(found.labels[key], tally, found.spend.get(key, Decimal("0")))
            for key, tally in found.tallies.items()
        ]
    )
    everything = Tally()
    for tally in found.tallies.values():
        everything.add(tally)
    total = figures(TOTAL, everything, totals.total)
    notes = (
        deals_note(other_currency_deals(session, query, currency), currency)
        + spend_note(totals, currency)
        + notes
    )
    return Report(
        name="outcomes",
        title="Cost and outcomes",
        query=query,
        currency=currency,
        columns=columns(query.dimension),
        rows=[*rows, total],
        charts=charts(rows, currency, query.dimension),
        summary=summary(rows, currency),
        notes=notes + unmapped_note(found.unmapped),
    )
