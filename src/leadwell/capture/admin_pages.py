"""The Capture section (``/capture``): the overview of magnets with their numbers, forms, landing
pages and tracking sites, and the routers of each editor. Owners and marketers only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from leadwell.capture import admin_assets, admin_forms, admin_landing, admin_people, admin_sites
from leadwell.capture.admin_assets import period_of
from leadwell.capture.admin_common import ACTIVE, Editor
from leadwell.capture.assets import KIND_LABELS, list_assets
from leadwell.capture.form_defs import list_forms
from leadwell.capture.page_defs import list_pages
from leadwell.capture.sites import list_sites
from leadwell.capture.stats import PERIOD_LABELS, magnet_numbers, since_of
from leadwell.db.models import FormSubmission
from leadwell.db.types import utcnow
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
NOTICES = {"deleted": "Deleted."}


@router.get("/capture", name="capture_overview")
def overview(request: Request, scope: Editor, archived: bool = False) -> HTMLResponse:
    """Magnets with their numbers over ``?period=``, then forms, landing pages and tracking sites."""
    period = period_of(request)
    with scope.db.session() as session:
        assets = list_assets(session, scope.workspace_id, archived)
        numbers = magnet_numbers(session, scope.workspace_id, assets, since_of(period, utcnow()))
        forms = list_forms(session, scope.workspace_id, archived)
        submissions = dict(
            session.execute(
                select(FormSubmission.form_id, func.count())
                .where(FormSubmission.workspace_id == scope.workspace_id)
                .group_by(FormSubmission.form_id)
            ).all()
        )
        pages = list_pages(session, scope.workspace_id)
        sites = list_sites(session, scope.workspace_id)
        magnet_slugs = {asset.id: asset.slug for asset in list_assets(session, scope.workspace_id, True)}
        form_names = {form.id: form for form in list_forms(session, scope.workspace_id, True)}
        session.expunge_all()
    return render(
        request,
        "capture/overview.html",
        scope=scope,
        active=ACTIVE,
        assets=assets,
        numbers=numbers,
        forms=forms,
        submissions=submissions,
        pages=pages,
        sites=sites,
        magnet_slugs=magnet_slugs,
        form_names=form_names,
        kinds=KIND_LABELS,
        period=period,
        periods=PERIOD_LABELS,
        archived=archived,
        notice=NOTICES.get(request.query_params.get("done", "")),
    )


# Fixed paths (…/new) come before the {slug} ones inside each module.
for module in (admin_people, admin_assets, admin_forms, admin_landing, admin_sites):
    router.include_router(module.router)
