"""The printable report: one self-contained HTML document (no script, no external file) holding the
marketing assessment and the reports behind it, each chart turned into inline SVG with vl-convert
from the very specification the page draws. It prints on A4 or Letter with a page break between
reports, and can be mailed or archived as it is."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import vl_convert
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from leadwell.db.models import Workspace
from leadwell.db.types import utcnow
from leadwell.reports.catalog import REPORTS
from leadwell.reports.query import ATTRIBUTION_MODELS, ReportQuery
from leadwell.reports.table import Report, format_value

ASSESSMENT = ("assessment", "outcomes", "funnel", "cohorts", "attribution")
# Pages are drawn at this width; the page width is "container" in the browser, unknown on paper.
CHART_WIDTH = 640
# Attributes that could fetch something: none may point outside the document.
_EXTERNAL = re.compile(r"""\s(?:xlink:)?href="(?!#)[^"]*\"""")

STYLE = """
body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24;
  max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { font-size: 1.3rem; margin-top: 0; }
.meta, .about, .notes { color: #5b6470; } .notes { font-size: .9em; }
table { border-collapse: collapse; width: 100%; margin: .8rem 0; font-size: .9em; }
th, td { border-bottom: 1px solid #d5d9de; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f4f6; } .number { text-align: right; font-variant-numeric: tabular-nums; }
.chart { margin: .8rem 0; } .chart svg { max-width: 100%; height: auto; }
section.report { padding-top: 1rem; border-top: 2px solid #1b1f24; margin-top: 2rem; }
@page { margin: 15mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  section.report { break-before: page; page-break-before: always; border-top: 0; margin-top: 0; }
  section.report:first-of-type { break-before: auto; page-break-before: auto; }
  tr, .chart { break-inside: avoid; page-break-inside: avoid; }
}
"""


TEMPLATES = Path(__file__).parent.parent / "web" / "templates" / "reports"
_ENVIRONMENT = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))


def chart_svg(spec: dict[str, Any]) -> Markup:
    """``spec`` drawn as inline SVG: a fixed width instead of the page's "container", no $schema
    URL, and no link out of the document (vl-convert adds none; this keeps it so)."""
    fixed = copy.deepcopy(spec)
    fixed.pop("$schema", None)
    if fixed.get("width") == "container":
        fixed["width"] = CHART_WIDTH
    fixed.pop("autosize", None)
    svg = vl_convert.vegalite_to_svg(fixed)
    # The XML prolog is not allowed inside HTML; the namespaces are not needed there either.
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    svg = re.sub(r'\s+xmlns(?::xlink)?="[^"]*"', "", svg)
    return Markup(_EXTERNAL.sub("", svg))  # noqa: S704 - vl-convert's own SVG, data escaped by vega


def _cells(report: Report) -> list[list[tuple[str, str]]]:
    return [
        [
            (format_value(c, row.get(c.key), report.currency), "" if c.kind == "text" else "number")
            for c in report.columns
        ]
        for row in report.rows
    ]


def printable_html(session: Session, query: ReportQuery, names: tuple[str, ...] = ASSESSMENT) -> str:
    """The reports ``names`` for ``query`` as one self-contained, printable HTML document."""
    workspace = session.get(Workspace, query.workspace_id)
    workspace_name = workspace.name if workspace is not None else "leadwell"
    built = []
    for name in names:
        definition = REPORTS[name]
        report = definition.build(session, query)
        built.append((report, [chart_svg(spec) for spec in report.charts], _cells(report)))
    title = f"{REPORTS[names[0]].title if names else 'Reports'}: {workspace_name}"
    return _ENVIRONMENT.get_template("printable.html").render(
        title=title,
        style=Markup(STYLE),  # noqa: S704 - a constant of this module
        query=query,
        model=ATTRIBUTION_MODELS[query.attribution],
        generated=utcnow().strftime("%-d %b %Y %H:%M"),
        reports=built,
        abouts={name: definition.about for name, definition in REPORTS.items()},
    )
