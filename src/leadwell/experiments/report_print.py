"""``leadwell experiment report SLUG`` as text: the page's sections in the page's order, with the
figures :mod:`.report_text` formats for both."""

from __future__ import annotations

from collections.abc import Sequence

from leadwell.experiments.report import ExperimentReport
from leadwell.experiments.report_text import (
    CHECK_LABELS,
    STATE_LABELS,
    STATISTIC_LABELS,
    ComparisonLine,
    PlanLine,
    percent,
    report_text,
    when,
)
from leadwell.experiments.subject_choices import KIND_LABELS

COMPARISON_COLUMNS = (
    ("difference", "difference"),
    ("difference_interval", "interval"),
    ("relative", "relative"),
    ("relative_interval", "interval"),
    ("p_value", "p-value"),
    ("chance_to_beat", "chance to beat"),
    ("expected_loss", "expected loss"),
    ("always_valid_p", "always-valid p"),
)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned columns, two spaces apart."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]


def _heading(report: ExperimentReport) -> list[str]:
    summary = report.experiment
    metric = summary["primary_metric"]
    state = STATE_LABELS.get(summary["state"], summary["state"])
    since = f" since {when(summary['started_at'])}" if summary["started_at"] else ""
    split = "bandit" if summary["allocation"] == "bandit" else "fixed split"
    lines = [
        f"{summary['name']} ({summary['slug']})",
        f"Tests: {KIND_LABELS.get(summary['kind'], summary['kind'])} — {summary['subject']}",
        f"State: {state}{since}; {split}; decided by {STATISTIC_LABELS[summary['statistic']]}; "
        f"conversions counted {summary['window_days']} days after exposure",
        f"Primary metric: {metric['label']}" + (" (unreliable)" if metric["unreliable"] else ""),
    ]
    if summary["hypothesis"]:
        lines.insert(1, f"Hypothesis: {summary['hypothesis']}")
    return lines


def _comparison_rows(lines: list[ComparisonLine]) -> list[list[str]]:
    rows = []
    for line in lines:
        cells = [f"{line.variant} vs {line.control}"]
        for field, _label in COMPARISON_COLUMNS:
            value = getattr(line, field)
            cells.append(f"{value}*" if field == line.deciding else value)
        rows.append(cells)
    return rows


def _plan_line(report: ExperimentReport, plan: PlanLine) -> str:
    """The planner in a sentence, as the page says it."""
    figures = report.plan
    assert figures is not None
    if figures.baseline is None:
        return (
            "Plan: needs a baseline rate (set one, or wait for the control's first conversions); "
            f"smallest variant {plan.smallest_arm}"
        )
    sized = (
        f"{plan.units_needed} per variant to detect {plan.minimum_effect} over {plan.baseline} "
        f"(smallest variant {plan.smallest_arm}, {plan.progress})"
        if figures.units_needed is not None
        else f"no minimum effect set; baseline {plan.baseline}, smallest variant {plan.smallest_arm}"
    )
    detectable = (
        f"a lift of {plan.detectable_effect} is detectable now"
        if figures.detectable_effect is not None
        else "no lift is detectable yet"
    )
    return f"Plan: {sized}; {detectable}"


def report_lines(report: ExperimentReport) -> list[str]:
    """The report as lines of text."""
    text = report_text(report)
    kind = report.experiment["primary_metric"]["kind"]
    out = [*_heading(report), "", f"Verdict: {report.verdict}", f"Decision: {report.decision}"]
    if report.warnings:
        out += ["", "Warnings:", *(f"  - {warning}" for warning in report.warnings)]
    outcome = "revenue" if kind == "revenue" else "conversions"
    out += ["", "Variants:"]
    out += table(
        ("variant", "name", "split", "assigned", "exposed", outcome, "rate", "95% interval"),
        [
            (f"{v.key}{' (control)' if v.control else ''}", v.name, v.split, v.assigned, v.exposed, v.outcome,
             v.rate, v.rate_interval)
            for v in text.variants
        ],
    )  # fmt: skip
    if text.comparisons:
        out += ["", "Against the control (* the deciding statistic; its p-values Holm-adjusted):"]
        out += table(("", *(label for _, label in COMPARISON_COLUMNS)), _comparison_rows(text.comparisons))
    if text.guardrails:
        out += ["", "Guardrails:"]
        out += table(
            ("metric", "variant", "control", "variant rate", "difference", "interval", "tolerated", "status"),
            [
                (g.label, g.variant, g.control_rate, g.variant_rate, g.difference, g.difference_interval,
                 g.tolerance, "BREACHED" if g.breached else "ok")
                for g in text.guardrails
            ],
        )  # fmt: skip
    out += ["", f"Split check: {text.sample_ratio}"]
    if text.plan is not None:
        out.append(_plan_line(report, text.plan))
    if report.checks:
        out += ["", "Latest checks:"]
        for check in report.checks:
            reading = f" rate {percent(check.rate)}" if check.rate is not None else ""
            flag = " ALERT" if check.alert else ""
            label = CHECK_LABELS.get(check.kind, check.kind)
            out.append(f"  {when(check.checked_at)}  {label}{flag}:{reading} {check.message}".rstrip())
    return out
