"""Rows and helpers the sending tests share: a mailbox pointed at the test SMTP server, a template,
queueing for a contact, and a worker name whose lease is given up after the test."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.capture.tokens import TokenSigner
from leadwell.db.models import (
    Contact,
    EmailTemplate,
    Event,
    Mailbox,
    OutboxMessage,
    TemplateVariant,
    Workspace,
)
from leadwell.db.session import Database
from leadwell.outreach.links import LinkMaker
from leadwell.outreach.outbox import Queued, queue_message, stop_worker
from tests.conftest import TEST_SECRET
from tests.outreach.smtp_support import SmtpServer

PUBLIC_URL = "https://leads.acme.example"
SIGNER = TokenSigner(TEST_SECRET)
LINKS = LinkMaker(SIGNER, PUBLIC_URL)
HTML = (
    '<html><body><p>Hello {{ first_name | default("there") }},</p>'
    '<p>Read <a href="https://acme.example/guide?from=mail">the guide</a> or '
    '<a href="mailto:help@acme.example">write to us</a>.</p>'
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
)
TEXT = "Hello {{ first_name | default('there') }},\nRead the guide: https://acme.example/guide?from=mail\n"
_numbers = itertools.count(1)


def make_mailbox(
    session: Session, workspace: Workspace, server: SmtpServer | None = None, **fields: Any
) -> Mailbox:
    values: dict[str, Any] = {
        "slug": f"sales-{next(_numbers)}",
        "from_name": "Zoë at Acme",
        "from_email": "zoe@acme.example",
        "smtp_host": server.host if server else "127.0.0.1",
        "smtp_port": server.port if server else 25,
        "smtp_security": "none",
        "daily_cap": 10_000,
        "per_domain_per_minute": 10_000,
    }
    values.update(fields)
    mailbox = Mailbox(workspace_id=workspace.id, **values)
    session.add(mailbox)
    session.flush()
    return mailbox


def make_template(
    session: Session,
    workspace: Workspace,
    subject: str = "A guide for {{ company | default('you') }}",
    html: str = HTML,
    text: str = TEXT,
    slug: str | None = None,
) -> EmailTemplate:
    number = next(_numbers)
    template = EmailTemplate(workspace_id=workspace.id, slug=slug or f"welcome-{number}", name="Welcome")
    session.add(template)
    session.flush()
    session.add(TemplateVariant(template_id=template.id, key="a", subject=subject, html=html, text=text))
    session.flush()
    return template


def queue(
    session: Session,
    contact: Contact,
    template: EmailTemplate,
    mailbox: Mailbox,
    key: str | None = None,
    **more: Any,
) -> Queued:
    return queue_message(
        session,
        workspace_id=contact.workspace_id,
        contact_id=contact.id,
        template_id=template.id,
        mailbox_id=mailbox.id,
        idempotency_key=key or f"test:{contact.id}:{next(_numbers)}",
        public_url=PUBLIC_URL,
        signer=SIGNER,
        **more,
    )


@dataclass
class Outbox:
    """A workspace with a mailbox on the test server and a template."""

    workspace: Workspace
    mailbox: Mailbox
    template: EmailTemplate


def make_outbox(db: Database, server: SmtpServer | None, **mailbox_fields: Any) -> Outbox:
    from tests import factories

    with db.session() as session:
        workspace = factories.make_workspace(session)
        mailbox = make_mailbox(session, workspace, server, **mailbox_fields)
        template = make_template(session, workspace)
    return Outbox(workspace, mailbox, template)


def rows(db: Database) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def events(db: Database, type_: str) -> list[Event]:
    with db.session() as session:
        return list(session.scalars(select(Event).where(Event.type == type_).order_by(Event.id)))


@pytest.fixture
def worker(db: Database) -> Iterator[str]:
    """A worker name for this test; its lease (PostgreSQL: a lock and a connection) goes afterwards.
    The process id keeps it unique across test processes: the lease is an advisory lock on the
    name, and PostgreSQL's locks are the whole server's, whatever schema each process tests in."""
    name = f"test-worker:{os.getpid()}:{next(_numbers)}"
    yield name
    stop_worker(db, name)
