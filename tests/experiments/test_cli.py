"""``leadwell experiment`` end to end on a real database: creating from a TOML file or options,
starting, the bandit, stopping, promoting, listing, the report (the same figures as the page, and
``--json`` the report's own data), the planner, assigning a channel offer, and bad input exiting 2
with the field named and nothing stored."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from typer.testing import CliRunner

from leadwell.cli import app as cli
from leadwell.db.models import (
    EmailTemplate,
    Experiment,
    ExperimentAssignment,
    ExperimentVariant,
    TemplateVariant,
)
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.experiments.definitions import get_experiment
from leadwell.experiments.planning import plan_minimum_effect, plan_sample_size
from leadwell.experiments.results import experiment_report
from tests import factories
from tests.conftest import Tenant
from tests.experiments.factories import make_experiment, make_subject, plant
from tests.test_pages import logged_in

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(cli, ["experiment", *args])
    assert result.exit_code == code, (args, result.output)
    return result.output


def _common(db_url: str, tenant: Tenant) -> tuple[str, ...]:
    return ("--database-url", db_url, "-w", tenant.workspace.slug)


def _template(db: Database, tenant: Tenant) -> str:
    """A template with variants a and b; its slug."""
    with db.session() as session:
        template = session.get(EmailTemplate, make_subject(session, tenant.workspace, "email_template"))
        assert template is not None
        return template.slug


SPEC = """
slug = "subject-lines"
name = "Subject lines"
hypothesis = "A question gets more clicks"
kind = "email_template"
subject = "{subject}"
primary_metric = "click"
minimum_effect = 0.2
guardrails = [{{ metric = "unsubscribe", tolerance = 0.1 }}]

[[variants]]
key = "A"
name = "Statement"
template_variant = "a"
is_control = true

