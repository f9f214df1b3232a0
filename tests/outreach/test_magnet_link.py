"""A follow-up sequence started by a lead magnet can hand the contact their personal delivery link."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from leadwell.capture.tokens import TokenSigner
from leadwell.db.models import Enrollment
from leadwell.db.session import Database
from leadwell.outreach.outbox import queue_message
from tests import factories
from tests.capture.public_support import make_asset, make_form
from tests.conftest import TEST_SECRET
from tests.outreach.sequence_support import make_mailbox, make_sequence, make_template

PUBLIC = "https://leads.acme.example"
SIGNER = TokenSigner(TEST_SECRET)
BODY = "Your copy of {{ magnet_title }}: {{ magnet_url }}"


def _target(link: str) -> str:
    """The address a link leads to: a click redirect's target, or the link itself."""
    path = urlsplit(link).path
    if path.startswith("/t/c/"):
        return str(SIGNER.verify("click", path.removeprefix("/t/c/"))["u"])
    return link


def test_a_sequence_of_a_forms_magnet_sends_the_personal_delivery_link(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace, first_name="Ada", email="ada@engines.example")
        guide = make_asset(session, workspace, title="The pricing guide")
        form = make_form(session, workspace, asset_id=guide.id)
        mailbox = make_mailbox(session, workspace)
        template = make_template(session, workspace, subject="{{ magnet_title }}", html="", text=BODY)
        sequence = make_sequence(session, workspace, [("email", template)], mailbox=mailbox)
        sequence.trigger_form_id = form.id
        enrollment = Enrollment(workspace_id=workspace.id, sequence_id=sequence.id, contact_id=contact.id)
        session.add(enrollment)
        session.flush()
        queued = queue_message(
            session,
            workspace_id=workspace.id,
            contact_id=contact.id,
            template_id=template.id,
            idempotency_key=f"step:{enrollment.id}:0",
            enrollment_id=enrollment.id,
            step_position=0,
            public_url=PUBLIC,
            signer=SIGNER,
        )
        ids = (workspace.id, contact.id, guide.id)
        assert queued.message is not None
        subject, text = queued.message.subject, queued.message.text
        other = queue_message(  # the same template outside that sequence: no magnet, no link
            session,
            workspace_id=workspace.id,
            contact_id=contact.id,
            template_id=template.id,
            idempotency_key="plain:1",
            public_url=PUBLIC,
            signer=SIGNER,
        )
        assert other.message is not None and "/r/" not in other.message.text
    assert subject == "The pricing guide"
    (link,) = re.findall(r"https://\S+", text)
    delivery = urlsplit(_target(link))
    assert f"{delivery.scheme}://{delivery.netloc}" == PUBLIC and delivery.path.startswith("/r/")
    payload = SIGNER.verify("deliver", delivery.path.removeprefix("/r/"))
    assert (payload["w"], payload["c"], payload["a"]) == ids
