"""Ideal client profile pages: the list, the editor with its live preview, and a profile's one-page
portrait with its versions.

Everyone in the workspace reads profiles; owners and marketers edit them. The editor is a plain
form (it saves without JavaScript); with htmx, every change posts the draft to ``/icp/preview``,
which grades it without saving (see :mod:`leadwell.icp.preview`). Saving applies the definition
(a new version only when it changed), grades every contact, and redirects to the profile page,
whose query string says what happened (``?saved=new+version&changed=12``), so a reload repeats
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Icp, IcpVersion, User
from leadwell.errors import InvalidInput, NotFound
from leadwell.icp import editor
from leadwell.icp.definition import Definition
from leadwell.icp.form import (
    SLUG,
    Draft,
    add_row,
    blank_draft,
    check,
    definition_of,
    draft_from_form,
    draft_of,
    for_preview,
    remove_row,
)
from leadwell.icp.grading import grade_all
from leadwell.icp.preview import preview
from leadwell.icp.store import (
    GRADES,
    apply_definition,
    get_icp,
    grade_counts,
    list_icps,
    load_definition,
    version_document,
)
from leadwell.icp.toml_text import to_toml
from leadwell.web.deps import Page, PageScope, check_csrf
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
RESERVED_SLUGS = ("new", "suggest", "backtest")  # /icp/new is the editor; the others leadwell.predict's
OUTCOMES = ("created", "new version", "unchanged")


def can_edit(scope: PageScope) -> bool:
    return scope.can_edit


def _require_editor(scope: PageScope) -> None:
    scope.require_editor("Only owners and marketers edit profiles")


def grade_links(request: Request, slug: str) -> dict[str, str]:
    """Each grade's link to the contacts list, filtered by this profile and that grade."""
    base = str(request.app.url_path_for("contacts_list"))
    return {grade: f"{base}?{urlencode({'icp': slug, 'grade': grade})}" for grade in GRADES}


def _profile(session: Session, scope: PageScope, slug: str) -> Icp:
    try:
        return get_icp(session, scope.workspace_id, slug)
    except NotFound:
        raise HTTPException(404, "No such profile in this workspace.") from None


