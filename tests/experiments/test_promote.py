"""Promoting a winner writes it into its subject, for every kind, and scales the experiment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    Experiment,
    Form,
    LandingPage,
    SequenceStep,
    TemplateVariant,
    Workspace,
)
from leadwell.db.session import Database
from leadwell.errors import Conflict, InvalidInput
from leadwell.experiments.assignment import assign
from leadwell.experiments.definitions import promote, stop
from leadwell.experiments.intervals import rate_interval
from leadwell.experiments.metrics import metric_arms
from tests.experiments.factories import NOW, make_experiment, new_workspace, plant, variant
from tests.factories import make_contact

EXPOSED = NOW - timedelta(days=20)


@pytest.fixture
def workspace(db: Database) -> Workspace:
    return new_workspace(db)


def _template_weights(session: Session, experiment: Experiment) -> None:
    rows = session.execute(
        select(TemplateVariant.key, TemplateVariant.weight).where(
            TemplateVariant.template_id == experiment.template_id
        )
    )
    assert {key: weight for key, weight in rows} == {"a": 0, "b": 1}


def _step_template(session: Session, experiment: Experiment) -> None:
    step = session.get(SequenceStep, experiment.sequence_step_id)
    assert step is not None and step.template_id == variant(session, experiment, "B").template_id


def _page(session: Session, experiment: Experiment) -> None:
    page = session.get(LandingPage, experiment.landing_page_id)
    assert page is not None and (page.title, page.body_markdown) == ("A sharper offer", "Why, briefly.")


def _form(session: Session, experiment: Experiment) -> None:
    form = session.get(Form, experiment.form_id)
    assert form is not None and (form.submit_label, form.thank_you) == ("Get it now", "On its way.")
    assert [field["key"] for field in form.fields] == ["email", "company"]  # the phone field is gone


def _magnet(session: Session, experiment: Experiment) -> None:
    form = session.get(Form, experiment.form_id)
    assert form is not None and form.asset_id == variant(session, experiment, "B").asset_id


def _nothing(session: Session, experiment: Experiment) -> None:
    assert variant(session, experiment, "B").overrides == {
        "offer": "free audit"
    }  # read by the user's systems


WRITTEN: dict[str, Callable[[Session, Experiment], None]] = {
    "email_template": _template_weights,
    "sequence_step": _step_template,
    "landing_page": _page,
    "form": _form,
    "magnet": _magnet,
    "channel_offer": _nothing,
}


@pytest.mark.parametrize("kind", list(WRITTEN))
def test_the_winner_becomes_the_subject_s_default(db: Database, workspace: Workspace, kind: str) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, kind)
        plant(session, experiment, {"A": (300, 30), "B": (300, 60)}, exposed_at=EXPOSED)
        promote(session, experiment, "b", NOW)  # keys are read as capitals
        WRITTEN[kind](session, experiment)
        assert (experiment.state, experiment.winner_key, experiment.scaled_at) == ("scaled", "B", NOW)
        assert experiment.stopped_at == NOW
        tested = rate_interval(
            metric_arms(session, experiment, experiment.primary_metric, NOW)[
                variant(session, experiment, "B").id
            ]
        )
        assert (experiment.tested_rate, experiment.tested_low) == (tested.rate, tested.low)
        assert experiment.tested_rate == pytest.approx(0.2) and 0.15 < (experiment.tested_low or 0) < 0.2


def test_new_units_get_the_winner_once_scaled(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "channel_offer", variants=None)
        promote(session, experiment, "B", NOW)
        for _ in range(20):
            contact = make_contact(session, workspace)
            assert assign(session, experiment, contact_id=contact.id, now=NOW).key == "B"


def test_a_stopped_experiment_can_be_promoted_but_only_once(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "form")
        stop(session, experiment, NOW - timedelta(days=1))
        promote(session, experiment, "A", NOW)
        assert experiment.stopped_at == NOW - timedelta(days=1) and experiment.winner_key == "A"
        form = session.get(Form, experiment.form_id)
        assert form is not None and form.submit_label == "Send"  # the control: the form as it was
        assert experiment.tested_rate == 0.0 and experiment.tested_low is None  # no units, no bound
        with pytest.raises(Conflict):
            promote(session, experiment, "B", NOW)


def test_a_draft_or_an_unknown_variant_is_refused(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        draft = make_experiment(session, workspace, "landing_page", state="draft")
        with pytest.raises(Conflict) as refused:
            promote(session, draft, "B", NOW)
        assert refused.value.field == "state"
        running = make_experiment(session, workspace, "landing_page")
        with pytest.raises(InvalidInput) as unknown:
            promote(session, running, "Z", NOW)
        assert unknown.value.field == "variant" and running.state == "running"
        page = session.get(LandingPage, running.landing_page_id)
        assert page is not None and page.title == "The offer"
