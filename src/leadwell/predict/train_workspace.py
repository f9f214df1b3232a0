"""Learning from the workspace's own won and lost contacts: each training is a new model version.

A training reads the decided contacts (:func:`leadwell.predict.workspace_data.training_examples`),
and stores one :class:`~leadwell.db.models.PredictiveModel`, never changed afterwards:

- ``too_few`` with a message when fewer than 30 contacts won (or fewer than 30 were lost or
  disqualified): the call queue keeps ranking by fit × engagement;
- ``failed`` with the reason when the engine refuses the data (outcomes bunched in time, say);
- ``ready`` otherwise, with the engine's validation figures (trained on earlier outcomes, measured
  on the latest quarter), the global weight of each feature, and the fitted model.

A ready model becomes the **active** one (the one the queue reads) when no workspace model is active
yet, or when its validation AUC is at least the active model's validation AUC: each figure was
measured on outcomes its model never learned from (its own latest quarter), so the newer model
wins ties. Anyone may activate another version by hand. Activating rescores every open lead.

The data are read in one transaction and the model stored in another: fitting happens in between,
holding no lock, so a long training never blocks the tracking endpoints or the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadwell.db.models import PredictiveModel
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound
from leadwell.predict import engine
from leadwell.predict.artifact import dump
from leadwell.predict.design import read_values
from leadwell.predict.features import Feature, infer_features
from leadwell.predict.reasons import contributions
from leadwell.predict.scoring import clear_predictions, score_workspace, threads_for
from leadwell.predict.workspace_data import Examples, outcome_summary, training_examples

SOURCE = "workspace"
MIN_WINS = engine.MIN_POSITIVES
MIN_OTHERS = engine.MIN_NEGATIVES
TOP_FEATURES = 12
STORE_ATTEMPTS = 3  # two trainings finishing together both want the next version number
NAME = "Workspace history"
TARGET = "won deal"


@dataclass
class Fitted:
    """What a training produced, before it is stored."""

    status: str
    message: str | None = None
    algorithm: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    features: list[Feature] = field(default_factory=list)
    artifact: bytes | None = None


def wins_words(count: int) -> str:
    """ "1 won deal" / "12 won deals"."""
    return f"{count:,} won deal{'' if count == 1 else 's'}"


def too_few_message(wins: int, others: int) -> str | None:
    """Why there is not enough to learn from yet, in the words the model page shows (None: enough)."""
    fallback = "the queue ranks by fit × engagement until then"
    if wins < MIN_WINS:
        return f"{wins_words(wins)} so far: a model needs at least {MIN_WINS}; {fallback}"
    if others < MIN_OTHERS:
        return (
            f"{others:,} lost or disqualified lead{'' if others == 1 else 's'} so far: a model needs at "
            f"least {MIN_OTHERS} to compare the wins with; {fallback}"
        )
    return None


def top_features(trained: engine.Trained, examples: Examples) -> list[dict[str, Any]]:
    """Each feature's mean absolute share of the model's log-odds over the training rows, largest
    first, and whether it mostly raises (+) or lowers (−) the chance where it matters."""
    values = read_values(examples.table, trained.features)
    shares = contributions(trained, values)
    weight = np.abs(shares).mean(axis=0)
    names = [feature.name for feature in trained.encoder.features]
    ranked = [at for at in np.argsort(-weight, kind="stable") if weight[at] > 0][:TOP_FEATURES]
    return [
        {
            "name": names[at],
            "weight": round(float(weight[at]), 4),
            "direction": _direction(shares[:, at], examples),
        }
        for at in ranked
    ]


def _direction(shares: Any, examples: Examples) -> str:
    """ "+" when the feature raises the winners' log-odds on average more than the others', else "−"."""
    labels = np.asarray(examples.labels, dtype=bool)
    won, other = shares[labels], shares[~labels]
    lift = (won.mean() if len(won) else 0.0) - (other.mean() if len(other) else 0.0)
    return "+" if lift >= 0 else "\u2212"


def fit(examples: Examples, seed: int = 0) -> Fitted:
    """Train on ``examples`` (time-aware) or say why not."""
    wins = examples.wins
    message = too_few_message(wins, len(examples.labels) - wins)
    if message is not None:
        return Fitted("too_few", message)
    # Kinds as the cells show them: forcing one would keep a column that is empty or constant here.
    features = infer_features(examples.table, ())
    with threads_for(len(examples.labels)):
        try:
            trained = engine.train(
                examples.table, examples.labels, features, order=examples.decided_at, seed=seed
            )
        except InvalidInput as error:
            return Fitted("failed", error.detail)
        except ValueError as error:  # the fitting library refused the data: say so, keep the queue as is
            return Fitted("failed", f"training failed: {error}")
        metrics = {**trained.metrics, "top_features": top_features(trained, examples)}
    return Fitted("ready", None, trained.algorithm, metrics, trained.features, dump(trained))


def next_version(session: Session, workspace_id: int) -> int:
    """One more than the workspace's highest model version (workspace and CSV models share them)."""
    highest = session.scalar(
        select(func.max(PredictiveModel.version)).where(PredictiveModel.workspace_id == workspace_id)
    )
    return int(highest or 0) + 1


