"""The metrics an experiment is judged on, and their per-variant numbers computed in SQL.

A *unit* is one assignment (a contact, or a visitor before a form identifies them) that saw its
variant: only units with a ``first_exposed_at`` count. A unit *converts* when an event of the
metric's type happens for its contact — or, before identification, for its visitor — at or after
its first exposure and less than ``window_days`` later. Revenue is the sum of the ``value`` of
the unit's won deals in that window (0 for units without any).

Email metrics only count events naming the template the unit was sent: the experiment's template
(``email_template``) or the variant's template (``sequence_step``). A magnet experiment's
``read_50`` counts reading of the magnet the unit was given, not of any document.

Each metric is one grouped query: the exposed units joined to the events that count for them (found
by contact and by visitor, through the indexes), grouped per unit, then per variant. The log is never
read row by row in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Float,
    Select,
    SQLColumnExpression,
    and_,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from leadwell.db.models import (
    Asset,
    EmailTemplate,
    Event,
    Experiment,
    ExperimentAssignment,
    ExperimentVariant,
    SequenceStep,
)
from leadwell.errors import InvalidInput
from leadwell.experiments.arms import Arm, Counts, Sums

Expr = ColumnElement[Any]

# Reaching a stage counts for that stage's metric, and so does jumping straight past it.
MQL_OR_LATER = ("mql", "sql", "opportunity", "customer")
SQL_OR_LATER = ("sql", "opportunity", "customer")
READ_SHARE = 50  # percent of a document read for ``read_50``
EMAIL_KINDS = ("email_template", "sequence_step")


@dataclass(frozen=True)
class Metric:
    """A funnel outcome: ``kind`` is ``conversion`` (did the unit do it at least once) or
    ``revenue`` (the sum per unit); ``noun`` reads in a verdict ("meetings booked")."""

    key: str
    label: str
    noun: str
    kind: str
    higher_is_better: bool = True
    unreliable: bool = False
    events: tuple[str, ...] = ()  # the event types that count
    email: bool = False  # counts only events naming the unit's template
    description: str = ""


METRICS: dict[str, Metric] = {
    metric.key: metric
    for metric in (
        Metric(
            "open", "Opens", "opens", "conversion", unreliable=True, events=("email_opened",), email=True,
            description="opened the email (unreliable: privacy proxies open every email)",
        ),
        Metric("click", "Clicks", "clicks", "conversion", events=("email_clicked",), email=True,
               description="clicked a link in the email"),
        Metric("reply", "Replies", "replies", "conversion", events=("email_replied",), email=True,
               description="replied to the email"),
        Metric("form_submitted", "Form submissions", "form submissions", "conversion",
               events=("form_submitted",), description="submitted a form"),
        Metric("read_50", "Read half", "readers past half", "conversion", events=("read_progress",),
               description=f"read at least {READ_SHARE}% of a document"),
        Metric("mql", "Reached MQL", "MQLs", "conversion", events=("stage_changed",),
               description="moved to the MQL stage or a later one (SQL, opportunity, customer)"),
        Metric("sql", "Reached SQL", "SQLs", "conversion", events=("stage_changed",),
               description="moved to the SQL stage or a later one (opportunity, customer)"),
        Metric("meeting_booked", "Meetings booked", "meetings booked", "conversion",
               events=("meeting_booked",), description="booked a meeting"),
        Metric("deal_won", "Deals won", "deals won", "conversion", events=("deal_won",),
               description="won a deal"),
        Metric("revenue", "Revenue", "revenue", "revenue", events=("deal_won",),
               description="the value of the deals won, per unit (0 without any)"),
        Metric("unsubscribe", "Unsubscribes", "unsubscribes", "conversion", higher_is_better=False,
               events=("email_unsubscribed",), email=True, description="unsubscribed"),
        Metric("bounce", "Bounces", "bounces", "conversion", higher_is_better=False,
               events=("email_bounced",), email=True, description="the email bounced"),
    )
}  # fmt: skip


def get_metric(key: str, field: str = "primary_metric") -> Metric:
    """The metric called ``key``; InvalidInput naming ``field`` when there is none."""
    metric = METRICS.get(key)
    if metric is None:
        raise InvalidInput(f"{field}: unknown metric {key[:40]!r}; one of {', '.join(METRICS)}", field=field)
    return metric


def metric_fits(metric: Metric, kind: str) -> bool:
    """Whether an experiment of ``kind`` can measure ``metric``: email metrics need an email."""
    return not metric.email or kind in EMAIL_KINDS


@dataclass(frozen=True)
class Bounds:
    """Which units count and which events: units first exposed in ``[exposed_since,
    exposed_until]`` and events up to ``until`` (all inclusive; ``None``: unbounded)."""

    until: datetime
    exposed_since: datetime | None = None
    exposed_until: datetime | None = None


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def window_end(exposed: SQLColumnExpression[Any], days: int, dialect: str) -> Expr:
    """``exposed`` plus ``days`` days, as the column stores times (exact to the microsecond)."""
    if dialect == "postgresql":
        # Hours, not days: a day's length in an interval follows the session's time zone.
        return exposed.op("+")(literal_column(f"INTERVAL '{24 * int(days)} hours'"))
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff': shift the whole seconds, keep the fraction.
    shifted = func.strftime("%Y-%m-%d %H:%M:%S", exposed, f"+{int(days)} days")
    return shifted.op("||")(func.substr(exposed, 20, 7))


def day_of(moment: SQLColumnExpression[Any], dialect: str) -> Expr:
    """The UTC calendar day of a stored time as ``YYYY-MM-DD`` text."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", moment), "YYYY-MM-DD")
    return func.substr(moment, 1, 10)


