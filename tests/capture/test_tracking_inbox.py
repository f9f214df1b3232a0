"""The inbox's group commit: an acknowledgement waits for its commit, many hits share one commit, a
full queue refuses, and closing stores everything queued.

The database's own write lock holds the writer back where a test needs hits to pile up.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from leadwell.capture.inbox import Inbox, InboxClosed, InboxFull
from leadwell.capture.write_gate import FairLock, write_gate
from leadwell.config import Settings
from leadwell.db.models import TrackingHit
from leadwell.db.session import Database
from leadwell.web.app import create_app
from tests.capture.tracking_support import hit_count, make_prospect, read_body, signer_of
from tests.conftest import TEST_SECRET, run_apart


def _hit(number: int) -> dict[str, Any]:
    return {"workspace_id": 1, "kind": "open", "payload": {"w": 1, "c": number, "m": "m"}, "ip": "127.0.0.1"}


@contextmanager
def writes_blocked(db: Database) -> Iterator[threading.Event]:
    """Hold the tracking inbox table's write lock until the yielded event is set (or the block ends)."""
    release = threading.Event()
    locked = threading.Event()

    def hold() -> None:
        with db.engine.connect() as connection:
            if db.dialect == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.execute(text("BEGIN"))
                connection.execute(text("LOCK TABLE tracking_hits IN EXCLUSIVE MODE"))
            locked.set()
            release.wait(30)
            connection.rollback()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    try:
        yield release
    finally:
        release.set()
        holder.join()


async def _until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


def test_a_hit_is_acknowledged_only_after_its_commit(db: Database) -> None:
    inbox = Inbox(db)

    async def scenario() -> None:
        with writes_blocked(db) as release:
            pending = asyncio.ensure_future(inbox.submit(_hit(1)))
            await _until(lambda: inbox.writing == 1)  # the writer took it and waits for the lock
            await asyncio.sleep(0.2)
            assert not pending.done()
            assert hit_count(db) == 0
            release.set()
            await asyncio.wait_for(pending, 20)
        assert hit_count(db) == 1

    run_apart(scenario())
    inbox.close()


def test_hits_queued_meanwhile_share_one_commit(db: Database) -> None:
    inbox = Inbox(db)

    async def scenario() -> None:
        with writes_blocked(db) as release:
            first = asyncio.ensure_future(inbox.submit(_hit(0)))
            await _until(lambda: inbox.writing == 1)
            rest = [asyncio.ensure_future(inbox.submit(_hit(n))) for n in range(1, 200)]
            await _until(lambda: inbox.waiting == 199)
            release.set()
            await asyncio.wait_for(asyncio.gather(first, *rest), 20)

    run_apart(scenario())
    assert hit_count(db) == 200
    assert inbox.commits == 2
    inbox.close()


def test_a_full_inbox_refuses_new_hits_and_keeps_the_queued_ones(db: Database) -> None:
    inbox = Inbox(db, capacity=2)

    async def scenario() -> None:
        with writes_blocked(db) as release:
            taken = asyncio.ensure_future(inbox.submit(_hit(0)))
            await _until(lambda: inbox.writing == 1)
            queued = [asyncio.ensure_future(inbox.submit(_hit(n))) for n in (1, 2)]
            await _until(lambda: inbox.waiting == 2)
            with pytest.raises(InboxFull):
                await inbox.submit(_hit(3))
            release.set()
            await asyncio.wait_for(asyncio.gather(taken, *queued), 20)

    run_apart(scenario())
    assert hit_count(db) == 3
    inbox.close()


def test_closing_stores_every_queued_hit_then_refuses_more(db: Database) -> None:
    inbox = Inbox(db)

    async def scenario() -> list[asyncio.Future[None]]:
        with writes_blocked(db):
            first = asyncio.ensure_future(inbox.submit(_hit(0)))
            await _until(lambda: inbox.writing == 1)
            futures = [asyncio.ensure_future(inbox.submit(_hit(n))) for n in range(1, 50)]
            await _until(lambda: inbox.waiting == 49)
        return [first, *futures]

    async def close_then_wait() -> None:
        futures = await scenario()
        await asyncio.get_running_loop().run_in_executor(None, inbox.close)
        await asyncio.wait_for(asyncio.gather(*futures), 20)
        with pytest.raises(InboxClosed):
            await inbox.submit(_hit(99))

    run_apart(close_then_wait())
    assert hit_count(db) == 50


