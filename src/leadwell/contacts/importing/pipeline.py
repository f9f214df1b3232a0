"""Import a contacts file: read, map, clean, then write in chunks that each commit on their own.

A chunk's rows and the import's progress mark move in one transaction, so a crash or Ctrl-C leaves
the database consistent and the same command, run again, resumes after the last committed chunk.
Matching by email (and identity key for people without one) makes a second import of the same file
create nothing new.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.orm import Session

from leadwell.contacts.dedupe import find_duplicates
from leadwell.contacts.importing.batches import Batch, Source, batches
from leadwell.contacts.importing.cleaning import CleanRow, Issue, RowCleaner
from leadwell.contacts.importing.mapping import Mapping, apply_overrides, auto_map, identifies_a_person
from leadwell.contacts.importing.people import PeopleWriter, PeopleWrites
from leadwell.contacts.importing.reader import Table, UnreadableFile, open_table, sha256_of
from leadwell.contacts.importing.writer import OrganizationResolver, OrganizationWrites, Tally
from leadwell.db.models import Import, ImportIssue
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import Conflict
from leadwell.gc_pause import young_collections_only
from leadwell.icp.grading import grade_all
from leadwell.icp.regrade import regrade_after_import
from leadwell.icp.store import list_icps
from leadwell.scoring.fit_sync import ensure_engagement_rows

CHUNK_ROWS = 5000
HEARTBEAT_TIMEOUT = timedelta(minutes=2)
FULL_SCAN_FROM = 50_000  # people touched by one import  # far longer than any chunk takes
PREVIEW_ROWS = 10
SQLITE_CACHE_KIB = 128 * 1024  # per connection; pages are only allocated as they are read
SQLITE_IMPORT_CHECKPOINT_PAGES = 20_000  # about 80 MB of write-ahead log between checkpoints
SQLITE_CHECKPOINT_PAGES = 1000  # SQLite's default
ANALYZE_FIRST = 20_000  # new people; then again each time they double
ANALYZE_IMPORTED = text("ANALYZE contacts, contact_emails, organizations")


@dataclass(frozen=True)
class ImportOptions:
    list_name: str | None = None
    default_region: str | None = None
    overrides: tuple[str, ...] = ()
    dry_run: bool = False
    sheet: str | None = None
    chunk_rows: int = CHUNK_ROWS  # rows per transaction: fewer round trips vs. less work lost to a crash
    parallel: bool | None = None  # clean in a second process; None: for big files


@dataclass
class ImportSummary:
    """What an import read and did; ``issues`` holds every rejected or doubtful row."""

    file_name: str
    list_name: str
    format: str
    profile: str
    mapping: dict[str, str]
    import_id: int | None = None
    dry_run: bool = False
    resumed_after_line: int = 0
    rows_read: int = 0
    rejected: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates_in_file: int = 0
    organizations_created: int = 0
    duplicate_candidates: int = 0
    issues: list[Issue] = field(default_factory=list)

    @property
    def warnings(self) -> int:
        return sum(issue.severity == "warning" for issue in self.issues)

    def counts(self) -> dict[str, Any]:
        """The figures, for JSON output and the stored import record."""
        names = (
            "rows_read",
            "rejected",
            "created",
            "updated",
            "unchanged",
            "duplicates_in_file",
            "organizations_created",
            "duplicate_candidates",
            "resumed_after_line",
        )
        return {name: getattr(self, name) for name in names} | {"warnings": self.warnings}


def resolve_mapping(table: Table, overrides: tuple[str, ...]) -> Mapping:
    """Auto-map the headers, apply ``--map`` overrides, and insist that a person can be identified."""
    mapping = apply_overrides(auto_map(table.headers), list(overrides))
    if not identifies_a_person(mapping):
        raise UnreadableFile(
            "file: no column could identify a person (an email, phone or name column); "
            f"columns are {', '.join(table.headers[:12])}; use --map 'Column=email'",
            field="file",
        )
    return mapping


@dataclass(frozen=True)
class Preview:
    table_format: str
    encoding: str | None
    delimiter: str | None
    headers: list[str]
    mapping: Mapping
    rows: list[list[str]]
    cleaned: list[CleanRow]


def preview_file(path: Path, options: ImportOptions) -> Preview:
    """The first rows of a file, raw and cleaned, with the mapping an import would use."""
    with open_table(path, options.sheet) as table:
        mapping = apply_overrides(auto_map(table.headers), list(options.overrides))
        cleaner = RowCleaner(mapping, options.default_region)
        raw: list[list[str]] = []
        cleaned: list[CleanRow] = []
        for line, cells in table.rows:
            raw.append(cells)
            cleaned.append(cleaner.clean(line, cells))
            if len(raw) >= PREVIEW_ROWS:
                break
        return Preview(table.format, table.encoding, table.delimiter, table.headers, mapping, raw, cleaned)


@dataclass
class Run:
    """One pass over a file: where the cleaned rows come from, and what is reported."""

    db: Database
    workspace_id: int
    path: Path
    mapping: Mapping
    summary: ImportSummary
    options: ImportOptions
    progress: Callable[[int], None] | None = None

    @contextmanager
    def chunks(self, after_line: int) -> Iterator[Iterator[tuple[list[CleanRow], int]]]:
        """Cleaned, accepted rows in chunks, with the last line each chunk covers; the summary
        counts what was read as the chunks go by."""
        source = Source(
            self.path,
            self.options.sheet,
            self.mapping,
            self.options.default_region,
            after_line,
            self.options.chunk_rows,
        )
        with batches(source, self.options.parallel) as cleaned:
            yield self._counted(cleaned)

    def _counted(self, cleaned: Iterator[Batch]) -> Iterator[tuple[list[CleanRow], int]]:
        summary = self.summary
        for batch in cleaned:
            summary.rows_read += batch.read
            summary.rejected += batch.rejected
            summary.issues.extend(batch.issues)
            if self.progress:
                self.progress(summary.rows_read)
            yield batch.rows, batch.last_line


def _start(
    db: Database,
    workspace_id: int,
    path: Path,
    summary: ImportSummary,
    options: ImportOptions,
    user_id: int | None,
) -> tuple[int, int]:
    """The import record to write into: an unfinished one of the same file resumes, else a new one."""
    digest = sha256_of(path)
    with db.session() as session:
        unfinished = session.scalar(
            select(Import)
            .where(
                Import.workspace_id == workspace_id,
                Import.sha256 == digest,
                Import.list_name == summary.list_name,
                Import.status.in_(("running", "failed")),
            )
            .order_by(Import.id.desc())
        )
        if unfinished is not None:
            _claim(session, unfinished)
            return unfinished.id, unfinished.rows_done
        record = Import(
            workspace_id=workspace_id,
            file_name=summary.file_name,
            list_name=summary.list_name,
            sha256=digest,
            status="running",
            mapping=summary.mapping,
            options={"default_region": options.default_region},
            created_by_id=user_id,
        )
        session.add(record)
        session.flush()
        return record.id, 0


def _claim(session: Session, record: Import) -> None:
    """Take over an unfinished import, unless a live run still holds it (its heartbeat is recent).

    The claim is one conditional UPDATE, so of two runs starting together only one wins.
    """
    now = utcnow()
    claimed = session.execute(
        update(Import)
        .where(Import.id == record.id, Import.heartbeat_at < now - HEARTBEAT_TIMEOUT)
        .values(heartbeat_at=now, status="running")
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"file: this file is being imported right now (import {record.id}); "
            f"try again when it has finished or in {HEARTBEAT_TIMEOUT.seconds // 60} minutes",
            field="file",
        )


def _issue_rows(import_id: int, issues: list[Issue]) -> list[dict[str, Any]]:
    return [
        {
            "import_id": import_id,
            "line": i.line,
            "column": i.column,
            "severity": i.severity,
            "reason": i.reason[:2000],
            "value": (i.value or "")[:2000] or None,
        }
        for i in issues
    ]


def import_file(
    db: Database,
    workspace_id: int,
    path: Path,
    options: ImportOptions = ImportOptions(),
    file_name: str | None = None,
    user_id: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import ``path`` into a workspace; raises :class:`UnreadableFile` when it cannot be read at all."""
    name = file_name or path.name
    with open_table(path, options.sheet) as table:
        mapping = resolve_mapping(table, options.overrides)
        summary = ImportSummary(
            name,
            options.list_name or name,
            table.format,
            mapping.profile,
            dict(mapping.columns),
            dry_run=options.dry_run,
        )
        RowCleaner(mapping, options.default_region)  # a bad default region fails before any work
    run = Run(db, workspace_id, path, mapping, summary, options, progress)
    if options.dry_run:
        _run_dry(run)
        return summary
    import_id, after = _start(db, workspace_id, path, summary, options, user_id)
    summary.import_id, summary.resumed_after_line = import_id, after
    try:
        tally = _run(run, import_id, after)
    except Exception as error:
        _release(db, import_id, error)
        raise
    except KeyboardInterrupt:
        _release(db, import_id, None)  # stopped on purpose: resumable at once
        raise
    if len(tally.touched) >= FULL_SCAN_FROM:
        _refresh_statistics(db)
    summary.duplicate_candidates = _find_duplicates(db, workspace_id, tally.touched)
    _grade(db, workspace_id, tally)
    _finish(db, import_id, summary)
    return summary


