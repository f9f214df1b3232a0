"""Cleaning in a second process: the same batches as in-process, errors carried over, no orphans."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import select

from leadwell.contacts.importing.batches import Batch, Source, batches
from leadwell.contacts.importing.pipeline import ImportOptions, import_file, resolve_mapping
from leadwell.contacts.importing.reader import open_table
from leadwell.db.models import Contact, ImportIssue
from leadwell.db.session import Database
from tests.conftest import Tenant

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


def messy_file(path: Path, rows: int) -> Path:
    """People with duplicates, invalid rows and warnings, enough for several batches."""
    lines = ["Name,E-mail,Phone,Company,# Employees"]
    for number in range(rows):
        if number % 17 == 0:
            lines.append(",,,Nobody Ltd,12")  # rejected: nobody to identify
        elif number % 11 == 0:
            lines.append(f"Dup Person,dup{number % 3}@acme.example.com,,Acme,1.2k")  # repeats
        else:
            lines.append(
                f"Person {number},p{number}@firm{number % 40}.example.com,+1 415 555 {number % 10000:04d},"
                f"Firm {number % 40},{'lots' if number % 13 == 0 else number}"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def source_of(path: Path, batch_rows: int, after_line: int = 0) -> Source:
    with open_table(path) as table:
        mapping = resolve_mapping(table, ())
    return Source(path, None, mapping, "US", after_line, batch_rows)


def collected(source: Source, parallel: bool) -> list[Batch]:
    with batches(source, parallel) as cleaned:
        return list(cleaned)


def test_a_child_process_cleans_exactly_what_this_process_would(tmp_path: Path) -> None:
    source = source_of(messy_file(tmp_path / "messy.csv", 700), batch_rows=100, after_line=40)
    inline, child = collected(source, False), collected(source, True)
    assert len(inline) == len(child) > 5
    for here, there in zip(inline, child, strict=True):
        assert (here.read, here.rejected, here.last_line) == (there.read, there.rejected, there.last_line)
        assert [(r.line, r.contact, r.organization) for r in here.rows] == [
            (r.line, r.contact, r.organization) for r in there.rows
        ]
        assert here.issues == there.issues
    assert sum(b.read for b in child) == 700 - 39  # lines 2..40 were done before
    assert any(b.issues for b in child) and sum(b.rejected for b in child) > 0


def test_an_error_in_the_child_is_raised_here_with_its_reason(tmp_path: Path) -> None:
    source = source_of(messy_file(tmp_path / "messy.csv", 50), batch_rows=10)
    (tmp_path / "messy.csv").unlink()  # gone before the child opens it
    with (
        pytest.raises(RuntimeError, match=r"cleaning stopped: .*messy\.csv"),
        batches(source, True) as cleaned,
    ):
        list(cleaned)


def test_leaving_early_stops_the_child(tmp_path: Path) -> None:
    source = source_of(messy_file(tmp_path / "messy.csv", 3000), batch_rows=10)
    with batches(source, True) as cleaned:
        first = next(cleaned)
        assert first.rows and multiprocessing.active_children()
    assert multiprocessing.active_children() == []


def test_import_with_a_cleaning_process_stores_what_an_inline_one_does(
    db: Database, tenant: Tenant, other_tenant: Tenant, tmp_path: Path
) -> None:
    path = messy_file(tmp_path / "messy.csv", 400)
    inline = import_file(
        db, tenant.workspace.id, path, ImportOptions(chunk_rows=60, default_region="US", parallel=False)
    )
    child = import_file(
        db, other_tenant.workspace.id, path, ImportOptions(chunk_rows=60, default_region="US", parallel=True)
    )
    assert inline.counts() == child.counts() and inline.rejected > 0 and inline.duplicates_in_file > 0

    def stored(
        workspace_id: int, import_id: int | None
    ) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        with db.session() as session:
            people = session.execute(
                select(Contact.email, Contact.first_name, Contact.phones, Contact.custom)
                .where(Contact.workspace_id == workspace_id)
                .order_by(Contact.email)
            )
            issues = session.execute(
                select(ImportIssue.line, ImportIssue.column, ImportIssue.reason)
                .where(ImportIssue.import_id == import_id)
                .order_by(ImportIssue.line, ImportIssue.reason)
            )
            return [tuple(row) for row in people], [tuple(row) for row in issues]

    assert stored(tenant.workspace.id, inline.import_id) == stored(other_tenant.workspace.id, child.import_id)
