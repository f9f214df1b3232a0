"""outreach: emails rendered into the outbox, and handed to a local SMTP server by `leadwell worker`.

``outreach_queue``: :func:`leadwell.outreach.outbox.queue_message` for N contacts in one
transaction (render the template with merge fields, sign the unsubscribe link, rewrite links to
click redirects, add the open pixel, store the row), as messages per second. Baseline: the same
number of already-rendered rows inserted with Core ``insert(OutboxMessage)`` executemany, in one
transaction: the database's own speed for those rows.

``outreach_send`` (one worker) and ``outreach_send_2w`` (two workers, PostgreSQL only — SQLite runs
one worker): real ``leadwell worker`` processes, started and idle first, then N queued messages
committed at once; the clock runs from that commit until every row is ``sent``. Each message is
composed, handed over with the exactly-once protocol (two commits and the ``email_sent`` event)
to aiosmtpd's sink in a process of its own. Baseline: the same number of pre-built messages sent
with plain smtplib over one connection to the same server, nothing recorded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.harness import Context, Measure, benchmark
from bench.server import free_port
from leadwell.capture.tokens import TokenSigner
from leadwell.db.models import Contact, ContactEmail, EmailTemplate, Mailbox, OutboxMessage, TemplateVariant
from leadwell.db.session import Database
from leadwell.outreach.outbox import queue_message

FULL_MESSAGES = 10_000
SECRET = "bench-outreach-secret"
PUBLIC_URL = "https://leads.bench.example"
HTML = (
    "<html><body><p>Hello {{ first_name | default('there') }},</p>"
    "<p>{{ company | default('Your team') }} might like <a href=\"https://acme.example/guide\">the guide</a> "
    'and <a href="https://acme.example/pricing?utm_source=mail">the prices</a>.</p>'
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
)
SUBJECT = "A guide for {{ first_name | default('you') }}"
# Targets on value / baseline; see bench/README.md for why these numbers.
QUEUE_TARGET = 0.005
SEND_TARGET = 0.05
STARTUP_SECONDS = 60.0
SEND_TIMEOUT = 900.0


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def smtp_sink(workdir: Path) -> Iterator[int]:
    """aiosmtpd's Sink handler (accepts and drops every message) in its own process; yields its port."""
    port = free_port()
    log = (workdir / "smtp-sink.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, process)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the SMTP sink exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the SMTP sink never answered")


def _seed(db: Database, port: int, count: int) -> tuple[int, int, int, list[int]]:
    """A workspace with a mailbox on the sink, a template and ``count`` contacts; their ids."""
    from leadwell.auth.accounts import create_workspace

    with db.session() as session:
        workspace = create_workspace(session, "Bench outreach", slug="bench-outreach")
        mailbox = Mailbox(
            workspace_id=workspace.id, slug="bench", from_name="Bench", from_email="bench@acme.example",
            smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", daily_cap=1_000_000,
            per_domain_per_minute=1_000_000,
        )  # fmt: skip
        template = EmailTemplate(workspace_id=workspace.id, slug="guide", name="Guide")
        session.add_all([mailbox, template])
        session.flush()
        session.add(TemplateVariant(template_id=template.id, key="a", subject=SUBJECT, html=HTML, text=""))
        rows = [
            {
                "workspace_id": workspace.id, "first_name": f"P{n}", "last_name": "Bench",
                "email": f"p{n}@d{n % 50}.example", "phones": [], "custom": {}, "tags": [],
                "consent": "unknown", "stage": "lead",
            }
            for n in range(count)
        ]  # fmt: skip
        ids = list(session.scalars(insert(Contact).returning(Contact.id), rows))
        session.execute(
            insert(ContactEmail),
            [
                {"workspace_id": workspace.id, "contact_id": i, "email": r["email"]}
                for i, r in zip(ids, rows, strict=True)
            ],
        )
        return workspace.id, mailbox.id, template.id, ids


def _queue(db: Database, seeded: tuple[int, int, int, list[int]], round_: str) -> float:
    """Queue one message per contact in one transaction; seconds taken."""
    workspace_id, mailbox_id, template_id, contacts = seeded
    signer = TokenSigner(SECRET)
    started = time.perf_counter()
    with db.session() as session:
        for contact_id in contacts:
            queue_message(
                session, workspace_id=workspace_id, contact_id=contact_id, template_id=template_id,
                idempotency_key=f"bench:{round_}:{contact_id}", mailbox_id=mailbox_id,
                public_url=PUBLIC_URL, signer=signer,
            )  # fmt: skip
    return time.perf_counter() - started


