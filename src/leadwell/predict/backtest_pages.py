"""``/icp/backtest``: how the profiles' grades, the engagement score, the call queue and each model
would have ranked the leads of a past period, and which criteria and engagement rules mislead.
Everyone in the workspace reads it; it changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from leadwell.errors import InvalidInput
from leadwell.predict.backtest import Backtest, backtest, default_period, misleading
from leadwell.web.deps import Page
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)


def _day(text: str, name: str) -> datetime | None:
    """A date input's value as the start of that day (UTC); empty is None."""
    if not text.strip():
        return None
    try:
        return datetime.combine(date.fromisoformat(text.strip()[:10]), time(), UTC)
    except ValueError:
        raise InvalidInput(f"{name}: {text[:40]!r} is not a date", field=name) from None


@router.get("/icp/backtest", name="icp_backtest")
def backtest_page(request: Request, scope: Page, since: str = "", until: str = "") -> HTMLResponse:
    """The backtest of the period asked for (the last 180 days by default)."""
    result: Backtest | None = None
    error: InvalidInput | None = None
    try:
        start, end = default_period(_day(since, "since"), _day(until, "until"))
        with scope.db.session() as session:
            result = backtest(session, scope.workspace_id, start, end)
    except InvalidInput as refused:
        error = refused
    return render(
        request,
        "predict/backtest.html",
        status_code=422 if error else 200,
        scope=scope,
        active="icp_list",
        result=result,
        error=error,
        since=since if error else result.since.date().isoformat() if result else "",
        until=until if error else result.until.date().isoformat() if result else "",
        misleading=misleading(result.signals) if result else [],
    )
