"""Attribution: how much of each lead every channel (and campaign) earns, by four models.

A lead's touches (:mod:`leadwell.reports.touches`) are numbered k = 1..n in time order, up to the
moment it was won (touches after the sale earn no credit), and weighted:

- ``first_touch``: 1 for k = 1;
- ``last_touch``: 1 for k = n;
- ``linear``: 1/n each;
- ``position_based``: n = 1 → 1; n = 2 → 0.5 each; n ≥ 3 → 0.4 to the first and the last, the
  remaining 0.2 shared by the middle ones.

A lead without any touch gets one row with no channel and no key, weight 1, so a lead's weights
always add up to 1 and credited counts add up to the number of leads.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)

from leadwell.db.types import UTCDateTime
from leadwell.reports.facts import won_at
from leadwell.reports.funnel import cohort
from leadwell.reports.query import ATTRIBUTION_MODELS, ReportQuery
from leadwell.reports.touches import kind_rank, touches


def _leads(query: ReportQuery) -> Subquery:
    """The range's leads with the moment each was won (NULL if not, or not known)."""
    entered = cohort(query.workspace_id, query.since)
    return (
        select(
            entered.c.id.label("contact_id"),
            won_at(entered, query.now).label("won_at"),
        )
        .where(entered.c.at_1 < literal(query.until, UTCDateTime()))
        .subquery("attributed_leads")
    )


def ranked_touches(query: ReportQuery, leads: FromClause | None = None) -> Subquery:
    """Every lead's touches up to its sale, numbered: ``contact_id``, ``channel_id``,
    ``campaign_id``, ``source_key``, ``k`` (1..n in time order) and ``n`` (0 for a lead with no
    touch, which appears once with NULLs). ``leads`` (``contact_id``, ``won_at``) defaults to the
    range's leads; pass :func:`leadwell.reports.facts.lead_facts` to share its cohort."""
    leads = _leads(query) if leads is None else leads
    touched = touches(query.workspace_id, query.now, contact_ids=select(leads.c.contact_id))
    before_sale = or_(leads.c.won_at.is_(None), touched.c.occurred_at <= leads.c.won_at)
    order = (touched.c.occurred_at, kind_rank(touched.c.kind), touched.c.touch_id)
    return (
        select(
            leads.c.contact_id,
            touched.c.channel_id,
            touched.c.campaign_id,
            touched.c.source_key,
            func.row_number().over(partition_by=leads.c.contact_id, order_by=order).label("k"),
            func.count(touched.c.kind).over(partition_by=leads.c.contact_id).label("n"),
        )
        .select_from(leads)
        .outerjoin(touched, and_(touched.c.contact_id == leads.c.contact_id, before_sale))
        .subquery("ranked_touches")
    )


def model_weight(model: str, k: Any, n: Any) -> ColumnElement[float]:
    """The weight of touch ``k`` of ``n`` under ``model`` (1 for a lead with no touch, n = 0)."""
    one, zero = literal(1.0), literal(0.0)
    if model == "first_touch":
        weight: ColumnElement[Any] = case((k == 1, one), else_=zero)
    elif model == "last_touch":
        weight = case((or_(n == 0, k == n), one), else_=zero)
    elif model == "linear":
        weight = case((n == 0, one), else_=one / n)
    elif model == "position_based":
        weight = case(
            (n <= 1, one),
            (n == 2, literal(0.5)),
            (or_(k == 1, k == n), literal(0.4)),
            else_=literal(0.2) / (n - 2),
        )
    else:
        raise ValueError(f"unknown attribution model {model!r}; known: {', '.join(ATTRIBUTION_MODELS)}")
    return cast(weight, Float)


def credits(query: ReportQuery, model: str | None = None, *, leads: FromClause | None = None) -> Subquery:
    """Credit of each lead captured in the range, per touch with a non-zero weight under
    ``model`` (default: the query's): ``contact_id``, ``channel_id``, ``campaign_id``,
    ``source_key`` and ``weight`` (a lead's weights sum to 1)."""
    chosen = model or query.attribution
    ranked = ranked_touches(query, leads)
    weighted = select(
        ranked.c.contact_id,
        ranked.c.channel_id,
        ranked.c.campaign_id,
        ranked.c.source_key,
        model_weight(chosen, ranked.c.k, ranked.c.n).label("weight"),
    ).subquery("weighted")
    return select(weighted).where(weighted.c.weight > 0).subquery("credits")