def _grade(db: Database, workspace_id: int, tally: Tally) -> None:
    """Fit grades for the people the import created or filled in, against every profile: by id
    for a few, in one set-based pass over the workspace past :data:`FULL_SCAN_FROM`. People filled
    in get an engagement row (their place in the call queue) first if they lack one; new people
    got theirs as they were written."""
    touched = tally.touched
    ensure_engagement_rows(db, workspace_id, touched - tally.placed)
    if len(touched) < FULL_SCAN_FROM:
        regrade_after_import(db, workspace_id, touched)
        return
    with db.session() as session:
        for icp in list_icps(session, workspace_id):
            grade_all(session, workspace_id, icp, db.engine)


def _copy(tally: Tally, summary: ImportSummary) -> None:
    summary.created, summary.updated, summary.unchanged = tally.created, tally.updated, tally.unchanged
    summary.duplicates_in_file = tally.duplicates_in_file
    summary.organizations_created = tally.organizations_created


@dataclass
class ChunkWrite:
    """One chunk, planned: everything its transaction writes, worked out beforehand."""

    organizations: OrganizationWrites
    people: PeopleWrites
    issue_rows: list[dict[str, Any]]
    last_line: int

    def apply(self, connection: Connection, tally: Tally, organizations: bool = True) -> None:
        """Write the chunk; without ``organizations`` when those were written (and committed) apart."""
        if organizations:
            self.organizations.apply(connection)  # before the people that refer to them
        self.people.apply(connection, tally)
        if self.issue_rows:
            connection.execute(insert(ImportIssue), self.issue_rows)


