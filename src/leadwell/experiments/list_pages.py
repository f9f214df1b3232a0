"""The experiments list: every experiment with its kind, subject, state, metric, leader and verdict,
and exposed units; filtered by state. Owners and marketers see the New experiment button."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from leadwell.db.models import EXPERIMENT_STATES
from leadwell.db.types import utcnow
from leadwell.experiments.definitions import list_experiments
from leadwell.experiments.listing import list_row
from leadwell.experiments.page_common import page
from leadwell.experiments.report_text import STATE_LABELS
from leadwell.experiments.subject_choices import KIND_LABELS
from leadwell.web.deps import Page

router = APIRouter(include_in_schema=False)


@router.get("/experiments", name="experiments_list")
def experiments_list(request: Request, scope: Page, state: str = "") -> HTMLResponse:
    """Every experiment, newest first; ``?state=running`` keeps one state."""
    chosen = state if state in EXPERIMENT_STATES else ""
    now = utcnow()
    with scope.db.session() as session:
        experiments = [
            experiment
            for experiment in list_experiments(session, scope.workspace_id)
            if not chosen or experiment.state == chosen
        ]
        rows = [list_row(session, experiment, now) for experiment in experiments]
    return page(
        request,
        "experiments/list.html",
        scope,
        rows=rows,
        state=chosen,
        states=STATE_LABELS,
        kinds=KIND_LABELS,
    )
