"""Reading files: formats, encodings, delimiters, preambles, line numbers, and files that cannot be read."""

from __future__ import annotations

import codecs
import hashlib
import shutil
import tracemalloc
from pathlib import Path

import pytest

from leadwell.contacts.importing.reader import UnreadableFile, open_table, sha256_of
from leadwell.errors import InvalidInput
from tests.importing.conftest import FIXTURES
from tests.importing.helpers import read_rows


@pytest.mark.parametrize(
    ("name", "kind", "encoding", "delimiter"),
    [
        ("google.csv", "csv", "utf-8", ","),
        ("hubspot.csv", "csv", "utf-8", ","),
        ("generic_semicolon.csv", "csv", "utf-8", ";"),
        ("tabs.tsv", "tsv", "utf-8", "\t"),
        ("utf16.csv", "csv", "utf-16", ","),
        ("cp1252.csv", "csv", "cp1252", ","),
        ("utf8_bom.csv", "csv", "utf-8-sig", ","),
    ],
)
def test_format_encoding_and_delimiter_are_detected(
    name: str, kind: str, encoding: str, delimiter: str
) -> None:
    with open_table(FIXTURES / name) as table:
        assert (table.format, table.encoding, table.delimiter) == (kind, encoding, delimiter)


def test_utf16_with_bom_decodes() -> None:
    headers, rows = read_rows(FIXTURES / "utf16.csv")
    assert headers == ["Email", "First Name", "Last Name", "City"]
    assert rows == [
        (2, ["zoe@example.org", "Zoë", "Ångström", "Malmö"]),
        (3, ["lukasz@example.pl", "Łukasz", "Żółć", "Łódź"]),
    ]


def test_cp1252_decodes_accents_and_euro() -> None:
    _, rows = read_rows(FIXTURES / "cp1252.csv")
    assert rows[0][1] == ["José Müller", "jose@cafe.es", "Café Société", "Price 5€"]
    assert rows[1][1][0] == "Ünal Çelik"


def test_utf8_bom_is_not_part_of_the_first_header() -> None:
    headers, rows = read_rows(FIXTURES / "utf8_bom.csv")
    assert headers == ["Email", "First Name"]
    assert rows == [(2, ["bom@example.com", "Björn"])]


def test_quoted_newlines_keep_the_line_where_each_record_starts() -> None:
    _, rows = read_rows(FIXTURES / "quoted_newlines.csv")
    assert [line for line, _ in rows] == [2, 4, 7, 8]
    assert rows[0][1] == ["ann@example.com", "Ann", "line one\nline two"]
    assert rows[1][1] == ["", "", "only notes\nspanning\nlines"]


def test_linkedin_notes_preamble_is_skipped() -> None:
    headers, rows = read_rows(FIXTURES / "linkedin.csv")
    assert headers == [
        "First Name",
        "Last Name",
        "URL",
        "Email Address",
        "Company",
        "Position",
        "Connected On",
    ]
    assert [line for line, _ in rows] == [5, 6, 7]
    assert rows[0][1][0] == "Jane"


def test_zoom_report_preamble_is_skipped() -> None:
    headers, rows = read_rows(FIXTURES / "zoom_registrants.csv")
    assert headers[:3] == ["First Name", "Last Name", "Email"]
    assert [line for line, _ in rows] == [8, 9, 10]


def test_empty_file_is_unreadable() -> None:
    with (
        pytest.raises(UnreadableFile, match="empty.csv is empty: no rows"),
        open_table(FIXTURES / "empty.csv"),
    ):
        pass


def test_header_only_file_has_no_rows() -> None:
    with pytest.raises(UnreadableFile, match="header but no rows"), open_table(FIXTURES / "header_only.csv"):
        pass


def test_zip_named_csv_is_unreadable() -> None:
    with (
        pytest.raises(UnreadableFile, match="not_really.csv is a zip archive"),
        open_table(FIXTURES / "not_really.csv"),
    ):
        pass


