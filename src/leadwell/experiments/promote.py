"""Promoting a winner: it becomes what the subject does for everyone, and the worker watches it.

What is written per kind:

- ``email_template``: the template's variant weights — the winner's 1, every other 0;
- ``sequence_step``: the step sends the winner's template;
- ``landing_page``: the winner's title and body replace the page's;
- ``form``: the winner's button label and thank-you text replace the form's, and the fields it
  hid are removed from the form;
- ``magnet``: the form delivers the winner's lead magnet;
- ``channel_offer``: nothing — the offer lives in the user's own systems, which keep reading the
  winner's ``overrides`` from the assignment API (everyone new gets the winner).

The experiment becomes ``scaled`` and records the winner's rate on the primary metric with its 95 %
lower bound: the level the monitor (:mod:`.monitor`) compares the winner's later rate with.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Experiment, ExperimentVariant, Form, LandingPage, SequenceStep, TemplateVariant
from leadwell.errors import Conflict, InvalidInput
from leadwell.experiments.intervals import rate_interval
from leadwell.experiments.metrics import metric_arms
from leadwell.experiments.subjects import load_subject, subject_id_of


def promote(session: Session, experiment: Experiment, variant_key: str, now: datetime) -> Experiment:
    """Make variant ``variant_key`` the subject's default and the experiment ``scaled`` (see the
    module's description). Only a running or stopped experiment can be promoted, once."""
    if experiment.state not in ("running", "stopped"):
        raise Conflict(
            f"state: experiment {experiment.slug!r} is {experiment.state}; only a running or stopped "
            "experiment can be promoted",
            field="state",
        )
    winner = session.scalar(
        select(ExperimentVariant).where(
            ExperimentVariant.experiment_id == experiment.id,
            ExperimentVariant.key == variant_key.strip().upper(),
        )
    )
    if winner is None:
        raise InvalidInput(
            f"variant: experiment {experiment.slug!r} has no variant {variant_key[:16]!r}", field="variant"
        )
    subject = load_subject(session, experiment.workspace_id, experiment.kind, subject_id_of(experiment))
    _apply(session, experiment, winner, subject)
    tested = rate_interval(metric_arms(session, experiment, experiment.primary_metric, now)[winner.id])
    experiment.tested_rate, experiment.tested_low = tested.rate, tested.low
    experiment.state, experiment.winner_key, experiment.scaled_at = "scaled", winner.key, now
    experiment.stopped_at = experiment.stopped_at or now
    session.flush()
    return experiment


def _apply(session: Session, experiment: Experiment, winner: ExperimentVariant, subject: object) -> None:
    """Write the winner into the subject."""
    if experiment.kind == "email_template":
        variants = session.scalars(
            select(TemplateVariant).where(TemplateVariant.template_id == experiment.template_id)
        )
        for variant in variants:
            variant.weight = 1 if variant.key == winner.template_variant_key else 0
    elif isinstance(subject, SequenceStep):
        subject.template_id = winner.template_id
    elif isinstance(subject, LandingPage):
        subject.title = winner.overrides.get("title", subject.title)
        subject.body_markdown = winner.overrides.get("body_markdown", subject.body_markdown)
    elif isinstance(subject, Form) and experiment.kind == "form":
        subject.submit_label = winner.overrides.get("submit_label", subject.submit_label)
        subject.thank_you = winner.overrides.get("thank_you", subject.thank_you)
        hidden = set(winner.overrides.get("hide_fields", []))
        if hidden:
            subject.fields = [field for field in subject.fields if field.get("key") not in hidden]
    elif isinstance(subject, Form):
        subject.asset_id = winner.asset_id