[[variants]]
key = "B"
name = "Question"
template_variant = "b"
weight = {weight}
"""


def _spec_file(tmp_path: Path, subject: str, weight: str = "1", extra: str = "") -> str:
    path = tmp_path / "spec.toml"
    path.write_text(SPEC.format(subject=subject, weight=weight) + extra, encoding="utf-8")
    return str(path)


def _state(db: Database, slug: str) -> tuple[str, str]:
    with db.session() as session:
        experiment = session.scalar(select(Experiment).where(Experiment.slug == slug))
        assert experiment is not None
        return experiment.state, experiment.allocation


def test_an_experiment_is_created_from_a_file_started_switched_and_stopped(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    common = _common(db_url, tenant)
    subject = _template(db, tenant)
    created = run("create", "--from", _spec_file(tmp_path, subject), *common)
    assert created.strip() == "created subject-lines (draft, 2 variants)"
    with db.session() as session:
        experiment = get_experiment(session, tenant.workspace.id, "subject-lines")
        assert experiment.guardrails == [{"metric": "unsubscribe", "tolerance": 0.1}]
        assert (experiment.hypothesis, experiment.minimum_effect) == ("A question gets more clicks", 0.2)
    listed = json.loads(run("list", *common, "--format", "json"))
    assert [(row["slug"], row["state"], row["verdict"], row["exposed"]) for row in listed] == [
        ("subject-lines", "draft", "not started", 0)
    ]
    assert run("start", "subject-lines", *common).strip() == "subject-lines is running"
    assert run("bandit", "subject-lines", "--on", *common).strip() == "subject-lines: bandit"
    assert _state(db, "subject-lines") == ("running", "bandit")
    assert run("bandit", "subject-lines", "--off", *common).strip() == "subject-lines: fixed split"
    assert run("stop", "subject-lines", *common).strip() == "subject-lines is stopped"
    assert _state(db, "subject-lines") == ("stopped", "fixed")
    table = run("list", *common)
    assert re.search(
        r"subject-lines\s+Subject lines\s+email_template\s+Template \S+\s+stopped\s+Clicks", table
    )
    assert "slug,name,kind,subject,state,metric,leader,verdict,exposed" in run(
        "list", *common, "--format", "csv"
    )


def test_options_alone_take_the_subjects_own_variants(db: Database, db_url: str, tenant: Tenant) -> None:
    subject = _template(db, tenant)
    args = ("--kind", "email_template", "--subject", subject, "--name", "Two subjects", "--metric", "reply")
    assert run("create", *args, "--guardrail", "bounce:0.05", *_common(db_url, tenant)).startswith(
        "created two-subjects (draft, 2 variants)"
    )
    with db.session() as session:
        experiment = get_experiment(session, tenant.workspace.id, "two-subjects")
        keys = session.execute(
            select(ExperimentVariant.key, ExperimentVariant.template_variant_key)
            .where(ExperimentVariant.experiment_id == experiment.id)
            .order_by(ExperimentVariant.key)
        )
        assert [tuple(row) for row in keys] == [("A", "a"), ("B", "b")]
        assert experiment.guardrails == [{"metric": "bounce", "tolerance": 0.05}]


@pytest.mark.parametrize(
    ("weight", "extra", "options", "message"),
    [
        ("-1", "", (), "variants[1].weight"),
        ('"heavy"', "", (), "variants[1].weight: a number is expected"),
        ("1", 'colour = "red"\n', (), "variants[1].colour: unknown key"),
        ("1", "", ("--metric", "likes"), "primary_metric"),
        ("1", "", ("--subject", "no-such-template"), "subject: no template 'no-such-template'"),
        ("1", "", ("--kind", "fax"), "kind"),
    ],
)
def test_bad_input_exits_2_naming_the_field_and_stores_nothing(
    db: Database,
    db_url: str,
    tenant: Tenant,
    tmp_path: Path,
    weight: str,
    extra: str,
    options: tuple[str, ...],
    message: str,
) -> None:
    spec = _spec_file(tmp_path, _template(db, tenant), weight, extra)
    output = run("create", "--from", spec, *options, *_common(db_url, tenant), code=2)
    assert output.startswith("error: ") and message in output
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Experiment)) == 0


def test_other_bad_input_names_what_is_wrong(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    common = _common(db_url, tenant)
    assert "--from: no file" in run("create", "--from", str(tmp_path / "missing.toml"), *common, code=2)
    (tmp_path / "broken.toml").write_text("name = [", encoding="utf-8")
    assert "--from: not valid TOML" in run("create", "--from", str(tmp_path / "broken.toml"), *common, code=2)
    assert "experiment: no experiment 'nope'" in run("start", "nope", *common, code=2)
    with db.session() as session:
        draft = make_experiment(session, tenant.workspace, state="draft").slug
    assert "state:" in run("stop", draft, *common, code=2)
    assert "state:" in run("promote", draft, "B", *common, code=2)
    assert "--effect:" in run("plan", "--baseline", "0.5", "--effect", "1.5", code=2)


def _page_figures(page: str) -> dict[str, list[str]]:
    """The text of each variant row's cells on the page."""
    figures = {}
    for key, row in re.findall(r'<tr id="variant-([A-Z])".*?>(.*?)</tr>', page, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        texts = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(cell))).strip() for cell in cells]
        figures[key] = [part for text in texts for part in re.split(r" (?=\[)", text) if part]
    return figures


def test_the_report_prints_the_pages_figures_and_json_is_the_reports_data(
    app: FastAPI, db: Database, db_url: str, tenant: Tenant
) -> None:
    with db.session() as session:
        experiment = make_experiment(
            session, tenant.workspace, name="Subject lines", started_at=utcnow() - timedelta(days=45)
        )
        plant(
            session,
            experiment,
            {"A": (600, 30), "B": (600, 66)},
            exposed_at=utcnow() - timedelta(days=40),
            converted_after=timedelta(days=2),
        )
        slug = experiment.slug
    text = run("report", slug, *_common(db_url, tenant))
    page = logged_in(app, tenant.user.email).get(f"/experiments/{slug}").text
    figures = _page_figures(page)
    assert set(figures) == {"A", "B"}
    lines = {key: next(line for line in text.splitlines() if line.startswith(f"{key} ")) for key in "AB"}
    versus = next(line for line in text.splitlines() if line.startswith("B vs A"))
    for key, cells in figures.items():
        shown = [cell for cell in cells if re.search(r"\d", cell)]
        assert shown, key
        for cell in shown:
            assert cell in lines[key] or cell in versus, (key, cell)
    assert "600" in figures["B"] and "66" in figures["B"] and "11.0%" in figures["B"]
    verdict = html.unescape(re.search(r'id="verdict">(.*?)</p>', page, re.S).group(1))  # type: ignore[union-attr]
    assert f"Verdict: {verdict}" in text and verdict.startswith("B beats A")

    exported = json.loads(run("report", slug, "--json", *_common(db_url, tenant)))
    with db.session() as session:
        expected = experiment_report(
            session, get_experiment(session, tenant.workspace.id, slug), utcnow()
        ).as_dict()
    exported.pop("generated_at"), expected.pop("generated_at")
    assert exported == json.loads(json.dumps(expected))


