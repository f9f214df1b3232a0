"""A table of text cells for the prediction engine, read from a CSV file or built by other modules.

Files are decoded and their delimiter found as imports do (:mod:`leadwell.contacts.importing.reader`),
but the first non-blank line is always the header: a model's file has no preamble to skip and no
contact fields to recognise. Cells stay as written (an id or a name passes through scoring
unchanged); only empty cells become ``None``. How the file was written (delimiter, quoting, line
ends, byte-order mark) is kept so that a scored copy looks like its input.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from leadwell.contacts.importing.reader import SAMPLE_BYTES, csv_records, detect_encoding, sniff_delimiter
from leadwell.errors import InvalidInput

_NOT_TEXT = {
    b"PK\x03\x04": "a zip archive or an Excel workbook: save it as CSV",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an old Office file: save it as CSV",
    b"%PDF": "a PDF document, not a table",
    b"\x1f\x8b": "a gzip archive: unpack it first",
    b"SQLite format 3\x00": "an SQLite database, not a table",
}


@dataclass(frozen=True)
class CsvFormat:
    """How a file was written, so that a copy of it can be written the same way."""

    delimiter: str = ","
    quote_all: bool = False  # every cell was quoted in the input
    line_end: str = "\r\n"
    bom: bool = False


@dataclass
class Table:
    """Named columns and rows of raw text cells (``None`` for an empty cell); every row is as long as
    ``columns``. ``lines`` gives each row's line in its file, for messages (empty when built in code)."""

    columns: list[str]
    rows: list[list[str | None]]
    lines: list[int] = field(default_factory=list)
    format: CsvFormat = field(default_factory=CsvFormat)

    def line_of(self, row: int) -> str:
        """How a message names a row: its line in the file, else its position."""
        return f"line {self.lines[row]}" if self.lines else f"row {row + 1}"

    def index(self, column: str) -> int:
        """The position of ``column``; :class:`InvalidInput` naming it when the table has none."""
        try:
            return self.columns.index(column)
        except ValueError:
            known = _listed(self.columns)
            raise InvalidInput(f"{column}: no such column (the columns are {known})", column) from None

    def column(self, name: str) -> list[str | None]:
        """One column's cells, top to bottom."""
        at = self.index(name)
        return [row[at] for row in self.rows]

    def subset(self, positions: Sequence[int]) -> Table:
        """The rows at ``positions``, in that order (the same lists, not copies)."""
        lines = [self.lines[at] for at in positions] if self.lines else []
        return Table(self.columns, [self.rows[at] for at in positions], lines, self.format)


def read_csv_table(content: bytes, name: str = "file") -> Table:
    """A CSV or TSV file's content as a :class:`Table`: the encoding (UTF-8 with or without a BOM,
    UTF-16, Windows-1252) and the delimiter (``,`` ``;`` tab ``|``) detected, blank lines skipped.

    Raises :class:`InvalidInput` for an empty or binary file, a header without rows, a repeated
    column name, or a row with more cells than the header (naming its line)."""
    text, bom = _decode(content, name)
    sample = text[:SAMPLE_BYTES]
    delimiter = sniff_delimiter(sample)
    records = _records(text, delimiter)
    header_line, header = next(records, (0, []))
    if not header:
        raise InvalidInput(f"file: {name} is empty: no header and no rows", field="file")
    columns = _columns(header, name)
    rows: list[list[str | None]] = []
    lines: list[int] = []
    width = len(columns)
    for line, cells in records:
        if len(cells) > width:
            if any(cell.strip() for cell in cells[width:]):
                raise InvalidInput(
                    f"line {line}: {len(cells)} cells but the header (line {header_line}) names {width} "
                    "columns (an unquoted delimiter inside a value?)",
                    field=f"line {line}",
                )
            cells = cells[:width]
        rows.append([cell if cell != "" else None for cell in cells] + [None] * (width - len(cells)))
        lines.append(line)
    if not rows:
        raise InvalidInput(f"file: {name} has a header but no rows", field="file")
    quote_all = _all_quoted(sample, delimiter)
    line_end = "\r\n" if "\r\n" in sample else "\n"
    return Table(columns, rows, lines, CsvFormat(delimiter, quote_all, line_end, bom))


def write_csv_table(table: Table) -> bytes:
    """The table as CSV in the format it was read in (UTF-8, with the BOM when the input had one or was
    not UTF-8 to begin with, so spreadsheet programs read it right)."""
    out = io.StringIO(newline="")
    shape = table.format
    writer = csv.writer(
        out,
        delimiter=shape.delimiter,
        quoting=csv.QUOTE_ALL if shape.quote_all else csv.QUOTE_MINIMAL,
        lineterminator=shape.line_end,
    )
    writer.writerow(table.columns)
    writer.writerows([["" if cell is None else cell for cell in row] for row in table.rows])
    data = out.getvalue().encode("utf-8")
    return codecs.BOM_UTF8 + data if shape.bom else data


def _decode(content: bytes, name: str) -> tuple[str, bool]:
    for magic, what in _NOT_TEXT.items():
        if content.startswith(magic):
            raise InvalidInput(f"file: {name} is {what}", field="file")
    encoding = detect_encoding(content[:SAMPLE_BYTES])
    text = content.decode(encoding, errors="replace" if encoding.startswith("utf-") else "strict")
    text = text.removeprefix("\ufeff")
    head = text[:SAMPLE_BYTES]
    controls = sum(1 for char in head if char < " " and char not in "\t\r\n\f\v")
    if "\x00" in head or controls > len(head) // 50:
        raise InvalidInput(f"file: {name} looks binary, not like CSV text", field="file")
    # The copy is UTF-8; the mark tells spreadsheet programs so whenever the input was not plain UTF-8.
    return text, encoding != "utf-8"


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with the line each starts on (a quoted cell may span lines)."""
    for start, cells in csv_records(io.StringIO(text, newline=""), delimiter):
        if any(cell.strip() for cell in cells):
            yield start, cells


def _columns(header: list[str], name: str) -> list[str]:
    """Trimmed column names; a blank one is "Column N"; a repeated one is refused (which would a
    model or a reason mean?)."""
    columns: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(header, start=1):
        column = " ".join(cell.split()) or f"Column {position}"
        key = column.casefold()
        if key in seen:
            raise InvalidInput(
                f"{column}: {name} has two columns of this name (columns {seen[key]} and {position}); "
                "rename one",
                field=column,
            )
        seen[key] = position
        columns.append(column)
    return columns


def _all_quoted(sample: str, delimiter: str) -> bool:
    """Whether the first lines quote every cell (some exporters do): the copy does the same."""
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if not lines:
        return False
    quote = '"'
    separator = f"{quote}{delimiter}{quote}"
    return all(line.startswith(quote) and line.rstrip().endswith(quote) for line in lines) and all(
        line.count(delimiter) == line.count(separator) for line in lines[:1]
    )


def _listed(names: Sequence[str], most: int = 12) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")
