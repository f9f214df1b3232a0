"""Reading a contacts file as a header and a stream of rows, whatever its format.

CSV and TSV stream through the ``csv`` module (memory stays flat however long the file), XLSX through
openpyxl's read-only mode. The encoding, the delimiter and the header row are found from the first
64 KiB: exports often start with a few lines of notes (LinkedIn, Zoom), so the header is the row
among the first ones that names the most known fields. Line numbers are those of the file, where the
header of a plain export is line 1 and its first row line 2.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import chain, islice
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped, unused-ignore]

from leadwell.contacts.importing.mapping import header_score
from leadwell.errors import InvalidInput

SAMPLE_BYTES = 64 * 1024
SCAN_RECORDS = 50  # rows searched for the header below a preamble
DELIMITERS = (",", ";", "\t", "|")
TEXT_SUFFIXES = {".csv", ".tsv", ".tab", ".txt"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_MAGIC = {
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an old Office file (Excel 97-2003 .xls?): save it as .xlsx or CSV",
    b"%PDF": "a PDF document, not a table",
    b"\x1f\x8b": "a gzip archive: unpack it first",
    b"\x89PNG": "a PNG image, not a table",
    b"\xff\xd8\xff": "a JPEG image, not a table",
    b"GIF8": "a GIF image, not a table",
    b"SQLite format 3\x00": "an SQLite database, not a table",
}
_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
Records = Iterator[tuple[int, list[str]]]


class UnreadableFile(InvalidInput):
    """A file that cannot be read as a table at all; the message says why."""


@dataclass
class Table:
    """A file's header and its rows; ``rows`` streams from the open file, so use it inside the
    ``open_table`` context. Line numbers are the file's (a quoted cell spanning lines counts them all)."""

    format: str  # "csv" | "tsv" | "xlsx"
    encoding: str | None  # None for xlsx
    delimiter: str | None  # None for xlsx
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (line, cells): cells padded or cut to len(headers)


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in blocks: an unfinished import of the same file can be resumed."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@contextmanager
def open_table(path: Path, sheet: str | None = None) -> Iterator[Table]:
    """The file as a :class:`Table` whose rows stream while the context is open.

    Raises :class:`UnreadableFile` for a file that is empty, binary, of the wrong kind for its name,
    or has a header but no rows."""
    head = _head(path)
    if _kind(path, head) == "xlsx":
        with _open_xlsx(path, sheet) as table:
            yield table
        return
    if sheet is not None:
        raise InvalidInput(f"--sheet: {path.name} is a text file and has no sheets", field="--sheet")
    encoding = detect_encoding(head)
    sample = _decode_sample(head, encoding, path)
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else sniff_delimiter(sample)
    errors = "replace" if encoding.startswith("utf-16") or encoding == "utf-32" else "leadwell-cp1252"
    with path.open(encoding=encoding, errors=errors, newline="") as handle:
        kind = "tsv" if delimiter == "\t" else "csv"
        yield _table(kind, encoding, delimiter, csv_records(handle, delimiter), path.name)


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(SAMPLE_BYTES)
    except OSError as error:
        raise UnreadableFile(f"file: cannot read {path.name}: {error.strerror}", field="file") from None


def _kind(path: Path, head: bytes) -> str:
    """ "xlsx" or "text", from the first bytes checked against the file's name."""
    suffix = path.suffix.lower()
    body = head
    for bom in _BOMS:
        body = body.removeprefix(bom)
    if not body.strip(b" \t\r\n\x00"):
        raise UnreadableFile(f"file: {path.name} is empty: no rows", field="file")
    if head.startswith(b"PK\x03\x04"):
        inside = _zip_kind(path)
        if inside == "xlsx" and suffix in TEXT_SUFFIXES:
            raise UnreadableFile(
                f"file: {path.name} is an Excel workbook with a {suffix} name: rename it to .xlsx",
                field="file",
            )
        if inside == "xlsx":
            return "xlsx"
        raise UnreadableFile(f"file: {path.name} is {inside}, not a CSV or XLSX table", field="file")
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise UnreadableFile(f"file: {path.name} is {what}", field="file")
    if suffix in XLSX_SUFFIXES:
        raise UnreadableFile(
            f"file: {path.name} is named {suffix} but is not an Excel workbook (text? rename it to .csv)",
            field="file",
        )
    return "text"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return "a damaged zip archive"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "content.xml" in names and "mimetype" in names:
        return "an OpenDocument file: save it as .xlsx or CSV"
    if "word/document.xml" in names:
        return "a Word document"
    return "a zip archive"


