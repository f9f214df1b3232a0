"""Reading and cleaning a file into batches, in this process or in a second one.

Cleaning (parsing cells, emails, phones, names, sizes) is pure Python and as costly as writing the
rows, so a big file is read and cleaned by a child process while this one writes: the two cores work
at once. The child sends finished batches through a bounded queue, so a slow database holds the
reader back instead of filling memory. Small files are cleaned in-process: starting a Python process
costs more than cleaning a few thousand rows.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from leadwell.contacts.importing.cleaning import CleanRow, Issue, RowCleaner
from leadwell.contacts.importing.mapping import Mapping
from leadwell.contacts.importing.reader import open_table
from leadwell.gc_pause import young_collections_only

PARALLEL_FROM_BYTES = 4 * 1024 * 1024  # about 30,000 rows of a typical export
QUEUED_BATCHES = 3  # how far the cleaner may run ahead of the writer
_POLL_SECONDS = 1.0  # how often a waiting writer checks that the cleaner is still alive


@dataclass
class Batch:
    """Rows of the file cleaned: the accepted ones, every issue, and how far the file was read."""

    rows: list[CleanRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    read: int = 0
    rejected: int = 0
    last_line: int = 0


@dataclass(frozen=True)
class Source:
    """Everything a cleaner needs, picklable so a child process can be given it."""

    path: Path
    sheet: str | None
    mapping: Mapping
    default_region: str | None
    after_line: int
    batch_rows: int


def clean_batches(source: Source) -> Iterator[Batch]:
    """The file's rows after ``source.after_line``, cleaned, ``batch_rows`` accepted rows at a time;
    the last batch may be empty (it still carries the issues and the last line read)."""
    cleaner = RowCleaner(source.mapping, source.default_region)
    batch = Batch(last_line=source.after_line)
    with open_table(source.path, source.sheet) as table:
        for line, cells in table.rows:
            if line <= source.after_line:
                continue
            row = cleaner.clean(line, cells)
            batch.read += 1
            batch.last_line = line
            if row.issues:
                batch.issues.extend(row.issues)
            if row.rejected:
                batch.rejected += 1
            else:
                batch.rows.append(row)
            if len(batch.rows) >= source.batch_rows:
                yield batch
                batch = Batch(last_line=line)
    yield batch


# Batches cross between processes as plain tuples, dicts and strings: unpickling a dataclass
# instance costs ten times as much, and the writing process has no time to spare.
Packed = tuple[list[tuple[int, dict[str, Any], dict[str, Any] | None]], list[tuple[Any, ...]], int, int, int]


def _pack(batch: Batch) -> Packed:
    rows = [(row.line, row.contact, row.organization) for row in batch.rows]
    issues = [(i.line, i.column, i.severity, i.reason, i.value) for i in batch.issues]
    return rows, issues, batch.read, batch.rejected, batch.last_line


def _unpack(packed: Packed) -> Batch:
    rows, issues, read, rejected, last_line = packed
    return Batch(
        [CleanRow(line, contact, organization, [], False) for line, contact, organization in rows],
        [Issue(*issue) for issue in issues],
        read,
        rejected,
        last_line,
    )


def _clean_in_child(source: Source, out: Any) -> None:
    """The child's work: every batch into the queue, then None, or the error that stopped it."""
    try:
        with young_collections_only() as collect:
            for batch in clean_batches(source):
                out.put(_pack(batch))
                collect()
        out.put(None)
    except BaseException as error:  # the parent must hear why, whatever it was
        out.put(RuntimeError(f"cleaning stopped: {type(error).__name__}: {error}"))


def _received(process: BaseProcess, inbox: Any) -> Iterator[Batch]:
    while True:
        try:
            item = inbox.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if not process.is_alive():
                code = process.exitcode
                raise RuntimeError(f"cleaning stopped: the cleaner exited with code {code}") from None
            continue
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        yield _unpack(item)


@contextmanager
def batches(source: Source, parallel: bool | None = None) -> Iterator[Iterator[Batch]]:
    """Cleaned batches of ``source``; with ``parallel`` (by default: for files over
    :data:`PARALLEL_FROM_BYTES`) a child process cleans while the caller writes. Leaving the context
    early (an error, Ctrl-C) stops the child."""
    if parallel is None:
        parallel = source.path.stat().st_size >= PARALLEL_FROM_BYTES
    if not parallel:
        yield clean_batches(source)
        return
    # "spawn": a fresh interpreter, safe from a web server's threads and open connections.
    context = multiprocessing.get_context("spawn")
    inbox = context.Queue(maxsize=QUEUED_BATCHES)
    process = context.Process(target=_clean_in_child, args=(source, inbox), daemon=True)
    process.start()
    try:
        yield _received(process, inbox)
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        inbox.close()
        inbox.cancel_join_thread()  # batches left unread must not keep this process waiting
