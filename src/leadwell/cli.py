"""The ``leadwell`` command. Verbs mirror the service functions; exit 0 done, 1 failed, 2 bad input."""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer
from sqlalchemy import select

from leadwell.auth import accounts
from leadwell.capture.cli import capture_app
from leadwell.channels.cli import channel_app, spend_app
from leadwell.cli_common import (
    DatabaseUrl,
    Format,
    FormatOpt,
    WorkspaceOpt,
    emit,
    open_db,
    opened,
    reporting,
    require_workspace,
    settings_for,
)
from leadwell.contacts.cli import export_app, import_app
from leadwell.db.migrate import current_revision
from leadwell.db.models import ApiToken, Membership, User, Workspace
from leadwell.db.session import stored_secret_key
from leadwell.experiments.cli import experiment_app
from leadwell.icp.cli import icp_app
from leadwell.outreach.cli import outreach_app
from leadwell.predict.cli import model_app
from leadwell.reports.cli import report
from leadwell.sales.queue_cli import queue
from leadwell.scoring.cli import score_app

app = typer.Typer(
    help="leadwell: from a flood of contacts to qualified sales conversations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="People who log in.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (one per business).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(workspace_app, name="workspace")
app.add_typer(token_app, name="token")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(icp_app, name="icp")
app.add_typer(score_app, name="score")
app.add_typer(capture_app, name="capture")
app.add_typer(outreach_app, name="outreach")
app.add_typer(model_app, name="model")
app.add_typer(experiment_app, name="experiment")
app.add_typer(channel_app, name="channel")
app.add_typer(spend_app, name="spend")
app.command("queue")(queue)
app.command("report")(report)


@app.command()
def init(database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None) -> None:
    """Create or upgrade the schema; store a generated secret key; optionally create a workspace."""
    with reporting(), opened(database_url, migrate=True) as db:
        settings = settings_for(database_url)
        if settings.secret_key is None:
            stored_secret_key(db)
        if workspace:
            with db.session() as session:
                if session.scalar(select(Workspace.id).where(Workspace.slug == workspace)) is None:
                    accounts.create_workspace(session, workspace, slug=workspace)
        typer.echo(f"database ready at revision {current_revision(db)}: {db.engine.url.render_as_string()}")


@app.command()
def serve(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    host: Annotated[str | None, typer.Option(help="Listen address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default 8000).")] = None,
    run_worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Also run the background worker in this process (default); --no-worker when "
            "`leadwell worker` processes run separately.",
        ),
    ] = True,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request (default on).")
    ] = True,
) -> None:
    """Run the web app and API. On SQLite the schema is brought up to date first."""
    import gc

    import uvicorn

    from leadwell.web.app import create_app
    from leadwell.worker import WorkerThread

    with reporting():
        settings = settings_for(database_url, host=host, port=port)
        embedded = settings.database_url.startswith("sqlite")
        # The embedded default is one process and one file: migrating here keeps it one command.
        # On PostgreSQL, migrations are a deploy step (`leadwell init`), never a side effect of starting.
        db = open_db(database_url, migrate=embedded)
        application = create_app(settings, db)
    background = WorkerThread(db, settings=settings) if run_worker else None
    if background is not None:
        # The worker thread computes while the event loop mostly waits on sockets; a shorter switch
        # interval hands the interpreter back to the loop sooner after each wait.
        sys.setswitchinterval(0.001)
        background.start()
    # What start-up built lives as long as the process: keep it out of the collector's full sweeps,
    # which otherwise stall every request now and then.
    gc.freeze()
    typer.echo(f"leadwell serving on http://{settings.host}:{settings.port}  (Ctrl-C stops)")
    try:
        uvicorn.run(
            application,
            host=settings.host,
            port=settings.port,
            log_level="info",
            proxy_headers=False,
            access_log=access_log,
        )
    finally:
        if background is not None:
            background.stop()


@app.command()
def worker(
    database_url: DatabaseUrl = None,
    once: Annotated[bool, typer.Option("--once", help="Process what is pending, then exit.")] = False,
    batch: Annotated[
        int | None,
        typer.Option(min=1, max=10_000, help="Hits per transaction (default 500; 100 on SQLite)."),
    ] = None,
    idle: Annotated[
        float, typer.Option(min=0.05, max=60, help="Seconds to wait when nothing is pending.")
    ] = 1.0,
) -> None:
    """Run the background worker: turn tracking hits into events and send due emails, until stopped
    (Ctrl-C or SIGTERM)."""
    import signal

    from leadwell.worker import Worker

    with reporting(), opened(database_url) as db:
        runner = Worker(db, batch=batch, idle_seconds=idle, settings=settings_for(database_url))
        if once:
            done = runner.run_once()
            runner.close()
            typer.echo(
                f"{done.processed} hits processed, {done.failed} set aside, {done.events} events stored; "
                f"{runner.counts['outbox']} emails handled"
            )
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: runner.stop.set())
        typer.echo("leadwell worker running  (Ctrl-C stops)")
        runner.run()
        total = runner.total
        typer.echo(
            f"stopped: {total.processed} hits processed, {total.failed} set aside, {total.events} events; "
            f"{runner.counts['outbox']} emails handled"
        )


