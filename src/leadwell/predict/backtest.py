"""Backtests: would the rules you wrote have found the buyers?

Take the leads that were open at the start of a past period (``since``): live contacts created by
then with no outcome and no deal open then (:func:`~leadwell.predict.workspace_data.open_lead_rows`).
Rank them the way each method would have, and count the wins among them up to the end of the
period (``until``) that each method put in its top 10 % and 20 %:

- each **profile's grades** (A first, then B … E, ungraded, F; the score orders each grade), as
  graded now: the database keeps no history of contact fields;
- the **engagement score** as it stood at ``since``: the events that occurred before it replayed
  through the scoring settings in force, with their caps and decay
  (:mod:`leadwell.predict.replay`);
- the **call queue without a model**: P(sale) from the best grade and that engagement score;
- every **workspace model** trained before ``since`` (a later one has seen the answers), scoring the
  leads with their features as of ``since``;
- **random order**, as the reference: it puts 10 % and 20 % of the wins in those tops.

Many leads share a grade, so a top cut often falls inside a tie; the leads of a tie are taken in
random order, and a method is credited with the wins it would find on average.

**Which rule misleads.** For every criterion of every profile, and every engagement rule, the win
rate of the open leads that met it against those that did not. A criterion or a rule giving points
whose leads won *less* often than the rest misleads (a rule taking points, *more* often); "clearly"
when a two-proportion z-test puts the difference beyond chance at 95 %.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Engagement, Fit, PredictiveModel
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, LeadwellError
from leadwell.icp.grading import active_profiles
from leadwell.icp.reasons import pairs
from leadwell.predict.artifact import load
from leadwell.predict.engine import predict
from leadwell.predict.metrics import auc
from leadwell.predict.replay import replay
from leadwell.predict.workspace_data import columns_of, open_lead_rows, outcomes
from leadwell.scoring.store import current_settings

DEFAULT_DAYS = 180
TOP_SHARES = (0.1, 0.2)
GRADE_ORDER = {"A": 6, "B": 5, "C": 4, "D": 3, "E": 2, None: 1, "F": 0}
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Method:
    """How one way of ranking did: expected wins in its top 10 % and 20 %, and its AUC."""

    key: str
    name: str
    leads: int
    wins: int
    hits: tuple[float, float]  # expected wins in the top 10 % and 20 %
    auc: float | None
    note: str | None = None

    @property
    def shares(self) -> tuple[float, float]:
        """The share of all later wins in the top 10 % and 20 %."""
        top10, top20 = self.hits
        return (top10 / self.wins, top20 / self.wins) if self.wins else (0.0, 0.0)

    def record(self) -> dict[str, Any]:
        """As plain data (``--format json``/``csv``)."""
        top10, top20 = self.shares
        return {
            "method": self.name,
            "leads": self.leads,
            "wins": self.wins,
            "top10_wins": round(self.hits[0], 2),
            "top10_share": round(top10, 4),
            "top20_wins": round(self.hits[1], 2),
            "top20_share": round(top20, 4),
            "auc": None if self.auc is None else round(self.auc, 4),
        }


@dataclass(frozen=True)
class Signal:
    """One criterion or engagement rule: the win rates of the leads that met it and of the rest."""

    kind: str  # "profile" or "engagement"
    source: str  # the profile's slug, or "engagement"
    label: str
    met: int
    met_wins: int
    rest: int
    rest_wins: int
    expects_more: bool = True  # meeting it should mean more wins (False: a rule taking points)

    @property
    def met_rate(self) -> float | None:
        return self.met_wins / self.met if self.met else None

    @property
    def rest_rate(self) -> float | None:
        return self.rest_wins / self.rest if self.rest else None

    @property
    def misleads(self) -> bool:
        """Its leads won less often than the rest (more often, for a rule taking points)."""
        if self.met_rate is None or self.rest_rate is None:
            return False
        return self.met_rate < self.rest_rate if self.expects_more else self.met_rate > self.rest_rate

    @property
    def clearly(self) -> bool:
        """The difference is beyond chance (two-proportion z-test, 95 %)."""
        return abs(two_proportion_z(self.met_wins, self.met, self.rest_wins, self.rest)) > Z95


@dataclass(frozen=True)
class Backtest:
    since: datetime
    until: datetime
    leads: int
    wins: int
    methods: list[Method]
    signals: list[Signal]
    notes: list[str] = field(default_factory=list)

    @property
    def compared(self) -> list[Signal]:
        """The criteria and rules some open leads met and some did not: the ones a rate compares."""
        return [signal for signal in self.signals if signal.met and signal.rest]

    @property
    def unmet(self) -> list[Signal]:
        """The criteria and rules no open lead met."""
        return [signal for signal in self.signals if not signal.met]

    @property
    def universal(self) -> list[Signal]:
        """The criteria and rules every open lead met."""
        return [signal for signal in self.signals if signal.met and not signal.rest]


def default_period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The period asked for: ``until`` defaults to now, ``since`` to :data:`DEFAULT_DAYS` before it.
    :class:`InvalidInput` for a period that is empty or starts in the future."""
    now = utcnow()
    end = until or now
    start = since or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise InvalidInput("--since: the period must start before it ends (--until)", field="since")
    if start >= now:
        raise InvalidInput("--since: the period must start in the past", field="since")
    return start, end


