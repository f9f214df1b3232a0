"""``leadwell report NAME``: any report of the catalog for a range of days, as an aligned table, CSV
or JSON (the numbers the page shows), or, with ``--format html`` or an ``.html`` out file, the
printable self-contained report. Exit codes: 0 done, 1 failed, 2 bad input (the message names the
report or parameter at fault)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from leadwell.cli_common import DatabaseUrl, WorkspaceOpt, opened, reporting, workspace_id_of
from leadwell.reports.catalog import REPORTS, report_def
from leadwell.reports.query import parse_query
from leadwell.reports.table import to_csv, to_json, to_text


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    html = "html"


def _format(chosen: ReportFormat | None, out: Path | None) -> ReportFormat:
    """The asked format; without one, HTML for an ``.html`` out file, else a table."""
    if chosen is not None:
        return chosen
    if out is not None and out.suffix.lower() in (".html", ".htm"):
        return ReportFormat.html
    return ReportFormat.table


def report(
    name: Annotated[str, typer.Argument(help=f"The report: {', '.join(REPORTS)}.")],
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default today).")] = None,
    attribution: Annotated[
        str | None, typer.Option(help="first_touch, last_touch, linear or position_based.")
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="channel, campaign, magnet, landing_page or grade.")
    ] = None,
    output: Annotated[
        ReportFormat | None,
        typer.Option("--format", help="table, csv, json, or html (the printable report)."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of printing.")] = None,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print a report for a range of days (default: the last 90 days ending today)."""
    chosen = _format(output, out)
    with reporting():
        definition = report_def(name)
        with opened(database_url) as db:
            workspace_id = workspace_id_of(db, workspace)
            query = parse_query(workspace_id, start=start, end=end, attribution=attribution, dimension=by)
            with db.session() as session:
                if chosen is ReportFormat.html:
                    from leadwell.reports.printable import ASSESSMENT, printable_html

                    # The assessment prints with the reports that back it; any other report alone.
                    names = ASSESSMENT if name == "assessment" else (name,)
                    text = printable_html(session, query, names=names)
                else:
                    built = definition.build(session, query)
                    render = {ReportFormat.csv: to_csv, ReportFormat.json: to_json}.get(chosen, to_text)
                    text = render(built)
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)