def _variant_values(
    session: Session, experiment: Experiment, metric: Metric
) -> tuple[str, dict[int, str]] | None:
    """The event property that must name what the unit was given, and its value per variant id."""
    variants = list(
        session.scalars(select(ExperimentVariant).where(ExperimentVariant.experiment_id == experiment.id))
    )
    if metric.email:
        if experiment.kind == "email_template":
            slug = session.scalar(
                select(EmailTemplate.slug).where(EmailTemplate.id == experiment.template_id)
            )
            return "template", {variant.id: slug or "" for variant in variants}
        if experiment.kind == "sequence_step":
            step_template = session.scalar(
                select(SequenceStep.template_id).where(SequenceStep.id == experiment.sequence_step_id)
            )
            chosen = {variant.id: variant.template_id or step_template for variant in variants}
            return "template", _slugs_of(session, EmailTemplate, chosen)
        raise InvalidInput(
            f"primary_metric: {metric.key!r} is an email metric; "
            f"a {experiment.kind} experiment sends no email",
            field="primary_metric",
        )
    if metric.key == "read_50" and experiment.kind == "magnet":
        return "asset", _slugs_of(session, Asset, {variant.id: variant.asset_id for variant in variants})
    return None


def _slugs_of(
    session: Session, model: type[EmailTemplate] | type[Asset], chosen: dict[int, int | None]
) -> dict[int, str]:
    """Variant id → the slug of the template or asset it names ("" for none)."""
    wanted = [number for number in chosen.values() if number is not None]
    slugs = {
        row.id: row.slug for row in session.execute(select(model.id, model.slug).where(model.id.in_(wanted)))
    }
    return {key: slugs.get(number, "") if number is not None else "" for key, number in chosen.items()}