def test_the_planner_prints_the_units_per_variant(db_url: str) -> None:
    output = run("plan", "--baseline", "0.04", "--effect", "0.2", "--variants", "3", "--units", "5000")
    fixed = plan_sample_size(0.04, 0.2, variants=3)
    sequential = plan_sample_size(0.04, 0.2, variants=3, sequential=True)
    assert f"fixed horizon: {fixed:,} per variant ({fixed * 3:,} in all)" in output
    assert f"sequential:    {sequential:,} per variant" in output
    assert f"+{plan_minimum_effect(0.04, 5000, variants=3):.1%} is detectable" in output
    (row,) = json.loads(
        run("plan", "--baseline", "0.1", "--effect", "0.1", "--power", "0.9", "--format", "json")
    )
    assert row["fixed_per_variant"] == plan_sample_size(0.1, 0.1, power=0.9)


def test_a_channel_offer_gives_a_contact_the_same_variant_every_time(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    common = _common(db_url, tenant)
    with db.session() as session:
        offer = make_experiment(session, tenant.workspace, "channel_offer").slug
        template_test = make_experiment(session, tenant.workspace).slug
        factories.make_contact(session, tenant.workspace, email="ada@engines.example")
    first = run("assign", offer, "--contact", "ada@engines.example", *common)
    key, name, details = first.rstrip("\n").split("\t")
    assert key in ("A", "B") and json.loads(details) == {
        "offer": "newsletter" if key == "A" else "free audit"
    }
    assert run("assign", offer, "--contact", "ADA@engines.example", "--not-exposed", *common) == first
    with db.session() as session:
        (row,) = session.scalars(select(ExperimentAssignment)).all()
        assert row.exposures == 1 and row.first_exposed_at is not None
    assert "experiment:" in run("assign", template_test, "--contact", "ada@engines.example", *common, code=2)
    assert "contact:" in run("assign", offer, "--contact", "nobody@example.com", *common, code=2)


def test_promoting_makes_the_variant_the_default(db: Database, db_url: str, tenant: Tenant) -> None:
    with db.session() as session:
        experiment = make_experiment(session, tenant.workspace)
        slug, template_id = experiment.slug, experiment.template_id
    output = run("promote", slug, "b", *_common(db_url, tenant))
    assert output.strip() == f"{slug}: B promoted; the experiment is scaled"
    with db.session() as session:
        found: Any = session.scalar(select(Experiment).where(Experiment.slug == slug))
        assert (found.state, found.winner_key) == ("scaled", "B")
        weights = session.execute(
            select(TemplateVariant.key, TemplateVariant.weight).where(
                TemplateVariant.template_id == template_id
            )
        )
        assert {key: weight for key, weight in weights} == {"a": 0, "b": 1}
    assert "state:" in run("promote", slug, "A", *_common(db_url, tenant), code=2)


def test_the_documented_file_creates_an_experiment(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    guide = (Path(__file__).parents[2] / "docs" / "experiments.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", guide, re.S)
    assert example is not None
    subject = _template(db, tenant)
    path = tmp_path / "documented.toml"
    path.write_text(
        example.group(1).replace('subject = "welcome"', f'subject = "{subject}"'), encoding="utf-8"
    )
    assert run("create", "--from", str(path), *_common(db_url, tenant)).startswith("created welcome-subject")
    with db.session() as session:
        experiment = get_experiment(session, tenant.workspace.id, "welcome-subject")
        assert (experiment.primary_metric, experiment.max_days, experiment.window_days) == ("reply", 42, 30)
        assert experiment.guardrails == [
            {"metric": "unsubscribe", "tolerance": 0.1},
            {"metric": "bounce", "tolerance": 0.0},
        ]
