"""Every report by name: its title, what it is about, whether the attribution model and the
dimension change it, and the function that builds it (imported when first asked for, so the CLI
stays quick to start)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from leadwell.errors import InvalidInput
from leadwell.reports.query import ReportQuery
from leadwell.reports.table import Report

Builder = Callable[[Session, ReportQuery], Report]


@dataclass(frozen=True)
class ReportDef:
    name: str
    title: str
    about: str
    target: str  # "module:function"
    uses_attribution: bool = False
    uses_dimension: bool = False

    def build(self, session: Session, query: ReportQuery) -> Report:
        """Run the report for ``query``."""
        module, function = self.target.split(":")
        builder: Builder = getattr(importlib.import_module(module), function)
        return builder(session, query)


REPORTS: dict[str, ReportDef] = {
    definition.name: definition
    for definition in (
        ReportDef(
            "assessment",
            "Marketing assessment",
            "Every funnel (source → magnet or page → sequence) ranked by qualified leads and sales per "
            "unit of cost, the best one named, and what is missing.",
            "leadwell.reports.assessment:assessment_report",
            uses_attribution=True,
        ),
        ReportDef(
            "funnel",
            "Funnel",
            "Captured → MQL → SQL → opportunity → won: conversion at each step and median days between.",
            "leadwell.reports.funnel_report:funnel_report",
        ),
        ReportDef(
            "outcomes",
            "Cost and outcomes",
            "Leads, qualified leads, meetings, sales and revenue with their cost, ROI and ROAS, by channel, "
            "campaign, lead magnet, landing page or ICP grade.",
            "leadwell.reports.outcomes:outcomes_report",
            uses_attribution=True,
            uses_dimension=True,
        ),
        ReportDef(
            "attribution",
            "Attribution",
            "Sales and revenue credited to each channel by first touch, last touch, linear and "
            "position-based models, side by side.",
            "leadwell.reports.attribution_report:attribution_report",
            uses_attribution=True,
        ),
        ReportDef(
            "cohorts",
            "Cohorts",
            "Conversion by month of capture, so recent months are not judged before they had time.",
            "leadwell.reports.cohorts:cohorts_report",
        ),
        ReportDef(
            "activity",
            "Activity vs outcome",
            "Calls, emails and meetings per won deal, by person and channel, and activity that led to "
            "no outcome.",
            "leadwell.reports.activity:activity_report",
        ),
        ReportDef(
            "magnets",
            "Lead magnets",
            "Each magnet's views → submissions → read ≥ 50 % → call → sale.",
            "leadwell.reports.magnets:magnets_report",
        ),
    )
}


def report_def(name: str) -> ReportDef:
    """The report called ``name``; an unknown name is an :class:`InvalidInput` listing the known ones."""
    try:
        return REPORTS[name]
    except KeyError:
        raise InvalidInput(f"report: {name!r} is not one of {', '.join(REPORTS)}", field="report") from None
