"""The qualification settings page (``/settings/scoring``): the settings in force in plain sentences,
their versions, and an editor.

Everyone in the workspace reads the settings; owners and marketers edit them. The editor is a plain
form that works without JavaScript: a table of engagement rules (event, conditions, points, cap),
stage rules, the call queue's numbers and the pipeline's stages, or the whole document pasted as
TOML. Saving applies the settings (a new version only when they changed), rescores every contact
in the same request, and redirects to the page, whose query string says what happened
(``?saved=new+version&version=3&contacts=1200&seconds=0.41``), so a reload repeats nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadwell.db.models import LIFECYCLE_STAGES, Contact
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound
from leadwell.events.types import EVENT_LABELS, EVENT_TYPES
from leadwell.scoring import words
from leadwell.scoring.explain import explain, explanation_lines, find_contact
from leadwell.scoring.form import (
    ConditionRow,
    Draft,
    RuleRow,
    StageRow,
    document_of,
    draft_from_form,
    draft_of,
    place_error,
)
from leadwell.scoring.recompute import recompute
from leadwell.scoring.settings import GRADES, RETRY_OUTCOMES, Settings, from_document, parse_toml
from leadwell.scoring.stages import STAGE_LABELS
from leadwell.scoring.store import apply_settings, current_settings, list_versions, settings_version
from leadwell.scoring.toml_text import to_toml
from leadwell.web.deps import Page, PageScope, check_csrf
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
OPERATORS = tuple(words.OPERATOR_WORDS.items())
OUTCOMES = ("new version", "unchanged")


def _properties() -> dict[str, list[str]]:
    """Each event type's property names, for the conditions' and caps' suggestions."""
    return {
        event_type: [info.alias or name for name, info in model.model_fields.items()]
        for event_type, model in EVENT_TYPES.items()
    }


PROPERTIES = _properties()


def can_edit(scope: PageScope) -> bool:
    return scope.can_edit


@dataclass(frozen=True)
class Posted:
    """A posted editor form: its CSRF token, what was asked (save, add a row, …) and the draft."""

    csrf_token: str | None
    action: str
    draft: Draft


async def posted_form(request: Request) -> Posted:
    """Parse the form here (it is async) so that the route runs, blocking, in a worker thread."""
    form = await request.form()
    values = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    return Posted(values.get("csrf_token"), values.get("action", "save"), draft_from_form(values))


PostedForm = Annotated[Posted, Depends(posted_form)]


def _with_blanks(draft: Draft) -> Draft:
    """Room to add: an empty condition under every rule."""
    for rule in draft.rules:
        if not rule.conditions or not rule.conditions[-1].blank:
            rule.conditions.append(ConditionRow())
    return draft


def _notice(query: Any) -> str | None:
    saved = query.get("saved", "")
    if saved not in OUTCOMES:
        return None
    version = query.get("version", "?")
    if saved == "unchanged":
        return f"Nothing changed: still version {version}."
    text = f"Saved as version {version}."
    contacts, seconds = query.get("contacts", ""), query.get("seconds", "")
    if contacts.isdigit():
        text += f" Rescored {int(contacts):,} contacts in {seconds} s."
    return text


@dataclass(frozen=True)
class Explained:
    """A contact's score in words, as ``leadwell score explain`` prints it, or why there is none."""

    asked: str
    lines: list[str]
    name: str = ""
    url: str = ""
    error: str | None = None


def _explained(request: Request, scope: PageScope, asked: str) -> Explained | None:
    if not asked.strip():
        return None
    with scope.db.session() as session:
        try:
            contact_id = find_contact(session, scope.workspace_id, scope.codec, asked[:320])
        except (InvalidInput, NotFound) as error:
            return Explained(asked, [], error=error.detail.removeprefix("CONTACT: "))
        contact = session.get(Contact, contact_id)
        found = explain(session, scope.workspace_id, contact_id, utcnow())
    public = scope.codec.encode("contact", contact_id)
    name = f"{contact.first_name} {contact.last_name}".strip() if contact else public
    url = str(request.app.url_path_for("contact_detail", contact_id=public))
    return Explained(asked, explanation_lines(found), name or public, url)


