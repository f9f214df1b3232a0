"""Exactly once: a message is released to the SMTP server only after ``releasing`` is committed,
a server keeps nothing whose end never came, a dead worker's messages are taken back (claimed ones
sent again, releasing ones counted as sent), and workers — threads, or `leadwell worker` processes
one of which is killed with SIGKILL mid-batch — never send a message twice nor lose one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from leadwell.db.models import Contact, Enrollment, OutboxMessage, Sequence, Suppression
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.outreach import outbox_claims as claims
from leadwell.outreach import outbox_delivery as delivery
from leadwell.outreach.compose import Envelope
from leadwell.outreach.outbox import send_due, stop_worker
from leadwell.outreach.smtp import ServerSettings, SmtpSession, Withheld
from tests import factories
from tests.conftest import TEST_SECRET
from tests.outreach.sending_support import LINKS, PUBLIC_URL, Outbox, events, make_outbox, queue, rows, worker
from tests.outreach.smtp_support import SmtpServer, smtp_server, start_smtp_server

__all__ = ["smtp_server", "worker"]
LEADWELL = [sys.executable, "-m", "leadwell"]


def _queue_many(db: Database, box: Outbox, count: int, domains: int = 7) -> set[str]:
    with db.session() as session:
        for number in range(count):
            contact = factories.make_contact(
                session, box.workspace, email=f"p{number}@d{number % domains}.example"
            )
            queue(session, contact, box.template, box.mailbox, key=f"many:{number}")
        return set(session.scalars(select(OutboxMessage.message_id)))


def _eventually(condition: Callable[[], bool], seconds: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} never held"
        time.sleep(0.05)


def _states(db: Database) -> dict[str, int]:
    with db.session() as session:
        found = session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all()
    return {state: count for state, count in found}


def test_a_server_keeps_nothing_of_a_message_whose_end_never_came(smtp_server: SmtpServer) -> None:
    envelope = Envelope(
        "zoe@acme.example", "ada@engines.example", b"Message-ID: <one@acme.example>\r\n\r\nHi\r\n"
    )
    session = SmtpSession(ServerSettings(smtp_server.host, smtp_server.port, "none", None, None))
    with pytest.raises(Withheld):
        session.transmit(envelope, lambda: False)
    assert session.client is None  # dropped without QUIT, mid-DATA
    again = SmtpSession(ServerSettings(smtp_server.host, smtp_server.port, "none", None, None))
    assert again.transmit(envelope, lambda: True).startswith("250")
    again.close()
    time.sleep(0.2)  # anything the first connection left would have been handled by now
    assert smtp_server.message_ids() == {"one@acme.example": 1}


def _write_on_rcpt(db: Database, act: Callable[[Database], None], address: str) -> Callable[[str], None]:
    """An RCPT hook acting on the database while a worker is mid-message (after its claim, before
    its release): as a reply or an unsubscribe arriving at that moment would."""

    def hook(rcpt: str) -> None:
        if rcpt == address:
            act(db)

    return hook


def test_a_suppression_arriving_mid_message_stops_it_before_its_end(db: Database, worker: str) -> None:
    def suppress_ada(database: Database) -> None:
        with database.session() as session:
            workspace_id = session.scalars(select(Contact.workspace_id)).first()
            session.add(
                Suppression(workspace_id=workspace_id, email="ada@engines.example", reason="unsubscribed")
            )

    hook = _write_on_rcpt(db, suppress_ada, "ada@engines.example")
    with start_smtp_server(rcpt_rule=lambda rcpt: hook(rcpt)) as server:
        box = make_outbox(db, server)
        with db.session() as session:
            for email in ("ada@engines.example", "bob@engines.example"):
                queue(
                    session,
                    factories.make_contact(session, box.workspace, email=email),
                    box.template,
                    box.mailbox,
                )
        assert send_due(db, worker, links=LINKS) == 2
        received = server.wait_for(1)
        time.sleep(0.2)
        assert (
            [item.rcpt_tos for item in server.messages()]
            == [("bob@engines.example",)]
            == [item.rcpt_tos for item in received]
        )
        assert server.connections() == 2  # the first was dropped mid-DATA
    states = {row.to_email: (row.state, row.last_error) for row in rows(db)}
    assert states["ada@engines.example"] == ("suppressed", "suppressed: unsubscribed")
    assert states["bob@engines.example"][0] == "sent"


def test_a_reply_stopping_the_sequence_mid_message_cancels_it(db: Database, worker: str) -> None:
    def stop(database: Database) -> None:
        with database.session() as session:
            session.execute(update(Enrollment).values(status="stopped", stop_reason="replied"))

    hook = _write_on_rcpt(db, stop, "ada@engines.example")
    with start_smtp_server(rcpt_rule=lambda rcpt: hook(rcpt)) as server:
        box = make_outbox(db, server)
        with db.session() as session:
            contact = factories.make_contact(session, box.workspace, email="ada@engines.example")
            sequence = Sequence(workspace_id=box.workspace.id, slug="s", name="S", status="active")
            session.add(sequence)
            session.flush()
            enrollment = Enrollment(
                workspace_id=box.workspace.id, sequence_id=sequence.id, contact_id=contact.id
            )
            session.add(enrollment)
            session.flush()
            queue(session, contact, box.template, box.mailbox, enrollment_id=enrollment.id)
        send_due(db, worker, links=LINKS)
        time.sleep(0.2)
        assert server.messages() == []
    [row] = rows(db)
    assert (row.state, row.last_error) == ("cancelled", "sequence stopped before sending")


def _claim_as(db: Database, dead: str, box: Outbox, count: int) -> list[int]:
    """Rows claimed by ``dead`` as its worker would, the first of them already ``releasing``."""
    held = claims.lease(db, dead)
    assert held is not None
    with db.session() as session:
        mailbox = session.get(type(box.mailbox), box.mailbox.id)
        assert mailbox is not None
        ids, _aside = claims.claim(session, mailbox, dead, count, utcnow())
    with db.session() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == ids[0]).values(state="releasing"))
    return ids


def test_a_dead_workers_messages_are_taken_back_exactly_once(
    db: Database, smtp_server: SmtpServer, worker: str
) -> None:
    box = make_outbox(db, smtp_server)
    _queue_many(db, box, 6)
    dead_ids = _claim_as(db, "dead-worker", box, 4)
    # Its process dies: on PostgreSQL the lock goes with its connection.
    stop_worker(db, "dead-worker")
    assert send_due(db, worker, links=LINKS) == 6
    received = smtp_server.wait_for(5)
    time.sleep(0.2)
    by_id = {row.id: row for row in rows(db)}
    released = by_id[dead_ids[0]]
    assert (released.state, released.smtp_response) == ("sent", "assumed delivered after worker stop")
    # The released one was the server's already (it is not sent again); the other five go once.
    assert len(smtp_server.messages()) == 5 == len(received)
    assert released.message_id not in smtp_server.message_ids()
    assert {row.state for row in by_id.values()} == {"sent"}
    assert by_id[dead_ids[1]].attempts == 2  # the dead worker's attempt counts
    assert len(events(db, "email_sent")) == 6


def test_a_live_workers_messages_are_left_alone(db: Database, smtp_server: SmtpServer, worker: str) -> None:
    box = make_outbox(db, smtp_server)
    _queue_many(db, box, 5)
    try:
        busy = _claim_as(db, "busy-worker", box, 3)
        if db.dialect == "postgresql":
            # The busy worker holds its lease: nobody takes its rows, however long they wait.
            assert send_due(db, worker, links=LINKS) == 2
            held = claims.lease(db, worker)
            assert (
                held is not None
                and claims.recover(db, held, delivery.settle_orphans, utcnow(), force=True) == 0
            )
            states = {row.id: row.state for row in rows(db) if row.id in busy}
            assert sorted(states.values()) == ["claimed", "claimed", "releasing"]
        else:
            # SQLite has one worker: one that starts takes back whatever is claimed.
            assert send_due(db, worker, links=LINKS) == 5
            assert len(smtp_server.wait_for(4)) == 4
    finally:
        stop_worker(db, "busy-worker")


def test_two_workers_share_the_outbox_and_send_each_message_once(db: Database, db_url: str) -> None:
    count = 120
    with start_smtp_server(delay=0.001) as server:
        box = make_outbox(db, server)
        expected = _queue_many(db, box, count)
        workers = 2 if db.dialect == "postgresql" else 1  # one worker on SQLite
        databases = [Database(db_url) for _ in range(workers)]
        start = threading.Barrier(workers)
        handled: list[int] = []

        def run(database: Database, name: str) -> None:
            start.wait()
            total = 0
            while (done := send_due(database, name, limit=10, links=LINKS)) > 0:
                total += done
            handled.append(total)
            stop_worker(database, name)

        threads = [
            threading.Thread(target=run, args=(database, f"t{n}")) for n, database in enumerate(databases)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        for database in databases:
            database.dispose()
        ids = server.message_ids()
    assert sum(handled) == count and set(ids) == expected and set(ids.values()) == {1}
    if workers == 2:
        assert all(total > 0 for total in handled), handled
    assert _states(db) == {"sent": count}


@pytest.fixture
def workers(db_url: str) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)


def _start_worker(db_url: str, tmp_path: Path, started: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    env = {**os.environ, "LEADWELL_SECRET_KEY": TEST_SECRET, "LEADWELL_PUBLIC_URL": PUBLIC_URL}
    with (tmp_path / f"worker-{len(started)}.log").open("w") as log:
        process = subprocess.Popen(
            [*LEADWELL, "worker", "--idle", "0.1", "--database-url", db_url],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    started.append(process)
    return process


def _releasing(db: Database) -> list[str]:
    with db.session() as session:
        query = select(OutboxMessage.claimed_by).where(OutboxMessage.state == "releasing")
        return [name for name in session.scalars(query) if name]


def _lock_free(db: Database, name: str) -> bool:
    with db.engine.connect() as connection:
        key = claims.worker_key(name)
        taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        if taken:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        connection.commit()
        return taken


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    db: Database, db_url: str, tmp_path: Path, workers: list[subprocess.Popen[str]]
) -> None:
    count = 300
    postgres = db.dialect == "postgresql"
    how_many = 2 if postgres else 1  # one worker on SQLite
    with start_smtp_server(delay=0.001) as server:
        box = make_outbox(db, server)
        expected = _queue_many(db, box, count)
        # Hold the server's answer from the 60th message on: every worker ends up waiting for it
        # with one message released (the server has it) and the rest of its batch claimed.
        server.hold(60)
        for _ in range(how_many):
            _start_worker(db_url, tmp_path, workers)
        # Past the hold, each worker hands over one more message at most, then waits for its answer.
        _eventually(
            lambda: len(server.messages()) >= 60 + how_many - 1, what="every worker held by the server"
        )
        _eventually(lambda: len(set(_releasing(db))) == how_many, what="every worker waiting on the server")
        victim_name = sorted(_releasing(db))[0]
        victim = next(p for p in workers if f":{p.pid}:" in victim_name)
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        with db.session() as session:
            left = session.execute(
                select(OutboxMessage.state, func.count())
                .where(OutboxMessage.claimed_by == victim_name)
                .group_by(OutboxMessage.state)
            ).all()
        in_flight = dict(left)
        assert in_flight.get("releasing") == 1 and in_flight.get("claimed", 0) >= 1, in_flight
        server.release()
        if postgres:
            _eventually(lambda: _lock_free(db, victim_name), 30, "the killed worker's lock released")
        _start_worker(db_url, tmp_path, workers)  # the restart takes back the killed worker's rows
        _eventually(lambda: _states(db) == {"sent": count}, 120, "every message sent")
        time.sleep(0.3)
        ids = server.message_ids()
    logs = "\n".join(path.read_text() for path in sorted(tmp_path.glob("worker-*.log")))
    assert set(ids) == expected, logs
    assert set(ids.values()) == {1}, [key for key, seen in ids.items() if seen > 1]
    with db.session() as session:
        assumed = session.scalar(
            select(func.count()).where(OutboxMessage.smtp_response == delivery.ASSUMED_DELIVERED)
        )
    assert assumed == 1
    assert len(events(db, "email_sent")) == count