@app.command()
def demo(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 7,
    contacts: Annotated[int, typer.Option(min=10, max=200_000, help="How many contacts.")] = 3000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the web app afterwards.")
    ] = False,
) -> None:
    """Create a realistic demo workspace (idempotent: an existing one is kept) and print its login."""
    from leadwell.demo import DEMO_EMAIL, DEMO_PASSWORD, build_demo

    slug = workspace or "demo"
    with reporting(), opened(database_url, migrate=True) as db:
        with db.session() as session:
            exists = session.scalar(select(Workspace.id).where(Workspace.slug == slug)) is not None
        if exists:
            typer.echo(f"demo workspace {slug!r} already exists; keeping it")
        else:
            typer.echo(f"building demo workspace {slug!r} with {contacts} contacts (seed {seed})…")
            result = build_demo(db, seed=seed, contacts=contacts, slug=slug)
            typer.echo(
                f"  {result.contacts} contacts, {result.organizations} organizations, "
                f"{result.events} events, {result.deals} deals"
            )
    typer.echo(f"log in at http://127.0.0.1:8000 as {DEMO_EMAIL} / {DEMO_PASSWORD}")
    if serve_after:
        serve(database_url=database_url, workspace=workspace, host=None, port=None)


def _password(password: str | None) -> tuple[str, bool]:
    """The given password, a prompt on a terminal, or a generated one (printed once)."""
    if password:
        return password, False
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False
    return secrets.token_urlsafe(12), True


@user_app.command("add")
def user_add(
    email: str,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    role: Annotated[str, typer.Option(help="owner, marketer or sales.")] = "owner",
    password: Annotated[
        str | None,
        typer.Option(
            envvar="LEADWELL_USER_PASSWORD", help="Password; prompted on a terminal, generated otherwise."
        ),
    ] = None,
) -> None:
    """Create a user (or reuse an existing one) and give them ROLE in --workspace."""
    with reporting(), opened(database_url) as db, db.session() as session:
        user = accounts.find_user(session, email)
        generated = False
        if user is None:
            secret, generated = _password(password)
            user = accounts.create_user(session, email, secret, name)
        if workspace:
            accounts.add_member(session, accounts.find_workspace(session, workspace), user, role)
        typer.echo(f"user {user.email}" + (f" is {role} of {workspace}" if workspace else ""))
        if generated:
            typer.echo(f"generated password (shown once): {secret}")


@user_app.command("list")
def user_list(
    database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None, output: FormatOpt = Format.table
) -> None:
    """Users, with their role when --workspace is given."""
    with reporting(), opened(database_url) as db:
        with db.session() as session:
            if workspace:
                ws = accounts.find_workspace(session, workspace)
                pairs = session.execute(
                    select(User, Membership.role)
                    .join(Membership)
                    .where(Membership.workspace_id == ws.id)
                    .order_by(User.email)
                ).all()
                rows = [{"email": u.email, "name": u.name, "role": role} for u, role in pairs]
            else:
                users = session.scalars(select(User).order_by(User.email))
                rows = [
                    {"email": u.email, "name": u.name, "created_at": u.created_at.isoformat()} for u in users
                ]
        emit(rows, output)


@workspace_app.command("add")
def workspace_add(
    name: str,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    slug: Annotated[str | None, typer.Option(help="Short name for --workspace; derived from NAME.")] = None,
) -> None:
    """Create a workspace."""
    with reporting(), opened(database_url) as db, db.session() as session:
        created = accounts.create_workspace(session, name, slug or workspace)
        typer.echo(f"workspace {created.slug} ({created.name})")


@workspace_app.command("list")
def workspace_list(
    database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None, output: FormatOpt = Format.table
) -> None:
    """All workspaces."""
    with reporting(), opened(database_url) as db:
        with db.session() as session:
            found = session.scalars(select(Workspace).order_by(Workspace.slug))
            rows = [
                {"slug": w.slug, "name": w.name, "created_at": w.created_at.isoformat()}
                for w in found
                if not workspace or w.slug == workspace
            ]
        emit(rows, output)


@token_app.command("create")
def token_create(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="read and/or write (default both).")
    ] = None,
) -> None:
    """Create an API token for --workspace; the secret is printed once."""
    with reporting(), opened(database_url) as db:
        with db.session() as session:
            ws = accounts.find_workspace(session, require_workspace(workspace))
            _token, secret = accounts.create_token(session, ws, name, tuple(scope or accounts.SCOPES))
        typer.echo(secret)


@token_app.command("list")
def token_list(
    database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None, output: FormatOpt = Format.table
) -> None:
    """Tokens of --workspace (never their secrets)."""
    with reporting(), opened(database_url) as db:
        with db.session() as session:
            ws = accounts.find_workspace(session, require_workspace(workspace))
            tokens = session.scalars(
                select(ApiToken).where(ApiToken.workspace_id == ws.id).order_by(ApiToken.id)
            )
            rows = [
                {
                    "id": t.id,
                    "name": t.name,
                    "prefix": t.prefix,
                    "scopes": " ".join(t.scopes),
                    "revoked": bool(t.revoked_at),
                }
                for t in tokens
            ]
        emit(rows, output)


@token_app.command("revoke")
def token_revoke(token_id: int, database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None) -> None:
    """Revoke a token of --workspace by the id `token list` shows."""
    with reporting(), opened(database_url) as db:
        with db.session() as session:
            ws = accounts.find_workspace(session, require_workspace(workspace))
            accounts.revoke_token(session, ws.id, token_id)
        typer.echo(f"token {token_id} revoked")


def main() -> None:
    """Console entry point."""
    app()
