"""``leadwell score --recompute | apply | show | explain``: engagement scoring from the command line."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from leadwell.auth.accounts import find_workspace
from leadwell.cli_common import DatabaseUrl, WorkspaceOpt, opened, reporting, require_workspace, settings_for
from leadwell.db.session import Database, stored_secret_key
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound
from leadwell.ids import IdCodec
from leadwell.scoring.explain import explain, explanation_lines, find_contact
from leadwell.scoring.recompute import RecomputeRun, recompute
from leadwell.scoring.settings import Settings, from_document, parse_toml
from leadwell.scoring.store import apply_settings, current_settings, settings_version
from leadwell.scoring.toml_text import to_toml

score_app = typer.Typer(
    help="Engagement scoring: rules, decay and caps; rebuild every score from the event log.",
    invoke_without_command=True,
)


class ShowFormat(StrEnum):
    toml = "toml"
    json = "json"


def ran(run: RecomputeRun, version: int) -> str:
    """``rescored 1,000 contacts with settings version 2: 12,345 events scored in 1.23 s``."""
    return (
        f"rescored {run.contacts:,} contacts with settings version {version}: "
        f"{run.events_scored:,} events scored in {run.seconds:.2f} s"
    )


def _recompute(db: Database, workspace_id: int) -> str:
    # One transaction of its own: on PostgreSQL the work then runs in two halves on two connections.
    with db.session() as session:
        version, _ = current_settings(session, workspace_id)
        run = recompute(session, workspace_id, db.engine)
    return ran(run, version)


@score_app.callback()
def score(
    ctx: typer.Context,
    recompute_all: Annotated[
        bool, typer.Option("--recompute", help="Rebuild every contact's score from the event log.")
    ] = False,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Rebuild scores with --recompute, or apply, show and explain the scoring settings."""
    if ctx.invoked_subcommand is not None:
        return
    if not recompute_all:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    with reporting(), opened(database_url) as db:
        with db.session() as session:
            workspace_id = find_workspace(session, require_workspace(workspace)).id
        typer.echo(_recompute(db, workspace_id))


def _read(file: Path) -> Settings:
    if not file.is_file():
        raise InvalidInput(f"FILE: {file} does not exist or is not a file", field="file")
    try:
        content = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"FILE: {file} is not UTF-8 text", field="file") from None
    if file.suffix.lower() != ".json":
        return parse_toml(content)
    try:
        document = json.loads(content)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"settings: not valid JSON: {error}", field="settings") from None
    if not isinstance(document, dict):
        raise InvalidInput("settings: a JSON object is needed", field="settings")
    return from_document(document)


@score_app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="The settings as TOML (or .json); see docs/qualify.md.")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Make FILE the scoring settings (a new version when it differs), then rescore every contact."""
    with reporting(), opened(database_url) as db:
        settings = _read(file)
        with db.session() as session:
            workspace_id = find_workspace(session, require_workspace(workspace)).id
            applied = apply_settings(session, workspace_id, settings)
        typer.echo(f"scoring settings: version {applied.version} ({applied.outcome})")
        if applied.changed:
            typer.echo(_recompute(db, workspace_id))
        else:
            typer.echo("scores stay as they are")


@score_app.command("show")
def show(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    version: Annotated[
        int | None, typer.Option(min=0, help="Which version (default: the current one).")
    ] = None,
    output: Annotated[ShowFormat, typer.Option("--format", help="toml or json.")] = ShowFormat.toml,
) -> None:
    """Print the scoring settings as applied (defaults filled in; version 0 is the defaults)."""
    with reporting(), opened(database_url) as db, db.session() as session:
        workspace_id = find_workspace(session, require_workspace(workspace)).id
        if version is None:
            settings = current_settings(session, workspace_id)[1]
        else:
            settings = settings_version(session, workspace_id, version)
    if output is ShowFormat.json:
        typer.echo(json.dumps(settings.document, indent=2, ensure_ascii=False))
    else:
        typer.echo(to_toml(settings.document), nl=False)


def _codec(db: Database, database_url: str | None) -> IdCodec:
    configured = settings_for(database_url).secret_key
    secret = configured.get_secret_value() if configured else stored_secret_key(db, create=False)
    if secret is None:
        raise NotFound("contact: this database has no secret key yet, so no public ids", field="contact")
    return IdCodec(secret)


def _contact_id(db: Database, database_url: str | None, workspace_id: int, given: str) -> int:
    """The contact an email address or public id (as in the app's URLs) names."""
    codec = None if "@" in given else _codec(db, database_url)
    with db.session() as session:
        return find_contact(session, workspace_id, codec, given)


@score_app.command("explain")
def explain_(
    contact: Annotated[
        str, typer.Argument(help="The contact's id (ct_…, as in its page's address) or email.")
    ],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """A contact's score now, and every scored event with the points it earned and when."""
    with reporting(), opened(database_url) as db:
        with db.session() as session:
            workspace_id = find_workspace(session, require_workspace(workspace)).id
        contact_id = _contact_id(db, database_url, workspace_id, contact)
        with db.session() as session:
            found = explain(session, workspace_id, contact_id, utcnow())
    for line in explanation_lines(found):
        typer.echo(line)
