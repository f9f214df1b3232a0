"""Domain errors. Service functions raise these; the API turns them into RFC 9457 problems and the
CLI into exit code 2 (bad input) or 1 (failed)."""

from __future__ import annotations


class LeadwellError(Exception):
    """Base of every error leadwell reports to a user."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(LeadwellError):
    """Input that breaks a rule; ``field`` names the culprit (``emails[1]``, ``row 12: phone``)."""

    status = 422
    title = "Invalid input"


class NotFound(LeadwellError):
    status = 404
    title = "Not found"


class Conflict(LeadwellError):
    status = 409
    title = "Conflict"


class Forbidden(LeadwellError):
    status = 403
    title = "Forbidden"