def test_a_hit_the_database_refuses_fails_alone_and_stores_nothing_of_itself(db: Database) -> None:
    inbox = Inbox(db)
    unstorable = {**_hit(1), "kind": None}  # kind is NOT NULL: its batch's transaction is refused

    async def scenario() -> None:
        with writes_blocked(db) as release:
            first = asyncio.ensure_future(inbox.submit(_hit(0)))
            await _until(lambda: inbox.writing == 1)
            batch = [asyncio.ensure_future(inbox.submit(hit)) for hit in (_hit(2), unstorable, _hit(3))]
            await _until(lambda: inbox.waiting == 3)
            release.set()
            await asyncio.wait_for(first, 20)
            results = await asyncio.wait_for(asyncio.gather(*batch, return_exceptions=True), 20)
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], Exception)
        await asyncio.wait_for(inbox.submit(_hit(4)), 20)  # the writer carries on

    run_apart(scenario())
    with db.session() as session:
        stored = session.scalars(select(TrackingHit.payload).order_by(TrackingHit.id)).all()
    assert [payload["c"] for payload in stored] == [0, 2, 3, 4]
    inbox.close()


def test_the_app_stores_through_its_inbox_and_flushes_it_on_shutdown(app: FastAPI, db: Database) -> None:
    prospect = make_prospect(db)
    token = signer_of(app).sign("deliver", {**prospect.ids, "a": 1})
    with TestClient(app) as client:
        assert client.post(f"/t/r/{token}", json=read_body()).status_code == 204
        inbox = app.state.tracking_inbox
        assert inbox.commits == 1
    assert app.state.tracking_inbox is None  # closed with the app
    assert hit_count(db) == 1


def test_writers_pass_the_sqlite_gate_in_the_order_they_came(db: Database) -> None:
    if db.dialect != "sqlite":
        assert isinstance(write_gate(db), nullcontext)  # PostgreSQL locks rows, not the database
        return
    gate = write_gate(db)
    assert isinstance(gate, FairLock) and write_gate(db) is gate
    order: list[str] = []

    def writer(name: str) -> None:
        with gate:
            order.append(name)

    with gate:
        threads = []
        for name in ("inbox", "worker", "inbox again"):
            asked = gate._next_ticket
            thread = threading.Thread(target=writer, args=(name,))
            thread.start()
            threads.append(thread)
            deadline = time.monotonic() + 10
            while gate._next_ticket == asked:  # until this writer queues, before the next comes
                assert time.monotonic() < deadline
                time.sleep(0.01)
        assert order == []
    for thread in threads:
        thread.join(10)
    assert order == ["inbox", "worker", "inbox again"]


def test_a_full_inbox_answers_503_with_retry_after_over_http(db_url: str, db: Database) -> None:
    settings = Settings(database_url=db_url, secret_key=TEST_SECRET, tracking_queue_size=1)
    app = create_app(settings, db)
    prospect = make_prospect(db)
    token = signer_of(app).sign("deliver", {**prospect.ids, "a": 1})
    answers: dict[int, Any] = {}
    with TestClient(app) as client, writes_blocked(db) as release:

        def post(number: int) -> None:
            answers[number] = client.post(f"/t/r/{token}", json=read_body(seq=number))

        first = threading.Thread(target=post, args=(1,))
        first.start()
        deadline = time.monotonic() + 10
        while getattr(app.state, "tracking_inbox", None) is None or app.state.tracking_inbox.writing != 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        second = threading.Thread(target=post, args=(2,))
        second.start()
        while app.state.tracking_inbox.waiting != 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        post(3)  # the queue holds one hit: this one is refused at once
        release.set()
        first.join(20)
        second.join(20)
    assert [answers[n].status_code for n in (1, 2, 3)] == [204, 204, 503]
    assert answers[3].headers["retry-after"] == "1"
    assert answers[3].json()["status"] == 503
    with db.session() as session:
        stored = session.scalars(select(TrackingHit.payload)).all()
    assert sorted(payload["seq"] for payload in stored) == [1, 2]
