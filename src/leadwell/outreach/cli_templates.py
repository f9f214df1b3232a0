"""``leadwell outreach templates …``: list and show templates, check and apply TOML files, preview
one for a contact. Exit codes: 0 done, 1 failed, 2 bad input (a template problem included)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from leadwell.cli_common import (
    ArchivedOpt,
    DatabaseUrl,
    Format,
    FormatOpt,
    WorkspaceOpt,
    emit,
    opened,
    reporting,
    settings_for,
    workspace_id_of,
)
from leadwell.errors import InvalidInput
from leadwell.outreach import template_defs as defs
from leadwell.outreach import template_preview as previews
from leadwell.outreach.template_toml import template_toml, to_toml

templates_app = typer.Typer(help="Email templates and their variants.", no_args_is_help=True)
FileArg = Annotated[Path, typer.Argument(help="The template as TOML (see docs/outreach.md).")]


def _read(file: Path) -> str:
    if not file.is_file():
        raise InvalidInput(f"FILE: {file} does not exist or is not a file", field="file")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"FILE: {file} is not UTF-8 text", field="file") from None


def _refuse(error: defs.TemplateRefused) -> NoReturn:
    """Every problem on its own line, then exit 2."""
    for problem in error.problems:
        typer.echo(f"error: {problem}", err=True)
    raise typer.Exit(2)


@templates_app.command("list")
def list_command(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    archived: ArchivedOpt = False,
    output: FormatOpt = Format.table,
) -> None:
    """Templates with their number of variants, most recently changed first."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            rows = [
                {
                    "slug": row.slug,
                    "name": row.name,
                    "variants": row.variants,
                    "updated_at": row.updated_at.isoformat(timespec="seconds"),
                    "archived": row.archived,
                }
                for row in defs.list_templates(session, workspace_id, archived)
            ]
    emit(rows, output)


@templates_app.command("show")
def show(slug: str, database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None) -> None:
    """Print a template as TOML (what `apply` reads back)."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            template = defs.get_template(session, workspace_id, slug)
            text = to_toml(template, defs.variants_of(session, template.id))
    typer.echo(text, nl=False)


@templates_app.command("check")
def check(file: FileArg) -> None:
    """Check a TOML template without storing it: every problem with its variant, part and line."""
    with reporting():
        data = template_toml(_read(file))
        try:
            defs.clean_variants(data.variants)
        except defs.TemplateRefused as error:
            _refuse(error)
        typer.echo(f"{file}: {len(data.variants)} variant(s), no problems")


@templates_app.command("apply")
def apply(file: FileArg, database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None) -> None:
    """Create the template the TOML file describes, or change it when its slug exists."""
    with reporting(), opened(database_url) as db:
        data = template_toml(_read(file))
        workspace_id = workspace_id_of(db, workspace)
        try:
            with db.session() as session:
                template, created = defs.apply_template(session, workspace_id, data)
                slug = template.slug
        except defs.TemplateRefused as error:
            _refuse(error)
        typer.echo(f"{slug}: {'created' if created else 'updated'}")


@templates_app.command("preview")
def preview(
    slug: str,
    contact: Annotated[str, typer.Option("--contact", help="The contact's email address.")],
    variant: Annotated[str, typer.Option("--variant", help="Variant key (default: the contact's).")] = "",
    mailbox: Annotated[str, typer.Option("--mailbox", help="Sending mailbox slug (default: first).")] = "",
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print the subject and text a contact would receive, with warnings for empty fields."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        public_url = settings_for(database_url).public_url
        with db.session() as session:
            template = defs.get_template(session, workspace_id, slug)
            person = previews.contact_by_email(session, workspace_id, contact)
            variants = defs.variant_inputs(defs.variants_of(session, template.id))
            key = variant.strip().lower() or previews.chosen_key(session, template.id, person)
            if key not in {given.key for given in variants}:
                raise InvalidInput(f"--variant: the template has no variant {key!r}", field="variant")
            sender = previews.sender_of(session, workspace_id, mailbox)
            context = previews.preview_context(session, workspace_id, person, sender, public_url)
            result = previews.preview_variant(previews.variant_of(variants, key), context)
    if result.rendered is None:
        for problem in result.problems:
            typer.echo(
                f"error: variants[{key}].{problem.part}: line {problem.line}: {problem.message}", err=True
            )
        raise typer.Exit(2)
    text = result.rendered.text.rstrip("\n")
    typer.echo(f"Variant: {key}\nSubject: {result.rendered.subject}\n\n{text}")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
