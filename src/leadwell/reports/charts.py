"""Vega-Lite specifications for the reports: plain dicts with their data inline, JSON-ready.

The page draws them with vega-embed and the printable report turns the same dicts into SVG with
vl-convert, so a chart is defined once. Values arrive as plain numbers (money and shares too)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WIDTH: str | int = "container"
HEIGHT = 220
FORMATS = {
    "percent": ".1%",
    "money": ",.2f",
    "ratio": ".2f",
    "days": ".1f",
    "count": ",.2~f",
    "number": ",.2~f",
}


def _plain(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {key: float(value) if isinstance(value, Decimal) else value for key, value in row.items()}
        for row in rows
    ]


def _base(title: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": _plain(rows)},
        "config": {"view": {"stroke": None}},
    }


def bar_chart(
    title: str,
    rows: Sequence[Mapping[str, Any]],
    category: str,
    measure: str,
    measure_label: str,
    kind: str = "count",
    category_label: str | None = None,
    keep_order: bool = False,
) -> dict[str, Any]:
    """Horizontal bars: one per row's ``category``, as long as its ``measure`` (bars sorted by
    length unless ``keep_order``, e.g. funnel steps)."""
    spec = _base(title, rows)
    spec["height"] = {"step": 22}
    spec["mark"] = {"type": "bar", "tooltip": True}
    spec["encoding"] = {
        "y": {
            "field": category,
            "type": "nominal",
            "title": category_label,
            "sort": None if keep_order else "-x",
        },
        "x": _quantity(measure, measure_label, kind),
    }
    return spec


def _quantity(measure: str, label: str, kind: str) -> dict[str, Any]:
    """The encoding of a measured axis, its numbers formatted for ``kind``."""
    return {
        "field": measure,
        "type": "quantitative",
        "title": label,
        "axis": {"format": FORMATS.get(kind, ",.2~f")},
    }


def _legend(field: str) -> dict[str, Any]:
    return {"field": field, "type": "nominal", "title": None, "legend": {"orient": "bottom"}}


def grouped_bar_chart(
    title: str,
    rows: Sequence[Mapping[str, Any]],
    category: str,
    group: str,
    measure: str,
    measure_label: str,
    kind: str = "count",
) -> dict[str, Any]:
    """Bars per ``category``, one per ``group`` side by side (e.g. sales credited by each
    attribution model, per channel); ``rows`` are long-form (one per category and group)."""
    spec = _base(title, rows)
    spec["height"] = {"step": 14}
    spec["mark"] = {"type": "bar", "tooltip": True}
    spec["encoding"] = {
        "y": {"field": category, "type": "nominal", "title": None},
        "yOffset": {"field": group, "type": "nominal"},
        "color": _legend(group),
        "x": _quantity(measure, measure_label, kind),
    }
    return spec


def line_chart(
    title: str,
    rows: Sequence[Mapping[str, Any]],
    x: str,
    measure: str,
    measure_label: str,
    kind: str = "count",
    series: str | None = None,
) -> dict[str, Any]:
    """A line per ``series`` (or one) over ``x``, a "YYYY-MM-DD" day or "YYYY-MM" month in UTC."""
    spec = _base(title, rows)
    spec["mark"] = {"type": "line", "point": True, "tooltip": True}
    encoding: dict[str, Any] = {
        "x": {"field": x, "type": "ordinal", "title": None},
        "y": _quantity(measure, measure_label, kind),
    }
    if series:
        encoding["color"] = _legend(series)
    spec["encoding"] = encoding
    return spec
