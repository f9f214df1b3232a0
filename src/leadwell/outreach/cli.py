"""``leadwell outreach …``: templates, mailboxes, the outbox, sequences, segments, broadcasts and
replies, each a sub-command group of its own module."""

from __future__ import annotations

import typer

from leadwell.outreach.cli_inbound import inbound_app
from leadwell.outreach.cli_send import mailboxes_app, outbox, send_test
from leadwell.outreach.cli_sequences import broadcasts_app, segments_app, sequences_app
from leadwell.outreach.cli_templates import templates_app

outreach_app = typer.Typer(
    help="Email outreach: templates, sending, sequences, replies.", no_args_is_help=True
)
outreach_app.add_typer(templates_app, name="templates")
outreach_app.add_typer(inbound_app, name="inbound")
outreach_app.add_typer(mailboxes_app, name="mailboxes")
outreach_app.command("outbox")(outbox)
outreach_app.command("send-test")(send_test)
outreach_app.add_typer(sequences_app, name="sequences")
outreach_app.add_typer(segments_app, name="segments")
outreach_app.add_typer(broadcasts_app, name="broadcasts")