class UnitQueries:
    """The SQL of one metric of one experiment: the events that convert a unit, per unit."""

    def __init__(self, session: Session, experiment: Experiment, metric: Metric, bounds: Bounds) -> None:
        self.experiment = experiment
        self.metric = metric
        self.bounds = bounds
        self.dialect = dialect_of(session)
        self.match = _variant_values(session, experiment, metric)
        self.unit = ExperimentAssignment
        self.event = aliased(Event)

    def units_where(self) -> list[Expr]:
        """The experiment's exposed units within the bounds."""
        unit, bounds = self.unit, self.bounds
        conditions: list[Expr] = [
            unit.experiment_id == self.experiment.id,
            unit.first_exposed_at.is_not(None),
        ]
        conditions.append(unit.first_exposed_at <= (bounds.exposed_until or bounds.until))
        if bounds.exposed_since is not None:
            conditions.append(unit.first_exposed_at >= bounds.exposed_since)
        return conditions

    def events_where(self, through_visitor: bool = False) -> list[Expr]:
        """Events of the metric in the unit's window (the unit is the enclosing query's row).

        ``through_visitor``: the events are found by visitor. On SQLite the workspace and type are
        then written so that no index can serve them: without statistics its planner would rather
        read every event of the type in the period (for every unit) than the visitor's few."""
        event, unit, metric = self.event, self.unit, self.metric
        workspace: SQLColumnExpression[Any] = event.workspace_id
        kind: SQLColumnExpression[Any] = event.type
        if through_visitor and self.dialect == "sqlite":
            workspace, kind = workspace.op("+")(0), kind.op("||")("")
        conditions: list[Expr] = [
            workspace == self.experiment.workspace_id,
            kind.in_(metric.events),
            event.occurred_at >= unit.first_exposed_at,
            event.occurred_at < window_end(unit.first_exposed_at, self.experiment.window_days, self.dialect),
            event.occurred_at <= self.bounds.until,
        ]
        if metric.key == "read_50":
            conditions.append(event.properties["percent"].as_float() >= READ_SHARE)
        elif metric.key in ("mql", "sql"):
            stages = MQL_OR_LATER if metric.key == "mql" else SQL_OR_LATER
            conditions.append(event.properties["to"].as_string().in_(stages))
        if self.match is not None:
            key, values = self.match
            conditions.append(event.properties[key].as_string() == case(values, value=unit.variant_id))
        return conditions

    def branches(self) -> tuple[Expr, Expr]:
        """Whose events: the unit's contact's, or its visitor's from before identification. The two
        never overlap, so a sum over both counts each event once."""
        event, unit = self.event, self.unit
        by_contact = event.contact_id == unit.contact_id
        # "IS NOT NULL" lets the partial index of visitors' events serve the search.
        by_visitor = and_(
            event.visitor_id.is_not(None),
            event.visitor_id == unit.visitor_id,
            or_(unit.contact_id.is_(None), event.contact_id.is_(None)),
        )
        return by_contact, by_visitor

    def converting_events(self) -> CompoundSelect[Any]:
        """(unit, variant, time, amount) of every event that counts for a unit: one part finds them
        by contact, the other by visitor, so that each part is a plain join the database can serve
        from its indexes (one condition with OR would defeat them). ``amount`` is the deal's value
        for revenue, NULL otherwise."""
        unit, event = self.unit, self.event
        amount = event.properties["value"].as_float() if self.metric.kind == "revenue" else null()
        parts = [
            select(
                unit.id.label("unit_id"),
                unit.variant_id.label("variant_id"),
                event.occurred_at.label("occurred_at"),
                cast(amount, Float).label("amount"),
            )
            .select_from(unit)
            .join(event, and_(*self.events_where(through_visitor=through_visitor), branch))
            .where(*self.units_where())
            for through_visitor, branch in zip((False, True), self.branches(), strict=True)
        ]
        return union_all(*parts)

    def per_unit(self) -> Select[Any]:
        """One row per exposed unit: ``unit_id``, ``variant_id``, ``exposed_at``, ``converted_at``
        (its first converting event; NULL: none) and ``value`` (revenue; 0 without any)."""
        unit = self.unit
        found = self.converting_events().subquery()
        per_unit = (
            select(
                found.c.unit_id,
                func.min(found.c.occurred_at).label("converted_at"),
                func.sum(found.c.amount).label("value"),
            )
            .group_by(found.c.unit_id)
            .subquery()
        )
        return (
            select(
                unit.id.label("unit_id"),
                unit.variant_id,
                unit.first_exposed_at.label("exposed_at"),
                per_unit.c.converted_at,
                func.coalesce(per_unit.c.value, 0.0).label("value"),
            )
            .outerjoin(per_unit, per_unit.c.unit_id == unit.id)
            .where(*self.units_where())
        )


def _empty(metric: Metric) -> Arm:
    return Sums(0, 0.0, 0.0) if metric.kind == "revenue" else Counts(0, 0)


def variant_ids(session: Session, experiment: Experiment) -> list[int]:
    """The experiment's variant ids in key order."""
    return list(
        session.scalars(
            select(ExperimentVariant.id)
            .where(ExperimentVariant.experiment_id == experiment.id)
            .order_by(ExperimentVariant.key)
        )
    )


def metric_arms(
    session: Session,
    experiment: Experiment,
    metric_key: str,
    until: datetime,
    *,
    exposed_since: datetime | None = None,
    exposed_until: datetime | None = None,
) -> dict[int, Arm]:
    """Variant id → the metric's :class:`Counts` (conversions) or :class:`Sums` (revenue) over the
    units exposed by ``until`` (or within ``[exposed_since, exposed_until]``), counting events up
    to ``until``. Every variant is present, with zeros when it has no unit."""
    metric = get_metric(metric_key, "metric")
    queries = UnitQueries(session, experiment, metric, Bounds(until, exposed_since, exposed_until))
    units = queries.per_unit().subquery()
    arms = {number: _empty(metric) for number in variant_ids(session, experiment)}
    if metric.kind == "revenue":
        value = units.c.value
        rows = session.execute(
            select(units.c.variant_id, func.count(), func.sum(value), func.sum(value * value)).group_by(
                units.c.variant_id
            )
        )
        for variant_id, n, total, total_sq in rows:
            arms[variant_id] = Sums(int(n), float(total or 0), float(total_sq or 0))
        return arms
    rows = session.execute(
        select(units.c.variant_id, func.count(), func.count(units.c.converted_at)).group_by(
            units.c.variant_id
        )
    )
    for variant_id, n, x in rows:
        arms[variant_id] = Counts(int(n), int(x))
    return arms
