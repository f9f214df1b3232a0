"""Request context: who is asking, for which workspace, with which database.

The API authenticates with bearer tokens; pages with a signed session cookie that holds ids only.
Both resolve to a :class:`Scope` carrying the workspace id that every service call is given.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy import select

from leadwell.auth.accounts import token_for_secret
from leadwell.capture.tokens import TokenSigner
from leadwell.config import Settings
from leadwell.db.models import Membership, User, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec

TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class App:
    """Process-wide objects the routers need, kept on ``app.state.leadwell``."""

    settings: Settings
    db: Database
    codec: IdCodec
    secret_key: str
    # Signs the public surface's links (delivery, open pixel, click redirect, visitor hand-over).
    signer: TokenSigner


def get_app(request: Request) -> App:
    app: App = request.app.state.leadwell
    return app


@dataclass(frozen=True)
class ApiScope:
    """An authenticated API request: the token's workspace and scopes."""

    app: App
    workspace_id: int
    scopes: tuple[str, ...]

    @property
    def db(self) -> Database:
        return self.app.db

    @property
    def codec(self) -> IdCodec:
        return self.app.codec


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="leadwell"'})


def api_scope(
    request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> ApiScope:
    """Resolve the bearer token; read-only tokens may only use safe methods."""
    app = get_app(request)
    if not authorization or not authorization.lower().startswith("bearer "):
        raise _unauthorized("authorization: send 'Authorization: Bearer <token>'")
    with app.db.session() as session:
        token = token_for_secret(session, authorization[7:].strip())
        if token is None:
            raise _unauthorized("authorization: unknown or revoked token")
        now = utcnow()
        if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
            token.last_used_at = now
        scope = ApiScope(app, token.workspace_id, tuple(token.scopes))
    needed = "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"
    if needed not in scope.scopes:
        raise HTTPException(403, f"authorization: this token lacks the {needed!r} scope")
    return scope


Api = Annotated[ApiScope, Depends(api_scope)]


EDITOR_ROLES = ("owner", "marketer")  # build and change things; "sales" reads and calls


@dataclass(frozen=True)
class PageScope:
    """A logged-in page request: the user, the current workspace and the user's role in it."""

    app: App
    user: User
    workspace: Workspace
    role: str
    csrf_token: str

    @property
    def workspace_id(self) -> int:
        return self.workspace.id

    @property
    def db(self) -> Database:
        return self.app.db

    @property
    def codec(self) -> IdCodec:
        return self.app.codec

    @property
    def can_edit(self) -> bool:
        """Whether the user may change what the page shows (owners and marketers)."""
        return self.role in EDITOR_ROLES

    def require_editor(self, refusal: str) -> None:
        """A 403 page for a salesperson posting a change: ``refusal`` says what is refused to them
        ("Only owners and marketers edit profiles"), the page adds their role."""
        if not self.can_edit:
            raise HTTPException(403, f"{refusal}; you are {self.role}.")


class LoginRequired(Exception):
    """Raised by :func:`page_scope` when nobody is logged in; answered with a redirect to /login."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a state-changing form whose token does not match the session's."""
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not submitted or not hmac.compare_digest(expected, submitted):
        raise HTTPException(
            403, "This form expired or did not come from leadwell; reload the page and retry."
        )


def page_scope(request: Request) -> PageScope:
    app = get_app(request)
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        raise LoginRequired
    with app.db.session() as session:
        user = session.get(User, user_id)
        if user is None:
            request.session.clear()
            raise LoginRequired
        memberships = session.execute(
            select(Membership, Workspace)
            .join(Workspace, Workspace.id == Membership.workspace_id)
            .where(Membership.user_id == user_id)
            .order_by(Workspace.name)
        ).all()
    if not memberships:
        raise HTTPException(403, "Your account belongs to no workspace; ask an owner to add you.")
    wanted = request.session.get("workspace_id")
    chosen = next((pair for pair in memberships if pair[1].id == wanted), memberships[0])
    request.session["workspace_id"] = chosen[1].id
    return PageScope(app, user, chosen[1], chosen[0].role, csrf_token(request))


Page = Annotated[PageScope, Depends(page_scope)]
