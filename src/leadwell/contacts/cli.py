"""``leadwell import contacts``, ``leadwell export contacts`` and ``leadwell export audience``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from leadwell.auth.accounts import find_workspace
from leadwell.cli_common import DatabaseUrl, WorkspaceOpt, opened, reporting, require_workspace
from leadwell.config import load_settings
from leadwell.contacts.export import export_contacts
from leadwell.contacts.importing.pipeline import ImportOptions, ImportSummary, import_file, write_issues_csv
from leadwell.db.session import stored_secret_key
from leadwell.errors import InvalidInput
from leadwell.icp.audience_export import Platform, export_audience
from leadwell.icp.store import get_icp, list_icps
from leadwell.ids import IdCodec

import_app = typer.Typer(help="Bring data in.", no_args_is_help=True)
export_app = typer.Typer(help="Take data out.", no_args_is_help=True)
PROGRESS_FROM_BYTES = 256 * 1024  # about a few thousand rows: below this a bar only flickers


def _print_summary(summary: ImportSummary, shown: int = 20) -> None:
    mode = "dry run: nothing was stored" if summary.dry_run else f"import {summary.import_id}"
    typer.echo(f"{summary.file_name}: {summary.format}, {summary.profile} layout ({mode})")
    if summary.resumed_after_line:
        typer.echo(f"  resumed after line {summary.resumed_after_line}")
    for name, value in summary.counts().items():
        if name != "resumed_after_line":
            typer.echo(f"  {name.replace('_', ' ')}: {value}")
    for issue in summary.issues[:shown]:
        where = f"line {issue.line}" + (f", column {issue.column!r}" if issue.column else "")
        typer.echo(f"  {issue.severity}: {where}: {issue.reason}")
    if len(summary.issues) > shown:
        typer.echo(f"  … and {len(summary.issues) - shown} more (use --errors FILE.csv for all)")


@import_app.command("contacts")
def import_contacts(
    file: Annotated[Path, typer.Argument(help="CSV, TSV or XLSX file.", exists=False)],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="'Source Column=field' (repeatable).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="List name recorded as each contact's source.")] = None,
    default_region: Annotated[
        str | None, typer.Option(help="Country for phones without +code, e.g. US.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read and check everything, store nothing.")
    ] = False,
    errors: Annotated[Path | None, typer.Option(help="Write rejected and doubtful rows to this CSV.")] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet (default: the first).")] = None,
    output: Annotated[str, typer.Option("--format", help="table or json summary.")] = "table",
) -> None:
    """Import people from a file: mapped, cleaned, matched to who is already there. Safe to re-run."""
    options = ImportOptions(source, default_region, tuple(map_ or ()), dry_run, sheet)
    with reporting(), opened(database_url) as db:
        if not file.is_file():
            raise InvalidInput(f"FILE: {file} does not exist or is not a file", field="file")
        with db.session() as session:
            workspace_id = find_workspace(session, require_workspace(workspace)).id
        show = file.stat().st_size >= PROGRESS_FROM_BYTES and sys.stderr.isatty()
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not show,
        ) as bar:
            task = bar.add_task("0 rows", total=None)
            summary = import_file(
                db,
                workspace_id,
                file,
                options,
                progress=lambda rows: bar.update(task, description=f"{rows:,} rows"),
            )
        if errors is not None:
            write_issues_csv(errors, summary.issues)
    if output == "json":
        typer.echo(
            json.dumps(
                {
                    "import_id": summary.import_id,
                    "dry_run": summary.dry_run,
                    "format": summary.format,
                    "profile": summary.profile,
                    "mapping": summary.mapping,
                    **summary.counts(),
                },
                indent=2,
            )
        )
    else:
        _print_summary(summary)


@export_app.command("contacts")
def export_contacts_command(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write ('-' for standard output).")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    icp: Annotated[
        str | None, typer.Option("--icp", help="Profile whose fit columns to add (default: first by slug).")
    ] = None,
) -> None:
    """Every contact of --workspace with every field, custom fields and fit included, as CSV."""
    with reporting(), opened(database_url) as db:
        settings = load_settings(database_url=database_url)
        secret = settings.secret_key.get_secret_value() if settings.secret_key else stored_secret_key(db)
        assert secret is not None
        with db.session() as session:
            workspace_id = find_workspace(session, require_workspace(workspace)).id
            connection = session.connection()
            if str(out) == "-":
                count = export_contacts(connection, IdCodec(secret), workspace_id, sys.stdout, icp)
            else:
                with out.open("w", newline="", encoding="utf-8") as handle:
                    count = export_contacts(connection, IdCodec(secret), workspace_id, handle, icp)
    if str(out) != "-":
        typer.echo(f"{count} contacts written to {out}")


@export_app.command("audience")
def export_audience_command(
    platform: Annotated[str, typer.Option("--platform", help="meta or linkedin.")],
    out: Annotated[
        Path,
        typer.Option("--out", help="File prefix: writes PREFIX-targeting.json, -seed.csv, -exclude.csv."),
    ],
    icp: Annotated[
        str | None, typer.Option("--icp", help="Profile to target (default: first by slug).")
    ] = None,
    default_region: Annotated[
        str | None, typer.Option("--default-region", help="Country of phone numbers without +code.")
    ] = None,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """A targeting spec from the profile's avatar, a hashed lookalike seed of its A-grade customers,
    and a hashed exclusion list of customers and qualified-out contacts."""
    with reporting(), opened(database_url) as db, db.session() as session:
        if platform not in ("meta", "linkedin"):
            raise InvalidInput(f"--platform: {platform!r} is not meta or linkedin", field="--platform")
        workspace_id = find_workspace(session, require_workspace(workspace)).id
        profiles = list_icps(session, workspace_id)
        if icp is None and not profiles:
            raise InvalidInput("--icp: this workspace has no profile yet (leadwell icp apply)", field="--icp")
        profile = get_icp(session, workspace_id, icp) if icp else profiles[0]
        chosen = cast(Platform, platform)
        files = export_audience(session, workspace_id, profile, chosen, out, default_region)
    typer.echo(f"targeting spec: {files.targeting}")
    typer.echo(f"lookalike seed: {files.seed} ({files.seed_rows} A-grade customers)")
    typer.echo(f"exclusion list: {files.exclude} ({files.exclude_rows} customers and qualified out)")
    for issue in files.issues[:20]:
        typer.echo(f"  skipped: {issue}", err=True)
    if len(files.issues) > 20:
        typer.echo(f"  … and {len(files.issues) - 20} more", err=True)
