"""A report as data: columns, rows, charts, headline sentences and notes.

Every report returns this one shape, so the page, the CSV export, ``leadwell report NAME --format
table|csv|json`` and the printable assessment are written once, and show the same numbers."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from leadwell.reports.query import ReportQuery

COLUMN_KINDS = ("text", "count", "number", "percent", "money", "days", "ratio")
Value = str | int | float | Decimal | None


@dataclass(frozen=True)
class Column:
    """``kind`` says how to print a value: ``count`` (whole or fractional credit), ``number``,
    ``percent`` (a share 0–1), ``money`` (in the report's currency), ``days``, ``ratio`` (ROAS 3.2×)
    or ``text``."""

    key: str
    label: str
    kind: str = "text"


@dataclass(frozen=True)
class Report:
    """One report's answer. ``rows`` map column keys to values (None: not defined, e.g. a cost per
    sale without sales). ``contacts`` optionally maps a row index to the query string of the
    contacts list behind it. ``summary`` holds the headline sentences, ``notes`` the caveats."""

    name: str
    title: str
    query: ReportQuery
    currency: str
    columns: list[Column]
    rows: list[dict[str, Value]]
    charts: list[dict[str, Any]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def format_value(column: Column, value: Value, currency: str) -> str:
    """``value`` as people read it in a table ("—" for nothing)."""
    if value is None:
        return "—"
    if column.kind == "text":
        return str(value)
    number = float(value)
    if column.kind == "percent":
        return f"{number * 100:.1f} %"
    if column.kind == "money":
        return f"{currency} {number:,.2f}"
    if column.kind == "ratio":
        return f"{number:.2f}×"
    if column.kind == "days":
        return f"{number:.1f}"
    if column.kind == "count":
        return f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"
    return f"{number:,.2f}"


def _plain(value: Value) -> str | int | float | None:
    """A value for CSV and JSON: money and shares as plain numbers, never formatted."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def to_csv(report: Report) -> str:
    """The rows as CSV: a header of column labels, plain unformatted numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([column.label for column in report.columns])
    for row in report.rows:
        writer.writerow(["" if row.get(c.key) is None else _plain(row.get(c.key)) for c in report.columns])
    return out.getvalue()


def to_json(report: Report) -> str:
    """The report as JSON: its query, columns, rows (keyed by column key), summary and notes."""
    query = report.query
    document = {
        "report": report.name,
        "title": report.title,
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "attribution": query.attribution,
        "by": query.dimension,
        "currency": report.currency,
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in report.columns],
        "rows": [{c.key: _plain(row.get(c.key)) for c in report.columns} for row in report.rows],
        "summary": report.summary,
        "notes": report.notes,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def to_text(report: Report) -> str:
    """The report as an aligned plain-text table with its summary and notes, for a terminal."""
    cells = [
        [format_value(c, row.get(c.key), report.currency) for c in report.columns] for row in report.rows
    ]
    header = [c.label for c in report.columns]
    widths = [
        max(len(text) for text in [label, *(line[i] for line in cells)]) for i, label in enumerate(header)
    ]

    def line(values: list[str]) -> str:
        parts = [
            value.ljust(width) if column.kind == "text" else value.rjust(width)
            for value, width, column in zip(values, widths, report.columns, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [f"{report.title} — {report.query.label}", "", line(header), line(["-" * w for w in widths])]
    out += [line(values) for values in cells]
    if not cells:
        out.append("(nothing in this range)")
    out += ["", *report.summary] if report.summary else []
    out += ["", *(f"note: {note}" for note in report.notes)] if report.notes else []
    return "\n".join(out) + "\n"
