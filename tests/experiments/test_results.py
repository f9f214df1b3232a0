"""The report: the stats functions applied to the workspace's counts, its checks and its JSON."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session
from statsmodels.stats.proportion import proportion_confint

from leadwell.db.models import Event, Experiment, ExperimentCheck, Workspace
from leadwell.db.session import Database
from leadwell.experiments.arms import Counts, Sums
from leadwell.experiments.definitions import VariantSpec, promote, set_allocation
from leadwell.experiments.metrics import metric_arms
from leadwell.experiments.planning import plan_minimum_effect, plan_sample_size
from leadwell.experiments.results import experiment_report
from leadwell.experiments.series import daily_series
from leadwell.experiments.stats import bayesian, frequentist, holm, sample_ratio, sequential
from tests.experiments.factories import (
    NOW,
    add_units,
    conversion,
    make_experiment,
    new_workspace,
    plant,
    variant,
)

EXPOSED = NOW - timedelta(days=40)  # the 30-day windows have all closed by NOW


@pytest.fixture
def workspace(db: Database) -> Workspace:
    return new_workspace(db)


def _ids(session: Session, experiment: Experiment) -> tuple[int, int]:
    return variant(session, experiment, "A").id, variant(session, experiment, "B").id


def test_the_report_is_the_stats_functions_on_the_same_counts(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "email_template", minimum_effect=0.5)
        plant(session, experiment, {"A": (800, 40), "B": (800, 96)}, exposed_at=EXPOSED)
        plant(session, experiment, {"A": (100, 20)}, exposed_at=EXPOSED + timedelta(days=3))
        report = experiment_report(session, experiment, NOW)
        a, b = _ids(session, experiment)
        control, treated = Counts(900, 60), Counts(800, 96)
        assert metric_arms(session, experiment, "click", NOW) == {a: control, b: treated}
        comparison = report.comparisons[0]
        assert (comparison.control, comparison.variant) == ("A", "B")
        assert comparison.frequentist == frequentist(control, treated, 0.05)
        assert comparison.bayesian == bayesian(control, treated)
        needed = plan_sample_size(60 / 900, 0.5, alpha=0.05, power=0.8, variants=2, sequential=True)
        looks = daily_series(session, experiment, "click", NOW).looks(a, b)
        assert looks[-1] == (control, treated) and len(looks) == 61
        assert comparison.sequential == sequential(looks, 0.05, planned_units=needed)
        assert comparison.adjusted_p_value == comparison.p_value == comparison.sequential.p_value
        assert report.plan is not None and report.plan.units_needed == needed
        assert report.plan.baseline == pytest.approx(60 / 900) and report.plan.baseline_source == "observed"
        assert report.plan.progress == min(800 / needed, 1.0)
        detectable = plan_minimum_effect(60 / 900, 800, alpha=0.05, power=0.8, variants=2, sequential=True)
        assert report.plan.detectable_effect == detectable
        assert report.sample_ratio == sample_ratio([900, 800], [1.0, 1.0])
        rows = {row.key: row for row in report.variants}
        low, high = proportion_confint(96, 800, alpha=0.05, method="wilson")
        assert (rows["B"].exposed, rows["B"].conversions, rows["B"].rate) == (800, 96, 0.12)
        assert rows["B"].rate_low == pytest.approx(low) and rows["B"].rate_high == pytest.approx(high)
        assert (rows["A"].assigned, rows["A"].is_control, rows["B"].total) == (900, True, None)
        assert (report.outcome, report.decision, report.winner) == ("variant_wins", "B beats A", "B")
        assert report.verdict.startswith("B beats A on clicks with")
        assert report.warnings == []
        assert report.series[-1].date == NOW.date() and report.series[-1].variant == "B"
        assert report.series[-1].rate == pytest.approx(0.12)


def test_several_variants_are_holm_adjusted_and_the_best_winner_speaks(
    db: Database, workspace: Workspace
) -> None:
    with db.session() as session:
        arms = [VariantSpec(key=key, name=key) for key in "ABC"]
        experiment = make_experiment(
            session,
            workspace,
            "channel_offer",
            variants=arms,
            statistic="frequentist",
            primary_metric="meeting_booked",
        )
        plant(session, experiment, {"A": (1000, 50), "B": (1000, 80), "C": (1000, 110)}, exposed_at=EXPOSED)
        report = experiment_report(session, experiment, NOW)
        raw = [comparison.frequentist.p_value for comparison in report.comparisons]
        assert [comparison.adjusted_p_value for comparison in report.comparisons] == holm(raw)
        assert [comparison.variant for comparison in report.comparisons] == ["B", "C"]
        assert report.decision == "C beats A" and report.winner == "C"


def test_a_skewed_split_is_flagged_and_trusted_by_no_verdict(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "form")
        plant(session, experiment, {"A": (1000, 100), "B": (800, 160)}, exposed_at=EXPOSED)
        report = experiment_report(session, experiment, NOW)
        assert report.sample_ratio is not None and report.sample_ratio.mismatch
        assert report.outcome == "mismatch" and report.winner is None
        assert report.warnings[0].startswith("Split mismatch: the exposed units (A 1,000, B 800)")


def test_the_split_check_does_not_apply_under_the_bandit(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "form")
        plant(session, experiment, {"A": (1000, 100), "B": (800, 160)}, exposed_at=EXPOSED)
        set_allocation(session, experiment, "bandit")
        report = experiment_report(session, experiment, NOW)
        assert report.sample_ratio is None and report.sample_ratio_note
        assert report.outcome == "variant_wins"
        set_allocation(session, experiment, "fixed")  # the shares moved the split: still not applicable
        session.add(ExperimentCheck(experiment_id=experiment.id, checked_at=NOW, kind="allocation"))
        session.flush()
        assert experiment_report(session, experiment, NOW).sample_ratio is None


@pytest.mark.parametrize("statistic", ["frequentist", "sequential", "bayesian"])
def test_a_breached_guardrail_is_detected_by_the_deciding_statistic(
    db: Database, workspace: Workspace, statistic: str
) -> None:
    with db.session() as session:
        guardrails = [{"metric": "unsubscribe", "tolerance": 0.1}, {"metric": "reply"}]
        experiment = make_experiment(
            session, workspace, "email_template", guardrails=guardrails, statistic=statistic
        )
        units = plant(session, experiment, {"A": (1000, 50), "B": (1000, 90)}, exposed_at=EXPOSED)
        for key, unsubscribed in (("A", 5), ("B", 60)):
            _convert(session, experiment, key, units[key][:unsubscribed], "unsubscribe")
        report = experiment_report(session, experiment, NOW)
        by_metric = {row.metric: row for row in report.guardrails}
        unsubscribes = by_metric["unsubscribe"]
        assert (unsubscribes.variant, unsubscribes.breached) == ("B", True)
        assert unsubscribes.margin == pytest.approx(0.1 * 0.005)
        assert unsubscribes.difference == pytest.approx(0.055)
        assert unsubscribes.difference_low is not None and unsubscribes.difference_low > unsubscribes.margin
        assert not by_metric["reply"].breached  # no replies on either side: nothing known, nothing breached
        assert any(warning.startswith("Guardrail breached: B is worse") for warning in report.warnings)


def _convert(session: Session, experiment: Experiment, key: str, contact_ids: list[int], metric: str) -> None:
    event_type, properties = conversion(session, experiment, key, metric)
    at = EXPOSED + timedelta(days=2)
    common = {
        "workspace_id": experiment.workspace_id,
        "type": event_type,
        "occurred_at": at,
        "received_at": at,
    }
    rows = [{**common, "contact_id": contact_id, "properties": properties} for contact_id in contact_ids]
    if rows:
        session.execute(insert(Event), rows)


def test_a_guardrail_within_tolerance_holds(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        guardrails = [{"metric": "bounce", "tolerance": 0.5}]
        experiment = make_experiment(session, workspace, "email_template", guardrails=guardrails)
        units = plant(session, experiment, {"A": (2000, 100), "B": (2000, 100)}, exposed_at=EXPOSED)
        _convert(session, experiment, "A", units["A"][:40], "bounce")
        _convert(session, experiment, "B", units["B"][:44], "bounce")
        (row,) = experiment_report(session, experiment, NOW).guardrails
        assert not row.breached and row.difference == pytest.approx(0.002)


def test_early_open_and_recent_units_are_warned_about(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "email_template", primary_metric="open")
        plant(session, experiment, {"A": (40, 10), "B": (38, 12)}, exposed_at=NOW - timedelta(days=2))
        report = experiment_report(session, experiment, NOW)
        assert report.outcome == "too_early" and report.decision == "too early"
        assert report.warnings == [
            "Opens are unreliable: mail privacy proxies open every email they receive, so an open says "
            "little about a person; judge on clicks or replies.",
            "Too early: fewer than 100 exposed units on A (40), B (38).",
            "Conversions still coming in: 78 units were exposed less than 30 days ago, so their window is "
            "open and the rates may still rise.",
        ]
        assert report.experiment["primary_metric"]["unreliable"] is True


def test_revenue_is_reported_as_sums_without_a_plan(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "channel_offer", primary_metric="revenue")
        add_units(session, experiment, "A", 200, exposed_at=EXPOSED, converting=10, value=500.0)
        add_units(session, experiment, "B", 200, exposed_at=EXPOSED, converting=30, value=500.0)
        report = experiment_report(session, experiment, NOW)
        rows = {row.key: row for row in report.variants}
        assert (rows["B"].total, rows["B"].conversions, rows["B"].rate) == (15000.0, None, 75.0)
        assert report.plan is None
        expected = frequentist(Sums(200, 5000.0, 10 * 500.0**2), Sums(200, 15000.0, 30 * 500.0**2))
        assert report.comparisons[0].frequentist == expected


def test_a_scaled_experiment_is_reported_on_the_units_before_its_promotion(
    db: Database, workspace: Workspace
) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, "form")
        plant(session, experiment, {"A": (300, 30), "B": (300, 60)}, exposed_at=EXPOSED)
        promote(session, experiment, "B", EXPOSED + timedelta(days=5))
        add_units(session, experiment, "B", 500, exposed_at=EXPOSED + timedelta(days=6))
        report = experiment_report(session, experiment, NOW)
        assert [row.exposed for row in report.variants] == [300, 300]
        assert [row.assigned for row in report.variants] == [300, 800]
        assert report.experiment["state"] == "scaled" and report.experiment["winner_key"] == "B"


def test_the_json_is_stable_and_strict(db: Database, workspace: Workspace) -> None:
    with db.session() as session:
        experiment = make_experiment(
            session, workspace, "landing_page", guardrails=[{"metric": "meeting_booked"}]
        )
        plant(session, experiment, {"A": (150, 0), "B": (150, 3)}, exposed_at=EXPOSED)
        session.add(
            ExperimentCheck(experiment_id=experiment.id, checked_at=NOW, kind="stop", message="Stopped.")
        )
        session.flush()
        first = experiment_report(session, experiment, NOW).as_dict()
        second = experiment_report(session, experiment, NOW).as_dict()
    assert first == second
    text = json.dumps(first, allow_nan=False)  # relative intervals against a control at 0 are null
    assert json.loads(text) == first
    assert list(first) == [
        "experiment", "variants", "comparisons", "guardrails", "sample_ratio", "sample_ratio_note", "plan",
        "series", "outcome", "decision", "verdict", "winner", "warnings", "checks", "generated_at",
    ]  # fmt: skip
    assert list(first["variants"][0]) == [
        "key", "name", "is_control", "weight", "share", "assigned", "exposed", "conversions", "total", "rate",
        "rate_low", "rate_high",
    ]  # fmt: skip
    comparison = first["comparisons"][0]
    assert list(comparison) == [
        "variant", "control", "frequentist", "bayesian", "sequential", "p_value", "adjusted_p_value",
        "verdict",
    ]  # fmt: skip
    assert (
        comparison["frequentist"]["relative"] is None and comparison["verdict"]["outcome"] == "no_difference"
    )
    assert isinstance(comparison["sequential"]["p_values"], list)
    assert first["experiment"]["subject"].startswith("Landing page /p/offer-")
    assert first["experiment"]["started_at"].endswith("+00:00")
    assert first["checks"] == [
        {"checked_at": NOW.isoformat(), "kind": "stop", "rate": None, "low": None, "high": None, "units": 0,
         "alert": False, "message": "Stopped."}
    ]  # fmt: skip
    assert first["guardrails"][0]["metric"] == "meeting_booked"
    assert first["series"][0] == {
        "date": first["series"][0]["date"], "variant": "A", "exposed": 0, "conversions": 0, "total": None,
        "rate": 0.0,
    }  # fmt: skip


@pytest.mark.parametrize(("kind", "metric"), [("form", "form_submitted"), ("channel_offer", "revenue")])
def test_a_draft_has_a_report_without_numbers(
    db: Database, workspace: Workspace, kind: str, metric: str
) -> None:
    with db.session() as session:
        experiment = make_experiment(session, workspace, kind, primary_metric=metric, state="draft")
        report = experiment_report(session, experiment, NOW)
        assert [(row.exposed, row.rate, row.rate_low) for row in report.variants] == [(0, 0.0, None)] * 2
        assert report.series == [] and report.warnings == [] and report.outcome == "too_early"
        json.dumps(report.as_dict(), allow_nan=False)
