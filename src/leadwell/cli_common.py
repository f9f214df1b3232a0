"""What every ``leadwell`` command shares: the database and workspace options, output formats,
and turning domain errors into messages and exit codes (0 done, 1 failed, 2 bad input)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from leadwell.auth.accounts import find_workspace
from leadwell.config import Settings, load_settings
from leadwell.db.migrate import current_revision, head_revision, upgrade
from leadwell.db.session import Database, stored_secret_key
from leadwell.errors import LeadwellError
from leadwell.ids import IdCodec

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="LEADWELL_DATABASE_URL",
        help="Database URL; default sqlite:///leadwell.db.",
        show_envvar=True,
    ),
]
WorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace", "-w", envvar="LEADWELL_WORKSPACE", help="Workspace slug (or id).", show_envvar=True
    ),
]


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]
ArchivedOpt = Annotated[bool, typer.Option("--archived", help="Include archived ones too.")]


class Failure(Exception):
    """A failure that is not the user's input: exit code 1."""


def fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def reporting() -> Iterator[None]:
    """Turn domain errors into messages and exit codes instead of tracebacks."""
    try:
        yield
    except LeadwellError as error:
        fail(error.detail, 2)
    except ValidationError as error:
        first = error.errors()[0]
        fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", 2)
    except (Failure, OperationalError) as error:
        fail(str(error).splitlines()[0], 1)


def settings_for(database_url: str | None, **overrides: Any) -> Settings:
    return load_settings(database_url=database_url, **overrides)


def open_db(database_url: str | None, migrate: bool = False) -> Database:
    """The configured database; refuses to touch one whose schema is missing or old unless migrating."""
    db = Database(settings_for(database_url).database_url)
    try:
        if migrate:
            upgrade(db)
        elif current_revision(db) != head_revision(db):
            raise Failure(
                f"the database {db.engine.url!r} is not initialised or is out of date: run `leadwell init`"
            )
    except BaseException:
        db.dispose()
        raise
    return db


@contextmanager
def opened(database_url: str | None, migrate: bool = False) -> Iterator[Database]:
    """:func:`open_db` for the length of one command, its connections closed afterwards."""
    db = open_db(database_url, migrate)
    try:
        yield db
    finally:
        db.dispose()


def require_workspace(workspace: str | None) -> str:
    if not workspace:
        raise LeadwellError("--workspace: say which workspace (slug), or set LEADWELL_WORKSPACE", "workspace")
    return workspace


def emit(rows: Sequence[dict[str, Any]], output: Format) -> None:
    """Print data rows as an aligned table, CSV or JSON."""
    if output is Format.json:
        typer.echo(json.dumps(list(rows), indent=2, default=str))
        return
    if not rows:
        if output is Format.table:
            typer.echo("(none)")
        return
    columns = list(rows[0])
    if output is Format.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        typer.echo(buffer.getvalue(), nl=False)
        return
    widths = {
        c: max(len(c), *(len(str(row[c] if row[c] is not None else "")) for row in rows)) for c in columns
    }
    typer.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        typer.echo("  ".join(str(row[c] if row[c] is not None else "").ljust(widths[c]) for c in columns))


def workspace_id_of(db: Database, workspace: str | None) -> int:
    """The id of the workspace named by ``--workspace`` (its slug), else a clear error."""
    with db.session() as session:
        return find_workspace(session, require_workspace(workspace)).id


def codec_for(db: Database, database_url: str | None) -> IdCodec:
    """The public-id codec of this installation: the configured secret, else the stored one."""
    configured = settings_for(database_url).secret_key
    secret = configured.get_secret_value() if configured else stored_secret_key(db)
    assert secret is not None  # created on first use
    return IdCodec(secret)
