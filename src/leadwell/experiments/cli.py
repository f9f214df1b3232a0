"""``leadwell experiment …``: list, create (from a TOML file and/or options), start, stop, switch
the bandit on or off, promote a winner, print the report the page shows, plan a test, and ask which
variant a contact gets in a channel offer. Exit codes: 0 done, 1 failed, 2 bad input."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from leadwell.cli_common import (
    DatabaseUrl,
    Format,
    FormatOpt,
    WorkspaceOpt,
    emit,
    opened,
    reporting,
    workspace_id_of,
)
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.experiments import definitions
from leadwell.experiments.listing import list_row
from leadwell.experiments.offers import offer_for, offer_made
from leadwell.experiments.planning import plan_minimum_effect, plan_sample_size
from leadwell.experiments.report_print import report_lines
from leadwell.experiments.results import experiment_report
from leadwell.experiments.spec_input import experiment_spec
from leadwell.outreach.sequence_page_common import contact_by_email

experiment_app = typer.Typer(
    help="Experiments: list, create, start, stop, bandit, promote, report, plan, assign.",
    no_args_is_help=True,
)
Slug = Annotated[str, typer.Argument(help="The experiment's slug.")]


@experiment_app.command("list")
def experiment_list(
    database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None, output: FormatOpt = Format.table
) -> None:
    """Every experiment, newest first: kind, subject, state, metric, leader and verdict, exposed units."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        now = utcnow()
        with db.session() as session:
            rows = [
                list_row(session, experiment, now)
                for experiment in definitions.list_experiments(session, workspace_id)
            ]
    emit([row.as_dict() for row in rows], output)


def _file_data(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"--from: no file {str(path)!r}", field="from") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InvalidInput(f"--from: not valid TOML: {error}", field="from") from None


@experiment_app.command("create")
def experiment_create(
    source: Annotated[
        Path | None, typer.Option("--from", help="A TOML file describing the experiment (see docs).")
    ] = None,
    slug: Annotated[str | None, typer.Option(help="Slug (from the name when empty).")] = None,
    name: Annotated[str | None, typer.Option(help="Name.")] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="email_template, sequence_step, landing_page, form, magnet or channel_offer."),
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="What it tests: a slug (a sequence step as SEQUENCE/N).")
    ] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="The primary metric (e.g. reply).")] = None,
    hypothesis: Annotated[str | None, typer.Option(help="What you expect, and why.")] = None,
    statistic: Annotated[str | None, typer.Option(help="sequential, frequentist or bayesian.")] = None,
    guardrail: Annotated[
        list[str] | None, typer.Option(help="A guardrail metric, METRIC or METRIC:TOLERANCE (repeat).")
    ] = None,
    minimum_effect: Annotated[float | None, typer.Option(help="Relative lift to plan for (0.2).")] = None,
    window_days: Annotated[int | None, typer.Option(help="Conversion window in days.")] = None,
    max_days: Annotated[int | None, typer.Option(help="Stop after this many days running.")] = None,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a draft experiment from --from FILE.toml and/or options (options win); without
    variants, the subject's defaults. Prints the slug."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        data = _file_data(source)
        given = {"slug": slug, "name": name, "kind": kind, "subject": subject, "primary_metric": metric,
                 "hypothesis": hypothesis, "statistic": statistic, "minimum_effect": minimum_effect,
                 "window_days": window_days, "max_days": max_days}  # fmt: skip
        data.update({key: value for key, value in given.items() if value is not None})
        if guardrail:
            data["guardrails"] = [_guardrail(item) for item in guardrail]
        with db.session() as session:
            spec = experiment_spec(session, workspace_id, data)
            if not spec.variants:
                spec.variants = definitions.default_variants(
                    session, workspace_id, spec.kind, spec.subject_id
                )
            created = definitions.create_experiment(session, workspace_id, spec, None)
            typer.echo(f"created {created.slug} (draft, {len(spec.variants)} variants)")


def _guardrail(text: str) -> dict[str, Any]:
    metric, _, tolerance = text.partition(":")
    return {"metric": metric.strip(), "tolerance": tolerance.strip() or 0}


def _change(database_url: str | None, workspace: str | None, slug: str, work: Any) -> str:
    """Run ``work(session, experiment)`` and return what it says."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            experiment = definitions.get_experiment(session, workspace_id, slug)
            said: str = work(session, experiment)
    return said


@experiment_app.command("start")
def experiment_start(slug: Slug, database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None) -> None:
    """Start a draft: units are assigned and exposed from now on."""

    def work(session: Any, experiment: Any) -> str:
        definitions.start(session, experiment, utcnow())
        return f"{experiment.slug} is running"

    typer.echo(_change(database_url, workspace, slug, work))


@experiment_app.command("stop")
def experiment_stop(slug: Slug, database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None) -> None:
    """Stop assigning new units (conversions of exposed units keep counting)."""

    def work(session: Any, experiment: Any) -> str:
        definitions.stop(session, experiment, utcnow())
        return f"{experiment.slug} is stopped"

    typer.echo(_change(database_url, workspace, slug, work))


@experiment_app.command("bandit")
def experiment_bandit(
    slug: Slug,
    on: Annotated[bool, typer.Option("--on/--off", help="The bandit on, or back to the fixed split.")] = True,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Let the bandit move traffic towards the better variants (--on), or go back to the weights (--off)."""

    def work(session: Any, experiment: Any) -> str:
        definitions.set_allocation(session, experiment, "bandit" if on else "fixed")
        return f"{experiment.slug}: {'bandit' if on else 'fixed split'}"

    typer.echo(_change(database_url, workspace, slug, work))


