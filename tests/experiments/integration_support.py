"""Experiments for the integration tests, created and started through ``definitions`` as a user
would, and readers of what assignment stored."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Event, Experiment, ExperimentAssignment, ExperimentVariant, Workspace
from leadwell.db.session import Database
from leadwell.experiments.definitions import ExperimentSpec, VariantSpec, create_experiment, start

STARTED = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def variant(key: str, weight: float = 1.0, **fields: Any) -> VariantSpec:
    """A variant ``key`` ("A" is the control) named after its key."""
    return VariantSpec(key=key, name=f"Variant {key}", weight=weight, is_control=key == "A", **fields)


def make_experiment(
    session: Session,
    workspace: Workspace,
    kind: str,
    subject_id: int | None,
    variants: list[VariantSpec],
    *,
    metric: str = "form_submitted",
    running: bool = True,
    slug: str | None = None,
    **settings: Any,
) -> Experiment:
    """An experiment of ``kind`` on ``subject_id``, created (and started, unless ``running`` is
    False) through ``definitions``."""
    spec = ExperimentSpec(
        slug=slug or f"test-{kind.replace('_', '-')}-{next(_numbers)}",
        name=f"Test {kind}",
        kind=kind,
        subject_id=subject_id,
        primary_metric=metric,
        variants=variants,
        **settings,
    )
    experiment = create_experiment(session, workspace.id, spec, None)
    if running:
        start(session, experiment, STARTED)
    return experiment


def assignments(db: Database, experiment_id: int) -> list[ExperimentAssignment]:
    """The experiment's assignments, oldest first."""
    with db.session() as session:
        query = select(ExperimentAssignment).where(ExperimentAssignment.experiment_id == experiment_id)
        return list(session.scalars(query.order_by(ExperimentAssignment.id)))


def variant_keys(db: Database, experiment_id: int) -> dict[int, str]:
    """Each variant's key by its id."""
    with db.session() as session:
        rows = session.execute(
            select(ExperimentVariant.id, ExperimentVariant.key).where(
                ExperimentVariant.experiment_id == experiment_id
            )
        )
        return {number: key for number, key in rows}


def assigned_keys(db: Database, experiment_id: int) -> dict[int, str]:
    """Each assigned contact's variant key (visitors' assignments are left out)."""
    keys = variant_keys(db, experiment_id)
    return {
        row.contact_id: keys[row.variant_id]
        for row in assignments(db, experiment_id)
        if row.contact_id is not None
    }


def exposure_events(db: Database) -> list[Event]:
    """Every ``experiment_exposed`` event, oldest first."""
    with db.session() as session:
        query = select(Event).where(Event.type == "experiment_exposed").order_by(Event.id)
        return list(session.scalars(query))
