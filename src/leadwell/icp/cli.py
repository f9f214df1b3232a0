"""``leadwell icp apply | show | list | grade``: ideal client profiles from the command line."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from leadwell.auth.accounts import find_workspace
from leadwell.cli_common import (
    DatabaseUrl,
    Format,
    FormatOpt,
    WorkspaceOpt,
    emit,
    opened,
    reporting,
    require_workspace,
)
from leadwell.errors import InvalidInput
from leadwell.icp.definition import load_toml
from leadwell.icp.grading import GradeRun, grade_all
from leadwell.icp.store import apply_definition, get_icp, grade_counts, list_icps, version_document
from leadwell.icp.toml_text import to_toml
from leadwell.predict.icp_cli import add_commands

icp_app = typer.Typer(help="Ideal client profiles: criteria, grades A–F with reasons.", no_args_is_help=True)


class ShowFormat(StrEnum):
    toml = "toml"
    json = "json"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{grade} {count}" for grade, count in counts.items())


def _ran(run: GradeRun, seconds: float) -> str:
    return f"graded {run.graded} contacts in {seconds:.2f}s: {_counts(run.counts)}" + (
        f" ({run.changed} changed grade)" if run.changed else ""
    )


def _read(file: Path) -> str:
    if not file.is_file():
        raise InvalidInput(f"FILE: {file} does not exist or is not a file", field="file")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"FILE: {file} is not UTF-8 text", field="file") from None


@icp_app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="The profile as TOML (see docs/icp.md).")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a profile (or a new version of it, when FILE differs), then grade every contact."""
    with reporting(), opened(database_url) as db:
        definition = load_toml(_read(file))
        with db.session() as session:
            workspace_id = find_workspace(session, require_workspace(workspace)).id
            applied = apply_definition(session, workspace_id, definition)
            started = time.perf_counter()
            run = grade_all(session, workspace_id, applied.icp)
        typer.echo(f"{applied.icp.slug}: version {applied.version} ({applied.outcome})")
        typer.echo(_ran(run, time.perf_counter() - started))


@icp_app.command("show")
def show(
    slug: Annotated[str, typer.Argument(help="The profile's slug.")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    version: Annotated[int | None, typer.Option(min=1, help="Which version (default: current).")] = None,
    output: Annotated[ShowFormat, typer.Option("--format", help="toml or json.")] = ShowFormat.toml,
) -> None:
    """Print a profile's definition, as applied (defaults filled in)."""
    with reporting(), opened(database_url) as db, db.session() as session:
        workspace_id = find_workspace(session, require_workspace(workspace)).id
        icp = get_icp(session, workspace_id, slug)
        document = version_document(session, icp.id, version or icp.current_version)
    if output is ShowFormat.json:
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        typer.echo(to_toml(document), nl=False)


@icp_app.command("list")
def list_(
    database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None, output: FormatOpt = Format.table
) -> None:
    """Profiles of --workspace with their current version and how many contacts have each grade."""
    with reporting(), opened(database_url) as db:
        with db.session() as session:
            workspace_id = find_workspace(session, require_workspace(workspace)).id
            rows = [
                {"slug": icp.slug, "name": icp.name, "version": icp.current_version}
                | grade_counts(session, workspace_id, icp.id)
                for icp in list_icps(session, workspace_id)
            ]
        emit(rows, output)


@icp_app.command("grade")
def grade(
    slug: Annotated[str | None, typer.Argument(help="One profile (default: every one).")] = None,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Grade every contact of --workspace again, for one profile or all of them."""
    with reporting(), opened(database_url) as db:
        with db.session() as session:
            workspace_id = find_workspace(session, require_workspace(workspace)).id
            chosen = [get_icp(session, workspace_id, slug)] if slug else list_icps(session, workspace_id)
            slugs = [icp.slug for icp in chosen]
        if not slugs:
            typer.echo("no profiles in this workspace: add one with `leadwell icp apply FILE.toml`")
        for name in slugs:
            started = time.perf_counter()
            # One transaction per profile: a large workspace never holds one open for all of them.
            with db.session() as session:
                run = grade_all(session, workspace_id, get_icp(session, workspace_id, name), db.engine)
            typer.echo(f"{name} (version {run.version}): {_ran(run, time.perf_counter() - started)}")


add_commands(icp_app)  # suggest, backtest (leadwell.predict)
