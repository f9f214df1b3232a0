"""``/icp/suggest``: the rules the workspace's wins suggest, and "Make a profile draft".

Everyone in the workspace reads the rules; owners and marketers turn one into a profile draft. The
draft is not saved: it opens in the profile editor (a new profile, or a new version of a chosen
one, with the rule's conditions as must-haves), where it is reviewed, previewed against the
contacts and saved like any profile. Each rule's conditions travel in the button's form and are
checked again when they come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from leadwell.errors import InvalidInput, NotFound
from leadwell.icp import pages as icp_pages
from leadwell.icp.form import draft_of
from leadwell.icp.store import get_icp, list_icps, version_document
from leadwell.predict.conditions import Condition
from leadwell.predict.rules import MiningOptions, Rule, percent
from leadwell.predict.suggest import (
    MAX_CONDITIONS,
    TooFewWins,
    condition_fields,
    condition_from_fields,
    criterion_of,
    free_slug,
    profile_draft,
    suggest_from_workspace,
)
from leadwell.web.deps import Page, PageScope, check_csrf
from leadwell.web.templating import error_page, render

router = APIRouter(include_in_schema=False)
MAX_TOP = 30
MAX_SUMMARY = 500


@dataclass(frozen=True)
class RuleRow:
    """A rule as the page shows it, with its conditions as the draft button's hidden inputs."""

    rank: int
    rule: Rule
    fields: list[tuple[str, str, str]]
    mappable: bool

    @property
    def interval(self) -> str:
        low, high = self.rule.interval
        return f"{low:.2f}–{high:.2f}"


def _row(rank: int, rule: Rule) -> RuleRow:
    fields = [condition_fields(condition) for condition in rule.conditions]
    mappable = any(criterion_of(condition) is not None for condition in rule.conditions)
    return RuleRow(rank, rule, fields, mappable)


def _bounded(text: str, low: int, high: int, default: int) -> int:
    return min(max(int(text), low), high) if text.isdigit() else default


@router.get("/icp/suggest", name="icp_suggest")
def suggest_page(
    request: Request, scope: Page, top: str = "10", conditions: str = "3", fields: str = ""
) -> HTMLResponse:
    """The rules of at most three conditions that tell the workspace's wins from its losses; with
    ``fields=profile``, only over what a profile can test."""
    options = MiningOptions(
        top=_bounded(top, 1, MAX_TOP, 10), max_conditions=_bounded(conditions, 1, MAX_CONDITIONS, 3)
    )
    context: dict[str, Any] = {"problem": None, "mined": None, "rows": []}
    with scope.db.session() as session:
        try:
            mined = suggest_from_workspace(session, scope.workspace_id, options, fields == "profile").mined
            context.update(mined=mined, rows=[_row(rank, rule) for rank, rule in enumerate(mined.rules, 1)])
        except TooFewWins as error:
            context["problem"] = error
        profiles = [(icp.slug, icp.name) for icp in list_icps(session, scope.workspace_id)]
    return render(
        request,
        "predict/suggest.html",
        scope=scope,
        active="icp_list",
        options=options,
        profile_fields=fields == "profile",
        profiles=profiles,
        editor=icp_pages.can_edit(scope),
        percent=percent,
        **context,
    )


@dataclass(frozen=True)
class DraftForm:
    csrf_token: str | None
    conditions: list[tuple[str, str, str]]
    summary: str
    profile: str


async def draft_form(request: Request) -> DraftForm:
    """The posted button: up to three conditions (``column-N``, ``op-N``, ``value-N``)."""
    form = await request.form()
    values = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    conditions = [
        (values.get(f"column-{n}", ""), values.get(f"op-{n}", ""), values.get(f"value-{n}", ""))
        for n in range(MAX_CONDITIONS)
        if f"column-{n}" in values
    ]
    return DraftForm(
        values.get("csrf_token"), conditions, values.get("summary", ""), values.get("profile", "")
    )


Posted = Annotated[DraftForm, Depends(draft_form)]


def _conditions(posted: DraftForm) -> tuple[Condition, ...]:
    if not posted.conditions:
        raise InvalidInput("rule: no condition was sent", field="rule")
    return tuple(
        condition_from_fields(column, op, value, f"condition {number + 1}")
        for number, (column, op, value) in enumerate(posted.conditions)
    )


@router.post("/icp/suggest/draft", name="icp_suggest_draft")
def make_draft(request: Request, scope: Page, posted: Posted) -> HTMLResponse:
    """The profile editor, filled with a new profile (or a new version of the chosen one) whose
    must-haves are the rule's conditions; nothing is saved until the editor's "Save profile"."""
    check_csrf(request, posted.csrf_token)
    if not icp_pages.can_edit(scope):
        raise HTTPException(403, f"Only owners and marketers make profiles; you are {scope.role}.")
    try:
        return _draft_editor(request, scope, posted)
    except (InvalidInput, NotFound) as error:
        return error_page(request, error.status, f"No profile draft from this rule. {error.detail}")


def _draft_editor(request: Request, scope: PageScope, posted: DraftForm) -> HTMLResponse:
    conditions = _conditions(posted)
    summary = posted.summary.strip()[:MAX_SUMMARY] or " and ".join(c.text for c in conditions)
    with scope.db.session() as session:
        editing = get_icp(session, scope.workspace_id, posted.profile) if posted.profile else None
        base = version_document(session, editing.id, editing.current_version) if editing else None
        if editing is not None:
            session.expunge(editing)
        draft = profile_draft(conditions, summary, base, free_slug(session, scope.workspace_id))
    return icp_pages._editor(request, scope, draft_of(draft.document), editing)
