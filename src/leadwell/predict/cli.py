"""``leadwell model train | score | report | list | activate``: predictive models from the command line.

Exit codes: 0 done, 1 failed, 2 bad input (a missing target or feature column, a single-class
target, an unknown positive value, an empty file, too few positives: the message names it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

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
from leadwell.db.models import PredictiveModel
from leadwell.db.session import Database
from leadwell.errors import InvalidInput, NotFound

model_app = typer.Typer(
    help="Predictive models: who is likely to buy, and why (from the workspace or a CSV file).",
    no_args_is_help=True,
)
VersionOpt = Annotated[
    int | None, typer.Option("--version", min=1, help="Model version (default: the latest).")
]


@model_app.command("train")
def train(
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="Train on this CSV file instead of the workspace's won and lost leads."),
    ] = None,
    target: Annotated[str | None, typer.Option(help="With --from: the column holding the outcome.")] = None,
    positive: Annotated[
        str | None, typer.Option(help="With --from: the target's value that means a sale (e.g. Yes).")
    ] = None,
    id_column: Annotated[
        list[str] | None, typer.Option("--id-column", help="A column that identifies rows: not a feature.")
    ] = None,
    numeric: Annotated[
        list[str] | None, typer.Option("--numeric", help="Read this column as numbers.")
    ] = None,
    categorical: Annotated[
        list[str] | None, typer.Option("--categorical", help="Read this column as categories.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random splits (same seed, same model).")] = 0,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Train a new model version and print how well it did on held-out rows."""
    # Imported here: scikit-learn takes a second to load, which no other command should wait for.
    from leadwell.predict.csv_cli import read_file, train_csv
    from leadwell.predict.train_workspace import train_workspace

    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        if from_file is None:
            _reject_file_options(target, positive, id_column, numeric, categorical)
            model = train_workspace(db, workspace_id, seed=seed)
            _echo_lines([*report_lines(model), activation_line(db, workspace_id, model)])
            return
        if not target or positive is None:
            missing = "--target" if not target else "--positive"
            raise InvalidInput(
                f"{missing}: say which column holds the outcome and which value is a sale", missing
            )
        content, name = read_file(from_file, "--from")
        result = train_csv(
            db,
            workspace_id,
            content,
            name,
            target,
            positive,
            id_columns=id_column or [],
            numeric=numeric or [],
            categorical=categorical or [],
            seed=seed,
        )
        lines = report_lines(result.model)
        if result.blank_targets:
            lines.append(f"left out {result.blank_targets} rows with a blank {result.model.target}")
        lines += [f"not a feature: {column} ({why})" for column, why in result.skipped_columns.items()]
        _echo_lines(lines)


def activation_line(db: Database, workspace_id: int, model: PredictiveModel) -> str:
    """Whether a workspace model just trained ranks the call queue now."""
    from leadwell.predict.train_workspace import active_model

    if model.active:
        return "active: the call queue now ranks open leads by this model (every open lead rescored)"
    with db.session() as session:
        active = active_model(session, workspace_id)
        kept = active.version if active is not None else None
    if kept is None:
        return "not active: the call queue ranks by fit × engagement"
    return f"not active: version {kept} stays active (its validation AUC is higher)"