# --- the list ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileRow:
    icp: Icp
    counts: dict[str, int]
    links: dict[str, str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@router.get("/icp", name="icp_list")
def icp_list(request: Request, scope: Page) -> HTMLResponse:
    """Every profile with its current version and how many contacts have each grade."""
    with scope.db.session() as session:
        rows = [
            ProfileRow(icp, grade_counts(session, scope.workspace_id, icp.id), grade_links(request, icp.slug))
            for icp in list_icps(session, scope.workspace_id)
        ]
    return render(
        request,
        "icp/list.html",
        scope=scope,
        active="icp_list",
        rows=rows,
        grades=GRADES,
        editor=can_edit(scope),
    )


# --- the editor --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditorForm:
    """A posted editor form: its CSRF token, what was asked (save, add a row, …) and the draft."""

    csrf_token: str | None
    action: str
    editing: str
    draft: Draft


async def editor_form(request: Request) -> EditorForm:
    """Parse the form here (it is async) so that the routes run, blocking, in a worker thread."""
    form = await request.form()
    values = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    return EditorForm(
        values.get("csrf_token"),
        values.get("action", "save"),
        values.get("editing", ""),
        draft_from_form(values),
    )


Posted = Annotated[EditorForm, Depends(editor_form)]


def _editor(
    request: Request, scope: PageScope, draft: Draft, editing: Icp | None, status: int = 200
) -> HTMLResponse:
    """The editor page for ``draft`` (its error, if any, shown where it belongs)."""
    with scope.db.session() as session:
        groups = editor.field_groups(session.connection(), scope.workspace_id, [draft])
    try:
        definition = None if draft.error else definition_of(draft)
    except InvalidInput:
        definition = None
    units = editor.unit_choices(row.unit for row in (*draft.must, *draft.nice))
    return render(
        request,
        "icp/editor.html",
        status_code=status,
        scope=scope,
        active="icp_list",
        draft=draft,
        editing=editing,
        groups=groups,
        operators=editor.OPERATORS,
        units=units,
        avatar_fields=editor.AVATAR_FIELDS,
        allowed_json=editor.ALLOWED_JSON,
        toml_text=to_toml(definition.document) if definition else "",
        action_url=_action_url(request, editing),
    )


def _action_url(request: Request, editing: Icp | None) -> str:
    if editing is None:
        return str(request.app.url_path_for("icp_create"))
    return str(request.app.url_path_for("icp_update", slug=editing.slug))


def _slug_problem(
    session: Session, scope: PageScope, definition: Definition, editing: Icp | None
) -> str | None:
    """Why this definition's slug cannot be saved from this page, if it cannot."""
    slug = definition.slug
    if editing is not None:
        return None if slug == editing.slug else f"slug: this page edits {editing.slug!r}, not {slug!r}"
    if slug in RESERVED_SLUGS:
        return f"slug: {slug!r} is taken by the editor's address; choose another"
    taken = session.scalar(select(Icp.id).where(Icp.workspace_id == scope.workspace_id, Icp.slug == slug))
    return f"slug: a profile {slug!r} already exists; edit it instead" if taken else None


def _save(request: Request, scope: PageScope, draft: Draft, editing: Icp | None) -> Response:
    """Check the draft; save it and grade everyone, or show it again with the error in place."""
    definition = check(draft)
    if definition is None:
        return _editor(request, scope, draft, editing, 422)
    with scope.db.session() as session:
        problem = _slug_problem(session, scope, definition, editing)
        if problem is None:
            applied = apply_definition(session, scope.workspace_id, definition, scope.user.id)
            run = grade_all(session, scope.workspace_id, applied.icp)
    if problem is not None:
        draft.error, draft.error_at = problem, "toml" if draft.toml.strip() else "slug"
        return _editor(request, scope, draft, editing, 422)
    path = request.app.url_path_for("icp_profile", slug=definition.slug)
    query = urlencode({"saved": applied.outcome, "changed": run.changed})
    return RedirectResponse(f"{path}?{query}", status_code=303)


def _submit(request: Request, scope: PageScope, posted: EditorForm, editing: Icp | None) -> Response:
    """Whatever the editor's buttons asked: save, add or remove a row, use pasted TOML."""
    check_csrf(request, posted.csrf_token)
    _require_editor(scope)
    draft, action = posted.draft, posted.action
    if editing is not None:
        draft.slug = editing.slug
    kind, _, number = action.partition(":")[2].partition(":")
    if action.startswith("add:") and kind in ("must", "nice"):
        add_row(draft, kind)
        return _editor(request, scope, draft, editing)
    if action.startswith("remove:") and kind in ("must", "nice") and number.isdigit():
        remove_row(draft, kind, int(number))
        return _editor(request, scope, draft, editing)
    if action.startswith("toml"):
        return _from_toml(request, scope, posted, editing)
    return _save(request, scope, draft, editing)


def _from_toml(request: Request, scope: PageScope, posted: EditorForm, editing: Icp | None) -> Response:
    """Pasted TOML: load it into the form (nothing saved), or save it as it is."""
    if editing is None:
        base = blank_draft()
    else:
        with scope.db.session() as session:
            base = draft_of(version_document(session, editing.id, editing.current_version))
    base.toml = posted.draft.toml
    if posted.action == "toml-save":
        return _save(request, scope, base, editing)
    definition = check(base)
    if definition is not None and editing is not None and definition.slug != editing.slug:
        base.error, base.error_at = f"slug: this page edits {editing.slug!r}, not {definition.slug!r}", "toml"
        definition = None
    if definition is None:
        return _editor(request, scope, base, editing, 422)
    return _editor(request, scope, draft_of(definition.document), editing)


@router.get("/icp/new", name="icp_new")
def icp_new(request: Request, scope: Page) -> HTMLResponse:
    """An empty editor: one must-have and one nice-to-have row to start from."""
    _require_editor(scope)
    return _editor(request, scope, blank_draft(), None)


@router.post("/icp/new", name="icp_create", response_model=None)
def icp_create(request: Request, scope: Page, posted: Posted) -> Response:
    return _submit(request, scope, posted, None)


@router.get("/icp/{slug}/edit", name="icp_edit")
def icp_edit(request: Request, scope: Page, slug: str) -> HTMLResponse:
    """The editor, filled with the profile's current version."""
    _require_editor(scope)
    with scope.db.session() as session:
        icp = _profile(session, scope, slug)
        draft = draft_of(version_document(session, icp.id, icp.current_version))
    return _editor(request, scope, draft, icp)


@router.post("/icp/{slug}/edit", name="icp_update", response_model=None)
def icp_update(request: Request, scope: Page, slug: str, posted: Posted) -> Response:
    with scope.db.session() as session:
        icp = _profile(session, scope, slug)
    return _submit(request, scope, posted, icp)


# --- the live preview --------------------------------------------------------------------------------


@router.post("/icp/preview", name="icp_preview")
def icp_preview(request: Request, scope: Page, posted: Posted) -> HTMLResponse:
    """The draft graded without saving: counts per grade now and with the draft, and examples."""
    check_csrf(request, posted.csrf_token or request.headers.get("X-CSRF-Token"))
    named = bool(
        posted.draft.toml.strip() or (SLUG.fullmatch(posted.draft.slug) and posted.draft.name.strip())
    )
    draft = for_preview(posted.draft)
    definition = check(draft)
    context: dict[str, Any] = {"error": draft.error, "grades": GRADES, "result": None, "now": None}
    with scope.db.session() as session:
        if definition is not None:
            context["result"] = preview(session, scope.workspace_id, definition)
            # The TOML beside the form follows it, once it is the profile's (not the stand-ins').
            context["toml_text"] = to_toml(definition.document) if named else None
        current = session.scalar(
            select(Icp).where(Icp.workspace_id == scope.workspace_id, Icp.slug == posted.editing)
        )
        if current is not None:
            context["now"] = grade_counts(session, scope.workspace_id, current.id)
    context["contact_url"] = lambda number: str(
        request.app.url_path_for("contact_detail", contact_id=scope.codec.encode("contact", number))
    )
    return render(request, "icp/_preview.html", scope=scope, workspaces=[], **context)


# --- a profile ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    version: int
    saved_at: Any
    by: str | None
    url: str


def _versions(request: Request, session: Session, icp: Icp) -> list[VersionRow]:
    rows = session.execute(
        select(IcpVersion.version, IcpVersion.created_at, User.email)
        .outerjoin(User, User.id == IcpVersion.created_by_id)
        .where(IcpVersion.icp_id == icp.id)
        .order_by(IcpVersion.version.desc())
    )
    return [
        VersionRow(
            version,
            saved_at,
            email,
            str(request.app.url_path_for("icp_version", slug=icp.slug, version=str(version))),
        )
        for version, saved_at, email in rows
    ]


def _notice(saved: str, changed: str, version: int) -> str | None:
    if saved not in OUTCOMES:
        return None
    moved = int(changed) if changed.isdigit() else 0
    head = {
        "created": f"Profile created (version {version}).",
        "new version": f"Saved as version {version}.",
        "unchanged": f"Nothing changed: still version {version}.",
    }[saved]
    return head + (f" {moved:,} contact{'' if moved == 1 else 's'} changed grade." if moved else "")


@router.get("/icp/{slug}", name="icp_profile")
def icp_profile(request: Request, scope: Page, slug: str, saved: str = "", changed: str = "") -> HTMLResponse:
    """The profile on one page: the avatar, the criteria in words, grade counts and versions."""
    with scope.db.session() as session:
        icp = _profile(session, scope, slug)
        document = version_document(session, icp.id, icp.current_version)
        definition = load_definition(session, icp)
        counts = grade_counts(session, scope.workspace_id, icp.id)
        versions = _versions(request, session, icp)
    return render(
        request,
        "icp/profile.html",
        scope=scope,
        active="icp_list",
        icp=icp,
        definition=definition,
        description=document.get("description"),
        avatar=definition.avatar or {},
        counts=counts,
        links=grade_links(request, icp.slug),
        versions=versions,
        notice=_notice(saved, changed, icp.current_version),
        editor=can_edit(scope),
        avatar_fields=editor.AVATAR_FIELDS,
    )


@router.get("/icp/{slug}/versions/{version}", name="icp_version")
def icp_version(request: Request, scope: Page, slug: str, version: str) -> HTMLResponse:
    """One version's definition as TOML, as ``leadwell icp show SLUG --version N`` prints it."""
    if not version.isdigit() or len(version) > 9:
        raise HTTPException(404, "No such version of this profile.")
    with scope.db.session() as session:
        icp = _profile(session, scope, slug)
        try:
            document = version_document(session, icp.id, int(version))
        except NotFound:
            raise HTTPException(404, "No such version of this profile.") from None
        saved = session.execute(
            select(IcpVersion.created_at, User.email)
            .outerjoin(User, User.id == IcpVersion.created_by_id)
            .where(IcpVersion.icp_id == icp.id, IcpVersion.version == int(version))
        ).one()
    return render(
        request,
        "icp/version.html",
        scope=scope,
        active="icp_list",
        icp=icp,
        version=int(version),
        toml_text=to_toml(document),
        saved_at=saved[0],
        by=saved[1],
    )
