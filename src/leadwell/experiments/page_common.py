"""What the experiment pages share: who may change experiments (owners and marketers; salespeople
read them), the pages' Content-Security-Policy, and rendering with the refused field marked.

The policy allows scripts from leadwell only. The chart needs no ``unsafe-eval``: vega-embed draws it
with vega's expression interpreter (``ast: true``) instead of compiling expressions with Function().
The one inline script on every page, the workspace switcher's ``onchange`` in base.html, is allowed by
its hash (``unsafe-hashes`` admits hashed event handlers only, nothing else inline)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from leadwell.errors import LeadwellError, NotFound
from leadwell.web.deps import PageScope
from leadwell.web.templating import render

ACTIVE = "experiments_list"
BASE_TEMPLATE = Path(__file__).parent.parent / "web" / "templates" / "base.html"


def _handler_hashes(template: Path) -> list[str]:
    """CSP hash sources of the inline event handlers (``onchange="…"``) in ``template``."""
    handlers = sorted(set(re.findall(r'\son[a-z]+="([^"]*)"', template.read_text(encoding="utf-8"))))
    return [f"'sha256-{base64.b64encode(hashlib.sha256(h.encode()).digest()).decode()}'" for h in handlers]


def content_policy() -> str:
    """The experiment pages' Content-Security-Policy."""
    handlers = _handler_hashes(BASE_TEMPLATE)
    scripts = " ".join(["'self'", *(["'unsafe-hashes'", *handlers] if handlers else [])])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


CONTENT_POLICY = content_policy()


def can_edit(scope: PageScope) -> bool:
    """Owners and marketers run experiments; salespeople read them."""
    return scope.can_edit


def require_editor(scope: PageScope) -> None:
    """A 403 page for salespeople asking to change an experiment."""
    scope.require_editor("Experiments are changed by owners and marketers")


@contextmanager
def not_found_as_404() -> Iterator[None]:
    """The service's NotFound as a 404 page."""
    try:
        yield
    except NotFound:
        raise HTTPException(404, "No such experiment in this workspace.") from None


def page(
    request: Request, template: str, scope: PageScope, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render an experiment page under its Content-Security-Policy, the Experiments area marked."""
    response = render(
        request, template, status_code=status, scope=scope, active=ACTIVE, editor=can_edit(scope), **context
    )
    response.headers["Content-Security-Policy"] = CONTENT_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def refused(
    request: Request, template: str, scope: PageScope, error: LeadwellError, **context: Any
) -> HTMLResponse:
    """The page again with the refusal shown beside its field (422, or 409 for a clash)."""
    status = 409 if error.status == 409 else 422
    return page(
        request, template, scope, status, error=error.detail, error_field=error.field or "", **context
    )