def detect_encoding(head: bytes) -> str:
    """The encoding, from a byte-order mark, the pattern of NUL bytes (UTF-16 without a mark), or by
    trying strict UTF-8, then Windows-1252, then Latin-1 (which accepts anything)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    pairs = head[:4096]
    even, odd = pairs[0::2].count(0), pairs[1::2].count(0)
    if odd > len(pairs) // 4 and even < odd // 8:
        return "utf-16-le"  # ASCII text in UTF-16: every second byte is NUL
    if even > len(pairs) // 4 and odd < even // 8:
        return "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Bytes that do not decode are read as Windows-1252 (Latin-1 for its five unused bytes): a file
    that is UTF-8 in its first 64 KiB and Windows-1252 further down still reads correctly."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return "".join(bytes([byte]).decode("cp1252", "ignore") or chr(byte) for byte in chunk), error.end


codecs.register_error("leadwell-cp1252", _cp1252_fallback)


def _decode_sample(head: bytes, encoding: str, path: Path) -> str:
    errors = "replace" if encoding.startswith("utf-16") or encoding == "utf-32" else "leadwell-cp1252"
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    text = decoder.decode(head, final=len(head) < SAMPLE_BYTES)
    if len(head) == SAMPLE_BYTES and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # the last line may be cut short
    controls = sum(1 for char in text if char < " " and char not in "\t\r\n\f\v")
    if "\x00" in text or controls > len(text) // 50:
        raise UnreadableFile(f"file: {path.name} looks binary, not like CSV text", field="file")
    return text


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the first rows into the same number of cells most consistently
    (csv.Sniffer guesses badly on short or quoted files); ties favour more cells, then the comma."""
    best: tuple[int, int] = (0, 0)
    chosen = ","
    for delimiter in DELIMITERS:
        rows = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            counts = [len(row) for row in islice(rows, 60) if any(cell.strip() for cell in row)][:30]
        except csv.Error:
            continue  # this delimiter leaves quotes unbalanced: it is not the one
        wide = [count for count in counts if count > 1]
        if not wide:
            continue
        mode = Counter(wide).most_common(1)[0][0]
        score = (sum(count == mode for count in counts), mode)
        if score > best:
            best, chosen = score, delimiter
    return chosen


def _without_nul(lines: Iterable[str]) -> Iterator[str]:
    # NUL cannot be stored in PostgreSQL text and stops some tools; a stray one is simply dropped.
    for line in lines:
        yield line.replace("\x00", "") if "\x00" in line else line


def csv_records(handle: Iterable[str], delimiter: str) -> Records:
    """Every record with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(_without_nul(handle), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as error:
        raise UnreadableFile(
            f"file: line {start}: {error} (a quote that is never closed?)", field=f"line {start}"
        ) from None


def _table(kind: str, encoding: str | None, delimiter: str | None, records: Records, name: str) -> Table:
    """The header found, the rows after it, and a check that there is at least one."""
    scanned = [record for record in islice(records, SCAN_RECORDS) if any(cell.strip() for cell in record[1])]
    if not scanned:
        raise UnreadableFile(f"file: {name} is empty: no rows", field="file")
    scores = [header_score(cells) for _line, cells in scanned]
    # A row below the first is the header only when it clearly names fields: a data row that happens
    # to hold one field-like word ("Newsletter") must not swallow the rows above it.
    at = scores.index(max(scores)) if max(scores) >= 2 else 0
    header_cells = scanned[at][1]
    if any(_EMAIL_LIKE.match(cell.strip()) for cell in header_cells):
        at, header_cells = -1, []  # no header row: the first row is already a person
    following = scanned[at + 1 :]
    width = max([len(header_cells)] + [_used_width(cells) for _line, cells in following])
    headers = _headers(header_cells, width)
    rows = _rows(chain(following, records), width, header_cells + [""] * (width - len(header_cells)))
    first = next(rows, None)
    if first is None:
        raise UnreadableFile(f"file: {name} has a header but no rows", field="file")
    return Table(kind, encoding, delimiter, headers, chain([first], rows))


def _used_width(cells: list[str]) -> int:
    width = len(cells)
    while width and not cells[width - 1].strip():
        width -= 1
    return width


def _headers(cells: list[str], width: int) -> list[str]:
    """Trimmed headers; blank ones named "Column N", repeated ones numbered "Email (2)"."""
    headers: list[str] = []
    seen: set[str] = set()
    for position in range(width):
        text = cells[position].replace("\ufeff", "").strip() if position < len(cells) else ""
        text = " ".join(text.split()) or f"Column {position + 1}"
        name, number = text, 1
        while name.casefold() in seen:
            number += 1
            name = f"{text} ({number})"
        seen.add(name.casefold())
        headers.append(name)
    return headers


def _rows(records: Iterator[tuple[int, list[str]]], width: int, header: list[str]) -> Records:
    for line, cells in records:
        count = len(cells)
        if count != width:
            cells = cells[:width] if count > width else cells + [""] * (width - count)
        if not "".join(cells).strip() or cells == header:
            continue  # blank rows, and the header repeated where files were joined
        yield line, cells


@contextmanager
def _open_xlsx(path: Path, sheet: str | None) -> Iterator[Table]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged workbook
        raise UnreadableFile(
            f"file: {path.name} is not a readable Excel workbook: {error}", field="file"
        ) from None
    try:
        names = [worksheet.title for worksheet in book.worksheets]
        if sheet is not None and sheet not in names:
            raise UnreadableFile(
                f"--sheet: no sheet named {sheet!r}; the sheets are {names}", field="--sheet"
            )
        chosen = book[sheet] if sheet is not None else book.worksheets[0]
        label = f"{path.name}, sheet {chosen.title!r}" + (f" (sheets: {names})" if len(names) > 1 else "")
        yield _table("xlsx", None, None, _sheet_records(chosen), label)
    finally:
        book.close()


def _sheet_records(worksheet: Any) -> Records:
    # The stored dimensions may be wrong (some writers leave "A1"); reading to the real end is safer.
    worksheet.reset_dimensions()
    for line, values in enumerate(worksheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1):
        yield line, [_cell_text(value) for value in values]


def _cell_text(value: object) -> str:
    """A cell as the text a user sees: 1200 not "1200.0", dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        moment = (value + timedelta(microseconds=500_000)).replace(microsecond=0)  # Excel's float noise
        return moment.date().isoformat() if moment.time() == time() else moment.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)