def _page(request: Request, scope: PageScope, draft: Draft | None = None, status: int = 200) -> HTMLResponse:
    """The page: the settings in force, their versions, and the editor (with ``draft`` when given)."""
    with scope.db.session() as session:
        version, settings = current_settings(session, scope.workspace_id)
        versions = list_versions(session, scope.workspace_id)
    return render(
        request,
        "scoring/settings.html",
        status_code=status,
        scope=scope,
        active="settings",
        version=version,
        summary=words.summary(settings),
        versions=versions,
        draft=_with_blanks(draft or draft_of(settings.document)),
        toml_text=to_toml(settings.document),
        editor=can_edit(scope),
        notice=_notice(request.query_params),
        event_types=[(name, EVENT_LABELS.get(name, name)) for name in EVENT_TYPES],
        properties=PROPERTIES,
        operators=OPERATORS,
        stages=[(name, STAGE_LABELS.get(name, name)) for name in LIFECYCLE_STAGES],
        grades=(*GRADES, "unknown"),
        outcomes=RETRY_OUTCOMES,
        explained=_explained(request, scope, request.query_params.get("contact", "")),
    )


@router.get("/settings/scoring", name="scoring_settings")
def scoring_settings(request: Request, scope: Page) -> HTMLResponse:
    """The qualification settings in force, in sentences, with their versions and the editor;
    ``?contact=`` (an email or contact id) adds that contact's score explained."""
    return _page(request, scope)


def _settings_of(draft: Draft, from_toml: bool) -> Settings | None:
    """The draft (or its pasted TOML) checked; None with the error placed in the draft."""
    try:
        if from_toml:
            return parse_toml(draft.toml)
        return from_document(document_of(draft))
    except InvalidInput as error:
        if from_toml:
            draft.error, draft.error_at = error.detail, "toml"
        else:
            place_error(draft, error)
        return None


def _save(request: Request, scope: PageScope, draft: Draft, from_toml: bool) -> Response:
    settings = _settings_of(draft, from_toml)
    if settings is None:
        return _page(request, scope, draft, 422)
    with scope.db.session() as session:
        applied = apply_settings(session, scope.workspace_id, settings, scope.user.id)
    query: dict[str, Any] = {"saved": applied.outcome, "version": applied.version}
    if applied.changed:
        # Committed first: on PostgreSQL the rescoring then runs in two halves on two connections.
        with scope.db.session() as session:
            run = recompute(session, scope.workspace_id, scope.db.engine)
        query |= {"contacts": run.contacts, "seconds": f"{run.seconds:.2f}"}
    path = request.app.url_path_for("scoring_settings")
    return RedirectResponse(f"{path}?{urlencode(query)}", status_code=303)


def _edit_rows(draft: Draft, action: str) -> bool:
    """Add or remove a row as the button asked; False when the action is not one of those."""
    kind, _, number = action.partition(":")
    if kind == "add-rule":
        draft.rules.append(RuleRow(event="page_viewed", conditions=[ConditionRow()]))
    elif kind == "add-stage":
        draft.stage_rules.append(StageRow())
    elif kind == "remove-rule" and number.isdigit() and int(number) < len(draft.rules):
        del draft.rules[int(number)]
    elif kind == "remove-stage" and number.isdigit() and int(number) < len(draft.stage_rules):
        del draft.stage_rules[int(number)]
    else:
        return False
    return True


@router.post("/settings/scoring", name="scoring_save", response_model=None)
def scoring_save(request: Request, scope: Page, posted: PostedForm) -> Response:
    """Whatever the editor's buttons asked: save, add or remove a row, load or save pasted TOML."""
    check_csrf(request, posted.csrf_token)
    if not can_edit(scope):
        raise HTTPException(
            403, f"Only owners and marketers change the scoring settings; you are {scope.role}."
        )
    draft, action = posted.draft, posted.action
    if _edit_rows(draft, action):
        return _page(request, scope, draft)
    if action == "toml-load":
        settings = _settings_of(draft, from_toml=True)
        if settings is None:
            return _page(request, scope, draft, 422)
        return _page(request, scope, draft_of(settings.document))
    return _save(request, scope, draft, from_toml=action == "toml-save")


@router.get("/settings/scoring/versions/{version}", name="scoring_version")
def scoring_version(request: Request, scope: Page, version: str) -> HTMLResponse:
    """One version's settings in sentences and as TOML, as ``leadwell score show --version N``."""
    if not version.isdigit() or len(version) > 9:
        raise HTTPException(404, "No such version of the scoring settings.")
    with scope.db.session() as session:
        try:
            settings = settings_version(session, scope.workspace_id, int(version))
        except NotFound:
            raise HTTPException(404, "No such version of the scoring settings.") from None
    return render(
        request,
        "scoring/version.html",
        scope=scope,
        active="settings",
        version=int(version),
        summary=words.summary(settings),
        toml_text=to_toml(settings.document),
    )
