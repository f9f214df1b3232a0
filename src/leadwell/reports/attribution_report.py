"""Attribution: sales and revenue credited to each channel by the four models, side by side.

Where the models agree, a channel's part is plain; where they disagree, the difference says what
the channel does: one that earns sales by first touch but not by last touch opens conversations
that other channels close. Leads and qualified leads follow the chosen model.

One statement: the range's leads (built once), their touches numbered up to the sale, and the four
weights of every touch computed side by side, summed per channel.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from leadwell.reports.attribution import model_weight, ranked_touches
from leadwell.reports.charts import grouped_bar_chart
from leadwell.reports.costs import report_currency
from leadwell.reports.facts import deals_note, lead_facts, other_currency_deals
from leadwell.reports.names import channel_label, channel_names
from leadwell.reports.outcomes import TOTAL, money, unmapped_note
from leadwell.reports.query import ATTRIBUTION_MODELS, ReportQuery
from leadwell.reports.table import Column, Report, Value

MODELS = tuple(ATTRIBUTION_MODELS)
IN_WORDS = {
    "first_touch": "first touch",
    "last_touch": "last touch",
    "linear": "linear credit",
    "position_based": "position-based credit",
}
ROLES = {
    "first_touch": "it opens conversations others close",
    "last_touch": "it closes conversations others open",
}
MIDDLE = "it works in the middle of conversations others open and close"


def columns() -> list[Column]:
    """Channel, leads and qualified (chosen model), then sales and revenue by each model."""
    return [
        Column("label", "Channel"),
        Column("leads", "Leads", "count"),
        Column("qualified", "Qualified", "count"),
        *(Column(f"sales_{m}", f"Sales, {ATTRIBUTION_MODELS[m].lower()}", "count") for m in MODELS),
        *(Column(f"revenue_{m}", f"Revenue, {ATTRIBUTION_MODELS[m].lower()}", "money") for m in MODELS),
    ]


def _statement(query: ReportQuery, currency: str) -> Any:
    """Per channel (or unmapped key): leads and qualified by the chosen model, then sales and
    revenue by each model."""
    facts = lead_facts(query, currency)
    ranked = ranked_touches(query, facts, carry=("qualified", "won", "revenue"))
    weights = {m: model_weight(m, ranked.c.k, ranked.c.n) for m in MODELS}
    unmapped = case((ranked.c.channel_id.is_(None), ranked.c.source_key))
    chosen = weights[query.attribution]
    return select(
        ranked.c.channel_id,
        unmapped,
        func.sum(chosen),
        func.sum(chosen * ranked.c.qualified),
        *(func.sum(weights[m] * ranked.c.won) for m in MODELS),
        *(func.sum(weights[m] * ranked.c.revenue) for m in MODELS),
    ).group_by(ranked.c.channel_id, unmapped)


def _row(label: str, sums: list[float]) -> dict[str, Value]:
    row: dict[str, Value] = {"label": label, "leads": round(sums[0], 6), "qualified": round(sums[1], 6)}
    for i, model in enumerate(MODELS):
        row[f"sales_{model}"] = round(sums[2 + i], 6)
        row[f"revenue_{model}"] = money(sums[2 + len(MODELS) + i])
    return row


def disagreement(rows: list[dict[str, Value]]) -> list[str]:
    """The sentence on the channel whose credited sales differ most between models."""
    best: tuple[float, dict[str, Value]] | None = None
    for row in rows:
        sales = [float(row[f"sales_{m}"] or 0) for m in MODELS]
        spread = max(sales) - min(sales)
        if best is None or spread > best[0] + 1e-9:
            best = (spread, row)
    if best is None or not any(float(row["sales_linear"] or 0) for row in rows):
        return ["No sale in this range yet: the models have nothing to tell apart."]
    if best[0] < 1e-9:
        return ["Every model credits each channel with the same sales."]
    row = best[1]
    credited = {m: float(row[f"sales_{m}"] or 0) for m in MODELS}
    high = max(MODELS, key=lambda m: credited[m])
    low = min(MODELS, key=lambda m: credited[m])
    role = ROLES.get(high, MIDDLE if low in ROLES else "its part depends on how the credit is shared")
    return [
        f"{row['label']} earns {credited[high]:.1f} sales by {IN_WORDS[high]} but {credited[low]:.1f} by "
        f"{IN_WORDS[low]}: {role}."
    ]


def _chart(rows: list[dict[str, Value]], currency: str) -> dict[str, Any]:
    long = [
        {"label": row["label"], "model": ATTRIBUTION_MODELS[m], "revenue": row[f"revenue_{m}"]}
        for row in rows
        for m in MODELS
    ]
    return grouped_bar_chart(
        "Revenue credited per channel, by model", long, "label", "model", "revenue", currency, "money"
    )


def attribution_report(session: Session, query: ReportQuery) -> Report:
    """Sales and revenue per channel by each attribution model, most sales (chosen model) first,
    with a total row ("All") and a sentence on where the models disagree most."""
    currency = report_currency(session, query.workspace_id)
    names = channel_names(session, query.workspace_id)
    rows: list[dict[str, Value]] = []
    totals = [0.0] * (2 + 2 * len(MODELS))
    unmapped: set[str] = set()
    for channel_id, key, *sums in session.execute(_statement(query, currency)):
        values = [float(value or 0) for value in sums]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        rows.append(_row(channel_label(names, channel_id, key), values))
        if channel_id is None and key:
            unmapped.add(key)
    chosen = f"sales_{query.attribution}"
    rows.sort(key=lambda row: (-float(row[chosen] or 0), -float(row["qualified"] or 0), str(row["label"])))
    return Report(
        name="attribution",
        title="Attribution",
        query=query,
        currency=currency,
        columns=columns(),
        rows=[*rows, _row(TOTAL, totals)],
        charts=[_chart(rows, currency)],
        summary=disagreement(rows),
        notes=deals_note(other_currency_deals(session, query, currency), currency) + unmapped_note(unmapped),
    )
