"""A recompute's connections: how each is tuned, its temporary tables, and on SQLite the halves.

SQLite lets several connections read at once but only one write. To use both cores anyway, a
recompute given an engine reads and sorts each half of the contact ids on a connection of its own:
:func:`fill_part` numbers the
half's grants in temporary tables and writes its cap totals and scores into a scratch database
file attached to that connection. Each half runs in a process of its own
(:func:`fill_part_apart`): SQLite's memory allocator takes a process-wide lock, and two threads
sorting millions of rows at once waited on it more than they worked. The recompute's own
connection then attaches both files
(:func:`attach_parts`) and copies their rows into ``engagement_caps`` and the engagement rows in
its own transaction, so nothing else writes between the reading and the writing, as when one
connection does it all.

The files are removed as soon as the recompute's connection has attached them (it keeps reading
them through its open handles) and detached when that connection goes back to the pool: a
database cannot be detached inside the transaction that read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.exc import OperationalError

from leadwell.db.session import make_engine
from leadwell.scoring.grants_sql import (
    Bounds,
    Plan,
    Temp,
    fill_grants,
    fill_rules,
    fill_scores,
    save_caps,
    sum_far_contacts,
    temp_tables,
)
from leadwell.scoring.sql import EventSql

SQLITE_CACHE_KIB = 1_048_576
# Enough for a ten-million-event log's sort to stay in memory (each half of it on PostgreSQL).
PG_WORK_MEM = "1GB"
PART = "lw_part"  # a helper's scratch database, as its connection names it
ATTACHED = "leadwell_recompute_parts"  # the key of the attached parts in a pooled connection's info
SCORE_COLUMNS = ("contact_id", "us", "x", "n", "ref", "score")


@contextmanager
def tuned(connection: Connection) -> Iterator[None]:
    """Room to sort in memory for this run: more work memory for this transaction (PostgreSQL); a
    large page cache (restored afterwards) and temporary tables in memory (SQLite): the sort then
    stays one in-memory run, its fastest.

    SQLite refuses to move temporary storage inside a transaction once it is in use, so it stays in
    memory for the rest of this connection's life (it only holds temporary tables and sorts), and
    stays where it is if this connection already used it."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
        # Compiling these long CASE expressions costs more than it saves, above all on small logs.
        connection.execute(text("SET LOCAL jit = off"))
        yield
        return
    cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    with suppress(OperationalError):
        connection.exec_driver_sql("PRAGMA temp_store = MEMORY")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache or -2000)}")


@contextmanager
def temporary(connection: Connection, temp: Temp) -> Iterator[None]:
    """The run's temporary tables, created fresh and dropped afterwards."""
    for table in temp.all():
        table.drop(connection, checkfirst=True)
    for table in reversed(temp.all()):
        table.create(connection)
    yield
    for table in temp.all():
        table.drop(connection)


def score_grants(connection: Connection, plan: Plan, bounds: Bounds, temp: Temp, caps: Table) -> None:
    """The grants of the contacts within ``bounds`` numbered in ``temp``, their cap totals into
    ``caps`` and each contact's decayed sum into ``temp.scores``: the recompute's reading part."""
    fill_rules(connection, plan, temp)
    fill_grants(connection, EventSql(connection.dialect.name), plan, bounds, temp)
    save_caps(connection, plan, temp, into=caps)
    fill_scores(connection, plan, temp)
    sum_far_contacts(connection, plan, temp)


class PartTables:
    """A half's results in its scratch database ``schema``: cap totals and per-contact scores."""

    def __init__(self, schema: str) -> None:
        meta = MetaData(schema=schema)
        self.caps = Table(
            "caps", meta,
            Column("contact_id", BigInteger), Column("rule", String), Column("scope", String),
            Column("awarded", Float),
        )  # fmt: skip
        self.scores = Table(
            "scores", meta,
            Column("contact_id", BigInteger), Column("us", BigInteger), Column("x", Float),
            Column("n", Integer), Column("ref", BigInteger), Column("score", Float),
        )  # fmt: skip


def usable(connection: Connection) -> bool:
    """Whether the halves can run for this SQLite connection: a database file (other connections
    must see it), and no transaction open on it, since its snapshot would not see what the halves
    read and only an idle connection can attach their files."""
    database = connection.engine.url.database
    if connection.dialect.name != "sqlite" or not database or database == ":memory:":
        return False
    return not connection.connection.driver_connection.in_transaction  # type: ignore[union-attr]


def fill_part(engine: Engine, plan: Plan, bounds: Bounds, path: Path) -> None:
    """One half's cap totals and scores (as the one-connection run computes them) into a new
    scratch database at ``path``, on a connection of its own."""
    with engine.connect() as own:
        own.exec_driver_sql(f"ATTACH DATABASE ? AS {PART}", (str(path),))
        try:
            own.exec_driver_sql(f"PRAGMA {PART}.journal_mode = OFF")
            own.exec_driver_sql(f"PRAGMA {PART}.synchronous = OFF")
            out = PartTables(PART)
            out.caps.create(own)
            out.scores.create(own)
            temp = temp_tables("sqlite")
            with tuned(own), temporary(own, temp):
                score_grants(own, plan, bounds, temp, out.caps)
                own.execute(insert(out.scores).from_select(SCORE_COLUMNS, select(temp.scores)))
            own.commit()
        finally:
            own.rollback()
            own.exec_driver_sql(f"DETACH DATABASE {PART}")


def fill_part_apart(url: str, plan: Plan, bounds: Bounds, path: Path) -> None:
    """:func:`fill_part` in a process of its own (see :func:`leadwell.scoring.recompute`): two
    threads of one process sorting at once spent their time waiting on SQLite's process-wide
    memory lock, each half as slow as the whole run on one connection."""
    engine = make_engine(url)
    try:
        fill_part(engine, plan, bounds, path)
    finally:
        engine.dispose()


def attach_parts(connection: Connection, paths: list[Path]) -> list[PartTables]:
    """Attach the halves' scratch databases to ``connection`` (idle: see :func:`usable`); they are
    detached when the connection goes back to the pool."""
    engine = connection.engine
    if not event.contains(engine, "checkin", _detach_parts):
        event.listen(engine, "checkin", _detach_parts)
    info = connection.connection.info
    _detach(connection.connection.driver_connection, info)  # left by a run that failed to detach
    names = [f"{PART}{number}" for number in range(1, len(paths) + 1)]
    for name, path in zip(names, paths, strict=True):
        connection.exec_driver_sql(f"ATTACH DATABASE ? AS {name}", (str(path),))
        info.setdefault(ATTACHED, []).append(name)
    return [PartTables(name) for name in names]


def _detach_parts(dbapi_connection: Any, record: Any) -> None:
    _detach(dbapi_connection, record.info)


def _detach(dbapi_connection: Any, info: dict[str, Any]) -> None:
    for name in info.pop(ATTACHED, []):
        with suppress(Exception):  # a closed connection has nothing attached any more
            dbapi_connection.execute(f"DETACH DATABASE {name}")
