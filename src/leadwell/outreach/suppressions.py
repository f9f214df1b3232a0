"""The suppression list: addresses a workspace must not mail again.

An address lands here when its owner unsubscribes, when it hard-bounces, when its owner marks a
message as spam (a complaint), or by hand. It is checked when a message is queued and again just
before the message is handed to the SMTP server, so a suppression written while a message waits in
the outbox still stops it. Queued messages to a newly suppressed address become ``suppressed`` at
once, so the outbox shows what will not go out.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadwell.db.models import SUPPRESSION_REASONS, OutboxMessage, Suppression
from leadwell.errors import InvalidInput
from leadwell.outreach.addresses import normalize_address

MAX_NOTE = 500


def suppression_of(session: Session, workspace_id: int, email: str) -> str | None:
    """Why ``email`` is suppressed in the workspace (``unsubscribed``, ``hard_bounce``…), or None."""
    query = select(Suppression.reason).where(
        Suppression.workspace_id == workspace_id, Suppression.email == normalize_address(email)
    )
    reason: str | None = session.scalar(query)
    return reason


def suppressed_among(session: Session, workspace_id: int, emails: Iterable[str]) -> dict[str, str]:
    """Each suppressed address among ``emails`` (normalized) → its reason."""
    wanted = sorted({normalize_address(email) for email in emails})
    if not wanted:
        return {}
    rows = session.execute(
        select(Suppression.email, Suppression.reason).where(
            Suppression.workspace_id == workspace_id, Suppression.email.in_(wanted)
        )
    ).all()
    return {email: reason for email, reason in rows}


def suppress(
    session: Session,
    workspace_id: int,
    email: str,
    reason: str,
    *,
    message_id: int | None = None,
    note: str | None = None,
) -> Suppression:
    """Put ``email`` on the workspace's suppression list; returns its entry.

    Suppressing an address already listed keeps the first entry (its reason and time) and changes
    nothing. Messages queued to the address are marked ``suppressed`` in the same transaction.
    """
    if reason not in SUPPRESSION_REASONS:
        raise InvalidInput(f"reason: one of {', '.join(SUPPRESSION_REASONS)}", field="reason")
    address = normalize_address(email)
    if not address or len(address) > 320:
        raise InvalidInput("email: an address of at most 320 characters is needed", field="email")
    entry = _entry(session, workspace_id, address)
    if entry is None:
        entry = Suppression(
            workspace_id=workspace_id,
            email=address,
            reason=reason,
            message_id=message_id,
            note=(note or "")[:MAX_NOTE] or None,
        )
        try:
            # A savepoint: losing the race to a concurrent suppression must not undo the caller's work.
            with session.begin_nested():
                session.add(entry)
        except IntegrityError:
            entry = _entry(session, workspace_id, address)
            assert entry is not None
    _hold_queued(session, workspace_id, address, entry.reason)
    return entry


def unsuppress(session: Session, workspace_id: int, email: str) -> bool:
    """Take ``email`` off the list (by hand, e.g. after a mistaken bounce); whether it was listed."""
    entry = _entry(session, workspace_id, normalize_address(email))
    if entry is None:
        return False
    session.delete(entry)
    session.flush()
    return True


def _entry(session: Session, workspace_id: int, address: str) -> Suppression | None:
    return session.scalar(
        select(Suppression).where(Suppression.workspace_id == workspace_id, Suppression.email == address)
    )


def _hold_queued(session: Session, workspace_id: int, address: str, reason: str) -> None:
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.workspace_id == workspace_id,
            OutboxMessage.to_email == address,
            OutboxMessage.state == "queued",
        )
        .values(state="suppressed", last_error=f"suppressed: {reason}")
        .execution_options(synchronize_session="fetch")
    )
