"""The model page (``/predict``) and a contact's "Likelihood to buy" panel.

Everyone reads: the model the call queue uses (or why there is none yet), every version with its
validation figures (AUC, hits and lift in the top 10 % and 20 %, the calibration table, the counts),
and the features that weigh most. Owners and marketers act: **Train now** (during the request up to
:data:`IN_REQUEST_OUTCOMES` decided contacts, else handed to the worker), **Activate** a version,
or stop using a model. Every form is CSRF-checked; notices are written from the stored models, never
from the address, so a crafted link cannot put words on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from leadwell.db.models import Contact, Engagement, PredictiveModel, User
from leadwell.errors import LeadwellError
from leadwell.ids import BadId
from leadwell.predict.jobs import request_training, training_requested
from leadwell.predict.workspace_data import outcome_summary
from leadwell.sales.deals import money_text
from leadwell.sales.why_now import percent_words
from leadwell.scoring.store import current_settings
from leadwell.web.deps import Page, PageScope, check_csrf
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
# Training this many decided contacts takes seconds; beyond it the worker trains, not the request.
IN_REQUEST_OUTCOMES = 5_000
ACTIVE = "dashboard"


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    values = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    check_csrf(request, values.get("csrf_token"))
    return values


Posted = Annotated[dict[str, str], Depends(_form)]


def _require_editor(scope: PageScope) -> None:
    scope.require_editor("Only owners and marketers train and activate models")


@dataclass(frozen=True)
class Figures:
    """A model's validation figures as the page writes them."""

    auc: str
    top10: str
    top20: str

    @classmethod
    def of(cls, metrics: dict[str, Any]) -> Figures:
        """From a model's stored metrics ("—" where a model has none)."""
        auc = metrics.get("auc")
        return cls(
            f"{auc:.3f}" if isinstance(auc, int | float) else "—",
            _top(metrics, "top10"),
            _top(metrics, "top20"),
        )


def _top(metrics: dict[str, Any], key: str) -> str:
    top = metrics.get(key)
    if not isinstance(top, dict) or not top.get("rows"):
        return "—"
    lift = top.get("lift")
    said = f"{top['hits']} of {top['rows']}"
    return f"{said}, lift {lift:.1f}" if isinstance(lift, int | float) else said


@dataclass(frozen=True)
class VersionRow:
    """One stored model in the versions table."""

    model: PredictiveModel
    figures: Figures
    trained_by: str | None


def _models(session: Session, workspace_id: int) -> list[VersionRow]:
    rows = session.execute(
        select(PredictiveModel, User.name, User.email)
        .options(defer(PredictiveModel.artifact))
        .outerjoin(User, User.id == PredictiveModel.trained_by_id)
        .where(PredictiveModel.workspace_id == workspace_id)
        .order_by(PredictiveModel.version.desc())
    ).all()
    return [VersionRow(model, Figures.of(model.metrics), name or email) for model, name, email in rows]


def _notice(
    done: str, version: int | None, rows: list[VersionRow], active: PredictiveModel | None
) -> str | None:
    """What the last action did, told from the stored models."""
    if done == "queued":
        return "Training queued: the worker trains the model shortly; reload to see the new version."
    if done == "deactivated":
        return "No model is active: the call queue ranks by fit × engagement."
    found = next((row.model for row in rows if row.model.version == version), None)
    if found is None:
        return None
    if done == "activated" and found.active:
        return f"Version {found.version} is active; every open lead was rescored with it."
    if done != "trained":
        return None
    if found.status != "ready":
        return f"Trained version {found.version}: {found.message}"
    if found.active:
        return f"Trained version {found.version}: it is now active and every open lead was rescored."
    kept = f"version {active.version} stays active" if active else "it is not active"
    return f"Trained version {found.version}: {kept}, as its validation AUC is higher."