class Planner:
    """Plans each chunk of one import: organizations resolved, people matched, ids reserved, rows built."""

    def __init__(self, run: Run, import_id: int | None, tally: Tally) -> None:
        self.organizations = OrganizationResolver(run.workspace_id)
        self.people = PeopleWriter(run.workspace_id, import_id, run.summary.list_name)
        self.import_id = import_id
        self.issues = run.summary.issues
        self.reported = len(self.issues)
        self.tally = tally

    def plan(self, connection: Connection, chunk: list[CleanRow], last_line: int) -> ChunkWrite:
        org_ids, organizations = self.organizations.resolve(connection, chunk, self.tally)
        warnings, people = self.people.plan(connection, chunk, org_ids, self.tally)
        self.issues.extend(warnings)
        fresh = self.issues[self.reported :]
        self.reported = len(self.issues)
        issue_rows = _issue_rows(self.import_id, fresh) if self.import_id is not None and fresh else []
        return ChunkWrite(organizations, people, issue_rows, last_line)


def _run(run: Run, import_id: int, after: int) -> Tally:
    """Write the file chunk by chunk, each chunk with its progress mark in one transaction.

    On PostgreSQL a chunk is planned on a reading connection while the one before it is written on
    another, by a thread: the server's share of a chunk (COPY, index and foreign-key work) then
    overlaps this process's share of the next (matching, building rows), where one after the other
    the process spent half its time waiting. SQLite has one writer and plans inside its transaction
    (its ids are reserved by holding the write lock).
    """
    tally = Tally()
    planner = Planner(run, import_id, tally)

    with young_collections_only() as collect, run.chunks(after) as chunks:
        if run.db.engine.dialect.name == "postgresql":
            _run_overlapped(run, planner, chunks, collect)
        else:
            _run_on_one_connection(run, planner, chunks, collect)
    _copy(tally, run.summary)
    return tally


