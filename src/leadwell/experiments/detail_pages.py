"""An experiment's page: what it tests and its state, the actions its state allows (start, stop,
bandit on or off, promote a variant after a confirmation naming what changes), the verdict, the
warnings, the variants with every statistic, the guardrails, the planner, the chart over time and
the worker's latest checks. Salespeople read it without the actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from leadwell.capture.admin_common import PostedForm
from leadwell.db.models import Experiment
from leadwell.db.types import utcnow
from leadwell.errors import LeadwellError
from leadwell.experiments import definitions
from leadwell.experiments.chart import chart_spec
from leadwell.experiments.page_common import not_found_as_404, page, refused, require_editor
from leadwell.experiments.promote_words import promotion_effects
from leadwell.experiments.report import ExperimentReport
from leadwell.experiments.report_text import (
    CHECK_LABELS,
    STATE_LABELS,
    STATISTIC_LABELS,
    percent,
    report_text,
    when,
)
from leadwell.experiments.results import experiment_report
from leadwell.experiments.subject_choices import KIND_LABELS, subject_reference
from leadwell.web.deps import Page, PageScope

router = APIRouter(include_in_schema=False)
TEMPLATE = "experiments/detail.html"
NOTICES = {
    "created": "Experiment created as a draft. Start it when the variants are ready.",
    "started": "Started: units are assigned and exposed from now on.",
    "stopped": "Stopped: nobody new is assigned; conversions of exposed units still count.",
    "bandit": "The bandit now moves traffic towards the better variants.",
    "fixed": "Back to a fixed split: the weights decide again.",
    "promoted": "Promoted: the winner is now what everyone new gets.",
}
# Where each kind's subject is edited: (route, how the reference becomes the route's parameters).
SUBJECT_ROUTES: dict[str, tuple[str, Callable[[str], dict[str, str]]]] = {
    "email_template": ("outreach_template", lambda ref: {"slug": ref}),
    "sequence_step": ("outreach_sequence", lambda ref: {"slug": ref.rpartition("/")[0]}),
    "landing_page": ("capture_page", lambda ref: {"slug": ref}),
    "form": ("capture_form", lambda ref: {"slug": ref}),
    "magnet": ("capture_form", lambda ref: {"slug": ref}),
}


def _subject_link(request: Request, session: Session, experiment: Experiment) -> str | None:
    route = SUBJECT_ROUTES.get(experiment.kind)
    reference = subject_reference(session, experiment)
    if route is None or not reference:
        return None
    return str(request.app.url_path_for(route[0], **route[1](reference)))


def chart_of(report: ExperimentReport) -> dict[str, Any] | None:
    """The chart's specification, or None before any unit was exposed."""
    if not report.series:
        return None
    metric = report.experiment["primary_metric"]
    rows = [
        {
            "date": row.date.isoformat(),
            "variant": row.variant,
            "exposed": row.exposed,
            "conversions": row.conversions if row.conversions is not None else row.total,
            "rate": row.rate,
        }
        for row in report.series
    ]
    names = {row.key: row.name for row in report.variants}
    control = next((row.key for row in report.variants if row.is_control), "A")
    return chart_spec(rows, metric_label=metric["label"], kind=metric["kind"], names=names, control=control)


def _context(request: Request, scope: PageScope, slug: str) -> dict[str, Any]:
    with scope.db.session() as session, not_found_as_404():
        experiment = definitions.get_experiment(session, scope.workspace_id, slug)
        report = experiment_report(session, experiment, utcnow())
        variants = definitions.variants_of(session, experiment)
        context = {
            "experiment": experiment,
            "report": report,
            "text": report_text(report),
            "chart": chart_of(report),
            "subject_link": _subject_link(request, session, experiment),
            "effects": promotion_effects(session, experiment, variants),
        }
        session.expunge_all()
    return context


def render_experiment(
    request: Request, scope: PageScope, slug: str, error: LeadwellError | None = None
) -> HTMLResponse:
    context = _context(request, scope, slug)
    labels: dict[str, Any] = {
        "kinds": KIND_LABELS,
        "states": STATE_LABELS,
        "statistics": STATISTIC_LABELS,
        "check_labels": CHECK_LABELS,
        "when": when,
        "percent": percent,
    }
    if error is not None:
        return refused(request, TEMPLATE, scope, error, notice=None, **context, **labels)
    notice = NOTICES.get(request.query_params.get("done", ""))
    return page(request, TEMPLATE, scope, notice=notice, **context, **labels)


@router.get("/experiments/{slug}", name="experiment_page")
def experiment_page(request: Request, scope: Page, slug: str) -> HTMLResponse:
    """The experiment's report and actions."""
    return render_experiment(request, scope, slug)


def _act(
    request: Request, scope: PageScope, slug: str, work: Callable[[Session, Experiment], None], outcome: str
) -> Response:
    """Run ``work`` on the experiment; back to its page saying ``outcome``, or the page with the refusal."""
    require_editor(scope)
    try:
        with scope.db.session() as session, not_found_as_404():
            work(session, definitions.get_experiment(session, scope.workspace_id, slug))
    except LeadwellError as error:
        return render_experiment(request, scope, slug, error)
    target = request.app.url_path_for("experiment_page", slug=slug)
    return RedirectResponse(f"{target}?done={outcome}", status_code=303)


@router.post("/experiments/{slug}/start", name="experiment_start", response_model=None)
def experiment_start(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Start a draft."""

    def work(session: Session, experiment: Experiment) -> None:
        definitions.start(session, experiment, utcnow())

    return _act(request, scope, slug, work, "started")


@router.post("/experiments/{slug}/stop", name="experiment_stop", response_model=None)
def experiment_stop(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Stop assigning new units."""

    def work(session: Session, experiment: Experiment) -> None:
        definitions.stop(session, experiment, utcnow())

    return _act(request, scope, slug, work, "stopped")


@router.post("/experiments/{slug}/allocation", name="experiment_allocation", response_model=None)
def experiment_allocation(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """The bandit on (``allocation=bandit``) or back to the fixed split (``fixed``)."""
    allocation = posted.get("allocation")

    def work(session: Session, experiment: Experiment) -> None:
        definitions.set_allocation(session, experiment, allocation)

    return _act(request, scope, slug, work, "bandit" if allocation == "bandit" else "fixed")


@router.post("/experiments/{slug}/promote", name="experiment_promote", response_model=None)
def experiment_promote(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Promote the posted variant: it becomes the subject's default, the experiment scaled."""
    key = posted.get("variant")

    def work(session: Session, experiment: Experiment) -> None:
        definitions.promote(session, experiment, key, utcnow())

    return _act(request, scope, slug, work, "promoted")