@experiment_app.command("promote")
def experiment_promote(
    slug: Slug,
    variant: Annotated[str, typer.Argument(help="The variant's key (B).")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Make the variant the subject's default for everyone; the experiment becomes scaled."""

    def work(session: Any, experiment: Any) -> str:
        definitions.promote(session, experiment, variant.strip().upper(), utcnow())
        return f"{experiment.slug}: {variant.strip().upper()} promoted; the experiment is scaled"

    typer.echo(_change(database_url, workspace, slug, work))


@experiment_app.command("report")
def experiment_report_command(
    slug: Slug,
    as_json: Annotated[bool, typer.Option("--json", help="The whole report as JSON.")] = False,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """The experiment's report: the numbers the page shows, from the same computation."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            experiment = definitions.get_experiment(session, workspace_id, slug)
            report = experiment_report(session, experiment, utcnow())
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, default=str))
        return
    typer.echo("\n".join(report_lines(report)))


# The planner's fields as the plan command's options name them.
PLAN_OPTIONS = {"minimum_effect": "effect", "units_per_variant": "units"}


@contextmanager
def _options_named() -> Iterator[None]:
    """The planner's refusals naming the option at fault (``--effect: …``)."""
    try:
        yield
    except InvalidInput as error:
        option = PLAN_OPTIONS.get(error.field or "", error.field or "")
        raise InvalidInput(f"--{option}: {error.detail}", field=option) from None


@experiment_app.command("plan")
def experiment_plan(
    baseline: Annotated[float, typer.Option(help="The control's rate today (0.04 = 4 %).")],
    effect: Annotated[float, typer.Option(help="The relative lift to detect (0.2 = +20 %).")],
    variants: Annotated[int, typer.Option(help="Variants, the control included.")] = 2,
    alpha: Annotated[float, typer.Option(help="False-positive rate.")] = 0.05,
    power: Annotated[float, typer.Option(help="Chance to detect a real lift of that size.")] = 0.8,
    units: Annotated[int | None, typer.Option(help="Also: the lift these units per variant detect.")] = None,
    output: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Units per variant a test needs: fixed horizon and sequential (looked at daily)."""
    with reporting(), _options_named():
        fixed = plan_sample_size(baseline, effect, alpha=alpha, power=power, variants=variants)
        sequential = plan_sample_size(
            baseline, effect, alpha=alpha, power=power, variants=variants, sequential=True
        )
        detectable = None
        if units is not None:
            detectable = plan_minimum_effect(baseline, units, alpha=alpha, power=power, variants=variants)
    row: dict[str, Any] = {
        "baseline": baseline, "effect": effect, "variants": variants, "alpha": alpha, "power": power,
        "fixed_per_variant": fixed, "sequential_per_variant": sequential,
        "fixed_total": fixed * variants, "sequential_total": sequential * variants,
    }  # fmt: skip
    if detectable is not None:
        row.update({"units": units, "detectable_effect": detectable})
    if output is not Format.table:
        emit([row], output)
        return
    typer.echo(
        f"baseline {baseline:.2%}, lift to detect +{effect:.0%} ({baseline:.2%} → "
        f"{baseline * (1 + effect):.2%}), alpha {alpha:g}, power {power:g}, {variants} variants"
    )
    typer.echo(f"fixed horizon: {fixed:,} per variant ({fixed * variants:,} in all)")
    typer.echo(f"sequential:    {sequential:,} per variant ({sequential * variants:,} in all)")
    if detectable is not None:
        typer.echo(f"with {units:,} per variant: a lift of +{detectable:.1%} is detectable (fixed horizon)")


@experiment_app.command("assign")
def experiment_assign(
    slug: Slug,
    contact: Annotated[str, typer.Option(help="The contact's email address.")],
    exposed: Annotated[
        bool, typer.Option("--exposed/--not-exposed", help="Also record that the contact saw it (default).")
    ] = True,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """A contact's variant in a channel offer (stored: the same every time): key, name and details
    (JSON), tab-separated."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            experiment = definitions.get_experiment(session, workspace_id, slug)
            contact_id = contact_by_email(session, workspace_id, contact)
            offer = (offer_made if exposed else offer_for)(session, experiment, contact_id, utcnow())
            variant = offer.variant
            line = f"{variant.key}\t{variant.name}\t{json.dumps(variant.overrides, sort_keys=True)}"
    typer.echo(line)
