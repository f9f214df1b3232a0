"""The worker's upkeep of the workspace models: trainings asked for on the model page, retraining on
a schedule, a daily rescore, and scores for new leads within seconds.

Each round of the worker (:mod:`leadwell.worker`) calls :func:`retrain_due`, which does, per workspace:

1. a training someone asked for with **Train now** on a workspace too large to train during the
   request (the request waits in ``instance_settings`` as ``predict.train.<workspace id>``);
2. a scheduled retraining when the workspace's last model is ``model_retrain_days`` old or more
   (no model yet counts as old) **and** its outcomes changed since (how many decided, how many won,
   the latest decision); looked at once an hour per workspace and process, since counting outcomes
   reads every deal;
3. with an active model: every open lead rescored once a day (P moves as leads age and engage), and
   otherwise the leads without a score yet (new contacts, imports) scored — a cheap index probe
   when there are none.

On PostgreSQL several workers may run: a training or a rescore holds an advisory lock on its
workspace, so two workers never do the same one at once (the other skips it this round).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, defer

from leadwell.config import Settings, load_settings
from leadwell.db.locks import workspace_lock
from leadwell.db.models import Engagement, InstanceSetting, PredictiveModel, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.predict.workspace_data import outcome_summary

log = logging.getLogger(__name__)

SOURCE = "workspace"
REQUEST_PREFIX = "predict.train."
CHECK_EVERY = timedelta(hours=1)
RESCORE_EVERY = timedelta(days=1)


class _Memory:
    """When this process last looked at a workspace's retraining, and last rescored it."""

    def __init__(self) -> None:
        self.checked: dict[int, datetime] = {}
        self.rescored: dict[int, datetime] = {}


_memory: WeakKeyDictionary[Database, _Memory] = WeakKeyDictionary()


def _remembered(db: Database) -> _Memory:
    memory = _memory.get(db)
    if memory is None:
        memory = _memory[db] = _Memory()
    return memory


@lru_cache(maxsize=1)
def _configured_days() -> int:
    return load_settings().model_retrain_days


def request_training(session: Session, workspace_id: int, by_user_id: int | None) -> None:
    """Ask the worker to train the workspace's model (again asking changes nothing)."""
    key = f"{REQUEST_PREFIX}{workspace_id}"
    if session.get(InstanceSetting, key) is None:
        session.add(InstanceSetting(key=key, value="" if by_user_id is None else str(by_user_id)))


def training_requested(session: Session, workspace_id: int) -> bool:
    """Whether a training of the workspace waits for the worker."""
    return session.get(InstanceSetting, f"{REQUEST_PREFIX}{workspace_id}") is not None


def _requests(session: Session) -> dict[int, int | None]:
    """Waiting trainings: workspace id → who asked."""
    found: dict[int, int | None] = {}
    rows = session.execute(
        select(InstanceSetting.key, InstanceSetting.value).where(
            InstanceSetting.key.startswith(REQUEST_PREFIX)
        )
    )
    for key, value in rows:
        number = key.removeprefix(REQUEST_PREFIX)
        if number.isdigit():
            found[int(number)] = int(value) if value.isdigit() else None
    return found


def _take_request(db: Database, workspace_id: int) -> bool:
    """Remove the workspace's request; False when another worker took it first."""
    with db.session() as session:
        result: Any = session.execute(
            delete(InstanceSetting).where(InstanceSetting.key == f"{REQUEST_PREFIX}{workspace_id}")
        )
        return bool(result.rowcount)


def exclusive(db: Database, workspace_id: int) -> AbstractContextManager[bool]:
    """Whether this process may work on the workspace's model now (see leadwell.db.locks)."""
    return workspace_lock(db, "predict", workspace_id)


def latest_model(session: Session, workspace_id: int) -> PredictiveModel | None:
    """The workspace's most recent workspace model (without its fitted bytes)."""
    return session.scalars(
        select(PredictiveModel)
        .options(defer(PredictiveModel.artifact))
        .where(PredictiveModel.workspace_id == workspace_id, PredictiveModel.source == SOURCE)
        .order_by(PredictiveModel.version.desc())
        .limit(1)
    ).first()