def active_model(session: Session, workspace_id: int) -> PredictiveModel | None:
    """The workspace model the call queue reads, if any."""
    return session.scalars(
        select(PredictiveModel).where(
            PredictiveModel.workspace_id == workspace_id,
            PredictiveModel.source == SOURCE,
            PredictiveModel.active.is_(True),
        )
    ).first()


def _auc(model: PredictiveModel) -> float:
    value = model.metrics.get("auc")
    return float(value) if isinstance(value, int | float) else 0.0


def should_activate(new: PredictiveModel, active: PredictiveModel | None) -> bool:
    """Whether a freshly trained model replaces the active one (see the module docstring)."""
    if new.status != "ready":
        return False
    return active is None or active.status != "ready" or _auc(new) >= _auc(active)


def make_active(session: Session, workspace_id: int, model_id: int) -> None:
    """Mark ``model_id`` the workspace's active model and every other workspace model inactive, in
    one statement (two trainings finishing together leave exactly one active)."""
    session.execute(
        update(PredictiveModel)
        .where(PredictiveModel.workspace_id == workspace_id, PredictiveModel.source == SOURCE)
        .values(active=PredictiveModel.id == model_id)
        .execution_options(synchronize_session=False)
    )


def _row(
    workspace_id: int, version: int, fitted: Fitted, summary: dict[str, Any], by: int | None, now: datetime
) -> PredictiveModel:
    return PredictiveModel(
        workspace_id=workspace_id,
        version=version,
        source=SOURCE,
        name=NAME,
        target=TARGET,
        positive="won",
        status=fitted.status,
        algorithm=fitted.algorithm,
        rows=summary["rows"],
        positives=summary["wins"],
        metrics=fitted.metrics,
        spec={
            "features": [{"name": f.name, "kind": f.kind} for f in fitted.features],
            "outcomes": summary,
        },
        artifact=fitted.artifact,
        active=False,
        message=fitted.message,
        trained_by_id=by,
        trained_at=now,
    )


def _store(
    db: Database, workspace_id: int, fitted: Fitted, summary: dict[str, Any], by: int | None, now: datetime
) -> tuple[PredictiveModel, bool]:
    """Store the new version (retrying on a version taken meanwhile); (model, made active)."""
    for attempt in range(STORE_ATTEMPTS):
        try:
            with db.session() as session:
                model = _row(workspace_id, next_version(session, workspace_id), fitted, summary, by, now)
                session.add(model)
                session.flush()
                activate = should_activate(model, active_model(session, workspace_id))
                if activate:
                    make_active(session, workspace_id, model.id)
                    model.active = True
                session.flush()
                session.expunge(model)
                return model, activate
        except IntegrityError:
            if attempt == STORE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def train_workspace(
    db: Database,
    workspace_id: int,
    by_user_id: int | None = None,
    *,
    now: datetime | None = None,
    seed: int = 0,
) -> PredictiveModel:
    """Train a new model version on the workspace's outcomes, store it, make it active when it is at
    least as good as the active one, and then rescore the open leads. Returns the stored model."""
    now = now or utcnow()
    with db.session() as session:
        examples = training_examples(session, workspace_id)
        summary = outcome_summary(session, workspace_id).as_json()
    fitted = fit(examples, seed)
    model, activated = _store(db, workspace_id, fitted, summary, by_user_id, now)
    if activated:
        score_workspace(db, workspace_id, now)
    return model


def model_by_version(session: Session, workspace_id: int, version: int) -> PredictiveModel:
    """One of the workspace's models; :class:`NotFound` naming ``version``."""
    model = session.scalars(
        select(PredictiveModel).where(
            PredictiveModel.workspace_id == workspace_id, PredictiveModel.version == version
        )
    ).first()
    if model is None:
        raise NotFound(f"version: no model version {version} in this workspace", field="version")
    return model


def activate_version(
    db: Database, workspace_id: int, version: int, now: datetime | None = None
) -> PredictiveModel:
    """Make ``version`` the active workspace model by hand and rescore the open leads with it.
    Only ready models trained on the workspace can rank its queue."""
    now = now or utcnow()
    with db.session() as session:
        model = model_by_version(session, workspace_id, version)
        if model.source != SOURCE:
            raise InvalidInput(
                f"version: version {version} was trained on the file {model.name!r}; only a model trained "
                "on the workspace's history can rank its call queue",
                field="version",
            )
        if model.status != "ready":
            raise InvalidInput(f"version: version {version} is not ready ({model.message})", field="version")
        make_active(session, workspace_id, model.id)
        model.active = True
        session.flush()
        session.expunge(model)
    score_workspace(db, workspace_id, now)
    return model


def deactivate(db: Database, workspace_id: int) -> None:
    """No active model: the queue goes back to fit × engagement and the predictions are cleared."""
    with db.session() as session:
        session.execute(
            update(PredictiveModel)
            .where(PredictiveModel.workspace_id == workspace_id, PredictiveModel.source == SOURCE)
            .values(active=False)
        )
        clear_predictions(session, workspace_id)
