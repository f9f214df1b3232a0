"""The worker's experiments job: the bandit's shares, the stop rules, and the watch over winners.

Every few minutes (``RUN_EVERY``, per worker process) :func:`run_experiment_jobs` goes through the
experiments that run or are scaled:

- **Bandit allocation** (running, ``allocation = bandit``): each switched-on variant's share of new
  units becomes its chance of being the best on the primary metric (Thompson sampling, seeded by
  the experiment so that the same numbers give the same shares, with a 5 % floor per arm). A change
  is written with an ``allocation`` check listing the shares; unchanged shares write nothing.
- **Stop rules** (running): a ``max_days`` limit reached; or, by the deciding statistic, a
  conclusive verdict for the sequential test (the one test valid however often it is looked at,
  so the only one allowed to stop early); for the frequentist and Bayesian ones, the planned
  sample size reached by every variant. The experiment stops with a ``stop`` check saying why.
  A stopped experiment's winner is never promoted automatically — people decide — except under
  the bandit: there a conclusive winner is promoted (the bandit exists to send everyone to the
  best arm as soon as it is known), unless it breached a guardrail, in which case it just stops.
- **Monitoring** (scaled): once a day, the winner's recent rate against the rate it was tested
  at (:mod:`.monitor`).

Each pass is idempotent: running it twice in a row writes nothing the second time. On PostgreSQL
several workers may run: each workspace's experiments are handled under an advisory lock, so two
workers never handle the same workspace at once (the other skips it this time).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.locks import workspace_lock
from leadwell.db.models import Experiment, ExperimentCheck
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import LeadwellError
from leadwell.experiments.allocation import thompson_shares
from leadwell.experiments.definitions import promote, stop, variants_of
from leadwell.experiments.metrics import METRICS, metric_arms
from leadwell.experiments.monitor import monitor
from leadwell.experiments.report import ExperimentReport
from leadwell.experiments.results import experiment_report

log = logging.getLogger(__name__)

RUN_EVERY = timedelta(minutes=5)
SHARE_TOLERANCE = 0.005  # share moves smaller than this are noise, not worth a write
ACTIVE = ("running", "scaled")
DECIDED = ("variant_wins", "control_wins")

_last_run: WeakKeyDictionary[Database, datetime] = WeakKeyDictionary()


def experiments_due(db: Database, now: datetime | None = None) -> int:
    """The worker's entry: :func:`run_experiment_jobs` when ``RUN_EVERY`` has passed since this
    process last ran it; how much it changed."""
    now = now or utcnow()
    last = _last_run.get(db)
    if last is not None and now - last < RUN_EVERY:
        return 0
    _last_run[db] = now
    return run_experiment_jobs(db, now)


def exclusive(db: Database, workspace_id: int) -> AbstractContextManager[bool]:
    """Whether this process may handle the workspace's experiments now (see leadwell.db.locks)."""
    return workspace_lock(db, "experiments", workspace_id)


def run_experiment_jobs(db: Database, now: datetime) -> int:
    """One pass over every running or scaled experiment (see the module's description); how many
    changes it made (shares moved, experiments stopped or promoted, readings recorded)."""
    with db.session() as session:
        rows = session.execute(
            select(Experiment.workspace_id, Experiment.id)
            .where(Experiment.state.in_(ACTIVE))
            .order_by(Experiment.id)
        ).all()
    by_workspace: dict[int, list[int]] = defaultdict(list)
    for workspace_id, experiment_id in rows:
        by_workspace[workspace_id].append(experiment_id)
    done = 0
    for workspace_id, experiment_ids in by_workspace.items():
        with exclusive(db, workspace_id) as mine:
            if not mine:
                continue
            for experiment_id in experiment_ids:
                done += _handle(db, experiment_id, now)
    return done


def _handle(db: Database, experiment_id: int, now: datetime) -> int:
    """One experiment in its own transaction, read again under the lock (another worker may have
    changed it since the list was made). A fault in one (its subject deleted…) is logged and the
    others still run."""
    try:
        with db.session() as session:
            experiment = session.get(Experiment, experiment_id)
            if experiment is None or experiment.state not in ACTIVE:
                return 0
            if experiment.state == "scaled":
                return monitor(session, experiment, now)
            return reallocate(session, experiment, now) + apply_stop_rules(session, experiment, now)
    except LeadwellError as error:
        log.warning("experiments: experiment %s skipped: %s", experiment_id, error.detail)
        return 0


def reallocate(session: Session, experiment: Experiment, now: datetime) -> int:
    """The bandit's new shares, written with an ``allocation`` check when they moved (1), else 0."""
    if experiment.allocation != "bandit":
        return 0
    metric = METRICS[experiment.primary_metric]
    variants = variants_of(session, experiment)
    arms = metric_arms(session, experiment, metric.key, now)
    live = [variant for variant in variants if variant.weight > 0]
    found = thompson_shares(
        [arms[variant.id] for variant in live], seed=experiment.id, higher_is_better=metric.higher_is_better
    )
    shares = {variant.id: 0.0 for variant in variants} | {
        variant.id: share for variant, share in zip(live, found, strict=True)
    }
    moved = any(
        variant.share is None or abs(variant.share - shares[variant.id]) >= SHARE_TOLERANCE
        for variant in variants
    )
    if not moved:
        return 0
    for variant in variants:
        variant.share = shares[variant.id]
    listed = ", ".join(f"{variant.key} {shares[variant.id]:.0%}" for variant in variants)
    session.add(
        ExperimentCheck(
            experiment_id=experiment.id,
            checked_at=now,
            kind="allocation",
            units=sum(arm.n for arm in arms.values()),
            message=f"Shares of new units: {listed} (each variant's chance to be the best on {metric.noun}).",
        )
    )
    session.flush()
    return 1


def stop_reason(experiment: Experiment, report: ExperimentReport, now: datetime) -> str | None:
    """Why the experiment should stop now, or ``None`` (see the module's description)."""
    if experiment.statistic == "sequential" and report.outcome in DECIDED:
        return "Conclusive by the sequential test"
    plan = report.plan
    planned = plan.units_needed if plan is not None and experiment.statistic != "sequential" else None
    if planned and plan is not None and plan.smallest_arm >= planned:
        return f"The planned {planned:,} units per variant are in"
    started, limit = experiment.started_at, experiment.max_days
    if limit is not None and started is not None and now - started >= timedelta(days=limit):
        return f"Ran its {limit} days"
    return None


def apply_stop_rules(session: Session, experiment: Experiment, now: datetime) -> int:
    """Stop (or, under the bandit, promote a clear winner) when a stop rule fires: 1, else 0."""
    report = experiment_report(session, experiment, now)
    reason = stop_reason(experiment, report, now)
    if reason is None:
        return 0
    breached = {row.variant for row in report.guardrails if row.breached}
    message = f"{reason}: {report.verdict}"
    if experiment.allocation == "bandit" and report.outcome in DECIDED and report.winner is not None:
        if report.winner in breached:
            message += f" Not promoted: {report.winner} breached a guardrail."
        else:
            promote(session, experiment, report.winner, now)
            message += f" Promoted {report.winner} (bandit)."
    if experiment.state == "running":
        stop(session, experiment, now)
    session.add(
        ExperimentCheck(
            experiment_id=experiment.id,
            checked_at=now,
            kind="stop",
            units=sum(row.exposed for row in report.variants),
            message=message,
        )
    )
    session.flush()
    return 1
