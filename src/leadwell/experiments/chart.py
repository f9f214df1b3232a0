"""The experiment's chart as a Vega-Lite specification: plain dicts, JSON-ready.

One function of the report's series, so the page (vega-embed) and a printed report (vl-convert) draw
the same chart. The top panel is the cumulative rate of each variant per day; when the report has the
sequential test's confidence sequence per day, a second panel shows the difference from the control
with its band, and a rule at zero: a band that leaves zero is a difference the test can stand by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WIDTH = "container"
HEIGHT = 220
DIFFERENCE_HEIGHT = 160
# Dates arrive as "YYYY-MM-DD", meant as whole days in UTC: read and print them so in every time zone.
DAY = {"field": "date", "type": "temporal", "timeUnit": "utcyearmonthdate"}
DAY_AXIS = {"title": None, "format": "%b %d", "labelOverlap": True}


def _value_format(kind: str) -> str:
    """Rates read as percentages; revenue per unit as a plain number with two decimals."""
    return ".2f" if kind == "revenue" else ".1%"


def _rows(series: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The chart's rows: day, variant (its key and a legend label) and the cumulative figures."""
    return [
        {
            "date": str(row["date"]),
            "variant": str(row["variant"]),
            "label": f"{row['variant']}: {names.get(str(row['variant']), row['variant'])}",
            "exposed": int(row.get("exposed") or 0),
            "conversions": row.get("conversions"),
            "rate": row.get("rate"),
        }
        for row in series
    ]


def _rate_panel(metric_label: str, kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    value_format = _value_format(kind)
    title = f"{metric_label} per unit" if kind == "revenue" else f"{metric_label} rate"
    return {
        "data": {"values": rows},
        "height": HEIGHT,
        "width": WIDTH,
        "title": {"text": f"Cumulative {title}", "anchor": "start"},
        "mark": {"type": "line", "point": True, "interpolate": "monotone"},
        "encoding": {
            "x": {**DAY, "axis": DAY_AXIS},
            "y": {"field": "rate", "type": "quantitative", "title": None, "axis": {"format": value_format}},
            "color": {"field": "label", "type": "nominal", "title": "Variant", "legend": {"orient": "top"}},
            "tooltip": [
                {**DAY, "format": "%Y-%m-%d", "title": "Day"},
                {"field": "label", "type": "nominal", "title": "Variant"},
                {"field": "exposed", "type": "quantitative", "title": "Exposed"},
                {"field": "conversions", "type": "quantitative", "title": "Conversions"},
                {"field": "rate", "type": "quantitative", "format": value_format, "title": "Rate"},
            ],
        },
    }


def _difference_rows(
    difference: Sequence[Mapping[str, Any]], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            "date": str(row["date"]),
            "variant": str(row["variant"]),
            "label": f"{row['variant']}: {names.get(str(row['variant']), row['variant'])}",
            "difference": row.get("difference"),
            "low": row.get("low"),
            "high": row.get("high"),
        }
        for row in difference
        if row.get("low") is not None and row.get("high") is not None
    ]


def _difference_panel(kind: str, control: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    value_format = _value_format(kind)
    x = {**DAY, "axis": DAY_AXIS}
    color = {"field": "label", "type": "nominal", "title": "Variant"}
    return {
        "height": DIFFERENCE_HEIGHT,
        "width": WIDTH,
        "title": {
            "text": f"Difference from {control}, with its always-valid confidence band",
            "anchor": "start",
        },
        "layer": [
            {
                "data": {"values": rows},
                "mark": {"type": "area", "opacity": 0.2},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "low",
                        "type": "quantitative",
                        "title": None,
                        "axis": {"format": value_format},
                    },
                    "y2": {"field": "high"},
                    "color": color,
                },
            },
            {
                "data": {"values": rows},
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": x,
                    "y": {"field": "difference", "type": "quantitative"},
                    "color": color,
                    "tooltip": [
                        {"field": "label", "type": "nominal", "title": "Variant"},
                        {"field": "difference", "type": "quantitative", "format": value_format},
                        {"field": "low", "type": "quantitative", "format": value_format},
                        {"field": "high", "type": "quantitative", "format": value_format},
                    ],
                },
            },
            {
                "data": {"values": [{"zero": 0}]},
                "mark": {"type": "rule", "strokeDash": [4, 4]},
                "encoding": {"y": {"field": "zero", "type": "quantitative"}},
            },
        ],
    }


def chart_spec(
    series: Sequence[Mapping[str, Any]],
    *,
    metric_label: str,
    kind: str = "conversion",
    names: Mapping[str, str] | None = None,
    control: str = "A",
    difference: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The Vega-Lite specification of an experiment's progress.

    ``series``: one row per day and variant, oldest first, with ``date`` ("YYYY-MM-DD"), ``variant``
    (its key), and the cumulative ``exposed``, ``conversions`` and ``rate`` (the mean per unit for
    revenue). ``names`` maps variant keys to names for the legend. ``difference``: optional rows of
    ``date``, ``variant``, ``difference``, ``low`` and ``high`` (the confidence sequence of each
    variant's difference from ``control``); rows without a band are left out."""
    labels = dict(names or {})
    rate_panel = _rate_panel(metric_label, kind, _rows(series, labels))
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "description": f"Cumulative {metric_label} per variant and day",
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": {
            "view": {"stroke": None},
            "axis": {"grid": True, "gridOpacity": 0.4, "labelFontSize": 12, "titleFontSize": 12},
            "legend": {"labelFontSize": 12, "titleFontSize": 12},
            "title": {"fontSize": 14},
        },
    }
    band_rows = _difference_rows(difference, labels)
    if not band_rows:
        spec.update(rate_panel)
        return spec
    spec["vconcat"] = [rate_panel, _difference_panel(kind, control, band_rows)]
    spec["resolve"] = {"scale": {"color": "shared"}}
    return spec
