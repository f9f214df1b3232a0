"""The report pages: ``/reports`` lists every report, ``/reports/{name}`` shows one for a range of
days (with the attribution model and the dimension when they change it) and ``/reports/{name}.csv``
downloads its table. Everyone in the workspace may read them, salespeople included.

The form is a plain GET form, so a report's URL is its question and can be bookmarked or shared.
Charts travel as Vega-Lite JSON in ``<script type="application/json">`` and are drawn by
experiment_chart.js, under the same Content-Security-Policy as the experiment pages (no inline
script, no ``unsafe-eval``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from leadwell.errors import InvalidInput
from leadwell.experiments.page_common import CONTENT_POLICY
from leadwell.reports.catalog import REPORTS, ReportDef
from leadwell.reports.query import ATTRIBUTION_MODELS, DIMENSIONS, ReportQuery, parse_query
from leadwell.reports.table import Report, format_value, to_csv
from leadwell.web.deps import Page, PageScope
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
ACTIVE = "reports_index"


@dataclass(frozen=True)
class QuickRange:
    """A named range of days offered beside the date inputs."""

    key: str
    label: str
    start: date
    end: date


def quick_ranges(today: date) -> list[QuickRange]:
    """Last 30 and 90 days, this quarter and this year, each ending ``today``."""
    quarter = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    return [
        QuickRange("last_30", "Last 30 days", today - timedelta(days=29), today),
        QuickRange("last_90", "Last 90 days", today - timedelta(days=89), today),
        QuickRange("this_quarter", "This quarter", quarter, today),
        QuickRange("this_year", "This year", today.replace(month=1, day=1), today),
    ]


def query_params(query: ReportQuery, definition: ReportDef | None = None, **changes: Any) -> str:
    """The URL query string asking ``query`` again (with ``changes``): only the parameters the
    report reads, so a link never carries a switch that does nothing."""
    params: dict[str, Any] = {"from": query.start.isoformat(), "to": query.end.isoformat()}
    if definition is None or definition.uses_attribution:
        params["attribution"] = query.attribution
    if definition is None or definition.uses_dimension:
        params["by"] = query.dimension
    params.update(changes)
    return urlencode(params)


def csv_filename(name: str, query: ReportQuery) -> str:
    """``leadwell-<name>-<from>-<to>.csv``."""
    return f"leadwell-{name}-{query.start.isoformat()}-{query.end.isoformat()}.csv"


def _definition(name: str) -> ReportDef:
    definition = REPORTS.get(name)
    if definition is None:
        raise HTTPException(404, f"No report called {name!r}. The reports are: {', '.join(REPORTS)}.")
    return definition


def _query(request: Request, scope: PageScope) -> ReportQuery:
    params = request.query_params
    return parse_query(
        scope.workspace_id,
        start=params.get("from"),
        end=params.get("to"),
        attribution=params.get("attribution"),
        dimension=params.get("by"),
    )


def _secured(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = CONTENT_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _refused(request: Request, scope: PageScope, error: InvalidInput) -> HTMLResponse:
    """A 422 page naming the parameter at fault."""
    response = render(
        request, "error.html", status_code=422, scope=scope, active=ACTIVE, status=422, detail=error.detail
    )
    return _secured(response)


@router.get("/reports", name="reports_index")
def reports_index(request: Request, scope: Page) -> HTMLResponse:
    """Every report, what it answers, and a link to it."""
    listed = list(REPORTS.values())
    return _secured(render(request, "reports/index.html", scope=scope, active=ACTIVE, listed=listed))


def _built(
    request: Request, scope: PageScope, name: str
) -> tuple[ReportDef, ReportQuery, Report] | HTMLResponse:
    """The report ``name`` built for the asked range, model and dimension; a 422 page naming the
    parameter at fault; 404 for an unknown report."""
    definition = _definition(name)
    try:
        query = _query(request, scope)
    except InvalidInput as error:
        return _refused(request, scope, error)
    with scope.db.session() as session:
        return definition, query, definition.build(session, query)


@router.get("/reports/{name}.csv", name="report_csv")
def report_csv(request: Request, scope: Page, name: str) -> Response:
    """The report's table as CSV, a download named after the report and its range."""
    built = _built(request, scope, name)
    if isinstance(built, HTMLResponse):
        return built
    _, query, report = built
    disposition = f'attachment; filename="{csv_filename(name, query)}"'
    return Response(
        to_csv(report), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition}
    )


def _cells(report: Report) -> list[list[tuple[str, str]]]:
    """Each row's cells as (text, css class): numbers right-aligned."""
    return [
        [
            (
                format_value(column, row.get(column.key), report.currency),
                "" if column.kind == "text" else "number",
            )
            for column in report.columns
        ]
        for row in report.rows
    ]


@router.get("/reports/{name}", name="report_page")
def report_page(request: Request, scope: Page, name: str) -> HTMLResponse:
    """One report for the asked range, model and dimension: summary, charts, table and notes."""
    built = _built(request, scope, name)
    if isinstance(built, HTMLResponse):
        return built
    definition, query, report = built
    base = str(request.app.url_path_for("report_page", name=name))
    ranges = [
        (choice, f"{base}?{query_params(query, definition, **{'from': choice.start, 'to': choice.end})}")
        for choice in quick_ranges(query.now.date())
    ]
    csv_url = str(request.app.url_path_for("report_csv", name=name)) + "?" + query_params(query, definition)
    return _secured(
        render(
            request,
            "reports/report.html",
            scope=scope,
            active=ACTIVE,
            definition=definition,
            report=report,
            query=query,
            cells=_cells(report),
            ranges=ranges,
            csv_url=csv_url,
            models=ATTRIBUTION_MODELS,
            dimensions=DIMENSIONS,
        )
    )
