"""Dismissing a channel alert from the dashboard: anyone in the workspace may, once they have seen it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from leadwell.capture.admin_common import PostedForm
from leadwell.channels.monitor import dismiss_alert
from leadwell.db.types import utcnow
from leadwell.errors import NotFound
from leadwell.web.deps import Page

router = APIRouter(include_in_schema=False)


@router.post("/channels/alerts/{check_id}/dismiss", name="channel_alert_dismiss", response_model=None)
def channel_alert_dismiss(
    request: Request, scope: Page, posted: PostedForm, check_id: int
) -> RedirectResponse:
    """Dismiss the alert (CSRF-checked form) and go back to the dashboard; another workspace's
    alert, or none, is a 404."""
    try:
        with scope.db.session() as session:
            dismiss_alert(session, scope.workspace_id, check_id, utcnow())
    except NotFound:
        raise HTTPException(404, "No such channel alert in this workspace.") from None
    return RedirectResponse("/dashboard", status_code=303)
