"""The application factory: one FastAPI app serving pages, the JSON API and static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from leadwell import __version__
from leadwell.auth import pages as auth_pages
from leadwell.capture.tokens import TokenSigner
from leadwell.capture.tracking_routes import TrackingFastPath
from leadwell.config import Settings
from leadwell.contacts import api as contacts_api
from leadwell.db.migrate import current_revision, head_revision
from leadwell.db.session import Database, stored_secret_key
from leadwell.events import api as events_api
from leadwell.experiments import api as experiments_api
from leadwell.ids import IdCodec
from leadwell.sales import api as sales_api
from leadwell.sales import queue_api
from leadwell.scoring.stage_pages import api_router as stages_api
from leadwell.web.deps import App, LoginRequired
from leadwell.web.problems import BodySizeLimit, install_problem_handlers
from leadwell.web.ratelimit import RateLimiter

STATIC = Path(__file__).parent / "static"
SESSION_MAX_AGE = 14 * 24 * 3600
# Where files are posted: these take max_upload_bytes. A path ending in "/" covers all below it.
UPLOAD_PATHS = (
    "/contacts/import",
    "/capture/assets/",
    "/capture/pages/",
    "/inbound/",
    "/channels/spend/import",
)


class SchemaOutOfDate(RuntimeError):
    """The database has no schema yet, or an older one than this code needs."""


def _secret(settings: Settings, db: Database) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    secret = stored_secret_key(db)
    assert secret is not None
    return secret


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title="leadwell API",
            version=__version__,
            routes=app.routes,
            description="Contacts, organizations, events and deals. "
            "Authenticate with `Authorization: Bearer <token>` (`leadwell token create`).",
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = {
            "type": "object",
            "description": "RFC 9457 problem details; `errors` names each field at fault.",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
            "required": ["title", "status", "detail"],
        }
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    """Build the web application for ``settings`` (its database must already be migrated)."""
    db = db or Database(settings.database_url)
    if current_revision(db) != head_revision(db):
        raise SchemaOutOfDate(f"the database at {db.engine.url!r} is not up to date: run `leadwell init`")
    secret = _secret(settings, db)
    app = FastAPI(
        title="leadwell",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.leadwell = App(
        settings=settings, db=db, codec=IdCodec(secret), secret_key=secret, signer=TokenSigner(secret)
    )
    app.state.login_limiter = RateLimiter(settings.login_attempts_per_minute)
    install_problem_handlers(app)

    @app.exception_handler(LoginRequired)
    def _to_login(request: Request, _error: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    api_routers = (contacts_api.router, events_api.router, sales_api.router, stages_api, queue_api.router)
    for router in (*api_routers, experiments_api.router):
        app.include_router(router)
    for module in _page_modules():
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        session_cookie="leadwell_session",
    )
    app.add_middleware(
        BodySizeLimit,
        limit=settings.max_body_bytes,
        upload_limit=settings.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    # Added last, so outermost: tracking hits skip the session and page routing (capture/tracking_routes).
    app.add_middleware(TrackingFastPath)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _page_modules() -> list[Any]:
    """Routers of server-rendered pages, one module per domain."""
    from leadwell.capture import admin_pages, public_pages, reader_pages, tracking_routes
    from leadwell.channels import monitor_pages
    from leadwell.channels import pages as channel_pages
    from leadwell.contacts import duplicates_pages, import_pages, import_summary_pages
    from leadwell.contacts import pages as contacts_pages
    from leadwell.experiments import pages as experiment_pages
    from leadwell.icp import pages as icp_pages
    from leadwell.outreach import inbound_api, mailbox_pages, outbox_pages, template_pages, unsubscribe
    from leadwell.outreach import overview_pages as outreach_pages
    from leadwell.predict import backtest_pages, model_pages, suggest_pages
    from leadwell.reports import pages as report_pages
    from leadwell.sales import pipeline_pages, queue_pages
    from leadwell.scoring import list_pages, stage_pages
    from leadwell.scoring import pages as scoring_pages
    from leadwell.web import dashboard, settings_pages

    # Duplicates and imports before contacts: /contacts/duplicates, /contacts/import and
    # /contacts/imports must not be read as /contacts/{contact_id}. Profiles' fixed paths (/icp/new,
    # /icp/preview) come before /icp/{slug} inside their module.
    return [
        auth_pages,
        dashboard,
        duplicates_pages,
        import_pages,
        import_summary_pages,
        contacts_pages,
        suggest_pages,  # /icp/suggest and /icp/backtest before /icp/{slug}
        backtest_pages,
        icp_pages,
        pipeline_pages,
        queue_pages,
        stage_pages,
        list_pages,
        scoring_pages,
        settings_pages,
        admin_pages,
        public_pages,
        reader_pages,
        tracking_routes,
        inbound_api,
        outreach_pages,
        template_pages,
        mailbox_pages,
        outbox_pages,
        unsubscribe,
        model_pages,
        experiment_pages,
        monitor_pages,
        report_pages,
        channel_pages,
    ]


def app_from_env() -> FastAPI:
    """Factory for ASGI servers (``uvicorn --factory leadwell.web.app:app_from_env``): settings from
    the environment and leadwell.toml, as ``leadwell serve`` reads them."""
    from leadwell.config import load_settings

    return create_app(load_settings())
