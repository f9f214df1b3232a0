"""One line per experiment, as the list page and ``leadwell experiment list`` show it: kind,
subject, state, primary metric, the leader and the verdict in a phrase, and the exposed units."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from leadwell.db.models import Experiment
from leadwell.experiments.metrics import METRICS
from leadwell.experiments.report import ExperimentReport
from leadwell.experiments.results import experiment_report
from leadwell.experiments.subjects import subject_label


@dataclass(frozen=True)
class ListRow:
    """An experiment in a list."""

    slug: str
    name: str
    kind: str
    subject: str
    state: str
    metric: str
    leader: str  # the key of the variant ahead on the primary metric ("" before any unit)
    verdict: str  # the decision in a phrase: "B beats A", "no difference yet", "not started"
    exposed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def leader_of(report: ExperimentReport) -> str:
    """The winner when there is one, else the variant with the best rate so far (none without units)."""
    if report.winner:
        return report.winner
    exposed = [row for row in report.variants if row.exposed > 0]
    if not exposed:
        return ""
    better = max if report.experiment["primary_metric"]["higher_is_better"] else min
    return better(exposed, key=lambda row: row.rate).key


def list_row(session: Session, experiment: Experiment, now: datetime) -> ListRow:
    """The experiment's line; a draft has no report yet."""
    metric = METRICS[experiment.primary_metric]
    common = {
        "slug": experiment.slug,
        "name": experiment.name,
        "kind": experiment.kind,
        "subject": subject_label(session, experiment),
        "state": experiment.state,
        "metric": metric.label,
    }
    if experiment.state == "draft":
        return ListRow(**common, leader="", verdict="not started", exposed=0)
    report = experiment_report(session, experiment, now)
    exposed = sum(row.exposed for row in report.variants)
    return ListRow(**common, leader=leader_of(report), verdict=report.decision, exposed=exposed)
