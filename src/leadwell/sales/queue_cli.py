"""``leadwell queue``: the call queue from the command line, as the page and the API show it."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer
from sqlalchemy import select

from leadwell.auth.accounts import find_workspace
from leadwell.cli_common import (
    DatabaseUrl,
    Format,
    FormatOpt,
    WorkspaceOpt,
    emit,
    opened,
    reporting,
    require_workspace,
    settings_for,
)
from leadwell.db.models import Membership, User
from leadwell.db.session import stored_secret_key
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.ids import IdCodec
from leadwell.sales.deals import money_text
from leadwell.sales.queue import DEFAULT_LIMIT, MAX_LIMIT, QueueItem, call_queue


def _owner(session: Any, workspace_id: int, email: str | None) -> int | None:
    if email is None:
        return None
    found = session.scalar(
        select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id, User.email == email.strip().lower())
    )
    if found is None:
        raise InvalidInput(f"--owner: {email!r} is not a member of this workspace", field="owner")
    return int(found)


def _row(codec: IdCodec, rank: int, item: QueueItem, output: Format) -> dict[str, Any]:
    if output is Format.table:
        return {
            "rank": rank,
            "name": item.name,
            "organization": item.organization or "",
            "grade": item.grade or "-",
            "ev": money_text(item.expected_value.quantize(Decimal(1)), item.currency),
            "why now": "; ".join(item.why_now),
            "ask": ", ".join(item.ask),
        }
    return {
        "rank": rank,
        "contact_id": codec.encode("contact", item.contact_id),
        "name": item.name,
        "organization": item.organization,
        "phone": item.phones[0] if item.phones else None,
        "email": item.email,
        "stage": item.stage,
        "grade": item.grade,
        "engagement": round(item.engagement, 1),
        "probability": round(item.probability, 4),
        "expected_value": str(item.expected_value),
        "currency": item.currency,
        "why_now": "; ".join(item.why_now) if output is Format.csv else list(item.why_now),
        "ask": ", ".join(item.ask) if output is Format.csv else list(item.ask),
        "last_outcome": item.last_outcome,
    }


def queue(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="How many leads.")] = DEFAULT_LIMIT,
    owner: Annotated[str | None, typer.Option(help="Only this member's contacts (email).")] = None,
    output: FormatOpt = Format.table,
) -> None:
    """The leads to call now, by expected value: rank, name, grade, EV, why now and what to ask."""
    with reporting(), opened(database_url) as db:
        settings = settings_for(database_url)
        secret = settings.secret_key.get_secret_value() if settings.secret_key else stored_secret_key(db)
        assert secret is not None
        codec = IdCodec(secret)
        with db.session() as session:
            workspace_id = find_workspace(session, require_workspace(workspace)).id
            owner_id = _owner(session, workspace_id, owner)
            items = call_queue(session, workspace_id, utcnow(), limit, owner_id)
        emit([_row(codec, rank, item, output) for rank, item in enumerate(items, 1)], output)
