"""Workspaces, users, memberships and API tokens: the service functions behind CLI, web and API."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_decoy, verify_password
from leadwell.db.models import ROLES, ApiToken, Membership, User, Workspace
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput, NotFound

TOKEN_PREFIX = "lw_"
SCOPES = ("read", "write")
_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62})$")


def normalize_email(address: str, field: str = "email") -> str:
    """A syntactically valid, normalised address (no DNS look-up), or :class:`InvalidInput`."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise InvalidInput(f"{field}: {error}", field=field) from None


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63]
    return slug or "workspace"


def create_workspace(session: Session, name: str, slug: str | None = None) -> Workspace:
    """A new workspace; the slug (used by ``--workspace``) defaults to one derived from the name."""
    if not name.strip():
        raise InvalidInput("name: must not be empty", field="name")
    slug = slug or slugify(name)
    if not _SLUG_RE.match(slug):
        raise InvalidInput("slug: lowercase letters, digits and '-' only", field="slug")
    if session.scalar(select(Workspace.id).where(Workspace.slug == slug)) is not None:
        raise Conflict(f"slug: a workspace named {slug!r} exists", field="slug")
    workspace = Workspace(name=name.strip(), slug=slug)
    session.add(workspace)
    session.flush()
    return workspace


def find_workspace(session: Session, slug_or_id: str) -> Workspace:
    """The workspace with this slug (or numeric id), else :class:`NotFound`."""
    query = select(Workspace).where(Workspace.slug == slug_or_id)
    if slug_or_id.isdigit():
        query = select(Workspace).where(Workspace.id == int(slug_or_id))
    workspace = session.scalar(query)
    if workspace is None:
        raise NotFound(f"workspace: no workspace {slug_or_id!r}", field="workspace")
    return workspace


def create_user(session: Session, email: str, password: str, name: str = "") -> User:
    email = normalize_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password: at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"email: a user {email} exists", field="email")
    user = User(email=email, name=name.strip(), password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def add_member(session: Session, workspace: Workspace, user: User, role: str) -> Membership:
    """Give ``user`` a ``role`` in ``workspace`` (or change the role they have)."""
    if role not in ROLES:
        raise InvalidInput(f"role: one of {', '.join(ROLES)}", field="role")
    membership = session.scalar(
        select(Membership).where(Membership.workspace_id == workspace.id, Membership.user_id == user.id)
    )
    if membership is None:
        membership = Membership(workspace_id=workspace.id, user_id=user.id, role=role)
        session.add(membership)
    membership.role = role
    session.flush()
    return membership


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user whose email and password match, else None (same answer for unknown email)."""
    user = find_user(session, email)
    if user is None:
        # Hash anyway so response time does not reveal which emails have accounts.
        verify_decoy(password)
        return None
    return user if verify_password(user.password_hash, password) else None


@dataclass(frozen=True)
class WorkspaceAccess:
    workspace: Workspace
    role: str


def workspaces_of(session: Session, user_id: int) -> list[WorkspaceAccess]:
    """The workspaces a user belongs to, by name."""
    rows = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.name)
    ).all()
    return [WorkspaceAccess(workspace, role) for workspace, role in rows]


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session,
    workspace: Workspace,
    name: str,
    scopes: tuple[str, ...] = SCOPES,
    created_by: User | None = None,
) -> tuple[ApiToken, str]:
    """A new API token; the secret is returned once and only its hash is stored."""
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise InvalidInput(f"scopes: unknown scope {unknown[0]!r}; known: {', '.join(SCOPES)}", "scopes")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        workspace_id=workspace.id,
        name=name.strip() or "token",
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_token(secret),
        scopes=list(scopes),
        created_by_id=created_by.id if created_by else None,
    )
    session.add(token)
    session.flush()
    return token, secret


def token_for_secret(session: Session, secret: str) -> ApiToken | None:
    """The live (not revoked) token with this secret, else None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    return session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None))
    )


def revoke_token(session: Session, workspace_id: int, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.workspace_id != workspace_id:
        raise NotFound("token: no such token", field="token")
    token.revoked_at = utcnow()