@model_app.command("activate")
def activate(
    version: Annotated[int, typer.Argument(min=1, help="The workspace model version to use.")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Make VERSION (a ready model trained on the workspace) the one the call queue ranks by, and
    rescore every open lead with it."""
    from leadwell.predict.train_workspace import activate_version

    with reporting(), opened(database_url) as db:
        model = activate_version(db, workspace_id_of(db, workspace), version)
        typer.echo(f"model version {model.version} is active: every open lead was rescored with it")


def _reject_file_options(*values: Any) -> None:
    if any(values):
        raise InvalidInput(
            "--from: --target, --positive, --id-column, --numeric and --categorical need --from FILE"
        )


@model_app.command("score")
def score(
    file: Annotated[Path, typer.Argument(help="CSV file of leads to score (the training file's columns).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the scored CSV.")],
    version: VersionOpt = None,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write every row of FILE with probability, rank (1 = most likely) and reasons added."""
    from leadwell.predict.csv_cli import read_file, score_csv, write_file

    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        content, name = read_file(file)
        scored = score_csv(db, workspace_id, content, name, version)
        write_file(out, scored.content)
        typer.echo(f"scored {scored.rows} rows with model version {scored.version}: {out}")


@model_app.command("report")
def report(
    version: VersionOpt = None,
    output: Annotated[str, typer.Option("--format", help="text, or json (every figure).")] = "text",
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """A model's figures on held-out rows: AUC, top 10 % and 20 % hits and lift, the calibration table."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            model = _chosen(session, workspace_id, version)
            if output == "json":
                typer.echo(json.dumps(_as_dict(model), indent=2, default=str))
            else:
                _echo_lines(report_lines(model, calibration=True))


@model_app.command("list")
def list_models(
    output: FormatOpt = Format.table, database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None
) -> None:
    """Every model version of the workspace, newest first, with its main figures."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            models = session.scalars(
                select(PredictiveModel)
                .where(PredictiveModel.workspace_id == workspace_id)
                .order_by(PredictiveModel.version.desc())
            ).all()
            rows = [_list_row(model) for model in models]
        emit(rows, output)


def _chosen(session: Session, workspace_id: int, version: int | None) -> PredictiveModel:
    """Version ``version`` of the workspace's models; without one, the workspace model (the active
    one, else the latest trained on the workspace), else the latest one."""
    query = select(PredictiveModel).where(PredictiveModel.workspace_id == workspace_id)
    if version is None:
        own = session.scalars(
            query.where(PredictiveModel.source == "workspace")
            .order_by(PredictiveModel.active.desc(), PredictiveModel.version.desc())
            .limit(1)
        ).first()
        if own is not None:
            return own
    if version is not None:
        query = query.where(PredictiveModel.version == version)
    model = session.scalars(query.order_by(PredictiveModel.version.desc()).limit(1)).first()
    if model is None:
        if version is not None:
            raise NotFound(f"version: no model version {version} in this workspace", field="version")
        raise NotFound(
            "version: this workspace has no model yet: run `leadwell model train`", field="version"
        )
    return model


def _list_row(model: PredictiveModel) -> dict[str, Any]:
    metrics = model.metrics or {}
    top20 = metrics.get("top20") or {}
    return {
        "version": model.version,
        "source": model.source,
        "name": model.name,
        "status": model.status,
        "algorithm": model.algorithm or "",
        "rows": model.rows,
        "positives": model.positives,
        "auc": _figure(metrics.get("auc")),
        "top20_lift": _figure(top20.get("lift")),
        "active": model.active,
        "trained_at": model.trained_at.isoformat(timespec="seconds"),
    }


def _as_dict(model: PredictiveModel) -> dict[str, Any]:
    return {
        **_list_row(model),
        "target": model.target,
        "positive": model.positive,
        "message": model.message,
        "metrics": model.metrics,
        "spec": model.spec,
    }


def _figure(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "–"


def _share(value: Any) -> str:
    return f"{100 * value:.1f} %" if isinstance(value, int | float) else "–"


def report_lines(model: PredictiveModel, calibration: bool = False) -> list[str]:
    """A model's figures in words, as ``train`` and ``report`` print them."""
    lines = [f"model version {model.version} ({model.source}: {model.name}), {model.status}"]
    if model.status != "ready":
        return [*lines, model.message or ""]
    metrics = model.metrics
    lines.append(
        f"learned from {model.rows} rows, {model.positives} positive ({model.target} = {model.positive}); "
        f"algorithm: {model.algorithm}, {metrics.get('calibration_method')} calibration"
    )
    split = "later" if metrics.get("split") == "time" else "held-out (stratified)"
    held, positives = metrics.get("validation_rows"), metrics.get("validation_positives")
    lines.append(
        f"measured on the {split} {held} rows, {positives} positive (base rate "
        f"{_share(metrics.get('base_rate'))}), by a model trained on the other "
        f"{metrics.get('training_rows')}:"
    )
    lines.append(f"  AUC {_figure(metrics.get('auc'))}")
    for key, label in (("top10", "top 10 %"), ("top20", "top 20 %")):
        top = metrics.get(key) or {}
        lines.append(
            f"  {label}: {top.get('hits')} hits in {top.get('rows')} rows, hit rate "
            f"{_share(top.get('hit_rate'))}, {_share(top.get('capture'))} of the positives, "
            f"lift {_figure(top.get('lift'), 2)}"
        )
    candidates = metrics.get("candidates") or {}
    if candidates:
        compared = ", ".join(f"{name} {_figure(figures.get('auc'))}" for name, figures in candidates.items())
        lines.append(f"  candidates' AUC when choosing: {compared}")
    if calibration:
        lines.append("  calibration (rows by predicted probability, in tenths):")
        lines.append("    rows  predicted  observed")
        for group in metrics.get("calibration") or []:
            lines.append(
                f"    {group['rows']:>4}  {_share(group['predicted']):>9}  {_share(group['observed']):>8}"
            )
    return lines


def _echo_lines(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)