def test_workbook_named_csv_says_to_rename_it(xlsx_path: Path, tmp_path: Path) -> None:
    disguised = tmp_path / "export.csv"
    shutil.copy(xlsx_path, disguised)
    expected = r"Excel workbook with a \.csv name: rename it to \.xlsx"
    with pytest.raises(UnreadableFile, match=expected), open_table(disguised):
        pass


def test_text_named_xlsx_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "contacts.xlsx"
    path.write_text("Email\na@example.com\n")
    with pytest.raises(UnreadableFile, match="not an Excel workbook"), open_table(path):
        pass


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "Excel 97-2003"),
        (b"%PDF-1.7\n" + bytes(range(256)), "PDF"),
        (b"Email,Name\n\x01\x02\x03\x04\x05\x06\x07\x08" * 50, "looks binary"),
        (b"Email,Name\nab\x00cd,\x00\x00\x00x\n" * 3, "looks binary"),
    ],
)
def test_binary_files_are_unreadable(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=message), open_table(path):
        pass


def test_utf16_without_bom_is_detected_by_its_nul_bytes(tmp_path: Path) -> None:
    path = tmp_path / "plain16.csv"
    path.write_bytes("Email,Name\nann@example.com,Zoë\n".encode("utf-16-le"))
    with open_table(path) as table:
        assert table.encoding == "utf-16-le"
        assert list(table.rows) == [(2, ["ann@example.com", "Zoë"])]


def test_latin1_bytes_far_into_a_utf8_file_still_decode(tmp_path: Path) -> None:
    lines = [f"user{n}@example.com,Plain {n}" for n in range(5000)]
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        ("Email,Name\n" + "\n".join(lines) + "\n").encode() + "late@example.com,Müller\n".encode("cp1252")
    )
    with open_table(path) as table:
        rows = list(table.rows)
        assert table.encoding == "utf-8"
    assert rows[-1] == (5002, ["late@example.com", "Müller"])


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ('Email,Name,Note\na@x.com,Ann,"one; two; three"\nb@x.com,Bob,x;y\n', ","),
        ("Email;Name;Score\na@x.com;Ann;1,5\nb@x.com;Bob;2,5\n", ";"),
        ("Email|Name\na@x.com|Ann\nb@x.com|Bob\n", "|"),
        ("Email\na@x.com\nb@x.com\n", ","),
    ],
)
def test_delimiter_is_the_consistent_one(tmp_path: Path, text: str, delimiter: str) -> None:
    path = tmp_path / "data.txt"
    path.write_text(text)
    with open_table(path) as table:
        assert table.delimiter == delimiter
        assert [cells[0] for _, cells in table.rows] == ["a@x.com", "b@x.com"]


def test_headers_are_trimmed_named_and_numbered(tmp_path: Path) -> None:
    path = tmp_path / "headers.csv"
    path.write_text(" Email , Name,,email,Name\na@x.com,Ann,x,b@x.com,Second\n")
    headers, _ = read_rows(path)
    assert headers == ["Email", "Name", "Column 3", "email (2)", "Name (2)"]


