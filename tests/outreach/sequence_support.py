"""Test data for sequences, segments and broadcasts: real rows through the real models."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from leadwell.db.models import (
    EmailTemplate,
    Mailbox,
    Sequence,
    SequenceStep,
    TemplateVariant,
    Workspace,
)


def make_mailbox(session: Session, workspace: Workspace, slug: str = "sales", **fields: Any) -> Mailbox:
    values: dict[str, Any] = {
        "from_name": "Grace at Acme",
        "from_email": "grace@acme.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": 2525,
        "smtp_security": "none",
        "daily_cap": 10_000,
        "per_domain_per_minute": 10_000,
    }
    values.update(fields)
    mailbox = Mailbox(workspace_id=workspace.id, slug=slug, **values)
    session.add(mailbox)
    session.flush()
    return mailbox


def make_template(
    session: Session,
    workspace: Workspace,
    slug: str = "hello",
    subject: str = "Hello {{ first_name | default('there') }}",
    html: str = "<p>Hi {{ first_name | default('there') }}, a short note.</p>",
    text: str = "Hi {{ first_name | default('there') }}, a short note.",
) -> EmailTemplate:
    template = EmailTemplate(workspace_id=workspace.id, slug=slug, name=slug.replace("-", " ").title())
    session.add(template)
    session.flush()
    session.add(TemplateVariant(template_id=template.id, key="a", subject=subject, html=html, text=text))
    session.flush()
    return template


def make_sequence(
    session: Session,
    workspace: Workspace,
    steps: list[tuple[str, Any]],
    slug: str = "welcome",
    mailbox: Mailbox | None = None,
    **fields: Any,
) -> Sequence:
    """A sequence with ``steps`` as (kind, value): ("email", template), ("wait", days), ("task", note)."""
    values: dict[str, Any] = {
        "name": slug.replace("-", " ").title(),
        "status": "active",
        "timezone": "UTC",
        "window_start": "00:00",
        "window_end": "23:59",
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
    }
    values.update(fields)
    sequence = Sequence(
        workspace_id=workspace.id, slug=slug, mailbox_id=mailbox.id if mailbox else None, **values
    )
    session.add(sequence)
    session.flush()
    for position, (kind, value) in enumerate(steps):
        step = SequenceStep(sequence_id=sequence.id, position=position, kind=kind)
        if kind == "email":
            step.template_id = value.id
        elif kind == "wait":
            step.wait_days = value
        else:
            step.note = value
        session.add(step)
    session.flush()
    return sequence