def _page(
    request: Request,
    scope: PageScope,
    *,
    version: int | None = None,
    done: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    with scope.db.session() as session:
        rows = _models(session, scope.workspace_id)
        summary = outcome_summary(session, scope.workspace_id)
        queued = training_requested(session, scope.workspace_id)
        session.expunge_all()
    workspace_rows = [row for row in rows if row.model.source == "workspace"]
    active = next((row.model for row in workspace_rows if row.model.active), None)
    latest = workspace_rows[0].model if workspace_rows else None
    shown = next((row for row in rows if row.model.version == version), None) if version else None
    shown = shown or next((row for row in rows if row.model is active), None) or (rows[0] if rows else None)
    return render(
        request,
        "predict/page.html",
        status_code=status,
        scope=scope,
        active=ACTIVE,
        rows=rows,
        model=active,
        latest=latest,
        shown=shown,
        summary=summary,
        queued=queued,
        editor=scope.can_edit,
        in_request=summary.rows <= IN_REQUEST_OUTCOMES,
        limit=IN_REQUEST_OUTCOMES,
        notice=_notice(done, version, rows, active),
        error=error,
    )


@router.get("/predict", name="predict_page")
def predict_page(request: Request, scope: Page, version: int | None = None, done: str = "") -> HTMLResponse:
    """The workspace's models: the one in use, every version's figures, and what to do next."""
    return _page(request, scope, version=version, done=done)


def _back(request: Request, done: str, version: int | None = None) -> RedirectResponse:
    target = str(request.app.url_path_for("predict_page"))
    query = f"?done={done}" + (f"&version={version}" if version is not None else "")
    return RedirectResponse(target + query + "#status", status_code=303)


@router.post("/predict/train", name="predict_train", response_model=None)
def predict_train(request: Request, scope: Page, posted: Posted) -> Response:
    """Train on the workspace now (small workspaces) or ask the worker to (large ones)."""
    from leadwell.predict.train_workspace import train_workspace

    _require_editor(scope)
    with scope.db.session() as session:
        size = outcome_summary(session, scope.workspace_id).rows
        if size > IN_REQUEST_OUTCOMES:
            request_training(session, scope.workspace_id, scope.user.id)
    if size > IN_REQUEST_OUTCOMES:
        return _back(request, "queued")
    model = train_workspace(scope.db, scope.workspace_id, scope.user.id)
    return _back(request, "trained", model.version)


@router.post("/predict/activate", name="predict_activate", response_model=None)
def predict_activate(request: Request, scope: Page, posted: Posted) -> Response:
    """Make a version the one the call queue uses, and rescore the open leads with it."""
    from leadwell.predict.train_workspace import activate_version

    _require_editor(scope)
    text = posted.get("version", "").strip()
    if not text.isdigit():
        return _page(request, scope, error=f"version: {text[:20]!r} is not a version number", status=422)
    try:
        activate_version(scope.db, scope.workspace_id, int(text))
    except LeadwellError as error:
        return _page(request, scope, error=error.detail, status=404 if error.status == 404 else 422)
    return _back(request, "activated", int(text))


@router.post("/predict/deactivate", name="predict_deactivate", response_model=None)
def predict_deactivate(request: Request, scope: Page, posted: Posted) -> Response:
    """Stop using a model: the queue goes back to fit × engagement."""
    from leadwell.predict.train_workspace import deactivate

    _require_editor(scope)
    deactivate(scope.db, scope.workspace_id)
    return _back(request, "deactivated")


@dataclass(frozen=True)
class Likelihood:
    """A contact's prediction as its page shows it."""

    percent: str
    value: str
    reasons: list[str]
    version: int
    scored_at: Any


def _likelihood(
    session: Session, scope: PageScope, contact_id: int, model: PredictiveModel | None
) -> tuple[Likelihood | None, str | None]:
    """The contact's prediction by the active model, else why there is none (queue state)."""
    row = session.execute(
        select(
            Engagement.queue_state,
            Engagement.predicted_p,
            Engagement.predicted_value,
            Engagement.predicted_reasons,
            Engagement.predicted_model_id,
            Engagement.predicted_at,
        )
        .join(Contact, Contact.id == Engagement.contact_id)
        .where(Contact.id == contact_id, Contact.workspace_id == scope.workspace_id)
    ).first()
    state = row.queue_state if row is not None else None
    if model is None or row is None or row.predicted_model_id != model.id or row.predicted_p is None:
        return None, state
    currency = current_settings(session, scope.workspace_id)[1].queue.currency
    value = money_text(Decimal(str(round(row.predicted_value or 0.0))), currency)
    return Likelihood(
        percent_words(row.predicted_p),
        value,
        list(row.predicted_reasons or []),
        model.version,
        row.predicted_at,
    ), state


@router.get("/predict/contacts/{contact_id}", name="predict_contact_panel")
def contact_panel(request: Request, scope: Page, contact_id: str) -> HTMLResponse:
    """A contact's "Likelihood to buy": P(sale), expected value and the model's reasons (the panel of
    the contact page, loaded by htmx; a page of its own without JavaScript)."""
    try:
        number = scope.codec.decode("contact", contact_id)
    except BadId:
        raise HTTPException(404, "No such contact in this workspace.") from None
    with scope.db.session() as session:
        found = session.scalar(
            select(Contact.id).where(Contact.id == number, Contact.workspace_id == scope.workspace_id)
        )
        if found is None:
            raise HTTPException(404, "No such contact in this workspace.")
        model = session.scalars(
            select(PredictiveModel)
            .options(defer(PredictiveModel.artifact))
            .where(
                PredictiveModel.workspace_id == scope.workspace_id,
                PredictiveModel.source == "workspace",
                PredictiveModel.active.is_(True),
                PredictiveModel.status == "ready",
            )
        ).first()
        likelihood, state = _likelihood(session, scope, number, model)
    fragment = bool(request.headers.get("HX-Request"))
    extra: dict[str, Any] = {"workspaces": []} if fragment else {}  # a fragment has no workspace switcher
    return render(
        request,
        "predict/_contact_panel.html" if fragment else "predict/contact.html",
        scope=scope,
        **extra,
        active="contacts_list",
        likelihood=likelihood,
        has_model=model is not None,
        queue_state=state,
        contact_id=contact_id,
    )
