"""The printable report is one self-contained document: no script, nothing fetched from anywhere,
every chart inline SVG, the reports' figures in its tables, a page break between reports."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

from leadwell.db.session import Database
from leadwell.reports.printable import ASSESSMENT, chart_svg, printable_html
from leadwell.reports.query import parse_query
from tests.reports.test_pages import seed

# Attributes through which a document fetches or links something.
LINKING = {"src", "href", "xlink:href", "srcset", "data", "action", "poster", "background"}


class Inventory(HTMLParser):
    """Every tag seen, every linking attribute's value, and the text of each <h2> and <td>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []
        self.headings: list[str] = []
        self.cells: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [value or "" for name, value in attrs if name in LINKING]
        self._open = tag if tag in ("h2", "td") else None

    def handle_data(self, data: str) -> None:
        if self._open == "h2":
            self.headings.append(data.strip())
        elif self._open == "td":
            self.cells.append(data.strip())
        self._open = None


def _printed(db: Database) -> tuple[str, Inventory]:
    seeded = seed(db)
    query = parse_query(seeded.workspace_id, start="2026-10-01", end="2026-10-31", attribution="first_touch")
    with db.session() as session:
        document = printable_html(session, query)
    inventory = Inventory()
    inventory.feed(document)
    return document, inventory


def test_the_document_is_self_contained(db: Database) -> None:
    document, inventory = _printed(db)
    assert "script" not in inventory.tags and "link" not in inventory.tags and "img" not in inventory.tags
    assert "iframe" not in inventory.tags and "object" not in inventory.tags
    assert all(not link or link.startswith("#") for link in inventory.links), inventory.links
    assert "vega.github.io" not in document and "$schema" not in document
    assert "url(" not in document and "@import" not in document
    assert inventory.tags.count("svg") >= len(ASSESSMENT)  # at least one chart per report


def test_it_holds_every_report_with_its_figures(db: Database) -> None:
    document, inventory = _printed(db)
    assert inventory.headings == [
        "Marketing assessment",
        "Cost and outcomes",
        "Funnel",
        "Cohorts",
        "Attribution",
    ]
    assert "<title>Marketing assessment: Northwind Advisory</title>" in document
    assert "1 Oct 2026 – 31 Oct 2026 · First touch attribution" in document
    # The funnel's table: captured 4, MQL 3 (75.0 %), won 1 (25.0 % of captured)
    funnel = document.split("<h2>Funnel</h2>")[1].split("</table>")[0]
    assert '<td class="number">4</td>' in funnel and '<td class="number">75.0 %</td>' in funnel
    # Outcomes under first touch: revenue USD 6,000 and spend USD 1,500 in the "All" row
    assert "USD 6,000.00" in inventory.cells and "USD 1,500.00" in inventory.cells
    assert "page-break-before: always" in document and "@media print" in document


def test_a_chart_becomes_fixed_width_svg_without_links() -> None:
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": "container",
        "height": 100,
        "data": {"values": [{"step": "Lead", "n": 4}, {"step": "Won", "n": 1}]},
        "mark": "bar",
        "encoding": {"y": {"field": "step", "type": "nominal"}, "x": {"field": "n", "type": "quantitative"}},
    }
    svg = str(chart_svg(spec))
    assert svg.startswith("<svg") and "http" not in svg and spec["width"] == "container"  # not mutated
    width = int(svg.split('width="')[1].split('"')[0])
    assert 640 <= width < 700  # the fixed plot width plus the axis labels


def test_a_single_report_prints_alone(db: Database) -> None:
    seeded = seed(db)
    query = parse_query(seeded.workspace_id, start=date(2026, 10, 1).isoformat(), end="2026-10-31")
    with db.session() as session:
        document = printable_html(session, query, names=("funnel",))
    assert "<title>Funnel: Northwind Advisory</title>" in document and document.count("<section") == 1