def two_proportion_z(wins_a: int, rows_a: int, wins_b: int, rows_b: int) -> float:
    """The z statistic of the difference between two win rates (pooled); 0 when it is undefined."""
    if not rows_a or not rows_b:
        return 0.0
    pooled = (wins_a + wins_b) / (rows_a + rows_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / rows_a + 1 / rows_b))
    return (wins_a / rows_a - wins_b / rows_b) / spread if spread else 0.0


def expected_hits(scores: Sequence[float], wins: Sequence[int], share: float) -> float:
    """The wins among the highest-scored ``share`` of leads (``ceil(share × leads)`` of them), a tie
    at the cut taken in random order: its wins count in proportion to the places left for it."""
    taken = math.ceil(share * len(scores) - 1e-9)
    groups: dict[float, list[int]] = {}
    for score, won in zip(scores, wins, strict=True):
        groups.setdefault(score, []).append(won)
    hits = 0.0
    for score in sorted(groups, reverse=True):
        group = groups[score]
        if taken <= 0:
            break
        places = min(taken, len(group))
        hits += sum(group) * places / len(group)
        taken -= places
    return hits


def _method(
    key: str, name: str, scores: Sequence[float], wins: Sequence[int], note: str | None = None
) -> Method:
    hits = (expected_hits(scores, wins, TOP_SHARES[0]), expected_hits(scores, wins, TOP_SHARES[1]))
    return Method(key, name, len(scores), sum(wins), hits, auc(wins, scores), note)


# --- the leads and their outcome ------------------------------------------------------------------


def open_leads(session: Session, workspace_id: int, since: datetime) -> list[int]:
    """The contacts that were open leads at ``since``, by id."""
    _table, ids = open_lead_rows(session, workspace_id, since, columns_of([], []))
    return sorted(ids)


def later_wins(session: Session, workspace_id: int, since: datetime, until: datetime) -> set[int]:
    """The contacts whose win became known after ``since`` and by ``until``."""
    decided = outcomes(workspace_id, until)
    query = select(decided.c.contact_id).where(decided.c.won == 1, decided.c.cutoff > since)
    return set(session.scalars(query))


# --- ranking by the profiles' grades --------------------------------------------------------------


def _fits(session: Session, workspace_id: int, icp_id: int, leads: set[int]) -> dict[int, Fit]:
    query = select(Fit).where(Fit.workspace_id == workspace_id, Fit.icp_id == icp_id)
    return {fit.contact_id: fit for fit in session.scalars(query) if fit.contact_id in leads}


def grade_key(grade: str | None, score: int | None) -> float:
    """A number ordering A first (then by score) … E, ungraded, F."""
    return GRADE_ORDER.get(grade, 1) * 1000 + (score or 0)


