"""``leadwell capture …``: magnets with their numbers, forms and landing pages as data; adding a PDF
magnet; importing a webinar's attendance. Exit codes: 0 done, 1 failed, 2 bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import IntegrityError

from leadwell.capture.assets import AssetInput, Upload, create_asset, list_assets
from leadwell.capture.attendance import CONCURRENT, AttendanceSummary, import_attendance_file
from leadwell.capture.form_defs import list_forms
from leadwell.capture.page_defs import list_pages
from leadwell.capture.stats import PERIODS, magnet_numbers, since_of
from leadwell.cli_common import (
    ArchivedOpt,
    DatabaseUrl,
    Failure,
    Format,
    FormatOpt,
    WorkspaceOpt,
    codec_for,
    emit,
    opened,
    reporting,
    settings_for,
    workspace_id_of,
)
from leadwell.db.models import Asset, Form
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput

capture_app = typer.Typer(
    help="Lead magnets, forms, landing pages and webinar attendance.", no_args_is_help=True
)
PeriodOpt = Annotated[str, typer.Option("--period", help="Numbers over 30, 90 or 365 days, or all.")]


def _read_file(file: Path) -> bytes:
    if not file.is_file():
        raise InvalidInput(f"FILE: {file} does not exist or is not a file", field="file")
    return file.read_bytes()


def _summary_lines(summary: AttendanceSummary) -> list[str]:
    lines = [
        f"{summary.asset}: {summary.format} export, {summary.listed} people listed",
        f"matched {summary.matched}, created {summary.created}, attended {summary.attended}",
        f"events added {summary.events_added}" + ("" if summary.events_added else " (already imported)"),
    ]
    if summary.rejected:
        lines.append(f"rejected {len(summary.rejected)} rows:")
        lines.extend(f"  line {item.line}: {item.reason}" for item in summary.rejected)
    return lines


@capture_app.command("attendance")
def attendance(
    file: Annotated[
        Path, typer.Argument(help="The attendance export (Zoom, GoToWebinar, Teams, Webex, CSV).")
    ],
    asset: Annotated[str, typer.Option("--asset", help="The webinar's or seminar's slug.")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    output: Annotated[Format, typer.Option("--format", help="table (a summary) or json.")] = Format.table,
) -> None:
    """Import who registered for and attended a webinar or seminar; importing again adds nothing."""
    with reporting(), opened(database_url) as db:
        content = _read_file(file)
        workspace_id = workspace_id_of(db, workspace)
        codec = codec_for(db, database_url)
        try:
            with db.session() as session:
                summary = import_attendance_file(session, codec, workspace_id, asset, content, utcnow())
        except IntegrityError:
            raise Failure(CONCURRENT) from None
    if output is Format.json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        typer.echo("\n".join(_summary_lines(summary)))


def _magnet_row(asset: Asset, funnel: str) -> dict[str, Any]:
    return {
        "slug": asset.slug,
        "kind": asset.kind,
        "title": asset.title,
        "pages": asset.pages,
        "starts_at": asset.starts_at.isoformat() if asset.starts_at else None,
        "archived": asset.archived_at is not None,
        "numbers": funnel,
    }


@capture_app.command("magnets")
def magnets(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    period: PeriodOpt = "90",
    archived: ArchivedOpt = False,
    output: FormatOpt = Format.table,
) -> None:
    """Lead magnets with their numbers (viewed → submitted → downloaded → read), newest first."""
    with reporting(), opened(database_url) as db:
        if period not in PERIODS:
            raise InvalidInput(f"--period: one of {', '.join(PERIODS)}", field="--period")
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            assets = list_assets(session, workspace_id, archived)
            numbers = magnet_numbers(session, workspace_id, assets, since_of(period, utcnow()))
            rows = [
                _magnet_row(asset, " > ".join(f"{s.key} {s.count}" for s in numbers[asset.id]))
                for asset in assets
            ]
    emit(rows, output)


def _form_row(form: Form, gated: dict[int, str]) -> dict[str, Any]:
    return {
        "slug": form.slug,
        "name": form.name,
        "magnet": gated.get(form.asset_id) if form.asset_id else None,
        "fields": " ".join(str(item["key"]) for item in form.fields),
        "consent": "required" if form.consent_required else ("optional" if form.consent_text else "none"),
        "allowed_origins": " ".join(form.allowed_origins),
        "archived": form.archived_at is not None,
    }


@capture_app.command("forms")
def forms(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    archived: ArchivedOpt = False,
    output: FormatOpt = Format.table,
) -> None:
    """Forms with their fields, gated magnet, consent and allowed origins."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            gated = {asset.id: asset.slug for asset in list_assets(session, workspace_id, archived=True)}
            rows = [_form_row(form, gated) for form in list_forms(session, workspace_id, archived)]
    emit(rows, output)


@capture_app.command("pages")
def pages(
    database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None, output: FormatOpt = Format.table
) -> None:
    """Landing pages with their path, form and whether they are published."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            slugs = {form.id: form.slug for form in list_forms(session, workspace_id, archived=True)}
            rows = [
                {
                    "slug": page.slug,
                    "title": page.title,
                    "path": f"/p/{page.slug}",
                    "form": slugs.get(page.form_id) if page.form_id else None,
                    "published": page.published,
                }
                for page in list_pages(session, workspace_id)
            ]
    emit(rows, output)


@capture_app.command("magnet-add")
def magnet_add(
    file: Annotated[Path, typer.Argument(help="The PDF (or EPUB) to offer.")],
    title: Annotated[str, typer.Option("--title", help="The magnet's title.")],
    slug: Annotated[str | None, typer.Option("--slug", help="Its slug (default: from the title).")] = None,
    description: Annotated[str, typer.Option("--description", help="A short description.")] = "",
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add a PDF (or EPUB) lead magnet; prints its slug and page count."""
    with reporting(), opened(database_url) as db:
        content = _read_file(file)
        kind = "epub" if content.startswith(b"PK\x03\x04") else "pdf"
        limit = settings_for(database_url).max_upload_bytes
        workspace_id = workspace_id_of(db, workspace)
        data = AssetInput(kind, title, slug=slug or "", description=description)
        with db.session() as session:
            asset = create_asset(session, workspace_id, data, Upload(content, file.name), limit)
            pages_note = f", {asset.pages} pages" if asset.pages else ""
            typer.echo(f"{asset.slug}: {kind.upper()} {asset.size_bytes:,} bytes{pages_note}")