def _run_on_one_connection(
    run: Run, planner: Planner, chunks: Iterator[tuple[list[CleanRow], int]], collect: Callable[[], None]
) -> None:
    """SQLite: each chunk planned and written in its own transaction, on one connection.

    The connection checkpoints its write-ahead log every :data:`SQLITE_IMPORT_CHECKPOINT_PAGES`
    instead of every 1,000 pages while it imports: each chunk rewrites many of the same index
    pages, and a checkpoint copies only their last version (a million rows: 89.6 → 84.5 s)."""
    tally, import_id = planner.tally, planner.import_id
    assert import_id is not None  # a dry run never writes chunk by chunk
    with run.db.engine.connect() as connection:
        _tune_for_bulk(connection)
        connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {SQLITE_IMPORT_CHECKPOINT_PAGES}")
        try:
            planner.organizations.preload(connection)
            connection.commit()
            for rows, last_line in chunks:
                collect()
                with connection.begin():
                    planner.plan(connection, rows, last_line).apply(connection, tally)
                    _mark_progress(connection, import_id, last_line)
        finally:
            connection.rollback()
            connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}")
            connection.commit()


def _mark_progress(connection: Connection, import_id: int, last_line: int) -> None:
    """The import's progress mark, in the transaction of the chunk it covers."""
    mark = update(Import).where(Import.id == import_id).values(rows_done=last_line, heartbeat_at=utcnow())
    connection.execute(mark)


def _run_overlapped(
    run: Run, planner: Planner, chunks: Iterator[tuple[list[CleanRow], int]], collect: Callable[[], None]
) -> None:
    """Plan chunk n + 1 here while a thread writes chunk n; at most one chunk is in flight, so the
    planner's memory of the last planned chunk covers everything the database cannot show yet.

    Each time the people written have doubled (from :data:`ANALYZE_FIRST`), the tables are analyzed:
    planned with the statistics of a table a tenth of its size, each chunk's look-ups by address
    read the whole address table instead of its index (40 ms a chunk at a million rows, growing).
    """
    tally, import_id = planner.tally, planner.import_id
    assert import_id is not None  # a dry run never writes chunk by chunk

    def write_organizations(chunk: ChunkWrite) -> None:
        with run.db.engine.begin() as connection:
            _tune_for_bulk(connection)
            chunk.organizations.apply(connection)

    def write(chunk: ChunkWrite, organizations: Future[None]) -> None:
        organizations.result()  # committed, so the people's foreign keys find them
        with run.db.session() as session:
            connection = session.connection()
            _tune_for_bulk(connection)
            chunk.apply(connection, tally, organizations=False)
            _mark_progress(connection, import_id, chunk.last_line)

    with (
        run.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as reader,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as writer,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-organizations") as org_writer,
    ):
        planner.organizations.preload(reader)
        in_flight: Future[None] | None = None
        analyzed_at = ANALYZE_FIRST // 2
        try:
            for rows, last_line in chunks:
                collect()
                if tally.created >= 2 * analyzed_at:
                    analyzed_at = tally.created
                    reader.execute(ANALYZE_IMPORTED)
                planned = planner.plan(reader, rows, last_line)
                organizations = org_writer.submit(write_organizations, planned)
                if in_flight is not None:
                    in_flight.result()
                in_flight = writer.submit(write, planned, organizations)
            if in_flight is not None:
                in_flight.result()
        except BaseException:
            if in_flight is not None:
                wait([in_flight])  # a chunk being written commits or rolls back before we report
            raise