def profile_methods(
    session: Session, workspace_id: int, leads: list[int], wins: list[int]
) -> tuple[list[Method], list[Signal]]:
    """Each profile's ranking, and each of its criteria's win rates (met against not met)."""
    methods, signals = [], []
    lead_set = set(leads)
    for profile in active_profiles(session, workspace_id):
        fits = _fits(session, workspace_id, profile.id, lead_set)
        scores = [
            grade_key(f.grade, f.score) if (f := fits.get(lead)) else grade_key(None, 0) for lead in leads
        ]
        name = f"Profile {profile.slug} (grade, then score)"
        methods.append(_method(f"profile:{profile.slug}", name, scores, wins))
        current = [fits.get(lead) if _graded_now(fits.get(lead), profile.version) else None for lead in leads]
        for index, criterion in enumerate(profile.definition.criteria):
            met = [fit is not None and pairs(fit.reasons)[index][0] == "met" for fit in current]
            label = f"{criterion.kind} {criterion.label}"
            signals.append(_signal("profile", profile.slug, label, met, wins))
    return methods, signals


def _graded_now(fit: Fit | None, version: int) -> bool:
    return fit is not None and fit.version == version


def _signal(
    kind: str, source: str, label: str, met: Sequence[bool], wins: Sequence[int], more: bool = True
) -> Signal:
    met_rows = sum(met)
    met_wins = sum(won for hit, won in zip(met, wins, strict=True) if hit)
    return Signal(kind, source, label, met_rows, met_wins, len(met) - met_rows, sum(wins) - met_wins, more)


# --- ranking by engagement as it stood ------------------------------------------------------------


def engagement_methods(
    session: Session, workspace_id: int, since: datetime, leads: list[int], wins: list[int]
) -> tuple[list[Method], list[Signal]]:
    """The engagement score at ``since``, the queue's fit × engagement, and each rule's win rates."""
    version, settings = current_settings(session, workspace_id)
    state = replay(session, workspace_id, since, settings, set(leads))
    engaged = [state.score_at(lead, since) for lead in leads]
    query = select(Engagement.contact_id, Engagement.grade).where(Engagement.workspace_id == workspace_id)
    grades: dict[int, str | None] = {contact_id: grade for contact_id, grade in session.execute(query)}
    queue = [
        settings.queue.probability(grades.get(lead), score)
        for lead, score in zip(leads, engaged, strict=True)
    ]
    day = since.date().isoformat()
    methods = [
        _method("engagement", f"Engagement score on {day} (settings version {version})", engaged, wins),
        _method("queue", "Call queue without a model (fit grade × engagement)", queue, wins),
    ]
    signals = [
        _signal(
            "engagement",
            "engagement",
            f"{rule.label} ({rule.points:+g})",
            [rule.key in state.met.get(lead, ()) for lead in leads],
            wins,
            more=rule.points > 0,
        )
        for rule in settings.rules
    ]
    return methods, signals


# --- ranking by the models trained before ---------------------------------------------------------


def model_methods(
    session: Session, workspace_id: int, since: datetime, leads: list[int], wins: list[int]
) -> tuple[list[Method], list[str]]:
    """Every ready workspace model trained before ``since``, scoring the leads as of ``since``."""
    query = (
        select(PredictiveModel)
        .where(
            PredictiveModel.workspace_id == workspace_id,
            PredictiveModel.source == "workspace",
            PredictiveModel.status == "ready",
            PredictiveModel.artifact.is_not(None),
            PredictiveModel.trained_at < since,
        )
        .order_by(PredictiveModel.version)
    )
    methods: list[Method] = []
    notes: list[str] = []
    for model in session.scalars(query):
        try:
            scores = _model_scores(session, workspace_id, since, model, leads)
        except LeadwellError as error:
            notes.append(f"model version {model.version} left out: {error.detail}")
            continue
        name = f"Model version {model.version} (trained {model.trained_at.date().isoformat()})"
        methods.append(_method(f"model:{model.version}", name, scores, wins))
    return methods, notes


