"""``leadwell outreach sequences|segments|broadcasts …``: sequences with their numbers, enrolling
and stopping contacts, segments and their counts, newsletters listed, scheduled and cancelled.
Exit codes: 0 done, 1 failed, 2 bad input."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.cli_common import (
    ArchivedOpt,
    DatabaseUrl,
    Format,
    FormatOpt,
    WorkspaceOpt,
    codec_for,
    emit,
    opened,
    reporting,
    workspace_id_of,
)
from leadwell.db.models import EmailTemplate, Sequence
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.ids import BadId
from leadwell.outreach import broadcasts as newsletters
from leadwell.outreach import enroll as enrolment
from leadwell.outreach import segments as segment_defs
from leadwell.outreach import sequences as sequence_defs
from leadwell.outreach.numbers import (
    ACTIVITY,
    ENROLLMENT_METRICS,
    OUTCOMES,
    Numbers,
    broadcast_numbers,
    sequence_numbers,
    step_numbers,
)
from leadwell.outreach.sequence_page_common import contact_by_email
from leadwell.outreach.stops import stop_enrollments

sequences_app = typer.Typer(help="Sequences: list, show, enrol contacts, stop them.", no_args_is_help=True)
segments_app = typer.Typer(help="Segments (saved contact filters): list, count.", no_args_is_help=True)
broadcasts_app = typer.Typer(help="Newsletters: list, schedule, cancel.", no_args_is_help=True)
Slug = Annotated[str, typer.Argument(help="The sequence's slug.")]


def _figures(numbers: Any, metrics: tuple[str, ...]) -> dict[str, Any]:
    return {metric: numbers[metric] for metric in metrics}


@sequences_app.command("list")
def sequences_list(
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    archived: ArchivedOpt = False,
    output: FormatOpt = Format.table,
) -> None:
    """Sequences by name, with their numbers (enrolled, active, sent, opened, replied, meetings, won)."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            rows = sequence_defs.list_sequences(session, workspace_id, archived=archived)
            numbers = sequence_numbers(session, workspace_id, [s.id for s in rows])
            shown = [
                {
                    "slug": s.slug,
                    "name": s.name,
                    "status": s.status,
                    **_figures(
                        numbers[s.id], ("enrolled", "active", "sent", "opened", "replied", "meetings", "won")
                    ),
                    "revenue": numbers[s.id].revenue_words(),
                }
                for s in rows
            ]
    emit(shown, output)


def _heading(sequence: Sequence) -> str:
    """ "Welcome (welcome): active; 09:00-17:00 on weekdays 1,2,3,4,5 where the contact is, else UTC"."""
    days = ",".join(str(day) for day in sequence.weekdays)
    window = f"{sequence.window_start}-{sequence.window_end} on weekdays {days}"
    where = f"where the contact is, else {sequence.timezone}"
    return f"{sequence.name} ({sequence.slug}): {sequence.status}; {window} {where}"


def _step_rows(session: Session, workspace_id: int, sequence: Sequence) -> list[dict[str, Any]]:
    """Each step in words with how many contacts are at it and its activity."""
    names = dict(
        session.execute(
            select(EmailTemplate.id, EmailTemplate.name).where(EmailTemplate.workspace_id == workspace_id)
        ).all()
    )
    per_step = step_numbers(session, workspace_id, sequence.id)
    rows = []
    for step in sequence_defs.steps_of(session, sequence.id):
        numbers = per_step.get(step.position) or Numbers()
        described = {"step": step.position + 1, "what": sequence_defs.describe_step(step, names)}
        rows.append({**described, "at_it_now": numbers["active"], **_figures(numbers, ACTIVITY[:5])})
    return rows


@sequences_app.command("show")
def sequences_show(
    slug: Slug,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
    output: FormatOpt = Format.table,
) -> None:
    """A sequence's settings, its steps with their numbers, and its totals."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            sequence = sequence_defs.get_sequence(session, workspace_id, slug)
            heading, rows = _heading(sequence), _step_rows(session, workspace_id, sequence)
            totals = sequence_numbers(session, workspace_id, [sequence.id])[sequence.id]
    figures = _figures(totals, (*ENROLLMENT_METRICS, *ACTIVITY, *OUTCOMES))
    if output is Format.json:
        emit(
            [{"sequence": heading, "steps": rows, "numbers": figures, "revenue": totals.revenue_words()}],
            output,
        )
        return
    typer.echo(heading)
    emit(rows, output)
    typer.echo(
        ", ".join(f"{name} {value:,}" for name, value in figures.items())
        + f"; revenue {totals.revenue_words()}"
    )


@sequences_app.command("enroll")
def sequences_enroll(
    slug: Slug,
    segment: Annotated[
        str | None, typer.Option("--segment", help="Enrol everyone in this segment (slug).")
    ] = None,
    contact: Annotated[
        list[str] | None,
        typer.Option("--contact", help="Enrol the contact with this address; repeat for more."),
    ] = None,
    again: Annotated[
        bool, typer.Option("--again", help="Also those who finished the sequence (they start again).")
    ] = False,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Enrol a segment and/or contacts by address; prints how many, and who was left out and why."""
    with reporting(), opened(database_url) as db:
        if not segment and not contact:
            raise InvalidInput("--segment or --contact: say whom to enrol", field="segment")
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            sequence = sequence_defs.get_sequence(session, workspace_id, slug)
            now, result = utcnow(), enrolment.EnrollResult(0)
            if segment:
                chosen = segment_defs.get_segment(session, workspace_id, segment)
                result = enrolment.enroll_segment(
                    session, workspace_id, sequence.id, chosen, by_user_id=None, now=now, again=again
                )
            if contact:
                ids = [contact_by_email(session, workspace_id, email, "--contact") for email in contact]
                listed = enrolment.enroll(
                    session,
                    workspace_id,
                    sequence.id,
                    ids,
                    source="manual",
                    by_user_id=None,
                    now=now,
                    again=again,
                )
                result = result.plus(listed)
    typer.echo(result.words())


