"""The new-experiment page: kind → subject → variants (prefilled from the subject) → metric and
settings. Changing the kind or the subject redraws the form (htmx, or the "Update" button without
JavaScript), keeping what was typed; a refused value is shown beside its field."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from leadwell.capture.admin_common import PostedForm
from leadwell.errors import LeadwellError
from leadwell.experiments import subject_choices as choices
from leadwell.experiments.definitions import create_experiment
from leadwell.experiments.metrics import METRICS, metric_fits
from leadwell.experiments.new_form import (
    MAX_VARIANTS,
    OVERRIDE_FIELDS,
    Draft,
    blank_variant,
    draft_of,
    prefill,
    spec_data,
)
from leadwell.experiments.page_common import page, refused, require_editor
from leadwell.experiments.spec_input import experiment_spec
from leadwell.experiments.subjects import template_variant_keys
from leadwell.web.deps import Page, PageScope

router = APIRouter(include_in_schema=False)
TEMPLATE = "experiments/new.html"
STATISTICS = {
    "sequential": "Sequential (look any day; always-valid p-value)",
    "frequentist": "Fixed horizon (decide once, at the planned size)",
    "bayesian": "Bayesian (chance to beat the control)",
}
ALLOCATIONS = {"fixed": "Fixed split (the weights)", "bandit": "Bandit (more traffic to the leader)"}


def _template_variants(session: Session, workspace_id: int, draft: Draft) -> list[str]:
    """The keys of the chosen template's variants (none before a template is chosen)."""
    try:
        template_id = choices.subject_id(session, workspace_id, "email_template", draft.get("subject"))
    except LeadwellError:
        return []
    return template_variant_keys(session, template_id) if template_id is not None else []


def _variant_choices(session: Session, workspace_id: int, draft: Draft) -> dict[str, Any]:
    """What each variant row offers, for the chosen kind and subject."""
    kind, subject = draft.get("kind"), draft.get("subject")
    return {
        "template_variants": _template_variants(session, workspace_id, draft)
        if kind == "email_template"
        else [],
        "templates": choices.templates(session, workspace_id) if kind == "sequence_step" else [],
        "magnets": choices.magnets(session, workspace_id) if kind == "magnet" else [],
        "optional_fields": choices.optional_fields(session, workspace_id, subject) if kind == "form" else [],
    }


def _context(scope: PageScope, draft: Draft) -> dict[str, Any]:
    kind = draft.get("kind")
    with scope.db.session() as session:
        subjects = choices.subject_choices(session, scope.workspace_id, kind) if kind else []
        variant_choices = _variant_choices(session, scope.workspace_id, draft)
    return {
        "draft": draft,
        "kinds": choices.KIND_LABELS,
        "subjects": subjects,
        "subject_noun": choices.SUBJECT_NOUNS.get(kind, ""),
        "metrics": [metric for metric in METRICS.values() if not kind or metric_fits(metric, kind)],
        "statistics": STATISTICS,
        "allocations": ALLOCATIONS,
        "override_fields": OVERRIDE_FIELDS.get(kind, ()),
        "max_variants": MAX_VARIANTS,
        **variant_choices,
    }


def _show(
    request: Request, scope: PageScope, draft: Draft, error: LeadwellError | None = None
) -> HTMLResponse:
    context = _context(scope, draft)
    if error is not None:
        return refused(request, TEMPLATE, scope, error, **context)
    return page(request, TEMPLATE, scope, **context)


@router.get("/experiments/new", name="experiment_new")
def experiment_new(request: Request, scope: Page, kind: str = "", subject: str = "") -> HTMLResponse:
    """The form; ``?kind=`` and ``?subject=`` preselect them (a link from a template's page)."""
    require_editor(scope)
    draft = Draft()
    draft.values.update({"kind": kind if kind in choices.KIND_LABELS else "", "subject": subject})
    with scope.db.session() as session:
        prefill(session, scope.workspace_id, draft)
    return _show(request, scope, draft)


def _refresh(scope: PageScope, draft: Draft, what: str) -> Draft:
    """Redraw after a change of kind or subject (fresh variants), or a variant added or removed."""
    if what == "kind":
        draft.values["subject"] = ""
    if what in ("kind", "subject"):
        with scope.db.session() as session:
            return prefill(session, scope.workspace_id, draft)
    if what == "add" and len(draft.variants) < MAX_VARIANTS:
        draft.variants.append(blank_variant(len(draft.variants)))
    if what == "remove" and len(draft.variants) > 2:
        draft.variants.pop()
    return draft


@router.post("/experiments/new", name="experiment_create", response_model=None)
def experiment_create(request: Request, scope: Page, posted: PostedForm) -> Response:
    """Create the experiment as a draft, or the form again: redrawn for a new kind or subject, or
    with what was refused marked."""
    require_editor(scope)
    draft = draft_of(posted)
    refresh = posted.get("refresh")
    if refresh:
        return _show(request, scope, _refresh(scope, draft, refresh))
    try:
        with scope.db.session() as session:
            spec = experiment_spec(session, scope.workspace_id, spec_data(draft))
            slug = create_experiment(session, scope.workspace_id, spec, scope.user.id).slug
    except LeadwellError as error:
        return _show(request, scope, draft, error)
    target = request.app.url_path_for("experiment_page", slug=slug)
    return RedirectResponse(f"{target}?done=created", status_code=303)
