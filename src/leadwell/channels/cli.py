"""``leadwell channel …`` (list, add, map, unmapped) and ``leadwell spend …`` (import, add, list).
Exit codes: 0 done, 1 failed, 2 bad input (the message names the line, column or option)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from leadwell.channels import ledger, service
from leadwell.channels.catalog import ensure_channels
from leadwell.channels.spend_import import import_spend
from leadwell.channels.values import parse_amount, parse_date
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
from leadwell.db.models import Workspace
from leadwell.errors import InvalidInput

channel_app = typer.Typer(help="Channels and the source keys that mean them.", no_args_is_help=True)
spend_app = typer.Typer(
    help="What channels cost: import ad exports, type spend in, list it.", no_args_is_help=True
)


class Platform(StrEnum):
    meta = "meta"
    google = "google"
    linkedin = "linkedin"
    generic = "generic"


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise InvalidInput(f"{option}: {text!r} is not a date (YYYY-MM-DD)", option.lstrip("-")) from None


@channel_app.command("list")
def channel_list(
    database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None, output: FormatOpt = Format.table
) -> None:
    """Every channel with its kind, source keys and campaigns."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            ensure_channels(session, workspace_id)
            rows = [
                {"name": view.name, "kind": view.kind, "sources": " ".join(view.keys),
                 "campaigns": "; ".join(c.name for c in view.campaigns)}
                for view in service.list_channels(session, workspace_id)
            ]  # fmt: skip
    emit(rows, output)


@channel_app.command("add")
def channel_add(
    name: Annotated[str, typer.Argument(help="The channel's name, like 'Podcast ads'.")],
    kind: Annotated[
        str,
        typer.Option(
            help="paid_social, paid_search, email, events, referral, affiliate, organic, direct, "
            "list or other."
        ),
    ] = "other",
    source: Annotated[
        list[str] | None, typer.Option("--source", help="A source key that means this channel (repeatable).")
    ] = None,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a channel, with source keys."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            ensure_channels(session, workspace_id)
            channel = service.create_channel(session, workspace_id, name, kind, tuple(source or ()))
            typer.echo(f"channel {channel.name} ({channel.kind})")


@channel_app.command("map")
def channel_map(
    key: Annotated[str, typer.Argument(help="The source key (a utm_source or a contact's source).")],
    channel: Annotated[str, typer.Argument(help="The channel's name.")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Map a source key to a channel."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            ensure_channels(session, workspace_id)
            found = service.channel_named(session, workspace_id, channel)
            mapped = service.add_source(session, workspace_id, found.id, key)
            typer.echo(f"{mapped.key} → {found.name}")


@channel_app.command("unmapped")
def channel_unmapped(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many keys.")] = 50,
    output: FormatOpt = Format.table,
) -> None:
    """Source keys people arrived with that no channel maps, most contacts first."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            ensure_channels(session, workspace_id)
            found = service.unmapped_sources(session, workspace_id, limit)
    emit([{"key": item.key, "contacts": item.contacts} for item in found], output)


@spend_app.command("import")
def spend_import(
    file: Annotated[Path, typer.Argument(help="The CSV (or TSV) export.")],
    platform: Annotated[
        Platform | None, typer.Option(help="Force the layout instead of detecting it.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and check, store nothing.")] = False,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Import spend from a Meta, Google Ads, LinkedIn or generic export; importing it again replaces."""
    with reporting(), opened(database_url) as db:
        try:
            content = file.read_bytes()
        except OSError as error:
            raise InvalidInput(f"FILE: cannot read {str(file)!r}: {error.strerror}", "file") from None
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            summary = import_spend(
                session, workspace_id, content, platform.value if platform else None, dry_run
            )
    for line in summary.lines():
        typer.echo(line)


@spend_app.command("add")
def spend_add(
    channel: Annotated[str, typer.Option(help="The channel's name.")],
    amount: Annotated[str, typer.Option(help="How much, like 1500 or 1,500.00.")],
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code; default the workspace's.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day (default: the first).")] = None,
    campaign: Annotated[str | None, typer.Option(help="The campaign (created when new).")] = None,
    description: Annotated[str, typer.Option(help="What it was, like 'speaking fee'.")] = "",
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Type in spend: a speaking fee, an agency retainer, a sponsorship."""
    with reporting(), opened(database_url) as db:
        try:
            value = parse_amount(amount)
        except ValueError:
            value = None
        if value is None:
            raise InvalidInput(f"--amount: {amount!r} is not an amount", "amount")
        first, last = _day(start, "--from"), _day(end, "--to")
        assert first is not None
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            ensure_channels(session, workspace_id)
            found = service.channel_named(session, workspace_id, channel, "--channel")
            campaign_id = (
                service.campaign_for(session, workspace_id, found.id, campaign).id if campaign else None
            )
            code = currency or session.get_one(Workspace, workspace_id).currency
            given = service.SpendInput(found.id, Decimal(value), code, first, last, campaign_id, description)
            spend = service.add_spend(session, workspace_id, given)
            typer.echo(f"spend {spend.id}: {found.name} {spend.currency} {spend.amount:,.2f} "
                       f"{spend.spent_from}–{spend.spent_to}")  # fmt: skip


@spend_app.command("list")
def spend_list(
    start: Annotated[str | None, typer.Option("--from", help="Rows ending on or after this day.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Rows starting on or before this day.")] = None,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    output: FormatOpt = Format.table,
) -> None:
    """Spend rows overlapping the range, oldest first."""
    with reporting(), opened(database_url) as db:
        since, until = _day(start, "--from"), _day(end, "--to")
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            lines = ledger.list_spend(session, workspace_id, since, until)
    emit([line.as_dict() for line in lines], output)
