"""P(sale), expected value and reasons on every open lead, from the active workspace model.

Scoring reads the queue's leads (open and parked engagement rows) in batches of 20,000, asks the
model for each one's probability and its three strongest reasons, and writes them to the engagement
rows with the model's id and the moment: ``predicted_value`` is P × the expected deal value the
queue uses (:func:`leadwell.sales.queue.expected_deal_value`), which the queue then reads through
``ix_engagements_predicted``. Everything is computed first, with no transaction open for writing,
and then written in one transaction: a reader never sees half of the leads rescored, and SQLite's
one write lock is held for the updates only. Leads that left the queue, and every lead when no
model is active, lose their prediction.

:func:`score_workspace` scores everyone (after training, on activation, and daily);
``unscored=True`` scores only the leads without a prediction yet (new contacts, imports), which the
worker does every round, so a new lead waits seconds, not a day.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from leadwell.db.models import Engagement, PredictiveModel
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.predict import engine
from leadwell.predict.artifact import StaleArtifact, load
from leadwell.predict.features import NUMERIC
from leadwell.predict.workspace_data import DEFAULT_BATCH, columns_of, queue_lead_batches
from leadwell.sales.queue import expected_deal_value
from leadwell.scoring.store import current_settings

SOURCE = "workspace"
REASONS = 3
QUEUE_STATES = ("open", "parked")  # the leads the queue can show, as workspace_data reads them
WRITE_CHUNK = 5_000
# Below this many rows the model's native threads wait on each other longer than they work (four
# times slower on two busy cores, measured): such work runs on one thread.
ONE_THREAD_ROWS = 50_000
_CLEARED = {
    "predicted_p": None,
    "predicted_value": None,
    "predicted_reasons": None,
    "predicted_model_id": None,
    "predicted_at": None,
}


@dataclass(frozen=True)
class Scored:
    """What a scoring run did: the model version (None: no active model), leads scored, cleared."""

    version: int | None
    scored: int
    cleared: int


@contextmanager
def threads_for(rows: int) -> Iterator[None]:
    """Run the block on one native thread when ``rows`` is small (see :data:`ONE_THREAD_ROWS`)."""
    if rows >= ONE_THREAD_ROWS:
        yield
        return
    with threadpool_limits(limits=1):
        yield


def active_ready_model(session: Session, workspace_id: int) -> PredictiveModel | None:
    """The active workspace model, when it is ready to score."""
    return session.scalars(
        select(PredictiveModel).where(
            PredictiveModel.workspace_id == workspace_id,
            PredictiveModel.source == SOURCE,
            PredictiveModel.active.is_(True),
            PredictiveModel.status == "ready",
        )
    ).first()


def clear_predictions(session: Session, workspace_id: int) -> int:
    """Remove every prediction of the workspace (no model is active); how many rows had one."""
    result = session.execute(
        update(Engagement)
        .where(Engagement.workspace_id == workspace_id, Engagement.predicted_model_id.is_not(None))
        .values(**_CLEARED)
        .execution_options(synchronize_session=False)
    )
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def has_unscored(session: Session, workspace_id: int) -> bool:
    """Whether a queue lead has no prediction (read from ``ix_engagements_predicted``)."""
    found = session.scalar(
        select(Engagement.contact_id)
        .where(
            Engagement.workspace_id == workspace_id,
            Engagement.queue_state.in_(QUEUE_STATES),
            Engagement.predicted_value.is_(None),
        )
        .limit(1)
    )
    return found is not None


def _predictions(
    session: Session, workspace_id: int, model: PredictiveModel, now: datetime, unscored: bool, batch: int
) -> list[dict[str, Any]]:
    """The new values of every lead to score, as update parameters."""
    assert model.artifact is not None
    trained = load(model.artifact)
    settings = current_settings(session, workspace_id)[1]
    deal_value = float(expected_deal_value(session, workspace_id, settings, now).amount)
    names = [feature.name for feature in trained.features]
    columns = columns_of(names, [f.name for f in trained.features if f.kind == NUMERIC])
    found: list[dict[str, Any]] = []
    for table, ids in queue_lead_batches(session, workspace_id, now, columns, batch, unscored):
        with threads_for(len(ids)):
            probabilities = engine.predict(trained, table)
            reasons = engine.explain(trained, table, REASONS)
        for contact_id, p, said in zip(ids, probabilities.tolist(), reasons, strict=True):
            found.append(
                {
                    "contact_id": contact_id,
                    "predicted_p": p,
                    "predicted_value": p * deal_value,
                    "predicted_reasons": said,
                    "predicted_model_id": model.id,
                    "predicted_at": now,
                }
            )
    return found


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), WRITE_CHUNK):
        session.execute(update(Engagement), rows[start : start + WRITE_CHUNK])


def _clear_stale(session: Session, workspace_id: int, model_id: int, now: datetime) -> int:
    """Predictions not written by this run: leads that left the queue, or another model's."""
    result = session.execute(
        update(Engagement)
        .where(
            Engagement.workspace_id == workspace_id,
            Engagement.predicted_model_id.is_not(None),
            or_(Engagement.predicted_model_id != model_id, Engagement.predicted_at != now),
        )
        .values(**_CLEARED)
        .execution_options(synchronize_session=False)
    )
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def score_workspace(
    db: Database,
    workspace_id: int,
    now: datetime | None = None,
    *,
    unscored: bool = False,
    batch: int = DEFAULT_BATCH,
) -> Scored:
    """Score the workspace's queue leads with its active model (only those without a prediction,
    with ``unscored``); clear every prediction when there is no usable model."""
    now = now or utcnow()
    with db.session() as session:
        if unscored and not has_unscored(session, workspace_id):
            return Scored(None, 0, 0)  # the common case, checked by index before loading any model
        model = active_ready_model(session, workspace_id)
        version = model.version if model is not None else None
        try:
            rows = _predictions(session, workspace_id, model, now, unscored, batch) if model else None
        except StaleArtifact:
            rows = None  # fitted by another scikit-learn: unusable until retrained (the worker does)
    with db.session() as session:
        if model is None or rows is None:
            return Scored(None, 0, clear_predictions(session, workspace_id))
        _write(session, rows)
        cleared = 0 if unscored else _clear_stale(session, workspace_id, model.id, now)
        return Scored(version, len(rows), cleared)
