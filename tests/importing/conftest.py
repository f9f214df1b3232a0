"""Fixtures for the import front half: files under tests/fixtures/imports and a workbook built here
(a generated XLSX keeps binary blobs out of the repository)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl  # type: ignore[import-untyped, unused-ignore]
import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


@pytest.fixture(scope="session")
def xlsx_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workbook with typed cells, a blank row, an empty sheet and a second sheet with data."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Contacts"
    sheet.append(["Email", "First Name", "Employees", "Revenue", "Created", "Since", "Opted In", "Phone"])
    sheet.append(
        [
            "amy@hooli.com",
            "Amy",
            1200,
            3.5,
            datetime(2024, 5, 31, 14, 5),
            date(2024, 5, 31),
            True,
            4915112345678,
        ]
    )
    sheet.append([])
    sheet.append(["bob@example.com", "Bob", 1200.0, None, None, None, False, None])
    book.create_sheet("Empty")
    other = book.create_sheet("Other")
    other.append(["Name", "E-mail"])
    other.append(["Cy Young", "cy@example.com"])
    path = tmp_path_factory.mktemp("xlsx") / "contacts.xlsx"
    book.save(path)
    return path
