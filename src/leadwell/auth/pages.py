"""Log in, log out, switch workspace, and the role-based landing page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from leadwell.auth.accounts import authenticate, workspaces_of
from leadwell.web.deps import Page, check_csrf, csrf_token, get_app
from leadwell.web.ratelimit import RateLimiter
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after login would be a phishing tool."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", name="login_form")
def login_form(request: Request, next: str = "/") -> Response:
    return render(
        request, "login.html", csrf_token=csrf_token(request), next=_safe_next(next), email="", error=None
    )


@router.post("/login", name="login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_csrf(request, csrf)
    app = get_app(request)
    limiter: RateLimiter = request.app.state.login_limiter
    client = request.client.host if request.client else "unknown"
    if not limiter.hit(client):
        return render(
            request,
            "login.html",
            status_code=429,
            csrf_token=csrf_token(request),
            next=_safe_next(next),
            email=email,
            error="Too many attempts; wait a minute and retry.",
        )
    with app.db.session() as session:
        user = authenticate(session, email, password)
        user_id = user.id if user else None
    if user_id is None:
        return render(
            request,
            "login.html",
            status_code=401,
            csrf_token=csrf_token(request),
            next=_safe_next(next),
            email=email,
            error="Wrong email or password.",
        )
    limiter.reset(client)
    request.session.clear()  # a fresh session on login: no fixation of a pre-login cookie
    request.session["user_id"] = user_id
    csrf_token(request)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", name="logout")
def logout(request: Request, csrf: Annotated[str, Form(alias="csrf_token")] = "") -> Response:
    check_csrf(request, csrf)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/workspace", name="switch_workspace")
def switch_workspace(
    request: Request,
    scope: Page,
    workspace_id: Annotated[int, Form()],
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    """Make another of the user's workspaces current; a workspace they do not belong to is a 404."""
    check_csrf(request, csrf)
    with scope.db.session() as session:
        allowed = {access.workspace.id for access in workspaces_of(session, scope.user.id)}
    if workspace_id not in allowed:
        raise HTTPException(404, "No such workspace.")
    request.session["workspace_id"] = workspace_id
    return RedirectResponse("/", status_code=303)


@router.get("/", name="home")
def home(scope: Page) -> Response:
    """Owners land on the dashboard, salespeople on the call queue, marketers on their contacts until
    their areas arrive."""
    target = {"owner": "/dashboard", "sales": "/queue"}.get(scope.role, "/contacts")
    return RedirectResponse(target, status_code=303)
