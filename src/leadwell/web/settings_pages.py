"""Workspace settings: members and API tokens.

Everyone in the workspace can see who is in it and which tokens exist; only owners change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.auth.accounts import SCOPES, add_member, create_token, find_user, revoke_token
from leadwell.db.models import ROLES, ApiToken, Membership, User
from leadwell.ids import BadId
from leadwell.web.deps import Page, PageScope, check_csrf
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(alias="csrf_token")]


@dataclass(frozen=True)
class MemberRow:
    email: str
    name: str
    role: str


@dataclass(frozen=True)
class TokenRow:
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _members(session: Session, workspace_id: int) -> list[MemberRow]:
    rows = session.execute(
        select(User.email, User.name, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(User.email)
    ).all()
    return [MemberRow(email, name, role) for email, name, role in rows]


def _tokens(session: Session, scope: PageScope) -> list[TokenRow]:
    """The workspace's tokens, live ones first, newest first within each group."""
    tokens = session.scalars(
        select(ApiToken)
        .where(ApiToken.workspace_id == scope.workspace_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return [
        TokenRow(
            scope.codec.encode("token", t.id),
            t.name,
            t.prefix,
            list(t.scopes),
            t.created_at,
            t.last_used_at,
            t.revoked_at,
        )
        for t in tokens
    ]


def _page(request: Request, scope: PageScope, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The settings page; ``context`` adds a form error or a just-created secret."""
    with scope.db.session() as session:
        members = _members(session, scope.workspace_id)
        tokens = _tokens(session, scope)
    context.setdefault("notice", request.session.pop("notice", None))
    return render(
        request,
        "settings.html",
        status_code=status_code,
        scope=scope,
        active="settings",
        members=members,
        tokens=tokens,
        roles=ROLES,
        scopes=SCOPES,
        is_owner=scope.role == "owner",
        **context,
    )


def _owner_only(request: Request, scope: PageScope, csrf: str) -> None:
    """A settings change needs the form's CSRF token and an owner."""
    check_csrf(request, csrf)
    if scope.role != "owner":
        raise HTTPException(403, "Only owners of this workspace can change its settings.")


def _done(request: Request, notice: str) -> RedirectResponse:
    """Post/redirect/get: a reload of the result never repeats the change."""
    request.session["notice"] = notice
    return RedirectResponse(request.app.url_path_for("settings"), status_code=303)


@router.get("/settings", name="settings")
def settings(request: Request, scope: Page) -> HTMLResponse:
    """Members and API tokens of the current workspace."""
    return _page(request, scope)


@router.post("/settings/tokens", name="create_api_token")
def create_api_token(
    request: Request,
    scope: Page,
    csrf: Csrf = "",
    name: Annotated[str, Form()] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Create a token and show its secret this once.

    Deliberately not a redirect: the secret would have to survive until the next request, and the
    only place for it is the session cookie, which is signed but readable (it holds ids only). The
    answer is marked ``no-store`` so the browser keeps no copy.
    """
    _owner_only(request, scope, csrf)
    name = name.strip()
    chosen = tuple(scope_ for scope_ in SCOPES if scope_ in (scopes or []))
    error = None
    if not name or len(name) > 200:
        error = "Give the token a name of at most 200 characters, e.g. the system that will use it."
    elif not chosen or len(chosen) != len(set(scopes or [])):
        error = f"Choose at least one scope among: {', '.join(SCOPES)}."
    if error:
        return _page(request, scope, 422, token_error=error, token_name=name)
    with scope.db.session() as session:
        token, secret = create_token(session, scope.workspace, name, chosen, created_by=scope.user)
        created = TokenRow(
            scope.codec.encode("token", token.id),
            token.name,
            token.prefix,
            list(chosen),
            token.created_at,
            None,
            None,
        )
    response = _page(request, scope, 200, created=created, secret=secret)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/tokens/{token_id}/revoke", name="revoke_api_token")
def revoke_api_token(request: Request, scope: Page, token_id: str, csrf: Csrf = "") -> Response:
    """Revoke a token of this workspace; it stops working at once."""
    _owner_only(request, scope, csrf)
    try:
        number = scope.codec.decode("token", token_id)
    except BadId:
        number = None
    with scope.db.session() as session:
        token = session.scalar(
            select(ApiToken).where(ApiToken.id == number, ApiToken.workspace_id == scope.workspace_id)
        )
        if token is None:
            raise HTTPException(404, "No such token in this workspace.")
        if token.revoked_at is None:  # keep the first revocation time: it is what an audit needs
            revoke_token(session, scope.workspace_id, token.id)
        name = token.name
    return _done(request, f"Token “{name}” revoked: requests using it now get 401.")


def _owners_left(session: Session, workspace_id: int, without_user: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Membership.workspace_id == workspace_id,
                Membership.role == "owner",
                Membership.user_id != without_user,
            )
        )
        or 0
    )


@router.post("/settings/members", name="add_workspace_member")
def add_workspace_member(
    request: Request,
    scope: Page,
    csrf: Csrf = "",
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
) -> Response:
    """Add an existing user to the workspace with a role (or change the role of a member)."""
    _owner_only(request, scope, csrf)
    with scope.db.session() as session:
        user = find_user(session, email[:320]) if email.strip() else None
        error = _member_error(session, scope, user, email, role)
        if user is not None and error is None:
            add_member(session, scope.workspace, user, role)
            return _done(request, f"{user.email} is now {role} of {scope.workspace.name}.")
    return _page(request, scope, 422, member_error=error, member_email=email, member_role=role)


def _member_error(session: Session, scope: PageScope, user: User | None, email: str, role: str) -> str | None:
    """Why this member change cannot be made, or None when it can."""
    if role not in ROLES:
        return f"Choose a role: {', '.join(ROLES)}."
    if user is None:
        return f"No leadwell account uses {email.strip() or 'that address'}; they need an account first."
    if role != "owner" and _owners_left(session, scope.workspace_id, user.id) == 0:
        return "A workspace needs an owner: make someone else owner before changing this role."
    return None
