"""RFC 9457 problem details for every API error, and the request-size guard."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadwell.errors import LeadwellError
from leadwell.web.templating import error_page

PROBLEM_JSON = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
}


def problem(
    status: int,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response; ``errors`` lists every field at fault as ``{"field", "message"}``."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_name(location: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "emails", 1)`` → ``emails[1]``; ``("query", "limit")`` → ``limit``."""
    parts = list(location)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def _validation_problem(request: Request, error: RequestValidationError) -> JSONResponse:
    items = error.errors()
    if any(item.get("type") == "json_invalid" for item in items):
        item = next(item for item in items if item.get("type") == "json_invalid")
        reason = item.get("ctx", {}).get("error", "invalid JSON")
        return problem(400, f"body: malformed JSON ({reason})", [{"field": "body", "message": str(reason)}])
    errors = [{"field": field_name(item["loc"]), "message": item["msg"]} for item in items]
    first = errors[0]
    return problem(422, f"{first['field']}: {first['message']}", errors)


def _leadwell_problem(request: Request, error: LeadwellError) -> JSONResponse:
    errors = [{"field": error.field, "message": error.detail}] if error.field else None
    return problem(error.status, error.detail, errors)


def _http_problem(request: Request, error: StarletteHTTPException) -> Response:
    if not request.url.path.startswith("/api/"):
        return error_page(request, error.status_code, str(error.detail))
    return problem(error.status_code, str(error.detail), headers=getattr(error, "headers", None))


def _unstorable_problem(request: Request, error: DataError) -> Response:
    # Input validation should catch what a database refuses; this is the net below it, so a value
    # that slipped through is still a client error that says what is wrong, never a 500.
    detail = "body: a value cannot be stored (out of range, or text with forbidden characters)"
    if not request.url.path.startswith("/api/"):
        return error_page(request, 422, detail)
    return problem(422, detail, [{"field": "body", "message": detail}])


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DataError, _unstorable_problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_problem)  # type: ignore[arg-type]
    app.add_exception_handler(LeadwellError, _leadwell_problem)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_problem)  # type: ignore[arg-type]


class BodySizeLimit:
    """Refuse bodies above ``limit`` bytes with 413, whether or not Content-Length is honest."""

    def __init__(
        self, app: ASGIApp, limit: int, upload_limit: int | None = None, upload_paths: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.default_limit = limit
        self.upload_limit = upload_limit or limit
        self.upload_paths = upload_paths

    def _is_upload(self, path: str) -> bool:
        return any(
            path.startswith(prefix) if prefix.endswith("/") else path == prefix
            for prefix in self.upload_paths
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b""):
            # Nothing legitimate carries a NUL; PostgreSQL would refuse it deep inside a query.
            detail = "query: contains a NUL character"
            await problem(400, detail, [{"field": "query", "message": detail}])(scope, receive, send)
            return
        # Files for the import wizard may be large; everything else stays small.
        upload = scope.get("method") == "POST" and self._is_upload(scope["path"])
        limit = self.upload_limit if upload else self.default_limit
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        too_large = False
        started = False

        async def counting_receive() -> Message:
            # Past the limit the app is told the client left, so it stops reading; whatever it
            # answers is dropped and the 413 below goes out instead.
            nonlocal received, too_large
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                too_large = True
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        detail = f"body: larger than {limit} bytes"
        response: Response = problem(413, detail, [{"field": "body", "message": detail}])
        if not scope["path"].startswith("/api/"):
            # A person uploading a file gets a page, not JSON; no template, as the app never ran.
            megabytes = limit / (1024 * 1024)
            page = (
                f"<!doctype html><title>Too large</title><h1>That file is too large</h1>"
                f'<p>The limit is {megabytes:.0f} MiB. <a href="/">Back to leadwell</a></p>'
            )
            response = HTMLResponse(page, status_code=413)
        await response(scope, receive, send)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": _TITLES[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status in (400, 401, 403, 404, 409, 413, 422)
}
