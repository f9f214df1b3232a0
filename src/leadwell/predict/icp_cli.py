"""``leadwell icp suggest`` and ``leadwell icp backtest``: the rules the wins suggest, and how well
the profiles, the engagement scores and the models would have ranked the leads of a past period."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from leadwell.cli_common import DatabaseUrl, Format, WorkspaceOpt, emit, opened, reporting, workspace_id_of
from leadwell.errors import InvalidInput

if TYPE_CHECKING:
    from leadwell.predict.backtest import Backtest
    from leadwell.predict.suggest import Suggestion

# The mining and backtest modules (numpy, scikit-learn) are imported when a command runs, so that
# every other ``leadwell`` command starts without them.

MAX_FILE_BYTES = 500 * 1024 * 1024


class Output(StrEnum):
    text = "text"
    csv = "csv"
    json = "json"


FromOpt = Annotated[
    Path | None,
    typer.Option("--from", help="Mine a CSV file instead of the workspace (needs --target and --positive)."),
]
TargetOpt = Annotated[str | None, typer.Option("--target", help="The file's outcome column.")]
PositiveOpt = Annotated[str | None, typer.Option("--positive", help="The outcome value that is a win.")]
IdOpt = Annotated[
    list[str], typer.Option("--id-column", help="A column to leave out (an id, a name); repeat.")
]
NumericOpt = Annotated[list[str], typer.Option("--numeric", help="Read this column as numbers; repeat.")]
CategoricalOpt = Annotated[
    list[str], typer.Option("--categorical", help="Read this column as categories; repeat.")
]
TopOpt = Annotated[int, typer.Option("--top", min=1, max=100, help="How many rules to show.")]
ConditionsOpt = Annotated[int, typer.Option("--max-conditions", min=1, max=3, help="Conditions per rule.")]
SupportOpt = Annotated[
    float, typer.Option("--min-support", min=0.0, max=1.0, help="Least share of leads a rule matches.")
]
OutputOpt = Annotated[Output, typer.Option("--format", help="text, csv or json.")]
ProfileFieldsOpt = Annotated[
    bool,
    typer.Option(
        "--profile-fields", help="Only columns a profile can test: who they are, not what they did."
    ),
]
DateOpt = Annotated[str | None, typer.Option(help="A date, YYYY-MM-DD (UTC).")]


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise InvalidInput(f"--from: {path} does not exist or is not a file", field="file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput(f"--from: {path} is larger than {MAX_FILE_BYTES // 2**20} MB", field="file")
    return path.read_bytes()


def _emit_suggestion(suggestion: Suggestion, output: Output) -> None:
    from leadwell.predict.suggest import report_lines as suggestion_lines
    from leadwell.predict.suggest import rule_record

    if output is Output.text:
        for line in suggestion_lines(suggestion):
            typer.echo(line)
        return
    rows = [rule_record(rank, rule) for rank, rule in enumerate(suggestion.mined.rules, start=1)]
    emit(rows, Format.json if output is Output.json else Format.csv)


def suggest(
    source: FromOpt = None,
    target: TargetOpt = None,
    positive: PositiveOpt = None,
    id_column: IdOpt = [],  # noqa: B006 (Typer reads the default; it is never mutated)
    numeric: NumericOpt = [],  # noqa: B006
    categorical: CategoricalOpt = [],  # noqa: B006
    top: TopOpt = 10,
    max_conditions: ConditionsOpt = 3,
    min_support: SupportOpt = 0.02,
    profile_fields: ProfileFieldsOpt = False,
    output: OutputOpt = Output.text,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Rules of at most three conditions that tell wins from other outcomes, most useful first:
    from the workspace's won and lost contacts, or from a CSV file with --from."""
    from leadwell.predict.rules import MiningOptions
    from leadwell.predict.suggest import suggest_from_csv, suggest_from_workspace

    options = MiningOptions(max_conditions=max_conditions, top=top, min_support=min_support)
    with reporting():
        if source is not None:
            if profile_fields:
                raise InvalidInput(
                    "--profile-fields: for the workspace; a file's columns are its own", "from"
                )
            if target is None or positive is None:
                raise InvalidInput(
                    "--target: with --from, say the outcome column and its win value", "target"
                )
            content = _read(source)
            suggestion = suggest_from_csv(
                content,
                source.name,
                target,
                positive,
                id_columns=id_column,
                numeric=numeric,
                categorical=categorical,
                options=options,
            )
        else:
            if target is not None or positive is not None or id_column or numeric or categorical:
                raise InvalidInput("--from: --target, --positive and column options are for a file", "from")
            with opened(database_url) as db:
                workspace_id = workspace_id_of(db, workspace)
                with db.session() as session:
                    suggestion = suggest_from_workspace(session, workspace_id, options, profile_fields)
    _emit_suggestion(suggestion, output)


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(text.strip()), time(), UTC)
    except ValueError:
        raise InvalidInput(
            f"{option}: {text[:40]!r} is not a date (write YYYY-MM-DD)", field=option
        ) from None


def _emit_backtest(result: Backtest, output: Output) -> None:
    from leadwell.predict.backtest import report_lines

    if output is Output.text:
        for line in report_lines(result):
            typer.echo(line)
        return
    emit([method.record() for method in result.methods], Format.json if output is Output.json else Format.csv)


def backtest_command(
    since: DateOpt = None,
    until: DateOpt = None,
    output: OutputOpt = Output.text,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """How the profiles' grades, the engagement score and each model would have ranked the leads
    open at --since, and what share of the wins up to --until sat in each one's top 10 % and 20 %."""
    from leadwell.predict.backtest import backtest, default_period

    with reporting():
        start, end = default_period(_moment(since, "--since"), _moment(until, "--until"))
        with opened(database_url) as db:
            workspace_id = workspace_id_of(db, workspace)
            with db.session() as session:
                result = backtest(session, workspace_id, start, end)
    _emit_backtest(result, output)


def add_commands(app: typer.Typer) -> None:
    """Register ``suggest`` and ``backtest`` on the ``leadwell icp`` app."""
    app.command("suggest")(suggest)
    app.command("backtest")(backtest_command)