def _model_scores(
    session: Session, workspace_id: int, since: datetime, model: PredictiveModel, leads: list[int]
) -> list[float]:
    assert model.artifact is not None
    trained = load(model.artifact)
    names = [feature.name for feature in trained.features]
    numeric = [feature.name for feature in trained.features if feature.kind == "numeric"]
    table, ids = open_lead_rows(session, workspace_id, since, columns_of(names, numeric))
    found = dict(zip(ids, predict(trained, table).tolist(), strict=True)) if ids else {}
    return [found.get(lead, 0.0) for lead in leads]


# --- the whole backtest ---------------------------------------------------------------------------


def backtest(session: Session, workspace_id: int, since: datetime, until: datetime) -> Backtest:
    """Every method's ranking of the leads open at ``since`` against the wins up to ``until``."""
    leads = open_leads(session, workspace_id, since)
    won = later_wins(session, workspace_id, since, until)
    wins = [int(lead in won) for lead in leads]
    if not leads:
        return Backtest(since, until, 0, 0, [], [], ["no lead was open at the start of the period"])
    profiles, criteria = profile_methods(session, workspace_id, leads, wins)
    engaged, rules = engagement_methods(session, workspace_id, since, leads, wins)
    models, notes = model_methods(session, workspace_id, since, leads, wins)
    total = sum(wins)
    reference = Method(
        "random", "Random order (expected)", len(leads), total, (0.1 * total, 0.2 * total), 0.5
    )
    if not total:
        notes.append("none of these leads was won in the period: no ranking can be told from another")
    return Backtest(
        since, until, len(leads), total, [*profiles, *engaged, *models, reference], [*criteria, *rules], notes
    )


# --- in words ------------------------------------------------------------------------------------


def _top(method: Method, position: int) -> str:
    share = method.shares[position]
    return f"{method.hits[position]:.1f} ({100 * share:.0f} %)"


def signal_line(signal: Signal) -> str:
    """ "profile consulting: must employees ≥ 100 — met by 120 leads, 3 % won; the rest 900, 6 % won"."""
    met = "–" if signal.met_rate is None else f"{100 * signal.met_rate:.0f} %"
    rest = "–" if signal.rest_rate is None else f"{100 * signal.rest_rate:.0f} %"
    flag = (
        ("MISLEADS" + (" (clearly)" if signal.clearly else " (could be chance)")) if signal.misleads else ""
    )
    head = (
        f"profile {signal.source}: {signal.label}"
        if signal.kind == "profile"
        else f"engagement rule {signal.label}"
    )
    counts = f"met by {signal.met:,} leads, {met} won; the rest {signal.rest:,}, {rest} won"
    return f"{head} — {counts} {flag}".rstrip()


def report_lines(result: Backtest) -> list[str]:
    """What ``leadwell icp backtest`` prints."""
    start, end = result.since.date().isoformat(), result.until.date().isoformat()
    lines = [f"{result.leads:,} leads open on {start}; {result.wins:,} of them won by {end}"]
    if result.methods:
        width = max(len(method.name) for method in result.methods)
        lines.append(f"{'method'.ljust(width)}  {'top 10 % wins':>15}  {'top 20 % wins':>15}  {'AUC':>5}")
        for method in result.methods:
            shown_auc = "–" if method.auc is None else f"{method.auc:.2f}"
            lines.append(
                f"{method.name.ljust(width)}  {_top(method, 0):>15}  {_top(method, 1):>15}  {shown_auc:>5}"
            )
    if result.compared:
        lines.append("criteria and engagement rules, win rate of the leads that met each against the rest:")
        lines.extend(f"  {'!' if s.misleads else ' '} {signal_line(s)}" for s in result.compared)
    for what, signals in (("no open lead", result.unmet), ("every open lead", result.universal)):
        if signals:
            lines.append(f"met by {what}: {'; '.join(signal.label for signal in signals)}")
    lines.extend(f"note: {note}" for note in result.notes)
    return lines


def misleading(signals: Iterable[Signal]) -> list[Signal]:
    """The signals that mislead, clearest first."""
    found = [signal for signal in signals if signal.misleads]
    return sorted(found, key=lambda s: (not s.clearly, s.source, s.label))