@sequences_app.command("stop")
def sequences_stop(
    slug: Slug,
    contact: Annotated[str, typer.Option("--contact", help="The contact's address.")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Take a contact out of the sequence by hand (reason "manual"); its unsent messages are cancelled."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            sequence = sequence_defs.get_sequence(session, workspace_id, slug)
            contact_id = contact_by_email(session, workspace_id, contact, "--contact")
            if not stop_enrollments(
                session, workspace_id, contact_id, "manual", utcnow(), sequence_id=sequence.id
            ):
                raise InvalidInput(f"--contact: {contact} is not active in {slug}", field="contact")
    typer.echo(f"stopped {contact} in {slug}")


@segments_app.command("list")
def segments_list(
    database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None, output: FormatOpt = Format.table
) -> None:
    """Segments by name, with their filters in words and how many contacts each holds now."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            rows = [
                {
                    "slug": s.slug,
                    "name": s.name,
                    "filters": "; ".join(segment_defs.describe(s.filters)) or "everyone",
                    "contacts": segment_defs.count_segment(session, workspace_id, s),
                }
                for s in segment_defs.list_segments(session, workspace_id)
            ]
    emit(rows, output)


@segments_app.command("count")
def segments_count(
    slug: Annotated[str, typer.Argument(help="The segment's slug.")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """How many contacts the segment holds now."""
    with reporting(), opened(database_url) as db:
        workspace_id = workspace_id_of(db, workspace)
        with db.session() as session:
            count = segment_defs.count_segment(
                session, workspace_id, segment_defs.get_segment(session, workspace_id, slug)
            )
    typer.echo(str(count))


@broadcasts_app.command("list")
def broadcasts_list(
    database_url: DatabaseUrl = None, workspace: WorkspaceOpt = None, output: FormatOpt = Format.table
) -> None:
    """Newsletters, the latest first, with status, time (UTC) and numbers."""
    with reporting(), opened(database_url) as db:
        workspace_id, codec = workspace_id_of(db, workspace), codec_for(db, database_url)
        with db.session() as session:
            rows = newsletters.list_broadcasts(session, workspace_id)
            numbers = broadcast_numbers(session, workspace_id, [b.id for b in rows])
            shown = [
                {
                    "id": codec.encode("broadcast", b.id),
                    "name": b.name,
                    "status": b.status,
                    "scheduled_at": b.scheduled_at.isoformat() if b.scheduled_at else None,
                    **_figures(numbers[b.id], ("sent", "opened", "clicked", "unsubscribed", "won")),
                }
                for b in rows
            ]
    emit(shown, output)


@broadcasts_app.command("schedule")
def broadcasts_schedule(
    name: Annotated[str, typer.Option("--name", help="The newsletter's name (for its numbers).")],
    template: Annotated[str, typer.Option("--template", help="The template's slug.")],
    mailbox: Annotated[str, typer.Option("--mailbox", help="The sending mailbox's slug.")],
    segment: Annotated[str, typer.Option("--segment", help="Send to this segment (slug)…")] = "",
    to_list: Annotated[str, typer.Option("--list", help="…or to this contact list (slug).")] = "",
    at: Annotated[str, typer.Option("--at", help="When: 2025-03-14T09:00 (in --timezone), or now.")] = "now",
    timezone: Annotated[str, typer.Option("--timezone", help="The time zone --at is read in.")] = "UTC",
    draft: Annotated[bool, typer.Option("--draft", help="Save it as a draft instead.")] = False,
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Schedule a newsletter (sent by the worker when its time comes); prints its id and time."""
    with reporting(), opened(database_url) as db:
        workspace_id, codec = workspace_id_of(db, workspace), codec_for(db, database_url)
        data = newsletters.BroadcastInput(
            name, template, segment, to_list, mailbox, "" if draft else at, timezone
        )
        with db.session() as session:
            broadcast = newsletters.create_broadcast(session, workspace_id, data, None, utcnow())
            when = broadcast.scheduled_at.isoformat() if broadcast.scheduled_at else "draft"
            public_id = codec.encode("broadcast", broadcast.id)
    typer.echo(f"{public_id} {when}")


@broadcasts_app.command("cancel")
def broadcasts_cancel(
    broadcast: Annotated[str, typer.Argument(help="The newsletter's id (bc_…).")],
    database_url: DatabaseUrl = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Cancel a newsletter that has not finished going out, with its unsent messages."""
    with reporting(), opened(database_url) as db:
        workspace_id, codec = workspace_id_of(db, workspace), codec_for(db, database_url)
        try:
            number = codec.decode("broadcast", broadcast)
        except BadId:
            raise InvalidInput(
                f"BROADCAST: {broadcast[:40]!r} is not a newsletter id", field="broadcast"
            ) from None
        with db.session() as session:
            cancelled = newsletters.cancel_broadcast(session, workspace_id, number, utcnow())
    typer.echo(f"cancelled; {cancelled} unsent messages with it")
