"""Property tests across the front half: what csv.writer writes, the reader reads back exactly; no row
of arbitrary cells makes the cleaner fail."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from leadwell.contacts.importing.cleaning import RowCleaner
from leadwell.contacts.importing.mapping import auto_map
from leadwell.contacts.importing.reader import open_table
from tests.importing.conftest import FIXTURES

HEADERS = ["Email", "Full Name", "Notes"]
# Any text a spreadsheet cell may hold, with the characters CSV must quote; NUL and lone surrogates
# cannot be stored, and control characters would make the file look binary.
_CHARACTERS = st.characters(exclude_categories=("Cs", "Cc"), include_characters=',;|"\n\r\t \ufeff')
_CELL = st.text(_CHARACTERS, max_size=40)
_ROW = st.lists(_CELL, min_size=3, max_size=3).filter(lambda cells: "".join(cells).strip() != "")


@settings(max_examples=150, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=12), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_csv_writer_to_reader_round_trip(rows: list[list[str]], encoding: str) -> None:
    rows = [row for row in rows if row != HEADERS]
    if not rows:
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "round.csv"
        with path.open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            writer.writerows(rows)
        with open_table(path) as table:
            assert table.headers == HEADERS
            assert [cells for _, cells in table.rows] == rows


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=12, max_size=12), st.sampled_from([None, "US", "DE"]))
def test_cleaning_any_cells_never_fails(cells: list[str], region: str | None) -> None:
    headers = [
        "Email", "Phone", "Full Name", "Company", "Website", "Employees",
        "Country", "Lifecycle Stage", "Consent", "Tags", "Connected On", "Lead Score",
    ]  # fmt: skip
    row = RowCleaner(auto_map(headers), region).clean(2, cells)
    assert not any("could not be cleaned" in issue.reason for issue in row.issues)
    assert row.rejected == (not ({"emails", "phones", "first_name", "last_name"} & row.contact.keys()))
    for issue in row.issues:
        assert issue.severity in ("warning", "rejected")
        assert issue.column is None or issue.column in headers


def test_every_fixture_cleans_without_failures() -> None:
    for path in sorted(FIXTURES.glob("*.*sv")):
        if path.name in ("empty.csv", "header_only.csv", "not_really.csv"):
            continue
        with open_table(path) as table:
            cleaner = RowCleaner(auto_map(table.headers))
            for line, cells in table.rows:
                row = cleaner.clean(line, cells)
                assert not any("could not be cleaned" in issue.reason for issue in row.issues), path.name