def _insert_baseline(db: Database, count: int) -> float:
    """The same number of rendered rows (copies of stored ones) inserted with Core; seconds taken."""
    with db.session() as session:
        template = session.scalars(select(OutboxMessage).limit(1)).one()
        copied = {
            name: getattr(template, name)
            for name in (
                "workspace_id", "contact_id", "mailbox_id", "template_id", "to_email", "recipient_domain",
                "subject", "html", "text", "due_at",
            )
        }  # fmt: skip
        rows = [
            {
                **copied,
                "idempotency_key": f"baseline:{n}",
                "message_id": f"b{n}@acme.example",
                "state": "cancelled",
            }
            for n in range(count)
        ]
    started = time.perf_counter()
    with db.session() as session:
        session.execute(insert(OutboxMessage), rows)
    return time.perf_counter() - started


def _smtplib_baseline(port: int, count: int) -> float:
    """``count`` pre-built messages over one plain smtplib connection; seconds taken."""
    import smtplib
    import socket

    message = (
        b"From: Bench <bench@acme.example>\r\nTo: p@d.example\r\nSubject: A guide\r\n"
        b"Message-ID: <baseline@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
        + b"Hello there, here is the guide: https://acme.example/guide\r\n"
        * 20
    )
    client = smtplib.SMTP("127.0.0.1", port)
    assert client.sock is not None
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    started = time.perf_counter()
    for _ in range(count):
        client.sendmail("bench@acme.example", ["p@d.example"], message)
    elapsed = time.perf_counter() - started
    client.quit()
    return elapsed


def _start_workers(url: str, workdir: Path, count: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "LEADWELL_SECRET_KEY": SECRET, "LEADWELL_PUBLIC_URL": PUBLIC_URL}
    started = []
    for number in range(count):
        with (workdir / f"worker-{number}.log").open("wb") as log:
            command = [sys.executable, "-m", "leadwell", "worker", "--idle", "0.05", "--database-url", url]
            started.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
    return started


def _stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for process in workers:
        process.send_signal(signal.SIGTERM)
    for process in workers:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def _sent(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).where(OutboxMessage.state == "sent")) or 0


def _idle(db: Database, workers: list[subprocess.Popen[bytes]]) -> None:
    """Wait until the workers are up: a probe message queued before them has been sent."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while _sent(db) < 1:
        if time.monotonic() > deadline or any(process.poll() is not None for process in workers):
            raise RuntimeError("the workers did not start (see worker-*.log in the bench's work directory)")
        time.sleep(0.05)


def _send_rate(
    db: Database, url: str, workdir: Path, seeded: tuple[int, int, int, list[int]], workers: int
) -> float:
    """Messages per second handed over by ``workers`` worker processes."""
    probe = (seeded[0], seeded[1], seeded[2], seeded[3][:1])
    _queue(db, probe, f"probe-{workers}")
    processes = _start_workers(url, workdir, workers)
    try:
        _idle(db, processes)
        before = _sent(db)
        _queue(db, seeded, f"send-{workers}")
        started = time.perf_counter()
        count = len(seeded[3])
        while _sent(db) < before + count:
            if time.perf_counter() - started > SEND_TIMEOUT:
                raise RuntimeError(
                    f"only {_sent(db) - before} of {count} messages sent in {SEND_TIMEOUT:.0f} s"
                )
            time.sleep(0.1)
        return count / (time.perf_counter() - started)
    finally:
        _stop_workers(processes)


@benchmark("outreach")
def outreach(ctx: Context) -> Iterator[Measure]:
    count = ctx.size(FULL_MESSAGES, minimum=50)
    with smtp_sink(ctx.workdir) as port, ctx.fresh_database() as url:
        db = Database(url)
        try:
            seeded = _seed(db, port, count)
            _log(f"outreach[{ctx.database}]: {count} messages")
            queued = count / _queue(db, seeded, "queue")
            inserted = count / _insert_baseline(db, count)
            yield Measure(
                "outreach_queue", queued, "messages/s", inserted, target=QUEUE_TARGET, better="higher"
            )
            raw = count / _smtplib_baseline(port, count)
            one = _send_rate(db, url, ctx.workdir, seeded, 1)
            _log(f"outreach[{ctx.database}]: one worker {one:,.0f}/s, smtplib alone {raw:,.0f}/s")
            yield Measure("outreach_send", one, "messages/s", raw, target=SEND_TARGET, better="higher")
            if ctx.dialect == "postgresql":
                two = _send_rate(db, url, ctx.workdir, seeded, 2)
                _log(f"outreach[{ctx.database}]: two workers {two:,.0f}/s")
                yield Measure("outreach_send_2w", two, "messages/s", raw, target=SEND_TARGET, better="higher")
        finally:
            db.dispose()
