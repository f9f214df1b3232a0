"""What the Capture section's pages share: who may use them, reading posted forms (with files),
and rendering an editor again with the refused field marked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile

from leadwell.capture.assets import Upload
from leadwell.errors import LeadwellError, NotFound
from leadwell.web.deps import PageScope, check_csrf, page_scope
from leadwell.web.templating import render

ACTIVE = "capture_overview"


def require_editor(scope: PageScope) -> PageScope:
    """Owners and marketers build capture; salespeople get a 403 page that says so."""
    scope.require_editor("The Capture section is for owners and marketers")
    return scope


def editor_scope(request: Request) -> PageScope:
    """A logged-in owner or marketer (dependency)."""
    return require_editor(page_scope(request))


Editor = Annotated[PageScope, Depends(editor_scope)]


@dataclass(frozen=True)
class Posted:
    """A posted form: its text values (last one wins), every value per name, and its files."""

    values: dict[str, str]
    lists: dict[str, list[str]]
    files: dict[str, Upload] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def checked(self, name: str) -> bool:
        return self.values.get(name, "") in ("on", "true", "1", "yes")


async def posted_form(request: Request) -> Posted:
    """Read the form (async), refusing it without a matching CSRF token; empty file inputs are left out."""
    form = await request.form()
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    files: dict[str, Upload] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if value.filename:  # a file input left empty still sends a part, with no file name
                files[name] = Upload(await value.read(), value.filename)
            continue
        values[name] = value
        lists.setdefault(name, []).append(value)
    await form.close()
    check_csrf(request, values.get("csrf_token"))
    return Posted(values, lists, files)


PostedForm = Annotated[Posted, Depends(posted_form)]


def done(request: Request, outcome: str, route: str, **params: str) -> RedirectResponse:
    """Back to ``route`` after a change; ``?done=`` names what happened for the page's banner."""
    return RedirectResponse(f"{request.app.url_path_for(route, **params)}?done={outcome}", status_code=303)


@contextmanager
def missing_as_404(what: str) -> Iterator[None]:
    """Turn the service's NotFound into the 404 page ("No such magnet in this workspace.")."""
    try:
        yield
    except NotFound:
        raise HTTPException(404, f"No such {what} in this workspace.") from None


def base_url(request: Request) -> str:
    """The public address of this installation, as the request reached it, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def refused_page(request: Request, template: str, error: LeadwellError, **context: Any) -> HTMLResponse:
    """The editor again, with the values as sent and the field at fault marked (422, or 409 for a clash)."""
    status = 409 if error.status == 409 else 422
    return render(
        request,
        template,
        status_code=status,
        active=ACTIVE,
        error=error.detail,
        error_field=error.field or "",
        **context,
    )