def _scored_workspaces(session: Session) -> list[int]:
    """Workspaces whose active model is ready to score."""
    return list(
        session.scalars(
            select(PredictiveModel.workspace_id)
            .where(
                PredictiveModel.source == SOURCE,
                PredictiveModel.active.is_(True),
                PredictiveModel.status == "ready",
            )
            .order_by(PredictiveModel.workspace_id)
        )
    )


def retraining_due(
    session: Session, workspace_id: int, latest: PredictiveModel | None, days: int, now: datetime
) -> bool:
    """Whether the schedule says to train again: the last model is ``days`` old (or there is none)
    and the outcomes are not the ones it learned from."""
    if days <= 0:
        return False
    if latest is not None and now - latest.trained_at < timedelta(days=days):
        return False
    summary = outcome_summary(session, workspace_id)
    if latest is None:
        return summary.rows > 0
    return summary.as_json() != latest.spec.get("outcomes")


def _train(db: Database, workspace_id: int, by_user_id: int | None, now: datetime, requested: bool) -> int:
    """Train under the workspace's lock (a waiting request is taken under it too); 1 when trained."""
    from leadwell.predict.train_workspace import train_workspace  # loads the model library: when needed

    with exclusive(db, workspace_id) as mine:
        if not mine or (requested and not _take_request(db, workspace_id)):
            return 0
        model = train_workspace(db, workspace_id, by_user_id, now=now)
    log.info("predict: workspace %s trained model version %s (%s)", workspace_id, model.version, model.status)
    return 1


def _last_full_scoring(db: Database, workspace_id: int) -> datetime | None:
    """When every lead was last scored: the oldest prediction (new leads get newer ones)."""
    with db.session() as session:
        oldest: datetime | None = session.scalar(
            select(func.min(Engagement.predicted_at)).where(
                Engagement.workspace_id == workspace_id, Engagement.predicted_model_id.is_not(None)
            )
        )
    return oldest


def _keep_scored(db: Database, workspace_id: int, memory: _Memory, now: datetime) -> int:
    """The daily rescore when it is due, else scores for the leads without one; how many scored."""
    from leadwell.predict.scoring import score_workspace  # loads the model library: when needed

    if workspace_id not in memory.rescored:
        memory.rescored[workspace_id] = _last_full_scoring(db, workspace_id) or now - RESCORE_EVERY
    full = now - memory.rescored[workspace_id] >= RESCORE_EVERY
    with exclusive(db, workspace_id) as mine:
        if not mine:
            return 0
        done = score_workspace(db, workspace_id, now, unscored=not full)
    if full:
        memory.rescored[workspace_id] = now
    return done.scored


def retrain_due(db: Database, settings: Settings | None = None, now: datetime | None = None) -> int:
    """One round of model upkeep over every workspace (see the module docstring); how many trainings
    and scored leads it did, for the worker's "found work" count."""
    now = now or utcnow()
    days = settings.model_retrain_days if settings is not None else _configured_days()
    memory = _remembered(db)
    done = 0
    with db.session() as session:
        requests = _requests(session)
        workspaces = list(session.scalars(select(Workspace.id).order_by(Workspace.id)))
    for workspace_id, by_user_id in requests.items():
        done += _train(db, workspace_id, by_user_id, now, requested=True)
        memory.checked[workspace_id] = now
    for workspace_id in workspaces:
        if now - memory.checked.get(workspace_id, now - CHECK_EVERY) < CHECK_EVERY:
            continue
        memory.checked[workspace_id] = now
        with db.session() as session:
            due = retraining_due(session, workspace_id, latest_model(session, workspace_id), days, now)
        if due:
            done += _train(db, workspace_id, None, now, requested=False)
    with db.session() as session:
        scored = _scored_workspaces(session)
    for workspace_id in scored:
        done += _keep_scored(db, workspace_id, memory, now)
    return done
