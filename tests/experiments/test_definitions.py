"""Creating, checking, reading, starting and stopping experiments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Experiment, ExperimentVariant, SequenceStep, Workspace
from leadwell.db.session import Database
from leadwell.errors import Conflict, InvalidInput, LeadwellError, NotFound
from leadwell.experiments.definitions import (
    ExperimentSpec,
    VariantSpec,
    create_experiment,
    default_variants,
    get_experiment,
    list_experiments,
    set_allocation,
    start,
    stop,
    update_draft,
    variants_of,
)
from tests.conftest import Tenant
from tests.experiments.factories import (
    NOW,
    default_metric,
    make_asset,
    make_experiment,
    make_subject,
    make_template,
    new_workspace,
    two_variants,
)
from tests.factories import make_workspace


@pytest.fixture
def workspace(db: Database) -> Workspace:
    return new_workspace(db)


KINDS = ("email_template", "sequence_step", "landing_page", "form", "magnet", "channel_offer")


def spec_for(session: Session, workspace: Workspace, kind: str, **fields: Any) -> ExperimentSpec:
    subject_id = make_subject(session, workspace, kind)
    values: dict[str, Any] = {
        "slug": "subject-line",
        "name": "Subject line",
        "kind": kind,
        "subject_id": subject_id,
        "primary_metric": default_metric(kind),
        "variants": two_variants(session, workspace, kind, subject_id),
    }
    values.update(fields)
    return ExperimentSpec(**values)


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Experiment)) or 0)


@pytest.mark.parametrize("kind", KINDS)
def test_an_experiment_of_every_kind_is_created_as_a_draft(db: Database, tenant: Tenant, kind: str) -> None:
    with db.session() as session:
        spec = spec_for(session, tenant.workspace, kind, hypothesis="  A shorter ask converts more.  ")
        experiment = create_experiment(session, tenant.workspace.id, spec, tenant.user.id)
        assert (experiment.state, experiment.slug, experiment.kind) == ("draft", "subject-line", kind)
        assert experiment.hypothesis == "A shorter ask converts more."
        assert experiment.created_by_id == tenant.user.id
        variants = variants_of(session, experiment)
        assert [(v.key, v.is_control, v.weight, v.share) for v in variants] == [
            ("A", True, 1.0, None),
            ("B", False, 1.0, None),
        ]
        assert variants[1].overrides == spec.variants[1].overrides


def test_keys_are_upper_cased_names_filled_in_and_a_is_the_control(
    db: Database, workspace: Workspace
) -> None:
    with db.session() as session:
        spec = spec_for(session, workspace, "channel_offer", slug="", name="Free audit offer!")
        spec.variants = [VariantSpec(key=" a ", name=""), VariantSpec(key="b", name="Audit", weight=3)]
        experiment = create_experiment(session, workspace.id, spec, None)
        assert experiment.slug == "free-audit-offer"
        variants = variants_of(session, experiment)
        assert [(v.key, v.name, v.is_control) for v in variants] == [
            ("A", "Variant A", True),
            ("B", "Audit", False),
        ]


def test_a_bandit_starts_from_the_weights(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        spec = spec_for(session, workspace, "channel_offer", allocation="bandit")
        spec.variants[1].weight = 3.0
        experiment = create_experiment(session, workspace.id, spec, None)
        assert [v.share for v in variants_of(session, experiment)] == [0.25, 0.75]


Mutation = Callable[[ExperimentSpec, Session, Workspace], None]


def _set(**fields: Any) -> Mutation:
    def change(spec: ExperimentSpec, _session: Session, _workspace: Workspace) -> None:
        for name, value in fields.items():
            setattr(spec, name, value)

    return change


def _variant(index: int, **fields: Any) -> Mutation:
    def change(spec: ExperimentSpec, _session: Session, _workspace: Workspace) -> None:
        spec.variants[index] = replace(spec.variants[index], **fields)

    return change


def _foreign_subject(spec: ExperimentSpec, session: Session, _workspace: Workspace) -> None:
    spec.subject_id = make_subject(session, make_workspace(session), spec.kind)


def _one_variant_template(spec: ExperimentSpec, session: Session, workspace: Workspace) -> None:
    spec.subject_id = make_template(session, workspace, ("a",)).id


def _wait_step(spec: ExperimentSpec, session: Session, _workspace: Workspace) -> None:
    step = session.get(SequenceStep, spec.subject_id)
    assert step is not None
    step.kind = "wait"


def _foreign_template(spec: ExperimentSpec, session: Session, _workspace: Workspace) -> None:
    spec.variants[1].template_id = make_template(session, make_workspace(session)).id


def _foreign_asset(spec: ExperimentSpec, session: Session, _workspace: Workspace) -> None:
    spec.variants[1].asset_id = make_asset(session, make_workspace(session)).id


def _taken_slug(spec: ExperimentSpec, session: Session, workspace: Workspace) -> None:
    make_experiment(session, workspace, "channel_offer", slug=spec.slug, state="draft")


REFUSED: list[tuple[str, Mutation, str]] = [
    ("channel_offer", _set(slug="Bad slug!"), "slug"),
    ("channel_offer", _taken_slug, "slug"),
    ("channel_offer", _set(name="  "), "name"),
    ("channel_offer", _set(kind="banner"), "kind"),
    ("email_template", _set(subject_id=None), "subject"),
    ("email_template", _foreign_subject, "subject"),
    ("email_template", _one_variant_template, "subject"),
    ("sequence_step", _wait_step, "subject"),
    ("landing_page", _foreign_subject, "subject"),
    ("channel_offer", _set(subject_id=1), "subject"),
    ("channel_offer", _set(primary_metric="clicks"), "primary_metric"),
    ("landing_page", _set(primary_metric="click"), "primary_metric"),
    ("email_template", _set(guardrails=[{"metric": "click"}]), "guardrails[0].metric"),
    (
        "email_template",
        _set(guardrails=[{"metric": "unsubscribe", "tolerance": -0.1}]),
        "guardrails[0].tolerance",
    ),
    ("email_template", _set(guardrails=[{"metric": "unsubscribe", "limit": 1}]), "guardrails[0]"),
    ("form", _set(guardrails=[{"metric": "meeting_booked"}, {"metric": "bounce"}]), "guardrails[1].metric"),
    ("channel_offer", _set(statistic="magic"), "statistic"),
    ("channel_offer", _set(allocation="random"), "allocation"),
    ("channel_offer", _set(alpha=0.5), "alpha"),
    ("channel_offer", _set(power=0.5), "power"),
    ("channel_offer", _set(minimum_effect=0.0), "minimum_effect"),
    ("channel_offer", _set(baseline_rate=1.0), "baseline_rate"),
    ("channel_offer", _set(window_days=0), "window_days"),
    ("channel_offer", _set(window_days=366), "window_days"),
    ("channel_offer", _set(max_days=0), "max_days"),
    ("channel_offer", _set(variants=[VariantSpec(key="A", name="Only")]), "variants"),
    ("channel_offer", _set(variants=[VariantSpec(key=chr(65 + i), name="x") for i in range(7)]), "variants"),
    ("channel_offer", _variant(1, key="a"), "variants[1].key"),
    ("channel_offer", _variant(0, key="1"), "variants[0].key"),
    ("channel_offer", _variant(1, weight=-1.0), "variants[1].weight"),
    ("channel_offer", _variant(0, weight=0.0), "variants[0].weight"),
    ("channel_offer", _variant(1, is_control=True), "variants[1].is_control"),
    ("channel_offer", _variant(0, key="C", is_control=False), "variants"),
    ("email_template", _variant(1, template_variant_key="z"), "variants[1].template_variant_key"),
    ("email_template", _variant(1, asset_id=1), "variants[1].asset_id"),
    ("sequence_step", _foreign_template, "variants[1].template_id"),
    ("sequence_step", _variant(1, template_id=None), "variants[1].template_id"),
    ("magnet", _foreign_asset, "variants[1].asset_id"),
    ("landing_page", _variant(1, overrides={"color": "red"}), "variants[1].overrides.color"),
    ("landing_page", _variant(1, overrides={"title": ""}), "variants[1].overrides.title"),
    ("form", _variant(1, overrides={"hide_fields": ["email"]}), "variants[1].overrides.hide_fields[0]"),
    ("form", _variant(1, overrides={"submit_label": "x" * 81}), "variants[1].overrides.submit_label"),
    ("magnet", _variant(1, overrides={"title": "New"}), "variants[1].overrides.title"),
    ("channel_offer", _variant(1, overrides={"offer": {1, 2}}), "variants[1].overrides"),
]


@pytest.mark.parametrize(
    ("kind", "mutate", "field"), REFUSED, ids=[f"{k}-{f}-{i}" for i, (k, _, f) in enumerate(REFUSED)]
)
def test_a_bad_spec_is_refused_naming_the_field_and_nothing_is_written(
    db: Database, workspace: Workspace, kind: str, mutate: Mutation, field: str
) -> None:
    with db.session() as session:
        spec = spec_for(session, workspace, kind)
        mutate(spec, session, workspace)
        before = _count(session)
        with pytest.raises(InvalidInput) as error:
            create_experiment(session, workspace.id, spec, None)
        assert error.value.field == field, error.value.detail
        assert error.value.detail.startswith(f"{field}:")
        assert _count(session) == before


def test_get_and_list_stay_in_the_workspace(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        first = make_experiment(session, workspace, "channel_offer", slug="first", state="draft")
        second = make_experiment(session, workspace, "form", slug="second", state="draft")
        make_experiment(session, make_workspace(session), "form", slug="theirs", state="draft")
        assert get_experiment(session, workspace.id, "first").id == first.id
        assert [e.slug for e in list_experiments(session, workspace.id)] == [second.slug, first.slug]
        with pytest.raises(NotFound) as error:
            get_experiment(session, workspace.id, "theirs")
        assert "'theirs'" in error.value.detail and error.value.field == "experiment"


def test_start_and_stop_follow_the_life_of_an_experiment(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "form", state="draft")
        with pytest.raises(Conflict):
            stop(session, experiment, NOW)
        start(session, experiment, NOW)
        assert (experiment.state, experiment.started_at) == ("running", NOW)
        with pytest.raises(Conflict):
            start(session, experiment, NOW)
        stop(session, experiment, NOW + timedelta(days=1))
        stop(session, experiment, NOW + timedelta(days=2))  # again: nothing changes
        assert (experiment.state, experiment.stopped_at) == ("stopped", NOW + timedelta(days=1))
        with pytest.raises(Conflict) as error:
            start(session, experiment, NOW)
        assert error.value.field == "state"


def test_one_experiment_runs_per_subject_and_forms_share_it_with_magnets(
    db: Database, workspace: Workspace
) -> None:
    with db.session() as session:
        running = make_experiment(session, workspace, "magnet")
        spec = spec_for(session, workspace, "form", slug="labels", subject_id=running.form_id)
        spec.variants[1].overrides = {"submit_label": "Get it"}
        waiting = create_experiment(session, workspace.id, spec, None)  # a draft may wait
        with pytest.raises(Conflict) as error:
            start(session, waiting, NOW)
        assert error.value.field == "subject" and running.slug in error.value.detail
        stop(session, running, NOW)
        start(session, waiting, NOW)
        assert waiting.state == "running"


def test_a_subject_gone_by_the_start_is_refused(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "landing_page", state="draft")
        experiment.landing_page_id = None  # the page was deleted (the column is SET NULL)
        with pytest.raises(InvalidInput) as error:
            start(session, experiment, NOW)
        assert error.value.field == "subject"


def test_allocation_switches_between_weights_and_bandit_shares(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "channel_offer")
        set_allocation(session, experiment, "bandit")
        assert [v.share for v in variants_of(session, experiment)] == [0.5, 0.5]
        set_allocation(session, experiment, "fixed")
        assert [v.share for v in variants_of(session, experiment)] == [None, None]
        with pytest.raises(InvalidInput):
            set_allocation(session, experiment, "greedy")
        stop(session, experiment, NOW)
        with pytest.raises(Conflict):
            set_allocation(session, experiment, "bandit")


def test_a_draft_is_edited_and_a_started_experiment_is_not(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "channel_offer", slug="offer", state="draft")
        spec = spec_for(session, workspace, "channel_offer", slug="offer", name="Offer, again")
        spec.variants.append(VariantSpec(key="C", name="Third", weight=2))
        update_draft(session, experiment, spec)
        assert experiment.name == "Offer, again"
        assert [v.key for v in variants_of(session, experiment)] == ["A", "B", "C"]
        assert session.scalar(select(func.count()).select_from(ExperimentVariant)) == 3
        bad = replace(spec, variants=spec.variants[:1])
        with pytest.raises(InvalidInput):
            update_draft(session, experiment, bad)
        assert len(variants_of(session, experiment)) == 3
        start(session, experiment, NOW)
        with pytest.raises(LeadwellError):
            update_draft(session, experiment, spec)


@pytest.mark.parametrize("kind", KINDS)
def test_default_variants_start_from_the_subject(db: Database, workspace: Workspace, kind: str) -> None:
    with db.session() as session:
        subject_id = make_subject(session, workspace, kind)
        variants = default_variants(session, workspace.id, kind, subject_id)
        assert [v.key for v in variants] == ["A", "B"] and variants[0].is_control
        spec = ExperimentSpec("defaults", "Defaults", kind, subject_id, default_metric(kind), variants)
        if kind in ("sequence_step", "magnet"):  # B's template or magnet is for the user to choose
            with pytest.raises(InvalidInput) as error:
                create_experiment(session, workspace.id, spec, None)
            assert error.value.field in ("variants[1].template_id", "variants[1].asset_id")
            assert variants[0].template_id or variants[0].asset_id
        else:
            create_experiment(session, workspace.id, spec, None)