def test_rows_are_padded_cut_blank_skipped_and_wide_rows_widen_the_header(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("Email,Name\na@x.com\n , \n\nb@x.com,Bob,extra\nc@x.com,Cy,,\n")
    headers, rows = read_rows(path)
    assert headers == ["Email", "Name", "Column 3"]
    assert rows == [(2, ["a@x.com", "", ""]), (5, ["b@x.com", "Bob", "extra"]), (6, ["c@x.com", "Cy", ""])]


def test_repeated_header_rows_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "joined.csv"
    path.write_text("Email,Name\na@x.com,Ann\nEmail,Name\nb@x.com,Bob\n")
    _, rows = read_rows(path)
    assert rows == [(2, ["a@x.com", "Ann"]), (4, ["b@x.com", "Bob"])]


def test_file_without_header_row_gets_column_names(tmp_path: Path) -> None:
    path = tmp_path / "bare.csv"
    path.write_text("a@x.com,Ann\nb@x.com,Bob\n")
    headers, rows = read_rows(path)
    assert headers == ["Column 1", "Column 2"]
    assert rows[0] == (1, ["a@x.com", "Ann"])


def test_data_row_with_one_field_word_does_not_become_the_header(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Kunde,Bemerkungen zum Kunden\nAnn,Newsletter\n")
    headers, rows = read_rows(path)
    assert headers == ["Kunde", "Bemerkungen zum Kunden"]
    assert rows == [(2, ["Ann", "Newsletter"])]


def test_unclosed_quote_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text('Email,Note\na@x.com,fine\nb@x.com,"never closed\n' + "x" * 140_000 + "\n")
    with pytest.raises(UnreadableFile, match="line 3"), open_table(path) as table:
        list(table.rows)


def test_nul_bytes_inside_a_text_file_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    body = "".join(f"u{n}@x.com,Name {n}\n" for n in range(4000))
    path.write_bytes(("Email,Name\n" + body).encode() + b"late@x.com,Na\x00me\n")
    _, rows = read_rows(path)
    assert rows[-1][1] == ["late@x.com", "Name"]


def test_sheet_option_is_refused_for_text_files() -> None:
    with pytest.raises(InvalidInput, match="--sheet"), open_table(FIXTURES / "google.csv", sheet="One"):
        pass


def test_xlsx_values_are_rendered_as_text(xlsx_path: Path) -> None:
    with open_table(xlsx_path) as table:
        assert (table.format, table.encoding, table.delimiter) == ("xlsx", None, None)
        headers, rows = table.headers, list(table.rows)
    assert headers == ["Email", "First Name", "Employees", "Revenue", "Created", "Since", "Opted In", "Phone"]
    assert rows == [
        (
            2,
            [
                "amy@hooli.com",
                "Amy",
                "1200",
                "3.5",
                "2024-05-31T14:05:00",
                "2024-05-31",
                "TRUE",
                "4915112345678",
            ],
        ),
        (4, ["bob@example.com", "Bob", "1200", "", "", "", "FALSE", ""]),
    ]


def test_xlsx_sheet_can_be_chosen(xlsx_path: Path) -> None:
    headers, rows = read_rows(xlsx_path, sheet="Other")
    assert headers == ["Name", "E-mail"]
    assert rows == [(2, ["Cy Young", "cy@example.com"])]


def test_xlsx_unknown_or_empty_sheet_is_unreadable(xlsx_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="no sheet named 'Nope'"), open_table(xlsx_path, sheet="Nope"):
        pass
    with pytest.raises(UnreadableFile, match="sheet 'Empty'.*no rows"), open_table(xlsx_path, sheet="Empty"):
        pass


def test_damaged_workbook_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(UnreadableFile, match="broken.xlsx is a damaged zip archive"), open_table(path):
        pass


def test_sha256_of_matches_hashlib() -> None:
    path = FIXTURES / "google.csv"
    assert sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_reading_streams_in_flat_memory(tmp_path: Path) -> None:
    """A file of 60,000 rows (about 4 MB) is read with well under 1 MB held at any time."""
    path = tmp_path / "long.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("Email,First Name,Last Name,Company,Notes\n")
        for number in range(60_000):
            handle.write(f"person{number}@example.com,First{number},Last{number},Company {number},note\n")
    tracemalloc.start()
    try:
        with open_table(path) as table:
            count = sum(1 for _ in table.rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 60_000
    assert peak < 1_000_000


def test_bom_constants_cover_utf32(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(codecs.BOM_UTF32_LE + "Email\na@x.com\n".encode("utf-32-le"))
    with open_table(path) as table:
        assert table.encoding == "utf-32"
        assert list(table.rows) == [(2, ["a@x.com"])]
