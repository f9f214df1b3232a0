"""Small helpers shared by the import tests."""

from __future__ import annotations

from pathlib import Path

from leadwell.contacts.importing.cleaning import CleanRow, RowCleaner
from leadwell.contacts.importing.mapping import Mapping, auto_map
from leadwell.contacts.importing.reader import open_table


def read_rows(path: Path, sheet: str | None = None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Headers and every row of a file."""
    with open_table(path, sheet) as table:
        return table.headers, list(table.rows)


def clean_file(path: Path, default_region: str | None = None) -> tuple[Mapping, list[CleanRow]]:
    """The auto mapping of a file and all of its rows cleaned."""
    with open_table(path) as table:
        mapping = auto_map(table.headers)
        cleaner = RowCleaner(mapping, default_region)
        return mapping, [cleaner.clean(line, cells) for line, cells in table.rows]


def clean_one(columns: dict[str, str], default_region: str | None = None) -> CleanRow:
    """One row given as header -> cell, cleaned under the auto mapping of its headers."""
    cleaner = RowCleaner(auto_map(list(columns)), default_region)
    return cleaner.clean(2, list(columns.values()))


def reasons(row: CleanRow) -> list[tuple[str | None, str, str]]:
    """(column, severity, reason) of each issue."""
    return [(issue.column, issue.severity, issue.reason) for issue in row.issues]