def _tune_for_bulk(connection: Connection) -> None:
    """Settings for a chunk's transaction that trade nothing an import needs for speed.

    PostgreSQL acknowledges the commit before its WAL reaches the disk: a server crash may lose the
    last chunks committed, but never half of one, since the rows and the import's progress mark
    share the transaction and a re-run resumes where the database says it stopped (waiting for the
    flush cost a tenth of the time). SQLite gets a page cache of :data:`SQLITE_CACHE_KIB` instead of
    2 MiB, so the indexes a million rows grow into are not read back from the file for every chunk.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
    else:
        connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")


def _run_dry(run: Run) -> None:
    """Everything an import would do, in one transaction that is rolled back."""
    tally = Tally()
    planner = Planner(run, None, tally)
    with run.db.engine.connect() as connection:
        transaction = connection.begin()
        try:
            planner.organizations.preload(connection)
            with young_collections_only() as collect, run.chunks(0) as chunks:
                for rows, last_line in chunks:
                    collect()
                    planner.plan(connection, rows, last_line).apply(connection, tally)
        finally:
            transaction.rollback()
    _copy(tally, run.summary)


def _refresh_statistics(db: Database) -> None:
    """After a big import PostgreSQL still plans with the row counts it saw before (autovacuum gets
    round to them later), and a plan for a table it believes small turns the duplicate scan's
    lookups quadratic. A sampled ANALYZE costs a fraction of a second."""
    with db.session() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(ANALYZE_IMPORTED)


def _find_duplicates(db: Database, workspace_id: int, touched: set[int]) -> int:
    """Fuzzy duplicates among the people this import touched, queued for review."""
    if not touched:
        return 0
    # Past a certain share of the workspace, one scan of everyone is cheaper than finding each
    # touched person's block-mates.
    scope = None if len(touched) >= FULL_SCAN_FROM else touched
    with young_collections_only(), db.session() as session:
        return find_duplicates(session, workspace_id, scope, engine=db.engine)


def _release(db: Database, import_id: int, error: Exception | None) -> None:
    """Let go of an import that stopped: failed (with the reason) or interrupted. Its committed chunks
    stay, and the next run of the same file may take it over at once instead of waiting out the
    heartbeat (which is what a killed process leaves behind)."""
    with db.session() as session:
        record = session.get(Import, import_id)
        if record is not None:
            record.heartbeat_at = utcnow() - HEARTBEAT_TIMEOUT - timedelta(seconds=1)
            if error is not None:
                record.status = "failed"
                record.summary = {**record.summary, "error": str(error)[:500]}


def _finish(db: Database, import_id: int, summary: ImportSummary) -> None:
    with db.session() as session:
        record = session.get(Import, import_id)
        assert record is not None
        record.status, record.finished_at = "done", utcnow()
        record.summary = summary.counts()


def write_issues_csv(path: Path, issues: list[Issue]) -> None:
    """The rejected and doubtful rows, one per line: line, column, severity, reason, value."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "column", "severity", "reason", "value"])
        for issue in issues:
            writer.writerow([issue.line, issue.column or "", issue.severity, issue.reason, issue.value or ""])
